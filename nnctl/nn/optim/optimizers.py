"""Optimizers: sgd, rmsprop, adagrad, adam, adamw, with per-parameter named state.

An optimizer is built from the config's keys (``get_optimizer("adam", learning_rate=1e-3)``), which
are checked then: a bad value raises `EngineConfigError`. It is then bound to a network's
:class:`~nnctl.nn.fast.buffers.ParameterBuffer` and each ``step`` updates the flat parameter array
from the flat gradient array in a few whole-array operations, elementwise, so it is the same as
updating each named parameter on its own. Its state (``m.layers.0.W``, ``v.layers.0.W``, ... and
the step counter ``iterations``) is exposed by name in ``state_dict``.

Weight decay (``weight_decay = wd``) applies to weights ``W`` only, never to biases:

- sgd, rmsprop, adagrad, adam: L2 regularization, added to the gradient: ``g = g + wd * W``;
- adamw: decoupled (Loshchilov & Hutter 2019): ``W = W - lr * wd * W`` before the Adam update.

In every rule below ``lr`` is the learning rate of the step, ``t`` the step number from 1, and all
operations are elementwise.
"""

from __future__ import annotations

import inspect
import math

import numpy as np

from nnctl.nn.errors import EngineConfigError
from nnctl.nn.optim.base import Optimizer, check_positive, check_range
from nnctl.nn.registry import unknown_name

__all__ = ["OPTIMIZERS", "Optimizer", "get_optimizer"]

Array = np.ndarray


class SGD(Optimizer):
    """Stochastic gradient descent with optional (Nesterov) momentum.

    Notes
    -----
    With momentum ``mu`` and velocity ``velocity`` (zero at the start), as in PyTorch::

        velocity = mu * velocity + g
        p = p - lr * (g + mu * velocity)    if nesterov
        p = p - lr * velocity               otherwise

    and ``p = p - lr * g`` when ``mu = 0``.

    References
    ----------
    Sutskever, Martens, Dahl & Hinton, "On the importance of initialization and momentum in deep
    learning", ICML 2013.
    """

    name = "sgd"

    def __init__(
        self,
        learning_rate: float = 0.01,
        momentum: float = 0.0,
        nesterov: bool = False,
        weight_decay: float = 0.0,
    ) -> None:
        super().__init__(learning_rate, weight_decay)
        self.momentum = check_range(self.name, "momentum", momentum, 0.0, 1.0)
        if not isinstance(nesterov, bool):
            raise EngineConfigError(
                f"optimizer 'sgd': nesterov must be true or false, got {nesterov!r}"
            )
        if nesterov and self.momentum == 0:
            raise EngineConfigError("optimizer 'sgd': nesterov needs a momentum above 0")
        self.nesterov = nesterov
        self.state_names = ("velocity",) if self.momentum > 0 else ()

    def _update(self, p: Array, g: Array, state: dict[str, Array], tmp: Array, lr: float) -> None:
        if self.momentum == 0:
            p -= np.multiply(g, lr, out=tmp)
            return
        velocity = state["velocity"]
        velocity *= self.momentum
        velocity += g
        if self.nesterov:
            np.multiply(velocity, self.momentum, out=tmp)
            tmp += g
            tmp *= lr
        else:
            np.multiply(velocity, lr, out=tmp)
        p -= tmp


class RMSprop(Optimizer):
    """RMSprop: divide the gradient by a running root mean square.

    Notes
    -----
    ::

        v = rho * v + (1 - rho) * g**2
        p = p - lr * g / (sqrt(v) + epsilon)

    References
    ----------
    Tieleman & Hinton, Lecture 6.5 of "Neural Networks for Machine Learning", Coursera, 2012.
    """

    name = "rmsprop"

    def __init__(
        self,
        learning_rate: float = 0.001,
        rho: float = 0.9,
        epsilon: float = 1e-7,
        weight_decay: float = 0.0,
    ) -> None:
        super().__init__(learning_rate, weight_decay)
        self.rho = check_positive(self.name, "rho", check_range(self.name, "rho", rho, 0.0, 1.0))
        self.epsilon = check_positive(self.name, "epsilon", epsilon)
        self.state_names = ("v",)

    def _update(self, p: Array, g: Array, state: dict[str, Array], tmp: Array, lr: float) -> None:
        v = state["v"]
        v *= self.rho
        np.multiply(g, g, out=tmp)
        tmp *= 1.0 - self.rho
        v += tmp
        np.sqrt(v, out=tmp)
        tmp += self.epsilon
        np.divide(g, tmp, out=tmp)
        tmp *= lr
        p -= tmp


class Adagrad(Optimizer):
    """Adagrad: per-parameter rates shrinking with the sum of squared gradients.

    Notes
    -----
    With ``accumulator`` starting at ``initial_accumulator``::

        accumulator = accumulator + g**2
        p = p - lr * g / (sqrt(accumulator) + epsilon)

    References
    ----------
    Duchi, Hazan & Singer, "Adaptive subgradient methods for online learning and stochastic
    optimization", JMLR 12, 2011.
    """

    name = "adagrad"

    def __init__(
        self,
        learning_rate: float = 0.01,
        initial_accumulator: float = 0.1,
        epsilon: float = 1e-7,
        weight_decay: float = 0.0,
    ) -> None:
        super().__init__(learning_rate, weight_decay)
        self.initial_accumulator = check_range(
            self.name, "initial_accumulator", initial_accumulator, 0.0
        )
        self.epsilon = check_positive(self.name, "epsilon", epsilon)
        self.state_names = ("accumulator",)

    def _initial_state(self, state_name: str, like: Array) -> Array:
        return np.full_like(like, self.initial_accumulator)

    def _update(self, p: Array, g: Array, state: dict[str, Array], tmp: Array, lr: float) -> None:
        accumulator = state["accumulator"]
        accumulator += np.multiply(g, g, out=tmp)
        np.sqrt(accumulator, out=tmp)
        tmp += self.epsilon
        np.divide(g, tmp, out=tmp)
        tmp *= lr
        p -= tmp


class Adam(Optimizer):
    """Adam: bias-corrected running means of the gradient and its square.

    Notes
    -----
    Kingma & Ba's rule, with ``M`` and ``V`` starting at zero::

        M = beta_1 * M + (1 - beta_1) * g
        V = beta_2 * V + (1 - beta_2) * g**2
        p = p - lr * (M / (1 - beta_1**t)) / (sqrt(V / (1 - beta_2**t)) + epsilon)

    The state keeps ``m = M / (1 - beta_1)`` and ``v = V / (1 - beta_2)``, which saves two passes
    over the parameters per step; the update is the same::

        m = beta_1 * m + g
        v = beta_2 * v + g**2
        k = sqrt((1 - beta_2) / (1 - beta_2**t))
        p = p - lr * (1 - beta_1) / ((1 - beta_1**t) * k) * m / (sqrt(v) + epsilon / k)

    ``state_dict`` holds these ``m`` and ``v`` (multiply by ``1 - beta`` for Keras's or PyTorch's).

    References
    ----------
    Kingma & Ba, "Adam: a method for stochastic optimization", ICLR 2015 (arXiv:1412.6980).
    """

    name = "adam"

    def __init__(
        self,
        learning_rate: float = 0.001,
        beta_1: float = 0.9,
        beta_2: float = 0.999,
        epsilon: float = 1e-7,
        weight_decay: float = 0.0,
    ) -> None:
        super().__init__(learning_rate, weight_decay)
        self.beta_1 = check_range(self.name, "beta_1", beta_1, 0.0, 1.0)
        self.beta_2 = check_range(self.name, "beta_2", beta_2, 0.0, 1.0)
        self.epsilon = check_positive(self.name, "epsilon", epsilon)
        self.state_names = ("m", "v")

    def _update(self, p: Array, g: Array, state: dict[str, Array], tmp: Array, lr: float) -> None:
        m, v = state["m"], state["v"]
        t = self.iterations
        m *= self.beta_1
        m += g
        v *= self.beta_2
        v += np.multiply(g, g, out=tmp)
        k = math.sqrt((1.0 - self.beta_2) / (1.0 - self.beta_2**t))
        np.sqrt(v, out=tmp)
        tmp += self.epsilon / k
        np.divide(m, tmp, out=tmp)
        tmp *= lr * (1.0 - self.beta_1) / ((1.0 - self.beta_1**t) * k)
        p -= tmp


class AdamW(Adam):
    """Adam with decoupled weight decay (default ``weight_decay = 0.01``).

    Notes
    -----
    Before the Adam update of `Adam`, weights (not biases) shrink: ``W = W - lr * wd * W``.

    References
    ----------
    Loshchilov & Hutter, "Decoupled weight decay regularization", ICLR 2019.
    """

    name = "adamw"
    decoupled_weight_decay = True

    def __init__(
        self,
        learning_rate: float = 0.001,
        beta_1: float = 0.9,
        beta_2: float = 0.999,
        epsilon: float = 1e-7,
        weight_decay: float = 0.01,
    ) -> None:
        super().__init__(learning_rate, beta_1, beta_2, epsilon, weight_decay)


OPTIMIZERS: dict[str, type[Optimizer]] = {
    "sgd": SGD,
    "rmsprop": RMSprop,
    "adagrad": Adagrad,
    "adam": Adam,
    "adamw": AdamW,
}


def get_optimizer(name: str, **params: float) -> Optimizer:
    """Build an optimizer from its config keys: ``get_optimizer("sgd", momentum=0.9)``.

    Raises
    ------
    EngineConfigError
        For an unknown name, a key the optimizer does not take, or a value out of range.
    """
    if name not in OPTIMIZERS:
        raise unknown_name("optimizer", name, list(OPTIMIZERS))
    cls = OPTIMIZERS[name]
    accepted = [k for k in inspect.signature(cls.__init__).parameters if k != "self"]
    for key in params:
        if key not in accepted:
            raise EngineConfigError(
                f"optimizer '{name}' does not take '{key}'; it takes {', '.join(accepted)}"
            )
    return cls(**params)
