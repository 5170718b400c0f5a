"""The training step's use of two cores: BLAS on one thread, and a helper thread of our own.

OpenBLAS's own threads split each matrix product, then spin waiting for the next one; on a machine
with other work they wait for a core and a step can take many times as long. The elementwise work
of a step (activations, the optimizer's dozen passes over every parameter) runs on one core. So a
training step (see `Network.train_step`) keeps BLAS to one thread and shares the work with one
helper thread of ours, which sleeps between tasks:

- a small batch (up to ``SMALL_BATCH`` rows): the helper fills half of the first layer's ``dW``
  and updates those parameters while the caller does the rest;
- a larger batch: the helper runs the forward and backward passes of the first half of the rows
  and the caller those of the second half; then they share the gradients and the update as above.

Without a helper (one core, ``OPENBLAS_NUM_THREADS=1``) the caller runs the same pieces one after
the other (`both`), and training keeps BLAS on one thread throughout (`one_blas_thread`), so the
same seed gives the same bytes on any number of cores.

- :func:`blas_threads` reads and :func:`set_blas_threads` sets the BLAS thread count of NumPy's
  bundled OpenBLAS, found with `ctypes` in the process's loaded libraries (Linux). Where it is
  not found (another BLAS, another system) they do nothing and a step keeps to one thread plus
  whatever the BLAS does itself.
- :class:`Helper` runs one function on a helper thread while the caller runs another. NumPy's
  matrix products and elementwise functions release the GIL on large arrays, so the two run at
  once. The helper thread takes the caller's floating-point mode (flush-to-zero, rounding) and
  error state for each task, so an elementwise rule split in two gives exactly the bytes it gives
  in one piece.
"""

from __future__ import annotations

import ctypes
import os
import queue
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np

from nnctl.nn.fast import fpu

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


def _load_openblas() -> tuple[Callable[[int], None], Callable[[], int]] | None:
    """NumPy's OpenBLAS thread-count setter and getter, or None."""
    if not sys.platform.startswith("linux"):
        return None
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
                return setter, getter
    return None


_OPENBLAS = _load_openblas()


def blas_threads() -> int | None:
    """The number of threads NumPy's OpenBLAS uses, or None when it cannot be controlled."""
    return None if _OPENBLAS is None else int(_OPENBLAS[1]())


def set_blas_threads(n: int) -> None:
    """Set the number of threads of NumPy's OpenBLAS (process-wide); a no-op where unavailable."""
    if _OPENBLAS is not None:
        _OPENBLAS[0](n)


#: The BLAS thread count the process started with (``OPENBLAS_NUM_THREADS`` sets it), or None.
BLAS_THREADS_AT_START = blas_threads()


def two_threads_allowed() -> bool:
    """Whether a training step may use a helper thread: two cores, and a BLAS that nnctl can
    keep to one thread which was not told to use only one (``OPENBLAS_NUM_THREADS=1``)."""
    return n_cores() >= 2 and (BLAS_THREADS_AT_START or 0) >= 2


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


def both(helper: Helper | None, first: Callable[[], None], second: Callable[[], None]) -> None:
    """Run ``first`` and ``second``: at once on a ``helper``, else one after the other.

    The two write disjoint results, so the bytes are the same either way.
    """
    if helper is None:
        first()
        second()
    else:
        helper.run_split(first, second)


def n_cores() -> int:
    """The number of CPU cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


class Helper:
    """One helper thread running tasks for the thread that owns it.

    `run_split(first, second)` runs ``first()`` on the helper and ``second()`` on the caller, and
    returns when both are done, re-raising an exception of ``first`` in the caller. The helper
    thread is started on first use (again after a fork) and is a daemon.
    """

    def __init__(self) -> None:
        self._tasks: queue.SimpleQueue[tuple[Callable[[], None], int | None, Any]] = (
            queue.SimpleQueue()
        )
        self._done: queue.SimpleQueue[BaseException | None] = queue.SimpleQueue()
        self._pid = -1

    def _start(self) -> None:
        self._tasks, self._done = queue.SimpleQueue(), queue.SimpleQueue()
        threading.Thread(target=self._serve, name="nnctl-helper", daemon=True).start()
        self._pid = os.getpid()

    def _serve(self) -> None:
        tasks, done = self._tasks, self._done
        mode: tuple[int | None, Any] = (None, None)
        while True:
            task, mxcsr, errstate = tasks.get()
            if (mxcsr, errstate) != mode:  # this thread's own mode, set only when it changes
                if mxcsr is not None:
                    fpu.set_mxcsr(mxcsr)
                np.seterr(**errstate)
                mode = (mxcsr, errstate)
            try:
                task()
            except BaseException as error:  # handed to the caller
                done.put(error)
            else:
                done.put(None)

    def run_split(self, first: Callable[[], None], second: Callable[[], None]) -> None:
        """Run ``first`` on the helper thread and ``second`` here, at the same time."""
        if self._pid != os.getpid():
            self._start()
        mxcsr = fpu.get_mxcsr() if fpu.FTZ_AVAILABLE else None
        self._tasks.put((first, mxcsr, np.geterr()))
        try:
            second()
        finally:
            error = self._done.get()
        if error is not None:
            raise error
