"""Losses: a registry of objects returning a value and a gradient.

Every loss is a **mean**: over samples for categorical cross-entropy, over all elements
(samples x output units) for the others, as in Keras. Each method receives both the output layer's
pre-activation ``Z`` and its output ``A = f(Z)``:

- a loss fused with an output activation (``activation`` is set) computes its value from ``Z``
  (stable for any logits) and its gradient with respect to ``Z``: ``dL/dZ = (A - Y) / n``;
- any other loss reads ``A`` only and returns ``dL/dA``, which the network passes back through the
  output activation.

Valid (loss, output activation) pairs::

    categorical_crossentropy   softmax, 2 or more units (fused)
    binary_crossentropy        sigmoid, 1 unit, or several for multi-label targets (fused)
    mse, mae, huber            any activation; usually linear for regression

`OUTPUT_LAYERS` is this table; `check_loss_activation` rejects any other pairing with an
`EngineConfigError`.

Targets ``y``: for categorical cross-entropy, integer class indices of shape ``(n,)`` or one-hot
rows of shape ``(n, units)``; for the others, floats of shape ``(n, units)`` (``(n,)`` is accepted
when ``units == 1``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from nnctl.nn.errors import EngineConfigError
from nnctl.nn.registry import build_registered, unknown_name

Array = np.ndarray


def _buffer(out: Array | None, like: Array) -> Array:
    return np.empty_like(like) if out is None else out


def _rows(A: Array, batch: int | None) -> int:
    """The number of rows a mean is taken over: the batch's, else ``A``'s own."""
    return A.shape[0] if batch is None else batch


def _mean(values: Array, batch: int | None) -> float:
    """The mean of ``values`` (a row, or one value, per sample), summed in float64.

    With ``batch``, ``values`` are some rows of a batch of that many: their share of its mean.
    """
    if batch is None:
        return float(np.mean(values, dtype=np.float64))
    per_row = values.size // values.shape[0] if values.shape[0] else 1
    return float(np.add.reduce(values, axis=None, dtype=np.float64)) / (batch * per_row)


def _targets(y: Array, A: Array) -> Array:
    """``y`` as an array of ``A``'s shape and dtype (no copy when it already is)."""
    y = np.asarray(y)
    if y.ndim == 1 and A.shape[1] == 1:
        y = y.reshape(-1, 1)
    if y.shape != A.shape:
        raise ValueError(f"targets of shape {y.shape} do not match outputs of shape {A.shape}")
    return y.astype(A.dtype, copy=False)


class Loss:
    """Base class. Subclasses set ``name``, optionally ``activation`` and ``defaults``.

    Attributes
    ----------
    activation : str or None
        The output activation the loss is fused with and requires, or None for any.
    params : dict
        The parameters it was built with, e.g. ``{"delta": 1.0}``.
    """

    name: ClassVar[str]
    activation: ClassVar[str | None] = None
    defaults: ClassVar[dict[str, float]] = {}

    def __init__(self, **params: float) -> None:
        self.params = {**self.defaults, **params}

    def value(self, Z: Array, A: Array, y: Array, batch: int | None = None) -> float:
        """The mean loss of a batch.

        With ``batch``, ``Z``, ``A`` and ``y`` are some rows of a batch of ``batch`` rows (two
        threads each take some): the result is their share of the batch's mean (their sum divided
        by the batch's count), and `gradient` is that of the batch's mean.
        """
        raise NotImplementedError

    def gradient(
        self, Z: Array, A: Array, y: Array, out: Array | None = None, batch: int | None = None
    ) -> Array:
        """``dL/dZ`` for a fused loss, else ``dL/dA``; shape of ``A``, written into ``out``.

        ``batch``: as for `value`.
        """
        raise NotImplementedError

    def value_and_gradient(
        self, Z: Array, A: Array, y: Array, out: Array | None = None, batch: int | None = None
    ) -> tuple[float, Array]:
        """`value` and `gradient` together (what a training step needs)."""
        return self.value(Z, A, y, batch), self.gradient(Z, A, y, out, batch)

    def spec(self) -> dict[str, object]:
        """``{"name": ..., "params": {...}}``, JSON-serializable."""
        return {"name": self.name, "params": dict(self.params)}

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.params})"


class MeanSquaredError(Loss):
    """Mean squared error: ``L = mean((A - Y)**2)``; ``dL/dA = 2 (A - Y) / (n k)``."""

    name = "mse"

    def value(self, Z: Array, A: Array, y: Array, batch: int | None = None) -> float:
        r = A - _targets(y, A)
        return _mean(r * r, batch)

    def gradient(
        self, Z: Array, A: Array, y: Array, out: Array | None = None, batch: int | None = None
    ) -> Array:
        G = _buffer(out, A)
        np.subtract(A, _targets(y, A), out=G)
        G *= 2.0 / (_rows(A, batch) * A.shape[1])
        return G


class MeanAbsoluteError(Loss):
    """Mean absolute error: ``L = mean(|A - Y|)``; ``dL/dA = sign(A - Y) / (n k)``."""

    name = "mae"

    def value(self, Z: Array, A: Array, y: Array, batch: int | None = None) -> float:
        return _mean(np.abs(A - _targets(y, A)), batch)

    def gradient(
        self, Z: Array, A: Array, y: Array, out: Array | None = None, batch: int | None = None
    ) -> Array:
        G = _buffer(out, A)
        np.subtract(A, _targets(y, A), out=G)
        np.sign(G, out=G)
        G *= 1.0 / (_rows(A, batch) * A.shape[1])
        return G


class Huber(Loss):
    """Huber loss: quadratic for small residuals, linear beyond ``delta`` (default 1.0).

    Notes
    -----
    With ``r = A - Y``: ``L = mean(0.5 r**2 if |r| <= delta else delta (|r| - 0.5 delta))`` and
    ``dL/dA = clip(r, -delta, delta) / (n k)``.

    References
    ----------
    Huber, "Robust estimation of a location parameter", Ann. Math. Statist. 35(1), 1964.
    """

    name = "huber"
    defaults: ClassVar[dict[str, float]] = {"delta": 1.0}

    def value(self, Z: Array, A: Array, y: Array, batch: int | None = None) -> float:
        delta = self.params["delta"]
        r = np.abs(A - _targets(y, A))
        per_element = np.where(r <= delta, 0.5 * r * r, delta * (r - 0.5 * delta))
        return _mean(per_element, batch)

    def gradient(
        self, Z: Array, A: Array, y: Array, out: Array | None = None, batch: int | None = None
    ) -> Array:
        delta = self.params["delta"]
        G = _buffer(out, A)
        np.subtract(A, _targets(y, A), out=G)
        np.clip(G, -delta, delta, out=G)
        G *= 1.0 / (_rows(A, batch) * A.shape[1])
        return G


class BinaryCrossentropy(Loss):
    """Binary cross-entropy fused with a sigmoid output.

    Notes
    -----
    With ``A = sigmoid(Z)``: ``L = mean(-Y log A - (1 - Y) log(1 - A))``, computed from the logits
    as ``mean(max(Z, 0) - Z Y + log1p(exp(-|Z|)))``, which is finite for any ``Z``; the gradient is
    ``dL/dZ = (A - Y) / (n k)``.
    """

    name = "binary_crossentropy"
    activation = "sigmoid"

    def value(self, Z: Array, A: Array, y: Array, batch: int | None = None) -> float:
        Y = _targets(y, A)
        per_element = np.maximum(Z, 0) - Z * Y + np.log1p(np.exp(-np.abs(Z)))
        return _mean(per_element, batch)

    def gradient(
        self, Z: Array, A: Array, y: Array, out: Array | None = None, batch: int | None = None
    ) -> Array:
        G = _buffer(out, A)
        np.subtract(A, _targets(y, A), out=G)
        G *= 1.0 / (_rows(A, batch) * A.shape[1])
        return G


class CategoricalCrossentropy(Loss):
    """Categorical cross-entropy fused with a softmax output.

    Notes
    -----
    With ``A = softmax(Z)`` and one-hot (or probability) rows ``Y``:
    ``L = mean_i(sum_j Y[i, j] (logsumexp(Z[i]) - Z[i, j]))``, where
    ``logsumexp(z) = max(z) + log(sum(exp(z - max(z))))`` is finite for any logits; the gradient is
    ``dL/dZ = (A - Y) / n``. Integer labels ``c`` stand for one-hot rows and are used directly:
    ``L = mean_i(logsumexp(Z[i]) - Z[i, c[i]])``.
    """

    name = "categorical_crossentropy"
    activation = "softmax"

    @staticmethod
    def _flat_label_index(y: Array, A: Array) -> Array | None:
        """For integer labels, the indices ``i * k + c[i]`` into ``A.ravel()``; else None."""
        y = np.asarray(y)
        if y.ndim != 1:
            return None
        n, k = A.shape
        if y.shape[0] != n:
            raise ValueError(f"{y.shape[0]} labels for a batch of {n} samples")
        labels = y.astype(np.intp, copy=False)
        low, high = np.minimum.reduce(labels, initial=0), np.maximum.reduce(labels, initial=0)
        if low < 0 or high >= k:
            bad = low if low < 0 else high
            raise ValueError(f"class label {bad} is out of range for {k} output units")
        index: Array = np.arange(0, n * k, k)
        index += labels
        return index

    def value(self, Z: Array, A: Array, y: Array, batch: int | None = None) -> float:
        lse = _logsumexp(Z)
        index = self._flat_label_index(y, A)
        if index is not None:
            per_sample = lse - Z.ravel()[index]
        else:
            Y = _targets(y, A)
            per_sample = lse * Y.sum(axis=1) - np.einsum("ij,ij->i", Y, Z)
        return _mean(per_sample, batch)

    def gradient(
        self, Z: Array, A: Array, y: Array, out: Array | None = None, batch: int | None = None
    ) -> Array:
        index = self._flat_label_index(y, A)
        G = _buffer(out, A)
        if index is None:
            np.subtract(A, _targets(y, A), out=G)
        else:
            if G is not A:
                np.copyto(G, A)
            G.ravel()[index] -= 1
        G *= 1.0 / _rows(A, batch)
        return G

    def value_and_gradient(
        self, Z: Array, A: Array, y: Array, out: Array | None = None, batch: int | None = None
    ) -> tuple[float, Array]:
        """Both at once; with integer labels the value is ``mean(-log A[i, c[i]])`` when no
        predicted probability of a true class has underflowed (else the logits are used)."""
        index = self._flat_label_index(y, A)
        if index is None:
            return self.value(Z, A, y, batch), self.gradient(Z, A, y, out, batch)
        picked = A.ravel()[index]
        if np.minimum.reduce(picked, initial=1.0) > _TINY[A.dtype.char]:
            value = -float(np.add.reduce(np.log(picked), dtype=np.float64)) / _rows(A, batch)
        else:
            value = _mean(_logsumexp(Z) - Z.ravel()[index], batch)
        G = _buffer(out, A)
        if G is not A:
            np.copyto(G, A)
        G.ravel()[index] -= 1
        G *= 1.0 / _rows(A, batch)
        return value, G


_TINY = {"f": float(np.finfo(np.float32).tiny), "d": float(np.finfo(np.float64).tiny)}


def _logsumexp(Z: Array) -> Array:
    """``log(sum(exp(Z), axis=1))``, computed as ``max + log(sum(exp(Z - max)))``."""
    peak = Z.max(axis=1, keepdims=True)
    lse: Array = np.log(np.exp(Z - peak).sum(axis=1)) + peak[:, 0]
    return lse


LOSSES: dict[str, type[Loss]] = {
    "mse": MeanSquaredError,
    "mae": MeanAbsoluteError,
    "huber": Huber,
    "binary_crossentropy": BinaryCrossentropy,
    "categorical_crossentropy": CategoricalCrossentropy,
}


def get_loss(name: str, **params: float) -> Loss:
    """Build the loss called ``name``: ``get_loss("huber", delta=1.0)``.

    Raises
    ------
    EngineConfigError
        For an unknown name, an unknown parameter or a non-positive ``delta``.
    """
    return build_registered("loss", LOSSES, name, params)


@dataclass(frozen=True)
class OutputLayer:
    """The output layer a loss pairs with.

    Attributes
    ----------
    activation : str or None
        The activation the loss is fused with and requires (the loss's own ``activation``), or
        None for any.
    min_units : int or None
        The fewest output units, with ``why`` (words for the message) and ``hint``; None: no rule.
    """

    activation: str | None
    min_units: int | None = None
    why: str = ""
    hint: str | None = None


_FEWEST_UNITS: dict[str, tuple[int, str, str]] = {
    "categorical_crossentropy": (
        2,
        "one per class",
        "for two classes use 2 softmax units, or 1 sigmoid unit with binary_crossentropy",
    ),
}

#: The valid (loss, output layer) pairs, the one table of them (see the module docstring);
#: `check_loss_activation` applies it. The activations are the losses' own.
OUTPUT_LAYERS: dict[str, OutputLayer] = {
    name: OutputLayer(cls.activation)
    if name not in _FEWEST_UNITS
    else OutputLayer(cls.activation, *_FEWEST_UNITS[name])
    for name, cls in LOSSES.items()
}


def check_loss_activation(loss_name: str, activation_name: str, units: int) -> None:
    """Raise `EngineConfigError` unless the loss fits an output layer of this activation and width.

    The valid pairs are `OUTPUT_LAYERS`.
    """
    if loss_name not in LOSSES:
        raise unknown_name("loss", loss_name, list(LOSSES))
    rule = OUTPUT_LAYERS[loss_name]
    required = rule.activation
    if required is not None and activation_name != required:
        raise EngineConfigError(
            f"loss '{loss_name}' needs a {required} output layer, but the last layer's "
            f"activation is '{activation_name}'; set it to {required}",
            hint=f"set the last layer's activation to {required}",
        )
    if rule.min_units is not None and units < rule.min_units:
        raise EngineConfigError(
            f"loss '{loss_name}' needs {rule.min_units} or more output units ({rule.why}), "
            f"but the last layer has {units}",
            hint=rule.hint,
        )
