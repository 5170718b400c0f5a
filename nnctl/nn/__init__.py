"""The NumPy neural-network engine: layers, activations, losses, optimizers, schedules.

Imports NumPy, the standard library and itself only (and `nnctl._platform` from `nnctl.nn.fast`),
and raises its own exceptions (`nnctl.nn.errors`). The usual entry points::

    from nnctl.nn.network import Network
    from nnctl.nn.losses import get_loss, check_loss_activation, OUTPUT_LAYERS
    from nnctl.nn.optim.optimizers import get_optimizer
    from nnctl.nn.optim.clipping import clip_grad_norm
    from nnctl.nn.optim.schedules import get_schedule
    from nnctl.nn import gradcheck

The reference layer is `nnctl.nn.layers.dense.Dense`; what training runs is beside it in
`nnctl.nn.fast`.
"""
