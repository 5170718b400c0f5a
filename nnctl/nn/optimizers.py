"""Optimizers: sgd, rmsprop, adagrad, adam, adamw, with per-parameter named state.

An optimizer is built from the config's keys (``get_optimizer("adam", learning_rate=1e-3)``), which
are checked then: a bad value raises `ConfigError`. It is then bound to a network's
:class:`~nnctl.nn.parameters.ParameterBuffer` and each ``step`` updates the flat parameter array
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
from collections.abc import Iterable, Mapping
from typing import ClassVar

import numpy as np

from nnctl.errors import ConfigError
from nnctl.nn.activations import unknown_name
from nnctl.nn.fpu import FTZ_AVAILABLE, flush_subnormals
from nnctl.nn.parameters import ParameterBuffer

Array = np.ndarray

#: Steps between flushes of tiny optimizer state when the CPU cannot flush subnormals itself.
FLUSH_EVERY = 64


def _check(name: str, key: str, value: float, low: float, high: float = math.inf) -> float:
    """``value`` as a float if ``low <= value < high`` (``high`` open), else `ConfigError`."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ConfigError(f"optimizer '{name}': {key} must be a number, got {value!r}")
    if not (math.isfinite(value) and low <= value < high):
        span = f"at least {low:g}" if high == math.inf else f"in [{low:g}, {high:g})"
        raise ConfigError(f"optimizer '{name}': {key} must be {span}, got {value!r}")
    return float(value)


def _check_positive(name: str, key: str, value: float) -> float:
    value = _check(name, key, value, 0.0)
    if value == 0.0:
        raise ConfigError(f"optimizer '{name}': {key} must be positive, got {value!r}")
    return value


class Optimizer:
    """Base class: validation, binding, L2 weight decay, named state and the step counter.

    Subclasses set ``name``, ``state_names`` and implement ``_update(p, g, lr)`` on flat arrays.
    """

    name: ClassVar[str]
    decoupled_weight_decay: ClassVar[bool] = False

    def __init__(self, learning_rate: float, weight_decay: float) -> None:
        self.learning_rate = _check_positive(self.name, "learning_rate", learning_rate)
        self.weight_decay = _check(self.name, "weight_decay", weight_decay, 0.0)
        self.state_names: tuple[str, ...] = ()
        self.iterations = 0
        self.flush_every = 0 if FTZ_AVAILABLE else FLUSH_EVERY
        self.params: ParameterBuffer | None = None
        self.state: dict[str, Array] = {}
        self._tmp = np.empty(0)
        self._pending: dict[str, Array] | None = None

    def config(self) -> dict[str, object]:
        """The hyperparameters, as ``get_optimizer`` takes them."""
        keys = inspect.signature(type(self).__init__).parameters
        return {"name": self.name, **{k: getattr(self, k) for k in keys if k != "self"}}

    def _initial_state(self, state_name: str, like: Array) -> Array:
        return np.zeros_like(like)

    def bind(self, params: ParameterBuffer) -> None:
        """Attach to a network's parameters; allocates the state (zeros) and a work buffer."""
        self.params = params
        self.state = {s: self._initial_state(s, params.data) for s in self.state_names}
        self._tmp = np.empty_like(params.data)
        if self._pending is not None:
            pending, self._pending = self._pending, None
            self.load_state_dict(pending)

    def step(self, learning_rate: float | None = None) -> None:
        """One update of the bound parameters from their gradients.

        ``learning_rate`` overrides the built one for this step (a schedule's rate). With L2 weight
        decay the gradient buffer is changed in place to ``g + wd * W``.
        """
        if self.params is None:
            raise RuntimeError(f"optimizer '{self.name}' is not bound to any parameters")
        p, g = self.params.data, self.params.grad
        lr = self.learning_rate if learning_rate is None else float(learning_rate)
        self.iterations += 1
        if self.weight_decay > 0:
            d = self.params.n_decay
            if self.decoupled_weight_decay:
                p[:d] *= 1.0 - lr * self.weight_decay
            else:
                g[:d] += np.multiply(p[:d], self.weight_decay, out=self._tmp[:d])
        self._update(p, g, lr)
        if self.flush_every and self.iterations % self.flush_every == 0:
            flush_subnormals(self.state.values())

    def _update(self, p: Array, g: Array, lr: float) -> None:
        raise NotImplementedError

    def state_dict(self) -> dict[str, Array]:
        """Copies of the step counter (``iterations``) and every named state array."""
        if self.params is None:
            raise RuntimeError("state_dict() needs a bound optimizer")
        out = {"iterations": np.array(self.iterations, dtype=np.int64)}
        for state_name, flat in self.state.items():
            for name in self.params.names:
                out[f"{state_name}.{name}"] = self.params.slice_of(flat, name).copy()
        return out

    def load_state_dict(self, state: Mapping[str, Array]) -> None:
        """Restore a `state_dict` (before `bind`, it is kept and applied on binding).

        Raises
        ------
        ValueError
            Naming a missing, unexpected or wrongly shaped entry.
        """
        if self.params is None:
            self._pending = dict(state)
            return
        expected = self.state_dict()
        missing, unexpected = set(expected) - set(state), set(state) - set(expected)
        if missing or unexpected:
            raise ValueError(
                f"optimizer state does not match: missing {sorted(missing)}, "
                f"unexpected {sorted(unexpected)}"
            )
        for key, value in state.items():
            if np.shape(value) != expected[key].shape:
                raise ValueError(
                    f"optimizer state '{key}' has shape {np.shape(value)}, "
                    f"expected {expected[key].shape}"
                )
        self.iterations = int(state["iterations"])
        for state_name, flat in self.state.items():
            for name in self.params.names:
                self.params.slice_of(flat, name)[...] = state[f"{state_name}.{name}"]


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
        self.momentum = _check(self.name, "momentum", momentum, 0.0, 1.0)
        if not isinstance(nesterov, bool):
            raise ConfigError(f"optimizer 'sgd': nesterov must be true or false, got {nesterov!r}")
        if nesterov and self.momentum == 0:
            raise ConfigError("optimizer 'sgd': nesterov needs a momentum above 0")
        self.nesterov = nesterov
        self.state_names = ("velocity",) if self.momentum > 0 else ()

    def _update(self, p: Array, g: Array, lr: float) -> None:
        tmp = self._tmp
        if self.momentum == 0:
            p -= np.multiply(g, lr, out=tmp)
            return
        velocity = self.state["velocity"]
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
        self.rho = _check_positive(self.name, "rho", _check(self.name, "rho", rho, 0.0, 1.0))
        self.epsilon = _check_positive(self.name, "epsilon", epsilon)
        self.state_names = ("v",)

    def _update(self, p: Array, g: Array, lr: float) -> None:
        v, tmp = self.state["v"], self._tmp
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
        self.initial_accumulator = _check(
            self.name, "initial_accumulator", initial_accumulator, 0.0
        )
        self.epsilon = _check_positive(self.name, "epsilon", epsilon)
        self.state_names = ("accumulator",)

    def _initial_state(self, state_name: str, like: Array) -> Array:
        return np.full_like(like, self.initial_accumulator)

    def _update(self, p: Array, g: Array, lr: float) -> None:
        accumulator, tmp = self.state["accumulator"], self._tmp
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
    With ``m`` and ``v`` starting at zero::

        m = beta_1 * m + (1 - beta_1) * g
        v = beta_2 * v + (1 - beta_2) * g**2
        m_hat = m / (1 - beta_1**t)
        v_hat = v / (1 - beta_2**t)
        p = p - lr * m_hat / (sqrt(v_hat) + epsilon)

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
        self.beta_1 = _check(self.name, "beta_1", beta_1, 0.0, 1.0)
        self.beta_2 = _check(self.name, "beta_2", beta_2, 0.0, 1.0)
        self.epsilon = _check_positive(self.name, "epsilon", epsilon)
        self.state_names = ("m", "v")

    def _update(self, p: Array, g: Array, lr: float) -> None:
        m, v, tmp = self.state["m"], self.state["v"], self._tmp
        t = self.iterations
        m *= self.beta_1
        m += np.multiply(g, 1.0 - self.beta_1, out=tmp)
        v *= self.beta_2
        np.multiply(g, g, out=tmp)
        tmp *= 1.0 - self.beta_2
        v += tmp
        # sqrt(v_hat) + epsilon = (sqrt(v) + epsilon * sqrt(c2)) / sqrt(c2), c2 = 1 - beta_2**t
        root_c2 = math.sqrt(1.0 - self.beta_2**t)
        np.sqrt(v, out=tmp)
        tmp += self.epsilon * root_c2
        np.divide(m, tmp, out=tmp)
        tmp *= lr * root_c2 / (1.0 - self.beta_1**t)
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
    ConfigError
        For an unknown name, a key the optimizer does not take, or a value out of range.
    """
    if name not in OPTIMIZERS:
        raise unknown_name("optimizer", name, list(OPTIMIZERS))
    cls = OPTIMIZERS[name]
    accepted = [k for k in inspect.signature(cls.__init__).parameters if k != "self"]
    for key in params:
        if key not in accepted:
            raise ConfigError(
                f"optimizer '{name}' does not take '{key}'; it takes {', '.join(accepted)}"
            )
    return cls(**params)


def clip_grad_norm(grads: Array | Iterable[Array] | Mapping[str, Array], max_norm: float) -> float:
    """Scale gradients in place so that their global L2 norm is at most ``max_norm``.

    Parameters
    ----------
    grads : ndarray, iterable of ndarray, or mapping of name to ndarray
        The gradient arrays (one flat array in the network's case).
    max_norm : float
        The largest norm allowed.

    Returns
    -------
    float
        The global norm before clipping, ``sqrt(sum_i sum(g_i**2))``.

    Notes
    -----
    If ``norm > max_norm`` every gradient is multiplied by ``max_norm / norm``; the direction of
    the update is kept. A non-finite norm is returned unchanged and nothing is scaled.
    """
    arrays = (
        list(grads.values())
        if isinstance(grads, Mapping)
        else ([grads] if isinstance(grads, np.ndarray) else list(grads))
    )
    norm = math.sqrt(sum(float(np.dot(a.ravel(), a.ravel())) for a in arrays))
    if math.isfinite(norm) and norm > max_norm:
        for a in arrays:
            a *= max_norm / norm
    return norm
