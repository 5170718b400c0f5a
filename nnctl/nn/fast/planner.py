"""Which pieces of a training step the helper thread takes, chosen by timing the step itself.

A second core is worth what the machine gives at the moment. On an idle two-vCPU virtual machine
handing a piece to the helper and back took 30-60 us; on the same kind of machine with a busy
host it took 0.3-1.5 ms (the helper's vCPU halts between pieces and the host is slow to wake it),
and two threads made a step of batch 128 1.7 times slower than one (`benchmarks/README.md`).
Keeping the CPUs awake (`AWAKE`) shortens those waits where idle-priority spinners can run. No
fixed rule fits both, but the pieces of a step are the same whichever thread runs them, so every
byte is too, and the choice can be made while training, by the clock, as FFTW's planner or
PyTorch's ``cudnn.benchmark`` choose among equal algorithms:

- A step hands pieces to the helper at sites: `ROWS` (the forward and backward passes of half
  the rows) and `UPDATE` (half of the gradients and of the optimizer's update). A *plan* is the
  set of sites where the helper is used; `NONE` runs every piece on the calling thread. A plan
  with `AWAKE` also keeps the CPUs from halting while the two threads wait for each other.
- For each kind of step (its batch size and path) the planner times blocks of `BLOCK` steps under
  each candidate plan, in alternating order, and keeps the mean step of each block: what the
  plan costs, slow steps included. (A block's median hid them: beside a busy process, the
  worker's products at batch 32 had a median step of 650 us against 730 with no worker, but one
  step in ten took over 2 ms, when the worker was descheduled in a job, and a mean of 1000 us.
  The median chose the worker, 1.3 times slower.) The first step
  after a change of plan is not counted: it runs with the caches of the other plan (the helper's
  half of the parameters sits in the other core's cache), which made it up to 2.5 times as slow.
  Then it runs the fastest plan. It times the others again after `FIRST_INTERVAL` steps, and the
  interval doubles while the choice holds (up to `MAX_INTERVAL`). A round that changes the choice
  is checked by another after `CONFIRM_INTERVAL` steps: a round timed in a short spell could
  otherwise keep a slower plan for hundreds of steps (seen: no helper at batch 512, 1.7 times
  slower, for an epoch). When `SLOW_BLOCKS` blocks in a row of the chosen plan run `SLOWER_BY`
  times slower than it was timed, the machine has changed (a busy process started): the
  candidates are timed again at once.

A plan timed again at more than `SLOWER_BY` times faster than it was timed forgets its older times
(a spell only slows steps), so after a busy spell the helper is taken up again within a round. A
plan's time is the lower median of its kept blocks, so one block in a spell does not condemn it.
So exploring costs a few blocks in every few thousand steps, and a plan that the machine has made
much slower is left within a few blocks (one only somewhat slower, at the next round).
"""

from __future__ import annotations

import functools
import operator
import time
from collections import deque
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field

#: Plans: the sites of a step whose pieces go to the helper, and `AWAKE`: the CPUs are kept from
#: halting meanwhile (`nnctl.nn.fast.threads.Awake`).
NONE, ROWS, UPDATE, AWAKE = 0, 1, 2, 4
ALL = ROWS | UPDATE
#: The site of a step's matrix products, cut in two blocks of rows: the worker thread of machine
#: code takes one block of each while the caller computes the other (`nnctl.nn.fast.worker`).
PRODUCTS = 8

#: Steps per timed block (the block's mean step is its time).
BLOCK = 5
#: Steps on the chosen plan before the candidates are timed again; doubles while the choice holds.
FIRST_INTERVAL = 256
MAX_INTERVAL = 4096
#: Steps on a newly chosen plan (one that replaced another) before the next round checks it.
CONFIRM_INTERVAL = 32
#: Blocks in a row of the chosen plan this much slower than its timing start a new round.
SLOWER_BY = 1.5
SLOW_BLOCKS = 2
#: Block means kept per plan (their lower median is the plan's time).
KEPT = 3
#: Kinds of step planned at once (as `FastDense` keeps buffers for 4 batch sizes); the oldest
#: kind is forgotten first.
MAX_KINDS = 8


@dataclass
class _Choice:
    """What the planner knows of one kind of step."""

    candidates: tuple[int, ...]
    order: list[int]
    current: int
    times: dict[int, deque[int]] = field(default_factory=dict)
    block: list[int] = field(default_factory=list)
    skip: int = 1  # steps not to time: the first of a kind (it makes buffers), after a change
    slow: int = 0  # blocks in a row of the chosen plan slower than it was timed
    steps_left: int = 0
    interval: int = FIRST_INTERVAL
    rounds: int = 0
    best: int | None = None


class Planner:
    """Chooses a plan for each step (`plan`) and learns from its time (`record`).

    Parameters
    ----------
    fixed : int or None
        Sites to use the helper at on every step instead of choosing (those of them that a
        step has); benchmarks and tests set it.
    clock : callable
        Nanoseconds now; the step is timed with it (`time.perf_counter_ns`).
    """

    def __init__(
        self, fixed: int | None = None, clock: Callable[[], int] = time.perf_counter_ns
    ) -> None:
        self._choices: dict[Hashable, _Choice] = {}
        self._fixed = fixed
        self.clock = clock

    @property
    def fixed(self) -> int | None:
        """Sites to use the helper at on every step, or None to choose by the clock."""
        return self._fixed

    @fixed.setter
    def fixed(self, sites: int | None) -> None:
        # Steps run meanwhile were not timed: a half-made block is dropped, and the next step runs
        # on the caches the fixed plan left.
        self._fixed = sites
        for choice in self._choices.values():
            choice.block.clear()
            choice.skip = 1

    def plan(self, kind: Hashable, candidates: tuple[int, ...], possible: int | None = None) -> int:
        """The plan for the next step of ``kind``, one of ``candidates``; a fixed plan keeps the
        sites in ``possible`` (by default, those of the candidates)."""
        if self.fixed is not None:
            if possible is None:
                possible = functools.reduce(operator.or_, candidates, NONE)
            return self.fixed & possible
        choice = self._choices.get(kind)
        if choice is None or choice.candidates != candidates:
            # The first round times each candidate twice, there and back, from the last (the
            # most work on the helper): C B A A B C.
            order = [*candidates[::-1], *candidates]
            choice = _Choice(candidates, order, order[0])
            if kind not in self._choices and len(self._choices) >= MAX_KINDS:
                del self._choices[next(iter(self._choices))]
            self._choices[kind] = choice
        return choice.current

    def record(self, kind: Hashable, plan: int, nanoseconds: int) -> None:
        """The step of ``kind`` just run on ``plan`` took ``nanoseconds``."""
        choice = self._choices.get(kind)
        if self.fixed is not None or choice is None or plan != choice.current:
            return
        if choice.skip:
            choice.skip -= 1
            return
        choice.block.append(nanoseconds)
        if len(choice.block) < BLOCK:
            return
        mean = sum(choice.block) // BLOCK
        choice.block.clear()
        if choice.order:  # timing the candidates
            kept = choice.times.setdefault(plan, deque(maxlen=KEPT))
            if kept and SLOWER_BY * mean < _median(kept):
                kept.clear()  # faster than it was timed: the machine changed (a spell only slows)
            kept.append(mean)
            choice.order.pop(0)
            if choice.order:
                self._switch(choice, choice.order[0])
            else:
                self._decide(choice)
            return
        choice.steps_left -= BLOCK
        choice.slow = choice.slow + 1 if mean > SLOWER_BY * _median(choice.times[plan]) else 0
        if choice.slow >= SLOW_BLOCKS:  # the machine changed: time every candidate now
            choice.slow = 0
            choice.times.clear()
            self._time_again(choice)
        elif choice.steps_left <= 0:
            self._time_again(choice)

    def chosen(self, kind: Hashable) -> int | None:
        """The plan the last round of timing chose for ``kind`` (None before a round ended)."""
        choice = self._choices.get(kind)
        return None if choice is None else choice.best

    def _decide(self, choice: _Choice) -> None:
        best = min(choice.candidates, key=lambda p: _median(choice.times[p]))
        if choice.best is None:  # the first round
            choice.interval = FIRST_INTERVAL
        elif best == choice.best:
            choice.interval = min(max(2 * choice.interval, FIRST_INTERVAL), MAX_INTERVAL)
        else:
            choice.interval = CONFIRM_INTERVAL
        choice.rounds += 1
        choice.best, choice.steps_left, choice.slow = best, choice.interval, 0
        self._switch(choice, best)

    def _time_again(self, choice: _Choice) -> None:
        """A new round of timing, every candidate, in the order opposite to the last round's."""
        order = list(choice.candidates)
        choice.order = order[::-1] if choice.rounds % 2 else order
        self._switch(choice, choice.order[0])

    @staticmethod
    def _switch(choice: _Choice, plan: int) -> None:
        if plan != choice.current:
            choice.current, choice.skip = plan, 1


def _median(values: deque[int]) -> int:
    ordered = sorted(values)
    return ordered[(len(ordered) - 1) // 2]
