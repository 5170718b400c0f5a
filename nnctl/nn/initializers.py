"""Weight initializers: ``(shape, rng, dtype) -> array``, drawn from an explicit Generator.

For a weight matrix ``W`` of shape ``(fan_in, fan_out)``: Glorot keeps the variance of activations
and gradients roughly constant for symmetric activations (tanh, sigmoid, linear); He doubles it to
make up for ReLU zeroing half its inputs; LeCun normal suits self-normalizing networks. Values are
drawn in float64 and then cast, so a float32 and a float64 network built from the same seed start
from the same weights up to rounding. Normal draws are plain (not truncated) normals.

References
----------
Glorot & Bengio, "Understanding the difficulty of training deep feedforward neural networks",
AISTATS 2010.
He, Zhang, Ren & Sun, "Delving deep into rectifiers: surpassing human-level performance on ImageNet
classification", ICCV 2015.
LeCun, Bottou, Orr & Müller, "Efficient BackProp", in Neural Networks: Tricks of the Trade, 1998.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

from nnctl.nn.activations import RELU_FAMILY
from nnctl.nn.registry import unknown_name

Initializer = Callable[[tuple[int, int], np.random.Generator, np.dtype[np.floating]], np.ndarray]


def glorot_uniform(
    shape: tuple[int, int], rng: np.random.Generator, dtype: np.dtype[np.floating]
) -> np.ndarray:
    """``W ~ U(-limit, limit)``, ``limit = sqrt(6 / (fan_in + fan_out))`` (Glorot & Bengio 2010)."""
    limit = math.sqrt(6.0 / (shape[0] + shape[1]))
    return rng.uniform(-limit, limit, size=shape).astype(dtype)


def glorot_normal(
    shape: tuple[int, int], rng: np.random.Generator, dtype: np.dtype[np.floating]
) -> np.ndarray:
    """``W ~ N(0, std**2)``, ``std = sqrt(2 / (fan_in + fan_out))`` (Glorot & Bengio 2010)."""
    std = math.sqrt(2.0 / (shape[0] + shape[1]))
    return (std * rng.standard_normal(size=shape)).astype(dtype)


def he_uniform(
    shape: tuple[int, int], rng: np.random.Generator, dtype: np.dtype[np.floating]
) -> np.ndarray:
    """``W ~ U(-limit, limit)``, ``limit = sqrt(6 / fan_in)`` (He et al. 2015)."""
    limit = math.sqrt(6.0 / shape[0])
    return rng.uniform(-limit, limit, size=shape).astype(dtype)


def he_normal(
    shape: tuple[int, int], rng: np.random.Generator, dtype: np.dtype[np.floating]
) -> np.ndarray:
    """``W ~ N(0, std**2)``, ``std = sqrt(2 / fan_in)`` (He et al. 2015)."""
    std = math.sqrt(2.0 / shape[0])
    return (std * rng.standard_normal(size=shape)).astype(dtype)


def lecun_normal(
    shape: tuple[int, int], rng: np.random.Generator, dtype: np.dtype[np.floating]
) -> np.ndarray:
    """``W ~ N(0, std**2)``, ``std = sqrt(1 / fan_in)`` (LeCun et al. 1998)."""
    std = math.sqrt(1.0 / shape[0])
    return (std * rng.standard_normal(size=shape)).astype(dtype)


def zeros(
    shape: tuple[int, int], rng: np.random.Generator, dtype: np.dtype[np.floating]
) -> np.ndarray:
    """``W = 0``: draws nothing. Every unit then learns the same thing; use only for tests."""
    return np.zeros(shape, dtype=dtype)


INITIALIZERS: dict[str, Initializer] = {
    "glorot_uniform": glorot_uniform,
    "glorot_normal": glorot_normal,
    "he_uniform": he_uniform,
    "he_normal": he_normal,
    "lecun_normal": lecun_normal,
    "zeros": zeros,
}


#: ``std(fan_in, fan_out)`` of each initializer's distribution: ``limit / sqrt(3)`` for a uniform
#: ``U(-limit, limit)``, the normal's own ``std``.
_STDS: dict[str, Callable[[int, int], float]] = {
    "glorot_uniform": lambda fan_in, fan_out: math.sqrt(2.0 / (fan_in + fan_out)),
    "glorot_normal": lambda fan_in, fan_out: math.sqrt(2.0 / (fan_in + fan_out)),
    "he_uniform": lambda fan_in, fan_out: math.sqrt(2.0 / fan_in),
    "he_normal": lambda fan_in, fan_out: math.sqrt(2.0 / fan_in),
    "lecun_normal": lambda fan_in, fan_out: math.sqrt(1.0 / fan_in),
    "zeros": lambda fan_in, fan_out: 0.0,
}


def child_rng(rng: np.random.Generator) -> np.random.Generator:
    """An independent Generator derived from ``rng`` (for dropout masks)."""
    try:
        return rng.spawn(1)[0]
    except (TypeError, ValueError):  # a Generator without a SeedSequence
        return np.random.default_rng(int(rng.integers(0, 2**63)))


def init_std(name: str, n_in: int, units: int) -> float:
    """The standard deviation of the weights initializer ``name`` draws for ``W (n_in, units)``.

    Notes
    -----
    Glorot: ``sqrt(2 / (n_in + units))``; He: ``sqrt(2 / n_in)``; LeCun normal:
    ``sqrt(1 / n_in)``; zeros: 0. The uniform ones draw ``U(-limit, limit)``, whose std is
    ``limit / sqrt(3)``: the same as their normal namesakes'.
    """
    if name not in _STDS:
        raise unknown_name("initializer", name, list(_STDS))
    return _STDS[name](n_in, units)


def default_initializer(activation: str) -> str:
    """``he_uniform`` for the ReLU family (relu, leaky_relu, elu, gelu), else ``glorot_uniform``."""
    return "he_uniform" if activation in RELU_FAMILY else "glorot_uniform"


def get_initializer(name: str) -> Initializer:
    """The initializer called ``name``; `EngineConfigError` (with a suggestion) if unknown."""
    if name not in INITIALIZERS:
        raise unknown_name("initializer", name, list(INITIALIZERS))
    return INITIALIZERS[name]
