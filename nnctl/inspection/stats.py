"""Statistics of weights and activations, and what makes a unit dead or saturated.

Definitions (the README's "nnctl inspect" says the same):

- A unit of a ReLU-family layer (relu, leaky_relu, elu, gelu) is **dead** on some data when its
  pre-activation is never positive there: ``max over rows of Z[:, j] <= 0``. (For relu its
  output is then always 0 and its weights get no gradient.)
- A unit of a sigmoid or tanh layer is **saturated** when, on more than ``SATURATED_SHARE``
  (99%) of the rows, its output is within ``SATURATION_MARGIN`` (0.01) of a bound of the
  activation (0 or 1 for sigmoid, -1 or 1 for tanh): its derivative is then nearly 0.

Other activations have no such fraction (None).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from nnctl.nn.activations import RELU_FAMILY

SATURATION_MARGIN = 0.01
SATURATED_SHARE = 0.99
BOUNDS: dict[str, tuple[float, float]] = {"sigmoid": (0.0, 1.0), "tanh": (-1.0, 1.0)}


def tensor_stats(array: np.ndarray) -> dict[str, float]:
    """``mean``, ``std`` (population, ``ddof=0``), ``min``, ``max`` and ``norm`` of an array.

    ``norm`` is the Frobenius norm, ``sqrt(sum(array**2))``, computed in float64.
    """
    values = np.asarray(array, dtype=np.float64)
    return {
        "mean": float(values.mean()),
        "std": float(values.std()),
        "min": float(values.min()),
        "max": float(values.max()),
        "norm": float(np.sqrt(np.sum(values * values))),
    }


def near_bound(A: np.ndarray, activation: str) -> np.ndarray:
    """``|A - bound| < SATURATION_MARGIN`` for the nearer bound of ``activation``, elementwise."""
    low, high = BOUNDS[activation]
    return np.minimum(np.abs(A - low), np.abs(A - high)) < SATURATION_MARGIN


@dataclass
class ActivationStats:
    """Running sums over batches of one layer's ``Z`` and ``A`` (shape ``(n, units)``).

    ``add`` each batch, then read `mean`, `std`, `dead_fraction`, `saturated_fraction`.
    """

    activation: str
    units: int
    rows: int = 0
    total: float = 0.0
    squares: float = 0.0
    z_max: np.ndarray = field(init=False)
    near: np.ndarray = field(init=False)

    def __post_init__(self) -> None:
        self.z_max = np.full(self.units, -np.inf)
        self.near = np.zeros(self.units, dtype=np.int64)

    def add(self, Z: np.ndarray, A: np.ndarray) -> None:
        """Add a batch: ``sum(A)``, ``sum(A**2)`` (float64), ``max(Z)`` and rows near a bound."""
        values = np.asarray(A, dtype=np.float64)
        self.rows += A.shape[0]
        self.total += float(values.sum())
        self.squares += float(np.sum(values * values))
        self.z_max = np.maximum(self.z_max, Z.max(axis=0))
        if self.activation in BOUNDS:
            self.near += near_bound(values, self.activation).sum(axis=0)

    def mean(self) -> float:
        """The mean of every output of the layer on the data: ``sum(A) / (rows * units)``."""
        return self.total / max(1, self.rows * self.units)

    def std(self) -> float:
        """``sqrt(mean(A**2) - mean(A)**2)`` over every output (population std)."""
        mean = self.mean()
        return float(np.sqrt(max(0.0, self.squares / max(1, self.rows * self.units) - mean**2)))

    def dead_fraction(self) -> float | None:
        """Units whose ``Z`` was never positive, over ``units``; None outside the ReLU family."""
        if self.activation not in RELU_FAMILY:
            return None
        return float(np.mean(self.z_max <= 0))

    def saturated_fraction(self) -> float | None:
        """Units near a bound on more than 99% of the rows, over ``units``; None unless
        sigmoid or tanh."""
        if self.activation not in BOUNDS:
            return None
        return float(np.mean(self.near > SATURATED_SHARE * self.rows))
