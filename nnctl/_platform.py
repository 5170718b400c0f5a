"""What the machine gives a process: its CPU cores, and the thread count of NumPy's BLAS.

Used by the engine's fast paths (`nnctl.nn.fast`) and by data loading (`nnctl.data`), owned by
neither.

- :func:`n_cores` counts the cores this process may run on.
- :func:`blas_threads` reads and :func:`set_blas_threads` sets the BLAS thread count of NumPy's
  bundled OpenBLAS, found with `ctypes` in the process's loaded libraries (Linux). Where it is
  not found (another BLAS, another system) they do nothing.
- :func:`one_blas_thread` runs a block with the BLAS on one thread.
- :func:`cpu_flags` lists the CPU's features (Linux).
"""

from __future__ import annotations

import ctypes
import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager

_SETTERS = ("scipy_openblas_set_num_threads64_", "scipy_openblas_set_num_threads",
            "openblas_set_num_threads64_", "openblas_set_num_threads")  # fmt: skip
_GETTERS = ("scipy_openblas_get_num_threads64_", "scipy_openblas_get_num_threads",
            "openblas_get_num_threads64_", "openblas_get_num_threads")  # fmt: skip


def _openblas_paths() -> list[str]:
    """Paths of the loaded libraries whose name mentions OpenBLAS (Linux's /proc/self/maps)."""
    try:
        with open("/proc/self/maps", encoding="utf-8", errors="replace") as maps:
            paths = [line.split(None, 5)[-1].strip() for line in maps if "openblas" in line.lower()]
    except OSError:
        return []
    return list(dict.fromkeys(p for p in paths if p.startswith("/")))


def _load_openblas() -> tuple[Callable[[int], None], Callable[[], int], ctypes.CDLL] | None:
    """NumPy's OpenBLAS thread-count setter and getter, and the library, or None."""
    if not sys.platform.startswith("linux"):
        return None
    import numpy  # noqa: F401 - loads its OpenBLAS, which is looked for among the loaded libraries

    for path in _openblas_paths():
        try:
            lib = ctypes.CDLL(path)
        except OSError:
            continue
        for set_name, get_name in zip(_SETTERS, _GETTERS, strict=True):
            setter, getter = getattr(lib, set_name, None), getattr(lib, get_name, None)
            if setter is not None and getter is not None:
                setter.argtypes, setter.restype = [ctypes.c_int], None
                getter.argtypes, getter.restype = [], ctypes.c_int
                return setter, getter, lib
    return None


_OPENBLAS = _load_openblas()

#: The names of the CBLAS matrix products in NumPy's OpenBLAS, by element type: with 64-bit
#: integers first (NumPy's wheels), then 32-bit ones (the registers and stack slots are 64 bits
#: wide either way, and every size nnctl passes fits in 31).
GEMM_NAMES = {
    "float32": ("scipy_cblas_sgemm64_", "cblas_sgemm64_", "scipy_cblas_sgemm", "cblas_sgemm"),
    "float64": ("scipy_cblas_dgemm64_", "cblas_dgemm64_", "scipy_cblas_dgemm", "cblas_dgemm"),
}


def blas_gemm(dtype_name: str) -> int | None:
    """The address of ``cblas_?gemm`` for ``"float32"`` or ``"float64"`` in the OpenBLAS NumPy
    uses (the library `blas_threads` controls), or None where it is not found."""
    if _OPENBLAS is None:
        return None
    for name in GEMM_NAMES.get(dtype_name, ()):
        function = getattr(_OPENBLAS[2], name, None)
        if function is not None:
            return ctypes.cast(function, ctypes.c_void_p).value
    return None


def blas_threads() -> int | None:
    """The number of threads NumPy's OpenBLAS uses, or None when it cannot be controlled."""
    return None if _OPENBLAS is None else int(_OPENBLAS[1]())


def set_blas_threads(n: int) -> None:
    """Set the number of threads of NumPy's OpenBLAS (process-wide); a no-op where unavailable."""
    if _OPENBLAS is not None:
        _OPENBLAS[0](n)


#: The BLAS thread count the process started with (``OPENBLAS_NUM_THREADS`` sets it), or None.
BLAS_THREADS_AT_START = blas_threads()


@contextmanager
def one_blas_thread() -> Iterator[None]:
    """Run a block with NumPy's BLAS on one thread, then restore its thread count.

    A BLAS splits a matrix product between its threads in a way that changes the last bits of
    the result, so training keeps every product on one thread (the helper thread provides the
    parallelism): the same seed then gives the same bytes whatever the number of cores.
    """
    before = blas_threads()
    if before is not None and before != 1:
        set_blas_threads(1)
    try:
        yield
    finally:
        if before is not None and before != 1:
            set_blas_threads(before)


def n_cores() -> int:
    """The number of CPU cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


_CPU_FLAGS: frozenset[str] | None = None


def cpu_flags() -> frozenset[str]:
    """The CPU's feature flags the operating system enables (Linux's /proc/cpuinfo; empty
    elsewhere): ``"avx" in cpu_flags()``."""
    global _CPU_FLAGS
    if _CPU_FLAGS is None:
        flags: frozenset[str] = frozenset()
        try:
            with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as info:
                for line in info:
                    if line.startswith("flags"):
                        flags = frozenset(line.partition(":")[2].split())
                        break
        except OSError:
            pass
        _CPU_FLAGS = flags
    return _CPU_FLAGS
