"""The `Layer` protocol: what a `Network` asks of each of its layers.

A layer owns named parameters and their gradients, computes its output for a batch and, from the
gradient of the loss with respect to that output, fills its parameters' gradients and returns the
gradient with respect to its input. It never changes its own parameters: optimizers do. `Dense` is
the reference; a convolution would meet the same protocol with other shapes.

Arrays are batch-first: ``X`` of shape ``(n_samples, *input_shape[1:])``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar, Protocol

import numpy as np

Array = np.ndarray


class Layer(Protocol):
    """One step of a network: ``Y = layer(X)`` forward, ``dX = layer.backward(dY)`` back.

    Attributes
    ----------
    params : dict of str to ndarray
        The trainable arrays by name (``{"W": ..., "b": ...}``); a network names them
        ``layers.{i}.{name}``.
    grads : dict of str to ndarray
        ``dL/dparam`` for each name of ``params``, same shapes, filled by `backward`.
    decayed : frozenset of str
        The names of ``params`` that weight decay applies to (weights, not biases).
    Z : ndarray or None
        The pre-activation of the last forward pass (what a loss fused with the output activation
        reads).
    output : ndarray or None
        The output of the last forward pass.
    rng : numpy.random.Generator or None
        Draws what is random in training (dropout masks); the network sets it.
    """

    params: dict[str, Array]
    grads: dict[str, Array]
    decayed: ClassVar[frozenset[str]]
    Z: Array | None
    output: Array | None
    rng: np.random.Generator | None

    @property
    def input_shape(self) -> tuple[int | None, ...]:
        """``(None, *features)``: the batch dimension is None."""
        ...

    @property
    def output_shape(self) -> tuple[int | None, ...]:
        """``(None, *features)`` of the output."""
        ...

    @property
    def n_params(self) -> int:
        """The number of trainable scalars."""
        ...

    def forward(self, X: Array, training: bool = False) -> Array:
        """The output for a batch ``X``; keeps what `backward` needs."""
        ...

    def backward(self, dY: Array, need_dX: bool = True, from_logits: bool = False) -> Array | None:
        """Fill ``grads`` from ``dY = dL/dY``; return ``dX = dL/dX`` (None without ``need_dX``).

        With ``from_logits``, ``dY`` already is ``dL/dZ`` (a loss fused with the activation).
        """
        ...

    def bind(self, params: Mapping[str, Array], grads: Mapping[str, Array]) -> None:
        """Move the parameters into the given arrays and take ``grads`` as the gradients."""
        ...

    def spec(self) -> dict[str, Any]:
        """The layer's architecture, JSON-serializable (what rebuilds it)."""
        ...

    def describe(self) -> str:
        """A few words naming the layer in a message, e.g. ``8 units, tanh``."""
        ...

    def summary(self) -> dict[str, Any]:
        """One row of a Keras-style table: shapes, the layer's own settings, ``params``."""
        ...
