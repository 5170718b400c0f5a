"""The forward and backward passes of a `FastStep`, in the blocks its plans share.

`FastStep` (`nnctl.nn.fast.step`) decides which thread runs which block; `Passes` computes them:
a block of rows (`forward_backward_rows`), both halves of a batch with the worker taking one
product of each pair (`forward_backward_halves`), or a small batch with every product in two
blocks of its columns (`loss_and_gradient_columns`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

import numpy as np

from nnctl.nn.fast.buffers import ParameterBuffer
from nnctl.nn.fast.dense import CHAINED_MIN_ELEMENTS, FastDense
from nnctl.nn.fast.worker import Task, Worker, chain, pair
from nnctl.nn.losses import Loss
from nnctl.nn.optim.optimizers import Optimizer

Array = np.ndarray


class SteppedNetwork(Protocol):
    """What `FastStep` needs of its network (a `nnctl.nn.network.Network`)."""

    @property
    def loss(self) -> Loss: ...
    @property
    def params(self) -> ParameterBuffer: ...
    @property
    def optimizer(self) -> Optimizer | None: ...
    @property
    def clip_grad_norm(self) -> float | None: ...
    @property
    def flush_denormals(self) -> bool: ...
    @property
    def rng(self) -> np.random.Generator: ...

    def check_loss(self, X: Array, value: float, learning_rate: float | None) -> None: ...
    def clip_gradients(self, learning_rate: float | None) -> None: ...


class Passes:
    """The passes of ``network``'s step over its ``layers`` (all `FastDense`)."""

    def __init__(self, network: SteppedNetwork, layers: Sequence[FastDense]) -> None:
        self.network, self.layers = network, list(layers)
        self._grad_out: dict[int, Array] = {}
        self._chains: dict[tuple[int, int], Task] = {}

    def loss_and_gradient(self, X: Array, y: Array, training: bool) -> float:
        """Forward, loss and backward over the whole batch, every gradient filled."""
        n = self.prepare(X, training)
        value = self.forward_backward_rows(np.asarray(y), 0, n, n)
        for layer in self.layers:
            layer.fill_gradients()
        return value

    def loss_and_gradient_columns(
        self, X: Array, y: Array, share_first_dW: bool, products: Worker | None
    ) -> float:
        """`loss_and_gradient` of a small batch, each matrix product in two blocks of its columns
        (the first on the ``products`` worker); the same blocks without a worker.

        Halves of a small batch's rows make products too thin; halves of their columns do not.
        """
        n = self.prepare(X, True)
        layers = self.layers
        for layer in layers:
            cut = layer.units // 2
            pair(products, layer.forward_column_product(0, cut),
                 layer.forward_column_product(cut, layer.units))  # fmt: skip
            A = layer.forward_finish(0, n)
        value = self.loss_rows(np.asarray(y), A, 0, n, n)
        for i in range(len(layers) - 1, 0, -1):
            layer, cut = layers[i], layers[i].n_in // 2
            pair(products, layer.input_gradient_column_product(0, cut),
                 layer.input_gradient_column_product(cut, layer.n_in))  # fmt: skip
            layers[i - 1].backward_rows(layer.buffers_for(n).extra["dX"], 0, n)
        self.fill_gradients_but_first_dW(layers[0].n_in, products)
        # With share_first_dW, FastStep._step_sharing_gradients fills it, with the update.
        if not share_first_dW:
            first, cut = layers[0], layers[0].n_in // 2
            pair(products, first.dW_product(0, cut), first.dW_product(cut, first.n_in))
        return value

    def prepare(self, X: Array, training: bool) -> int:
        """Give the batch to every layer (dropout masks drawn in layer order); returns its rows."""
        A = np.asarray(X, dtype=self.network.params.data.dtype)
        n = int(A.shape[0])
        for layer in self.layers:
            A = layer.prepare(A, training, self.network.rng)
        if self.network.loss.activation is None and n not in self._grad_out:
            self._grad_out = {n: np.empty_like(A)}
        return n

    def forward_backward_rows(self, y: Array, start: int, stop: int, n: int) -> float:
        """Forward, loss and backward of rows ``start:stop`` of a prepared batch of ``n`` rows.

        Fills those rows of every layer's ``dZ`` (the gradients ``dW`` and ``db`` need all rows:
        `FastDense.fill_gradients` comes after). Returns the rows' share of the batch's mean loss.
        Rows are independent until then, so two threads may each take some.
        """
        for layer in self.layers:
            A = layer.forward_rows(start, stop)
        value = self.loss_rows(y, A, start, stop, n)
        for i in range(len(self.layers) - 1, 0, -1):
            dX = self.layers[i].input_gradient_rows(start, stop)
            self.layers[i - 1].backward_rows(dX, start, stop)
        return value

    def forward_backward_halves(self, y: Array, half: int, n: int, worker: Worker) -> list[float]:
        """`forward_backward_rows` of both halves at once, each matrix product shared with the
        ``worker`` (one half each, `pair`), everything else on this thread, half after half; but
        where a layer's elementwise work after a product is one kernel call per half
        (`FastDense.finish_call`, `FastDense.activation_gradient_call`), each half's call follows
        its product on the same thread (`chain`)."""
        cuts = ((0, half), (half, n))
        outputs: list[Array] = []
        for layer in self.layers:
            products = [layer.forward_product(start, stop) for start, stop in cuts]
            finish = [layer.finish_call(start, stop, CHAINED_MIN_ELEMENTS) for start, stop in cuts]
            if self._pair_chained(worker, products, finish):
                assert layer.H is not None
                outputs = [layer.H[start:stop] for start, stop in cuts]
            else:
                pair(worker, products[0], products[1])
                outputs = [layer.forward_finish(start, stop) for start, stop in cuts]
        shares = [
            self.loss_rows(y, A, start, stop, n)
            for A, (start, stop) in zip(outputs, cuts, strict=True)
        ]
        for i in range(len(self.layers) - 1, 0, -1):
            layer, before = self.layers[i], self.layers[i - 1]
            products = [layer.input_gradient_product(start, stop) for start, stop in cuts]
            dX = layer.buffers_for(n).extra["dX"]
            gradients = [before.activation_gradient_call(dX[start:stop], start, stop,
                                                         CHAINED_MIN_ELEMENTS)
                         for start, stop in cuts]  # fmt: skip
            if not self._pair_chained(worker, products, gradients):
                pair(worker, products[0], products[1])
                for start, stop in cuts:
                    before.backward_rows(dX[start:stop], start, stop)
        return shares

    def _pair_chained(
        self, worker: Worker, products: Sequence[Task], calls: Sequence[Task | None]
    ) -> bool:
        """`pair` of each product chained with its call, when both calls are there."""
        first, second = calls
        if first is None or second is None:
            return False
        pair(worker, self._chain(products[0], first), self._chain(products[1], second))
        return True

    def _chain(self, product: Task, call: Task) -> Task:
        key = (product.address, call.address)
        made = self._chains.get(key)
        if made is None or made.job is None:
            if len(self._chains) >= 64:
                self._chains.clear()
            made = self._chains[key] = chain(product, call)
        return made

    def loss_rows(self, y: Array, A: Array, start: int, stop: int, n: int) -> float:
        """The loss of rows ``start:stop`` (the output ``A``), and the output layer's ``dZ``."""
        last, loss = self.layers[-1], self.network.loss
        assert last.Z is not None
        fused = loss.activation is not None  # the loss gives dL/dZ of the output layer
        buffer = last.buffers_for(n).dZ if fused else self._grad_out[n]
        value, dY = loss.value_and_gradient(
            last.Z[start:stop], A, y[start:stop], out=buffer[start:stop],
            batch=None if stop - start == n else n,
        )  # fmt: skip
        last.backward_rows(dY, start, stop, from_logits=fused)
        return value

    def fill_gradients_but_first_dW(
        self, first_row: int = 0, products: Worker | None = None
    ) -> None:
        """Every gradient but rows ``:first_row`` of the first layer's ``dW``: each other ``dW``
        in two blocks of its rows (shared with the ``products`` worker)."""
        first = self.layers[0]
        first.fill_dW_rows(first_row, first.n_in)
        for i, layer in enumerate(self.layers):
            if i > 0:
                cut = layer.n_in // 2
                pair(products, layer.dW_product(0, cut), layer.dW_product(cut, layer.n_in))
            layer.fill_gradients(fill_dW=False)
