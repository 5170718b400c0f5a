"""A network: a stack of dense layers, a loss, and the training step that joins them.

Parameters live in one flat :class:`~nnctl.nn.fast.buffers.ParameterBuffer` and each layer's ``W``,
``b``, ``dW``, ``db`` are views into it, named ``layers.{i}.W`` and ``layers.{i}.b``. A training
step (`Network.train_step`) is::

    A = forward(X)                       dropout on
    L = loss(Z_out, A, y)                the loss fused with the output activation when it pairs
    grads = backward(y)                  the first layer's input gets no gradient
    check L and the gradient norm        TrainingDiverged when not finite
    clip the gradients by global norm    when clip_grad_norm is set
    optimizer.step(learning_rate)

run with the CPU's flush-to-zero mode on (see :mod:`nnctl.nn.fast.fpu`). On two cores the step of a
network of at least ``SPLIT_MIN_SIZE`` parameters is shared with a helper thread
(:mod:`nnctl.nn.fast.threads`): a batch of more than ``SMALL_BATCH`` rows is cut in two halves whose
forward and backward passes (up to each layer's ``dZ``) run at once; the gradients
``dW = X.T @ dZ`` and the update are then split by parameters. Each result is computed by exactly
one thread, in a fixed way, so the same seed gives the same bytes.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from nnctl._platform import blas_threads, set_blas_threads
from nnctl.errors import ConfigError, TrainingDiverged
from nnctl.nn.fast.buffers import ParameterBuffer
from nnctl.nn.fast.fpu import flush_to_zero, ftz_enter, ftz_exit
from nnctl.nn.fast.threads import Helper, both, two_threads_allowed
from nnctl.nn.layers.dense import Dense
from nnctl.nn.losses import Loss, check_loss_activation, get_loss
from nnctl.nn.optim.base import SPLIT_MIN_SIZE
from nnctl.nn.optim.optimizers import Optimizer

Array = np.ndarray
LAYER_KEYS = ("units", "activation", "activation_params", "dropout", "initializer")

#: Batches of at most this many rows share only the first layer's ``dW`` and the optimizer's update
#: between two threads; larger ones also split their rows (see `nnctl.nn.fast.threads`). Halves of
#: a small batch make matrix products too thin to gain from a second core.
SMALL_BATCH = 64


def _child_rng(rng: np.random.Generator) -> np.random.Generator:
    """An independent Generator derived from ``rng`` (for dropout masks)."""
    try:
        return rng.spawn(1)[0]
    except (TypeError, ValueError):  # a Generator without a SeedSequence
        return np.random.default_rng(int(rng.integers(0, 2**63)))


class Network:
    """A feed-forward network of `Dense` layers trained on one loss.

    Build one with `Network.build` (from layer dicts, as in the config) or `Network.from_spec`.

    Attributes
    ----------
    layers : list of Dense
    loss : Loss
    params : ParameterBuffer
        All parameters and gradients, flat.
    rng : numpy.random.Generator
        Draws dropout masks; derived from the Generator given to `build`.
    flush_denormals : bool
        Run training steps and predictions with flush-to-zero on (default True).
    """

    def __init__(
        self,
        n_inputs: int,
        layers: Sequence[Dense],
        loss: Loss,
        rng: np.random.Generator,
        dtype: np.dtype[np.floating] | type[np.floating] = np.float32,
    ) -> None:
        self.n_inputs, self.layers, self.loss = n_inputs, list(layers), loss
        self.dtype = np.dtype(dtype)
        shapes: dict[str, tuple[int, ...]] = {}
        for i, layer in enumerate(self.layers):
            shapes[f"layers.{i}.W"], shapes[f"layers.{i}.b"] = layer.W.shape, layer.b.shape
        self.params = ParameterBuffer(shapes, {n for n in shapes if n.endswith(".W")}, self.dtype)
        for i, layer in enumerate(self.layers):
            p = self.params
            layer.bind(p.view(f"layers.{i}.W"), p.view(f"layers.{i}.b"),
                       p.grad_view(f"layers.{i}.W"), p.grad_view(f"layers.{i}.b"))  # fmt: skip
        self.rng = rng
        self.optimizer: Optimizer | None = None
        self.clip_grad_norm: float | None = None
        self.flush_denormals = True
        self._grad_out: dict[int, Array] = {}
        self._helper = Helper() if two_threads_allowed() else None

    @classmethod
    def build(
        cls,
        n_inputs: int,
        layers: Sequence[Mapping[str, Any]],
        loss: Loss | str,
        rng: np.random.Generator,
        dtype: np.dtype[np.floating] | type[np.floating] = np.float32,
    ) -> Network:
        """A network from layer dicts, drawing initial weights from ``rng``.

        Parameters
        ----------
        n_inputs : int
            Number of input features.
        layers : sequence of mappings
            Each with ``units`` and optionally ``activation`` (default linear),
            ``activation_params``, ``dropout`` (default 0) and ``initializer`` (None: chosen by
            the activation).
        loss : Loss or str
            From `get_loss`, or a loss name.
        rng : numpy.random.Generator
            Draws the initial weights, then spawns the network's own Generator for dropout.
        dtype : float32 (default) or float64

        Raises
        ------
        ConfigError
            For an unknown key or name, a bad value, dropout on the output layer, or a loss that
            does not fit the output activation (`check_loss_activation`).
        """
        if np.dtype(dtype) not in (np.float32, np.float64):
            raise ConfigError(f"dtype must be float32 or float64, got {np.dtype(dtype)}")
        if not layers:
            raise ConfigError("a network needs at least one layer")
        loss = get_loss(loss) if isinstance(loss, str) else loss
        last = layers[-1]
        check_loss_activation(loss.name, last.get("activation", "linear"), last.get("units", 0))
        if last.get("dropout", 0.0):
            raise ConfigError("the output layer cannot have dropout; put it on a hidden layer")
        built, width = [], n_inputs
        for i, spec in enumerate(layers):
            unknown = set(spec) - set(LAYER_KEYS)
            if unknown:
                raise ConfigError(f"layer {i}: unknown key(s) {sorted(unknown)}")
            kwargs = {k: spec[k] for k in LAYER_KEYS[1:] if spec.get(k) is not None}
            built.append(Dense(width, spec["units"], **kwargs, rng=rng, dtype=dtype))
            width = spec["units"]
        return cls(n_inputs, built, loss, _child_rng(rng), dtype)

    # --- forward, backward ----------------------------------------------------------------------

    def forward(self, X: Array, training: bool = False) -> Array:
        """The network's output for a batch, shape ``(n, units)``; an internal buffer."""
        A = np.asarray(X, dtype=self.dtype)
        for layer in self.layers:
            A = layer.forward(A, training, self.rng)
        return A

    def loss_and_gradient(self, X: Array, y: Array, training: bool = True) -> float:
        """Forward, loss and backward for one batch: fills the gradients, returns the mean loss."""
        return self._loss_and_gradient(X, y, training, first_dW=True)

    def _loss_and_gradient(self, X: Array, y: Array, training: bool, first_dW: bool) -> float:
        """`loss_and_gradient`; without ``first_dW`` the first layer's ``dW`` is left unfilled."""
        n = self._prepare(X, training)
        value = self._forward_backward_rows(np.asarray(y), 0, n, n)
        for i, layer in enumerate(self.layers):
            layer.fill_gradients(fill_dW=first_dW or i > 0)
        return value

    def _prepare(self, X: Array, training: bool) -> int:
        """Give the batch to every layer (dropout masks drawn in layer order); returns its rows."""
        A = np.asarray(X, dtype=self.dtype)
        n = int(A.shape[0])
        for layer in self.layers:
            A = layer.prepare(A, training, self.rng)
        if self.loss.activation is None and n not in self._grad_out:
            self._grad_out = {n: np.empty_like(A)}
        return n

    def _forward_backward_rows(self, y: Array, start: int, stop: int, n: int) -> float:
        """Forward, loss and backward of rows ``start:stop`` of a prepared batch of ``n`` rows.

        Fills those rows of every layer's ``dZ`` (the gradients ``dW`` and ``db`` need all rows:
        `Dense.fill_gradients` comes after). Returns the rows' share of the batch's mean loss.
        Rows are independent until then, so two threads may each take some.
        """
        for layer in self.layers:
            A = layer.forward_rows(start, stop)
        last = self.layers[-1]
        assert last.Z is not None
        fused = self.loss.activation is not None  # the loss gives dL/dZ of the output layer
        buffer = last.buffers_for(n).dZ if fused else self._grad_out[n]
        value, dY = self.loss.value_and_gradient(
            last.Z[start:stop], A, y[start:stop], out=buffer[start:stop],
            batch=None if stop - start == n else n,
        )  # fmt: skip
        last.backward_rows(dY, start, stop, from_logits=fused)
        for i in range(len(self.layers) - 1, 0, -1):
            dX = self.layers[i].input_gradient_rows(start, stop)
            self.layers[i - 1].backward_rows(dX, start, stop)
        return value

    # --- training -------------------------------------------------------------------------------

    def attach_optimizer(self, optimizer: Optimizer, clip_grad_norm: float | None = None) -> None:
        """Bind ``optimizer`` to the parameters; clip gradients to ``clip_grad_norm`` if given.

        Call before `train_step`; load the optimizer's saved state after this call (or before: it
        is then applied on binding).
        """
        if clip_grad_norm is not None and not clip_grad_norm > 0:
            raise ConfigError(f"clip_grad_norm must be positive, got {clip_grad_norm}")
        optimizer.bind(self.params)
        self.optimizer, self.clip_grad_norm = optimizer, clip_grad_norm

    def train_step(
        self, X: Array, y: Array, learning_rate: float | None = None
    ) -> tuple[float, Array]:
        """One optimizer step on a batch; returns the mean batch loss and the batch's outputs.

        The outputs (probabilities after softmax or sigmoid, values otherwise) are an internal
        buffer, valid until the next call. ``learning_rate`` (a schedule's) overrides the
        optimizer's own for this step.

        Raises
        ------
        TrainingDiverged
            When the loss or the gradient norm is not finite, before the parameters are changed.

        Notes
        -----
        Divergence checks cost nothing: the loss is checked every step, before the update. A
        non-finite parameter makes every output, hence the next step's loss, non-finite (IEEE
        ``0 * nan`` is nan), so it is caught one step later, with the layer named; `check_finite`
        (one pass) checks the parameters themselves, e.g. after the last step of an epoch. With
        clipping, the gradient norm is computed anyway and a non-finite one is caught before the
        update. Floating-point warnings are silenced inside the step: divergence is reported by
        this exception instead.
        """
        if self.optimizer is None:
            raise RuntimeError("attach_optimizer() must be called before train_step()")
        # The step's pieces depend on the network and the batch alone, never on how many cores
        # there are: a network of SPLIT_MIN_SIZE parameters or more is always stepped in the
        # pieces two threads share, run at once with a helper and one after the other without,
        # so a run gives the same bytes on one core, on two, or under OPENBLAS_NUM_THREADS=1.
        shared = self.params.size >= SPLIT_MIN_SIZE
        helper = self._helper if shared else None
        threads = (blas_threads() or 0) if helper is not None else 0
        if threads > 1:
            set_blas_threads(1)  # each piece's products on one BLAS thread, as without a helper
        mode = ftz_enter() if self.flush_denormals else None
        try:
            with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
                if shared and len(X) > SMALL_BATCH:
                    value = self._parallel_step(X, y, learning_rate, helper)
                else:
                    share = shared and self.clip_grad_norm is None
                    value = self._loss_and_gradient(X, y, True, first_dW=not share)
                    self._check_loss(X, value, learning_rate)
                    self._update(learning_rate, share, helper)
        finally:
            ftz_exit(mode)
            if threads > 1:
                set_blas_threads(threads)
        output = self.layers[-1].output
        assert output is not None
        return value, output

    def _check_loss(self, X: Array, value: float, learning_rate: float | None) -> None:
        if not math.isfinite(value):
            self._raise_diverged(X, "the loss is not finite", learning_rate)

    def _update(
        self, learning_rate: float | None, share_first_dW: bool, helper: Helper | None
    ) -> None:
        """Clip (when asked) and update, with the gradients filled (but for the first layer's
        ``dW`` with ``share_first_dW``), on two threads with a ``helper``."""
        assert self.optimizer is not None
        if self.clip_grad_norm is not None:
            self._clip(learning_rate)
        if share_first_dW:
            self._step_sharing_gradients(learning_rate, fill_rest=False, helper=helper)
        else:
            self.optimizer.step(learning_rate, helper)

    def _parallel_step(
        self, X: Array, y: Array, learning_rate: float | None, helper: Helper | None
    ) -> float:
        """A training step in the batch's halves: on two threads with a ``helper``, BLAS on one
        thread each; without one, the same pieces one after the other.

        The helper thread runs the forward and backward passes of the first half of the rows and
        this thread those of the second half (rows are independent until the gradients, which sum
        over all rows); then `_step_sharing_gradients` fills the gradients and updates the
        parameters, again on both threads. Each number is computed by one thread in a fixed way, so
        the same seed gives the same bytes; they agree with a step on one thread to rounding (a
        BLAS may use other kernels for a block of rows than for all of them, and the loss is
        summed in two parts).
        """
        n = self._prepare(X, True)
        for i, layer in enumerate(self.layers):
            layer.reserve_backward(need_dX=i > 0)
        y, half, shares = np.asarray(y), n // 2, [0.0, 0.0]

        def rows(slot: int, start: int, stop: int) -> None:
            shares[slot] = self._forward_backward_rows(y, start, stop, n)

        both(helper, lambda: rows(0, 0, half), lambda: rows(1, half, n))
        value = shares[0] + shares[1]
        self._check_loss(X, value, learning_rate)
        if self.clip_grad_norm is None:
            self._step_sharing_gradients(learning_rate, fill_rest=True, helper=helper)
        else:
            layer = self.layers[0]
            cut = layer.n_in // 2
            both(helper, lambda: layer.fill_dW_rows(0, cut),
                 lambda: self._fill_gradients_but_first_dW(cut))  # fmt: skip
            self._update(learning_rate, share_first_dW=False, helper=helper)
        return value

    def _fill_gradients_but_first_dW(self, first_row: int = 0) -> None:
        """Every gradient but rows ``:first_row`` of the first layer's ``dW``."""
        first = self.layers[0]
        first.fill_dW_rows(first_row, first.n_in)
        for i, layer in enumerate(self.layers):
            layer.fill_gradients(fill_dW=i > 0)

    def _step_sharing_gradients(
        self, learning_rate: float | None, fill_rest: bool, helper: Helper | None
    ) -> None:
        """Fill the first layer's ``dW`` and update every parameter, in two pieces (on two
        threads with a ``helper``).

        The helper thread takes the first rows of ``layers.0.W`` (about half of all parameters):
        it fills their gradient, then updates them; this thread does the same for the other rows
        and updates every other parameter, after filling their gradients with ``fill_rest``.
        """
        optimizer, layer = self.optimizer, self.layers[0]
        assert optimizer is not None
        lr = optimizer.begin_step(learning_rate)
        start, _ = self.params.offsets["layers.0.W"]
        size = self.params.size
        rows = min(layer.n_in, max(1, size // 2 // layer.units))
        cut = start + rows * layer.units

        def first() -> None:
            layer.fill_dW_rows(0, rows)
            optimizer.update_range(start, cut, lr)

        def second() -> None:
            if fill_rest:
                self._fill_gradients_but_first_dW(rows)
            else:
                layer.fill_dW_rows(rows, layer.n_in)
            optimizer.update_range(0, start, lr)
            optimizer.update_range(cut, size, lr)

        both(helper, first, second)
        optimizer.end_step()

    def _clip(self, learning_rate: float | None) -> None:
        """Scale the gradient to norm ``clip_grad_norm``; a non-finite norm is divergence."""
        grad = self.params.grad
        sq_norm = float(np.dot(grad, grad))
        if not math.isfinite(sq_norm):
            self._raise_diverged(None, "the gradient is not finite", learning_rate)
        limit = self.clip_grad_norm
        if limit is not None and sq_norm > limit * limit:
            grad *= limit / math.sqrt(sq_norm)

    def check_finite(self) -> None:
        """Raise `TrainingDiverged` naming the first layer with a non-finite parameter."""
        if not math.isfinite(float(np.sum(self.params.data))):
            self._raise_diverged(None, "a parameter is not finite", None)

    def _raise_diverged(self, X: Array | None, what: str, lr: float | None) -> None:
        step = (self.optimizer.iterations if self.optimizer else 0) + 1
        where = self._locate_nonfinite(X)
        if lr is None and self.optimizer is not None:
            lr = self.optimizer.learning_rate
        hint = (
            f"lower the learning rate (now {lr:g}) or normalize the inputs"
            if lr
            else ("lower the learning rate or normalize the inputs")
        )
        raise TrainingDiverged(
            f"training diverged at step {step}: {what}; first non-finite values in {where}; {hint}",
            hint=hint,
        )

    def _locate_nonfinite(self, X: Array | None) -> str:
        """Where the first non-finite values are: the input, a layer's parameters or output."""
        if X is not None and not np.isfinite(X).all():
            return "the input batch"
        for i, layer in enumerate(self.layers):
            label = f"layer {i} ({layer.units} units, {layer.activation.name})"
            if not (np.isfinite(layer.W).all() and np.isfinite(layer.b).all()):
                return f"the parameters of {label}"
            output = layer.output
            if X is not None and output is not None and not np.isfinite(output).all():
                return f"the output of {label}"
        if X is None or self.layers[-1].output is None:
            return "no layer"
        largest = float(np.abs(self.layers[-1].output).max())
        last = len(self.layers) - 1
        return f"the loss of the output of layer {last} (largest |value| {largest:.3g})"

    # --- whole data sets ------------------------------------------------------------------------

    def predict(self, X: Array, batch_size: int = 1024) -> Array:
        """Outputs for every row of ``X`` (no dropout), computed in batches; a new array."""
        X = np.asarray(X)
        out = np.empty((X.shape[0], self.layers[-1].units), dtype=self.dtype)
        with flush_to_zero(self.flush_denormals):
            for start in range(0, X.shape[0], batch_size):
                out[start : start + batch_size] = self.forward(X[start : start + batch_size])
        return out

    def loss_value(self, X: Array, y: Array, batch_size: int = 1024) -> float:
        """The mean loss over a whole data set (no dropout), computed in batches."""
        return self.evaluate(X, y, batch_size)[0]

    def evaluate(self, X: Array, y: Array, batch_size: int = 1024) -> tuple[float, Array]:
        """The mean loss and the outputs (a new array) of a whole data set, in one pass."""
        X, y = np.asarray(X), np.asarray(y)
        out = np.empty((X.shape[0], self.layers[-1].units), dtype=self.dtype)
        total = 0.0
        with flush_to_zero(self.flush_denormals):
            for start in range(0, X.shape[0], batch_size):
                A = self.forward(X[start : start + batch_size])
                Z = self.layers[-1].Z
                assert Z is not None
                total += self.loss.value(Z, A, y[start : start + batch_size]) * A.shape[0]
                out[start : start + batch_size] = A
        return total / max(1, len(X)), out

    # --- parameters and state -------------------------------------------------------------------

    def parameters(self) -> dict[str, Array]:
        """``{"layers.0.W": W, "layers.0.b": b, ...}``: the live arrays."""
        return {name: self.params.view(name) for name in self.params.names}

    def gradients(self) -> dict[str, Array]:
        """The gradients of the last backward pass, named like `parameters`; live arrays."""
        return {name: self.params.grad_view(name) for name in self.params.names}

    def state_dict(self) -> dict[str, Array]:
        """Copies of the parameters, as plain arrays."""
        return {name: array.copy() for name, array in self.parameters().items()}

    def load_state_dict(self, state: Mapping[str, Array]) -> None:
        """Copy ``state`` into the live parameters.

        Raises
        ------
        ValueError
            Naming a missing, unexpected or wrongly shaped parameter; nothing is changed then.
        """
        live = self.parameters()
        for name in live:
            if name not in state:
                raise ValueError(f"state dict has no parameter '{name}'")
            if np.shape(state[name]) != live[name].shape:
                raise ValueError(f"parameter '{name}' has shape {np.shape(state[name])} in the "
                                 f"state dict but {live[name].shape} in the network")  # fmt: skip
            if np.asarray(state[name]).dtype.kind not in "fiu":  # a cast would drop or parse
                raise ValueError(f"parameter '{name}' holds {np.asarray(state[name]).dtype} "
                                 "values; expected real numbers")  # fmt: skip
        unexpected = sorted(set(state) - set(live))
        if unexpected:
            raise ValueError(f"state dict has unexpected parameter '{unexpected[0]}'")
        for name, array in live.items():
            array[...] = state[name]

    def rng_state(self) -> dict[str, Any]:
        """The dropout Generator's state, JSON-serializable."""
        return dict(self.rng.bit_generator.state)

    def set_rng_state(self, state: Mapping[str, Any]) -> None:
        """Restore a state from `rng_state`."""
        self.rng.bit_generator.state = dict(state)

    # --- architecture ---------------------------------------------------------------------------

    def spec(self) -> dict[str, Any]:
        """The architecture, JSON-serializable; `from_spec` rebuilds it."""
        layers = [
            {
                "units": layer.units,
                "activation": layer.activation.name,
                "activation_params": dict(layer.activation.params),
                "dropout": layer.dropout,
                "initializer": layer.initializer,
            }
            for layer in self.layers
        ]
        return {"n_inputs": self.n_inputs, "layers": layers, "loss": self.loss.spec(),
                "dtype": self.dtype.name}  # fmt: skip

    @classmethod
    def from_spec(cls, spec: Mapping[str, Any], rng: np.random.Generator | None = None) -> Network:
        """A network of the architecture in ``spec``, with fresh weights (load them next)."""
        loss = spec["loss"]
        return cls.build(
            n_inputs=int(spec["n_inputs"]),
            layers=spec["layers"],
            loss=get_loss(loss["name"], **loss.get("params", {})),
            rng=rng if rng is not None else np.random.default_rng(0),
            dtype=np.dtype(spec.get("dtype", "float32")),
        )

    def n_params(self) -> int:
        """The number of trainable scalars."""
        return self.params.size

    def summary(self) -> list[dict[str, Any]]:
        """One row per layer for a Keras-style table: name, units, activation, dropout, params."""
        return [
            {
                "name": f"layers.{i}",
                "input_shape": (None, layer.n_in),
                "output_shape": (None, layer.units),
                "units": layer.units,
                "activation": layer.activation.name,
                "dropout": layer.dropout,
                "params": layer.n_params,
            }
            for i, layer in enumerate(self.layers)
        ]
