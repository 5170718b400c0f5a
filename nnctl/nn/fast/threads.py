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
import weakref
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
    """Whether `Awake` can keep CPUs awake here: spinner threads run (x86-64 Linux,
    `nnctl.nn.fast.native.spinners_run`), for a process allowed on 2 to `AWAKE_MAX_CPUS` CPUs."""
    return native.spinners_run() and 2 <= len(_allowed_cpus()) <= AWAKE_MAX_CPUS


class Awake:
    """One idle-priority spinner thread per CPU, spinning while training steps come.

    `touch` (each step) gives each spinner `AWAKE_SECONDS` of spinning from now, starting the
    spinners at the first touch; `stop` ends their spinning. A spinner is pinned to its CPU at
    Linux's ``SCHED_IDLE`` priority, so it runs only when nothing else on that CPU can, and it is
    machine code in a thread of the C library's (`nnctl.nn.fast.native.start_spinner`), which
    never takes the GIL: it costs the process's own threads nothing but keeps its CPU from
    halting. Between spells it sleeps; when the `Awake` is collected, its spinners end. Unused
    where `awake_possible` is False, or where a spinner could not get to idle priority.

    Parameters
    ----------
    cpus : list of int, optional
        The CPUs to keep awake: by default every CPU the process may use, where `awake_possible`.
    """

    def __init__(self, cpus: list[int] | None = None) -> None:
        self.cpus = (_allowed_cpus() if awake_possible() else []) if cpus is None else cpus
        self._states: list[native.SpinnerState] = []
        self._spins = 0  # spins in AWAKE_SECONDS, measured at the first touch
        self._pid = os.getpid()
        self._failed = False

    @property
    def spinners(self) -> list[int]:
        """The thread ids of the spinners pinned at idle priority now (spinning or asleep)."""
        return [s.tid for s in self._states if s.status == native.SPINNING]

    def touch(self) -> None:
        """Keep every CPU busy for `AWAKE_SECONDS` from now."""
        if not self.cpus or self._failed:
            return
        if self._pid != os.getpid():  # a forked child has none of its parent's threads
            self._states, self._pid = [], os.getpid()
        if not self._states and not self._start():
            return
        for state in self._states:
            if state.status < 0:  # it could not get to idle priority (and ended)
                self._fail()
                return
            left = state.count
            state.count = self._spins
            # Asleep, or going to sleep: wake it. A count not spun down since the last touch
            # means a spinner that saw it run out just before that touch's store and slept.
            if left <= 0 or left == self._spins:
                native.wake(state)

    def stop(self) -> None:
        """End the spinning (each within one spin); the spinners sleep."""
        for state in self._states:
            state.count = 0

    def _start(self) -> bool:
        if not self._spins:
            self._spins = spins_in(AWAKE_SECONDS)
        for cpu in self.cpus:
            state = native.start_spinner(cpu)
            if state is None:
                self._fail()
                return False
            self._states.append(state)
        weakref.finalize(self, _retire, self._states, self._pid)
        return True

    def _fail(self) -> None:
        _retire(self._states, self._pid)
        self._states, self._failed = [], True


def _retire(states: list[native.SpinnerState], pid: int) -> None:
    if os.getpid() == pid:  # in a forked child the spinners are the parent's, and not here
        for state in states:
            native.retire(state)
        states.clear()


def spins_in(seconds: float) -> int:
    """How many turns of `native.spin` take about ``seconds`` on this CPU (``pause`` takes from
    about 10 to 140 cycles, by CPU)."""
    assert native.spin is not None
    turns = 20_000
    count = ctypes.c_int64(turns)
    start = time.perf_counter()
    native.spin(ctypes.byref(count))
    elapsed = max(time.perf_counter() - start, 1e-6)
    return max(1, int(turns * seconds / elapsed))
