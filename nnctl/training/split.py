"""`Split`: the features and targets of one data split, as data gives and `Trainer` takes them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray


@dataclass(frozen=True)
class Split:
    """Features ``X`` of shape (n_samples, n_features) and targets ``y``, ready for the network."""

    X: NDArray[np.floating]
    y: NDArray[Any]

    def __len__(self) -> int:
        return int(self.X.shape[0])
