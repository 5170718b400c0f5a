"""The training step's use of two cores: BLAS on one thread, and a helper thread of our own.

OpenBLAS's own threads split each matrix product, then spin waiting for the next one; on a machine
with other work they wait for a core and a step can take many times as long. The elementwise work
of a step (activations, the optimizer's dozen passes over every parameter) runs on one core. So a
training step (see `nnctl.nn.fast.step`) keeps BLAS to one thread and shares the work with one
helper thread of ours, which sleeps between tasks:

- a small batch (up to ``SMALL_BATCH`` rows): the helper fills half of the first layer's ``dW``
  and updates those parameters while the caller does the rest;
- a larger batch: the helper runs the forward and backward passes of the first half of the rows
  and the caller those of the second half; then they share the gradients and the update as above.

Without a helper (one core, ``OPENBLAS_NUM_THREADS=1``) the caller runs the same pieces one after
the other (`both`), and training keeps BLAS on one thread throughout (`one_blas_thread`), so the
same seed gives the same bytes on any number of cores. Where a helper is there, the planner
(`nnctl.nn.fast.planner`) decides, by timing steps, at which of a step's sites it is used: on a
machine whose second core is slow to answer, none.

- BLAS thread counts (`blas_threads`, `one_blas_thread`) and the core count are in
  `nnctl._platform`, which data loading uses too.
- :class:`Helper` runs one function on a helper thread while the caller runs another. NumPy's
  matrix products and elementwise functions release the GIL on large arrays, so the two run at
  once. The helper thread takes the caller's floating-point mode (flush-to-zero, rounding) and
  error state for each task, so an elementwise rule split in two gives exactly the bytes it gives
  in one piece.
"""

from __future__ import annotations

import os
import queue
import threading
from collections.abc import Callable
from typing import Any

import numpy as np

from nnctl._platform import BLAS_THREADS_AT_START, n_cores
from nnctl.nn.fast import fpu


def two_threads_allowed() -> bool:
    """Whether a training step may use a helper thread: two cores, and a BLAS that nnctl can
    keep to one thread which was not told to use only one (``OPENBLAS_NUM_THREADS=1``)."""
    return n_cores() >= 2 and (BLAS_THREADS_AT_START or 0) >= 2


def both(helper: Helper | None, first: Callable[[], None], second: Callable[[], None]) -> None:
    """Run ``first`` and ``second``: at once on a ``helper``, else one after the other.

    The two write disjoint results, so the bytes are the same either way.
    """
    if helper is None:
        first()
        second()
    else:
        helper.run_split(first, second)


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
