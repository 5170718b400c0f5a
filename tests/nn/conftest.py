"""Fixtures for the engine's tests: the central differences of `nnctl.nn.gradcheck`."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest

from nnctl.nn.gradcheck import numerical_gradient, relative_error

Numgrad = Callable[[Callable[[], float], np.ndarray], np.ndarray]


@pytest.fixture
def numgrad() -> Numgrad:
    return numerical_gradient


@pytest.fixture
def rel_error() -> Callable[[np.ndarray, np.ndarray], float]:
    return relative_error
