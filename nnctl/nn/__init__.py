"""The NumPy neural-network engine: dense layers, activations, losses, optimizers, schedules.

Imports NumPy and the standard library only. The usual entry points::

    from nnctl.nn.network import Network
    from nnctl.nn.losses import get_loss, check_loss_activation
    from nnctl.nn.optim.optimizers import get_optimizer, clip_grad_norm
    from nnctl.nn.optim.schedules import get_schedule
"""
