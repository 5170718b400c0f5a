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
- :class:`Awake` keeps the process's CPUs from halting while steps come, with idle-priority
  threads spinning outside the GIL. A thread that waits (for the helper, for the GIL, which the
  two threads pass back and forth at every NumPy call) lets its CPU halt, and a virtual machine's
  halted vCPU can take tens to hundreds of microseconds to run again when woken. A CPU that runs
  an idle-priority spinner instead switches to the woken thread at once, and the spinner gets no
  time that any other thread wants. It is the planner's `AWAKE` site: used only where it pays.
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
import threading
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from nnctl._platform import BLAS_THREADS_AT_START, n_cores
from nnctl.nn.fast import fpu, native


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


#: An `Awake` spinner stops this long after the last `Awake.touch` (a step) unless touched again.
AWAKE_SECONDS = 0.05
#: `Awake` keeps CPUs awake only for a process allowed at most this many: one spinner per CPU
#: is what two threads need; on a bigger machine it would burn cores that nothing uses.
AWAKE_MAX_CPUS = 2


def _allowed_cpus() -> list[int]:
    try:
        return sorted(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return []


def awake_possible() -> bool:
    """Whether `Awake` can keep CPUs awake here: machine code runs, and threads can be set to
    idle priority on one CPU each (Linux), for a process allowed on 2 to `AWAKE_MAX_CPUS` CPUs."""
    return (
        native.spin is not None
        and hasattr(os, "SCHED_IDLE")
        and 2 <= len(_allowed_cpus()) <= AWAKE_MAX_CPUS
    )


def _keep_busy(cpu: int, count: ctypes.c_int64) -> None:
    """A spinner's life: on ``cpu`` alone, at idle priority, spin until ``count`` runs out."""
    try:
        # 0: this thread (on Linux a thread's affinity and policy are its own)
        os.sched_setaffinity(0, {cpu})
        os.sched_setscheduler(0, os.SCHED_IDLE, os.sched_param(0))
    except OSError:
        return  # a spinner that could take time from others does not spin
    native.spin(ctypes.byref(count))


class Awake:
    """One idle-priority thread per CPU, spinning while training steps come.

    `touch` (each step) starts a spinner on every CPU that lacks one and gives each
    `AWAKE_SECONDS` of spinning from now; `stop` ends them. A spinner is pinned to its CPU at
    Linux's ``SCHED_IDLE`` priority, so it runs only when nothing else on that CPU can, and it
    spins in machine code (`nnctl.nn.fast.native.spin`), without the GIL: it costs the process's
    own threads nothing but keeps its CPU from halting. Unused where `awake_possible` is False.

    Parameters
    ----------
    cpus : list of int, optional
        The CPUs to keep awake: by default every CPU the process may use, where `awake_possible`.
    """

    def __init__(self, cpus: list[int] | None = None) -> None:
        self.cpus = (_allowed_cpus() if awake_possible() else []) if cpus is None else cpus
        self._counts = [ctypes.c_int64(0) for _ in self.cpus]
        self._threads: list[threading.Thread | None] = [None for _ in self.cpus]
        self._spins = 0  # spins in AWAKE_SECONDS, measured at the first touch
        self._pid = os.getpid()

    @property
    def threads(self) -> list[threading.Thread]:
        """The spinner threads alive now."""
        return [t for t in self._threads if t is not None and t.is_alive()]

    def touch(self) -> None:
        """Keep every CPU busy for `AWAKE_SECONDS` from now."""
        if not self.cpus:
            return
        if self._pid != os.getpid():  # a forked child has none of its parent's threads
            self._threads, self._pid = [None for _ in self.cpus], os.getpid()
        if not self._spins:
            self._spins = _spins_in(AWAKE_SECONDS)
        for i, cpu in enumerate(self.cpus):
            self._counts[i].value = self._spins
            thread = self._threads[i]
            if thread is None or not thread.is_alive():
                thread = threading.Thread(
                    target=_keep_busy, args=(cpu, self._counts[i]), name=f"nnctl-awake-{cpu}",
                    daemon=True,
                )  # fmt: skip
                thread.start()
                self._threads[i] = thread

    def stop(self) -> None:
        """End the spinners (each within one spin)."""
        for count in self._counts:
            count.value = 0


def _spins_in(seconds: float) -> int:
    """How many turns of `native.spin` take about ``seconds`` on this CPU (``pause`` takes from
    about 10 to 140 cycles, by CPU)."""
    assert native.spin is not None
    turns = 20_000
    count = ctypes.c_int64(turns)
    start = time.perf_counter()
    native.spin(ctypes.byref(count))
    elapsed = max(time.perf_counter() - start, 1e-6)
    return max(1, int(turns * seconds / elapsed))
