"""Helpers for the engine's tests: central finite differences and the relative error."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest

Numgrad = Callable[[Callable[[], float], np.ndarray], np.ndarray]


def numerical_gradient(f: Callable[[], float], x: np.ndarray, h: float = 1e-6) -> np.ndarray:
    """``dL/dx`` by central differences ``(f(x + h) - f(x - h)) / 2h``; perturbs ``x`` in place."""
    grad = np.zeros_like(x, dtype=np.float64)
    flat, out = x.reshape(-1), grad.reshape(-1)
    for i in range(flat.size):
        saved = flat[i]
        flat[i] = saved + h
        up = f()
        flat[i] = saved - h
        down = f()
        flat[i] = saved
        out[i] = (up - down) / (2 * h)
    return grad


def relative_error(analytic: np.ndarray, numeric: np.ndarray) -> float:
    """``||a - n|| / (||a|| + ||n||)``: 0 for equal arrays, 1 for unrelated ones."""
    a, n = np.asarray(analytic, np.float64), np.asarray(numeric, np.float64)
    scale = np.linalg.norm(a) + np.linalg.norm(n)
    return float(np.linalg.norm(a - n) / scale) if scale > 0 else 0.0


@pytest.fixture
def numgrad() -> Numgrad:
    return numerical_gradient


@pytest.fixture
def rel_error() -> Callable[[np.ndarray, np.ndarray], float]:
    return relative_error
