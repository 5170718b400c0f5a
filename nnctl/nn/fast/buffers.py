"""All trainable arrays of a network in one flat buffer, with a gradient buffer beside it.

Each named parameter (``layers.0.W``) is a reshaped view into ``data``, and its gradient a view
into ``grad`` at the same offsets. Layers read and write the views; optimizers update the flat
buffers with a handful of whole-array operations instead of a loop over parameters, and clipping
by global norm is one dot product. Weights come first, so weight decay applies to the prefix
``data[:n_decay]`` and never to biases.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np


class ParameterBuffer:
    """Named parameters as views of one contiguous array.

    Parameters
    ----------
    shapes : mapping of str to tuple of int
        Parameter names and shapes, in the order `names` reports them.
    decayed : set of str
        The names that weight decay applies to (the ``W`` of each layer); stored first.
    dtype : numpy dtype
        float32 or float64.

    Attributes
    ----------
    data, grad : ndarray, shape (size,)
        The flat parameters and gradients; ``view(name)`` and ``grad_view(name)`` alias them.
    n_decay : int
        ``data[:n_decay]`` holds exactly the decayed parameters.
    """

    def __init__(
        self,
        shapes: Mapping[str, tuple[int, ...]],
        decayed: set[str],
        dtype: np.dtype[np.floating] | type[np.floating],
    ) -> None:
        self.names = list(shapes)
        self.shapes = {name: tuple(shape) for name, shape in shapes.items()}
        storage = [n for n in self.names if n in decayed] + [
            n for n in self.names if n not in decayed
        ]
        self.offsets: dict[str, tuple[int, int]] = {}
        start = 0
        for name in storage:
            size = int(np.prod(self.shapes[name], dtype=np.int64))
            self.offsets[name] = (start, start + size)
            start += size
        self.n_decay = sum(self.size_of(n) for n in self.names if n in decayed)
        self.data = np.zeros(start, dtype=dtype)
        self.grad = np.zeros(start, dtype=dtype)

    @classmethod
    def from_arrays(
        cls, arrays: Mapping[str, np.ndarray], decayed: set[str] | None = None
    ) -> ParameterBuffer:
        """A buffer holding copies of ``arrays`` (all of one float dtype)."""
        first = next(iter(arrays.values()))
        buffer = cls({k: a.shape for k, a in arrays.items()}, decayed or set(), first.dtype)
        for name, array in arrays.items():
            buffer.view(name)[...] = array
        return buffer

    @property
    def size(self) -> int:
        """The number of scalar parameters."""
        return int(self.data.size)

    def size_of(self, name: str) -> int:
        """The number of scalars in parameter ``name``."""
        start, stop = self.offsets[name]
        return stop - start

    def slice_of(self, flat: np.ndarray, name: str) -> np.ndarray:
        """Parameter ``name``'s part of any flat array laid out like ``data``, reshaped."""
        start, stop = self.offsets[name]
        return flat[start:stop].reshape(self.shapes[name])

    def view(self, name: str) -> np.ndarray:
        """The live parameter array ``name``."""
        return self.slice_of(self.data, name)

    def grad_view(self, name: str) -> np.ndarray:
        """The live gradient array of parameter ``name``."""
        return self.slice_of(self.grad, name)
