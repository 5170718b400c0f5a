"""``y = a * x + b * y`` in one pass, with the BLAS that NumPy already loaded.

NumPy has no fused "scale and add" over arrays: ``y *= b`` then ``y += a * x`` walks through memory
two or three times. The optimizers' updates are made of such passes over every parameter at every
step, so they use `axpby` (BLAS's ``saxpby``/``daxpby``), called with `ctypes` in the OpenBLAS
library that NumPy bundles. Where that library is not found (another BLAS, another system), `axpby`
does the same with NumPy. The two agree to rounding: a BLAS may use fused multiply-adds.

`openblas` (the library, found in Linux's list of the process's mapped files) is shared with
:mod:`nnctl.nn.threads`, which sets its thread count.
"""

from __future__ import annotations

import ctypes
import sys
from collections.abc import Callable
from functools import cache

import numpy as np

Array = np.ndarray

# (symbol pattern, integer type): the 64-bit-integer interface is marked by the suffix "64_".
_AXPBY_SYMBOLS = (
    ("scipy_cblas_{}axpby64_", ctypes.c_int64),
    ("scipy_cblas_{}axpby", ctypes.c_int),
    ("cblas_{}axpby64_", ctypes.c_int64),
    ("cblas_{}axpby", ctypes.c_int),
)


def _openblas_paths() -> list[str]:
    """Paths of the loaded libraries whose name mentions OpenBLAS (Linux's /proc/self/maps)."""
    try:
        with open("/proc/self/maps", encoding="utf-8", errors="replace") as maps:
            paths = [line.split(None, 5)[-1].strip() for line in maps if "openblas" in line.lower()]
    except OSError:
        return []
    return list(dict.fromkeys(p for p in paths if p.startswith("/")))


@cache
def openblas() -> list[ctypes.CDLL]:
    """The OpenBLAS libraries this process has loaded (NumPy's), opened with `ctypes`; or []."""
    if not sys.platform.startswith("linux"):
        return []
    libraries = []
    for path in _openblas_paths():
        try:
            libraries.append(ctypes.CDLL(path))
        except OSError:
            continue
    return libraries


Routine = Callable[[int, float, int, int, float, int, int], None]


@cache
def _routine(char: str) -> Routine | None:
    """OpenBLAS's ``cblas_?axpby`` for ``s`` (float32) or ``d`` (float64), or None."""
    real = ctypes.c_float if char == "s" else ctypes.c_double
    for lib in openblas():
        for pattern, integer in _AXPBY_SYMBOLS:
            routine = getattr(lib, pattern.format(char), None)
            if routine is not None:
                routine.argtypes = [integer, real, ctypes.c_void_p, integer, real,
                                    ctypes.c_void_p, integer]  # fmt: skip
                routine.restype = None
                return routine  # type: ignore[no-any-return]
    return None


_CHARS = {np.dtype(np.float32): "s", np.dtype(np.float64): "d"}


def has_blas_axpby(dtype: np.dtype[np.floating] | type[np.floating]) -> bool:
    """Whether `axpby` calls the BLAS for arrays of ``dtype`` (else it uses NumPy)."""
    char = _CHARS.get(np.dtype(dtype))
    return char is not None and _routine(char) is not None


def axpby(a: float, x: Array, b: float, y: Array, scratch: Array | None = None) -> Array:
    """``y = a * x + b * y``, in place; returns ``y``.

    Parameters
    ----------
    a, b : float
    x, y : ndarray
        One-dimensional, contiguous, of one float dtype and length.
    scratch : ndarray, optional
        An array like ``x`` that the NumPy fallback may overwrite when ``a != 1`` (``x`` itself,
        if its values are no longer needed); without it the fallback allocates.
    """
    if x.shape != y.shape or x.dtype != y.dtype or x.ndim != 1:
        raise ValueError(f"axpby needs two 1-d arrays alike, got {x.shape} {x.dtype} and "
                         f"{y.shape} {y.dtype}")  # fmt: skip
    char = _CHARS.get(y.dtype)
    routine = _routine(char) if char is not None else None
    if routine is not None and x.flags.c_contiguous and y.flags.c_contiguous:
        routine(y.size, a, x.ctypes.data, 1, b, y.ctypes.data, 1)
        return y
    if b != 1.0:
        y *= b
    if a == 1.0:
        y += x
    else:
        y += np.multiply(x, a, out=scratch)
    return y
