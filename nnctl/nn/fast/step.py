"""The training step of a network of `FastDense` layers, in pieces that two threads can share.

`Network.train_step` is, as the reference writes it: forward, loss, backward, check the loss,
clip, update. `FastStep.train_step` computes the same in the pieces the machine runs fastest:

- all of it runs with the CPU's flush-to-zero mode on (`nnctl.nn.fast.fpu`), and a network of at
  least ``SPLIT_MIN_SIZE`` parameters keeps BLAS on one thread while a helper thread of ours
  (`nnctl.nn.fast.threads`) may take half of each piece;
- a batch of at most ``SMALL_BATCH`` rows: forward and backward over all rows, each matrix product
  in two blocks of its columns (the worker's and this thread's under `PRODUCTS`); then the helper
  fills half of the first layer's ``dW`` and updates those parameters while the caller does the
  rest (the planner's `UPDATE` site), or the worker does (`PRODUCTS`);
- a larger batch: the helper runs the forward and backward passes (up to each layer's ``dZ``) of
  the first half of the rows and the caller those of the second half (`ROWS`); then they share
  the gradients ``dW = X.T @ dZ`` and the update by parameters (`UPDATE`). Or every matrix
  product of that path, in the same two blocks of rows, and half of the update are shared with a
  worker thread of machine code while this thread runs everything else (`PRODUCTS`,
  `nnctl.nn.fast.worker`; the update runs in `nnctl.nn.fast.elementwise`'s kernel).
- before a step, the trainer's gather of its batch (`FastStep.take_rows`): in two halves with the
  worker where the plan for that step has `PRODUCTS` (`nnctl.nn.fast.gather`).

The pieces depend on the network and the batch alone, never on how many cores there are: without
a helper the caller runs the same pieces one after the other, so a run gives the same bytes on one
core, on two, or under ``OPENBLAS_NUM_THREADS=1``. Each number is computed by exactly one thread,
in a fixed way, so the same seed gives the same bytes. Which pieces the helper takes in a step is
the planner's choice (`nnctl.nn.fast.planner`), by timing steps: it changes the speed, never a
number.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from nnctl._platform import blas_threads, set_blas_threads
from nnctl.nn.fast import worker
from nnctl.nn.fast.dense import FastDense
from nnctl.nn.fast.fpu import ftz_enter, ftz_exit, quiet
from nnctl.nn.fast.gather import take_rows
from nnctl.nn.fast.passes import Passes, SteppedNetwork
from nnctl.nn.fast.planner import ALL, AWAKE, NONE, PRODUCTS, ROWS, UPDATE, Planner
from nnctl.nn.fast.threads import Awake, Helper, both, two_threads_allowed
from nnctl.nn.fast.worker import Worker, pair
from nnctl.nn.layers.base import Layer
from nnctl.nn.optim.base import SPLIT_MIN_SIZE

Array = np.ndarray

#: Batches of at most this many rows cut their matrix products in blocks of columns; larger ones
#: cut their rows. Halves of a small batch's rows make products too thin to gain from a second
#: core (at 32 rows, halves were 11% slower than columns with the worker).
SMALL_BATCH = 64

#: The plans the planner chooses among, for a small batch and for one cut in halves; where the
#: CPUs can be kept awake (`nnctl.nn.fast.threads.awake_possible`), each helper plan is timed with
#: them kept awake only: the spinners slowed no plan in any measured round (`benchmarks/README.md`),
#: and each plan more to time costs a block of steps on a slower plan in every round.
SMALL_PLANS = (NONE, UPDATE)
HALVES_PLANS = (NONE, UPDATE, ALL)
#: The plans where the worker thread runs (`nnctl.nn.fast.worker`), for both kinds of step: the
#: worker's products and update beat every plan of the Python helper's at batch 32, 128 and 512
#: (`benchmarks/README.md`), and it needs no spinners: it spins itself between a step's jobs, and
#: a job it has not claimed is taken back. So the helper's plans are not timed there.
WORKER_PLANS = (NONE, PRODUCTS)


def with_awake(plans: tuple[int, ...]) -> tuple[int, ...]:
    """``plans``, each that uses the helper with `AWAKE` too."""
    return tuple(plan | AWAKE if plan & (ROWS | UPDATE) else plan for plan in plans)


def step_kind(rows: int) -> tuple[int, bool]:
    """The planner's key for a shared step of ``rows`` rows: the rows, and whether they are cut
    in halves (`FastStep.parallel_step`)."""
    return rows, rows > SMALL_BATCH


class FastStep:
    """`train_step` for a network whose layers are all `FastDense`.

    Attributes
    ----------
    helper : Helper or None
        The helper thread (None where two threads are not allowed, `two_threads_allowed`; set it
        to None to run the same pieces on one thread).
    planner : Planner
        Chooses, step by step, where the helper is used (set ``planner.fixed`` to decide).
    awake : Awake
        Keeps the CPUs from halting during steps whose plan has `AWAKE`.
    plans : tuple of two tuples of int
        The plans the planner chooses among for a small batch and for one cut in halves.
    sites : int
        The sites a fixed plan (``planner.fixed``) may use here.
    """

    def __init__(self, network: SteppedNetwork, layers: Sequence[FastDense]) -> None:
        self.network, self.layers = network, list(layers)
        self.helper = Helper() if two_threads_allowed() else None
        self.planner = Planner()
        self.awake = Awake()
        runs = worker.worker_runs()
        self.plans: tuple[tuple[int, ...], tuple[int, ...]]
        if runs:
            self.plans = (WORKER_PLANS, WORKER_PLANS)
        elif self.awake.cpus:
            self.plans = (with_awake(SMALL_PLANS), with_awake(HALVES_PLANS))
        else:
            self.plans = (SMALL_PLANS, HALVES_PLANS)
        # A fixed plan may use the helper's sites, the worker's where it runs, and AWAKE where the
        # CPUs can be kept awake.
        self.sites = ALL | (PRODUCTS if runs else NONE) | (AWAKE if self.awake.cpus else NONE)
        self._awake_on = False
        self.passes = Passes(network, self.layers)

    @classmethod
    def for_network(cls, network: SteppedNetwork, layers: Sequence[Layer]) -> FastStep | None:
        """A fast step for ``network`` when every one of its ``layers`` is a `FastDense`."""
        fast = [layer for layer in layers if isinstance(layer, FastDense)]
        return cls(network, fast) if len(fast) == len(layers) else None

    def train_step(self, X: Array, y: Array, learning_rate: float | None) -> float:
        """`Network.train_step`'s forward, loss, backward, check, clip and update; the loss."""
        net = self.network
        shared = net.params.size >= SPLIT_MIN_SIZE
        halves = shared and len(X) > SMALL_BATCH  # the path; with the rows, the planner's kind
        helper, plan, kind = self.helper if shared else None, NONE, (0, False)
        if helper is not None:  # a network too small to share never comes here: its step is short
            kind = step_kind(len(X))
            plan = self.planner.plan(kind, self.plans[halves], self.sites)
            self._keep_awake(bool(plan & AWAKE))
        threads = (blas_threads() or 0) if helper is not None else 0
        if threads > 1:
            set_blas_threads(1)  # each piece's products on one BLAS thread, as without a helper
        mode = ftz_enter() if net.flush_denormals else None
        start = self.planner.clock() if helper is not None else 0
        try:
            with quiet():
                if halves:
                    return self.parallel_step(X, y, learning_rate, helper, plan)
                share = shared and net.clip_grad_norm is None
                updater = helper if plan & UPDATE else None  # else the worker, with PRODUCTS
                products = worker.for_process() if plan & PRODUCTS else None
                if shared:
                    value = self.passes.loss_and_gradient_columns(X, y, share, products)
                else:
                    value = self.passes.loss_and_gradient(X, y, True)
                net.check_loss(X, value, learning_rate)
                products = products if updater is None else None
                self._update(learning_rate, share, updater, products)
                return value
        finally:
            ftz_exit(mode)
            if threads > 1:
                set_blas_threads(threads)
            if helper is not None:
                self.planner.record(kind, plan, self.planner.clock() - start)

    def take_rows(self, X: Array, index: Array, out: Array) -> None:
        """``np.take(X, index, axis=0, out=out, mode="clip")``, a batch for the next step: in two
        halves with the worker when the planner's plan for that step has `PRODUCTS`."""
        products = None
        if self.helper is not None and self.network.params.size >= SPLIT_MIN_SIZE:
            kind = step_kind(len(index))
            if self.planner.plan(kind, self.plans[kind[1]], self.sites) & PRODUCTS:
                products = worker.for_process()
        take_rows(X, index, out, products)

    def _keep_awake(self, on: bool) -> None:
        if on:
            self.awake.touch()
        elif self._awake_on:
            self.awake.stop()
        self._awake_on = on

    def _update(
        self,
        learning_rate: float | None,
        share_first_dW: bool,
        helper: Helper | None,
        products: Worker | None = None,
    ) -> None:
        """Clip (when asked) and update, with the gradients filled (but for the first layer's
        ``dW`` with ``share_first_dW``), on two threads with a ``helper`` or the ``products``
        worker."""
        optimizer = self.network.optimizer
        assert optimizer is not None
        self.network.clip_gradients(learning_rate)
        if share_first_dW:
            self._step_sharing_gradients(learning_rate, False, helper, products)
        elif products is not None and helper is None:
            lr = optimizer.begin_step(learning_rate)
            self._update_pair(products, lr)
            optimizer.end_step()
        else:
            optimizer.step(learning_rate, helper)

    def _update_pair(self, products: Worker, lr: float) -> None:
        """The update of every parameter, its first half on the ``products`` worker (each
        parameter's number is the same whichever thread updates it)."""
        optimizer, size = self.network.optimizer, self.network.params.size
        assert optimizer is not None
        half = size // 2 // 16 * 16  # both halves start on a 64-byte boundary
        pair(products, optimizer.update_task(((0, half),), lr),
             optimizer.update_task(((half, size),), lr))  # fmt: skip

    def parallel_step(
        self,
        X: Array,
        y: Array,
        learning_rate: float | None,
        helper: Helper | None,
        plan: int = ALL,
    ) -> float:
        """A training step in the batch's halves: on two threads with a ``helper`` (at the sites
        in ``plan``), BLAS on one thread each; without one, the same pieces one after the other.

        The helper thread runs the forward and backward passes of the first half of the rows and
        this thread those of the second half (rows are independent until the gradients, which sum
        over all rows); then `FastStep._step_sharing_gradients` fills the gradients and updates the
        parameters, again on both threads. They agree with a step on one thread to rounding (a
        BLAS may use other kernels for a block of rows than for all of them, and the loss is
        summed in two parts).
        """
        n = self.passes.prepare(X, True)
        for i, layer in enumerate(self.layers):
            layer.reserve_backward(need_dX=i > 0)
        y, half, shares = np.asarray(y), n // 2, [0.0, 0.0]
        products = worker.for_process() if plan & PRODUCTS else None

        def rows(slot: int, start: int, stop: int) -> None:
            shares[slot] = self.passes.forward_backward_rows(y, start, stop, n)

        if products is not None:
            shares = self.passes.forward_backward_halves(y, half, n, products)
        else:
            both(
                helper if plan & ROWS else None, lambda: rows(0, 0, half), lambda: rows(1, half, n)
            )
        helper = helper if plan & UPDATE else None
        products = products if helper is None else None  # the update's products: one per thread
        value = shares[0] + shares[1]
        self.network.check_loss(X, value, learning_rate)
        if self.network.clip_grad_norm is None:
            self._step_sharing_gradients(learning_rate, True, helper, products)
        else:
            layer = self.layers[0]
            cut = layer.n_in // 2
            if products is None:
                both(helper, lambda: layer.fill_dW_rows(0, cut),
                     lambda: self.passes.fill_gradients_but_first_dW(cut))  # fmt: skip
            else:
                pair(products, layer.dW_product(0, cut), layer.dW_product(cut, layer.n_in))
                self.passes.fill_gradients_but_first_dW(layer.n_in, products)
            self._update(learning_rate, False, helper, products)
        return value

    def _step_sharing_gradients(
        self,
        learning_rate: float | None,
        fill_rest: bool,
        helper: Helper | None,
        products: Worker | None = None,
    ) -> None:
        """Fill the first layer's ``dW`` and update every parameter, in two pieces (on two
        threads with a ``helper``).

        The helper thread takes the first rows of ``layers.0.W`` (about half of all parameters):
        it fills their gradient, then updates them; this thread does the same for the other rows
        and updates every other parameter, after filling their gradients with ``fill_rest``.
        """
        optimizer, layer, params = self.network.optimizer, self.layers[0], self.network.params
        assert optimizer is not None
        lr = optimizer.begin_step(learning_rate)
        start, _ = params.offsets["layers.0.W"]
        size = params.size
        # After the halves, the first dW's two blocks are as even as its rows allow: they are the
        # worker's and this thread's products (`PRODUCTS`), whichever plan runs (the same bytes).
        # Else they balance the update: about half of all parameters on each thread.
        balanced = min(layer.n_in, max(1, size // 2 // layer.units))
        rows = max(1, layer.n_in // 2) if fill_rest else balanced
        cut = start + rows * layer.units

        def first() -> None:
            layer.fill_dW_rows(0, rows)
            optimizer.update_range(start, cut, lr)

        def second() -> None:
            if fill_rest:
                self.passes.fill_gradients_but_first_dW(rows)
            else:
                layer.fill_dW_rows(rows, layer.n_in)
            optimizer.update_range(0, start, lr)
            optimizer.update_range(cut, size, lr)

        if products is None:
            both(helper, first, second)
        else:  # the same products, and the update in halves, shared with the worker
            pair(products, layer.dW_product(0, rows), layer.dW_product(rows, layer.n_in))
            if fill_rest:
                self.passes.fill_gradients_but_first_dW(layer.n_in, products)
            self._update_pair(products, lr)
        optimizer.end_step()
