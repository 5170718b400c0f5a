"""A network: a stack of layers, a loss, and the training step that joins them.

Parameters live in one flat :class:`~nnctl.nn.fast.buffers.ParameterBuffer` and each layer's
parameters and gradients are views into it, named ``layers.{i}.W`` and ``layers.{i}.b``. A training
step (`Network.train_step`) is::

    A = forward(X)                       dropout on
    L = loss(Z_out, A, y)                the loss fused with the output activation when it pairs
    grads = backward(dL/dA)              the first layer's input gets no gradient
    check L                              NonFiniteError when not finite, before any change
    clip the gradients by global norm    when clip_grad_norm is set
    optimizer.step(learning_rate)

with floating-point warnings silenced (divergence is the exception instead) and the CPU's
flush-to-zero mode on (`nnctl.nn.fast.fpu`). A network of `FastDense` layers (what `Network.build`
makes) runs the same step in the pieces of `nnctl.nn.fast.step`, on two threads where there are
two cores; `tests/nn/fast` checks that both give the same numbers.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

from nnctl.nn.errors import EngineConfigError, NonFiniteError
from nnctl.nn.fast.buffers import ParameterBuffer
from nnctl.nn.fast.dense import FastDense
from nnctl.nn.fast.fpu import flush_to_zero, quiet
from nnctl.nn.fast.step import FastStep
from nnctl.nn.initializers import child_rng
from nnctl.nn.layers.base import Layer
from nnctl.nn.losses import Loss, check_loss_activation, get_loss
from nnctl.nn.optim.clipping import clip_grad_norm
from nnctl.nn.optim.optimizers import Optimizer

Array = np.ndarray
LAYER_KEYS = ("units", "activation", "activation_params", "dropout", "initializer")


class Network:
    """A feed-forward network of layers (`Layer`) trained on one loss.

    Build one with `Network.build` (from layer dicts, as in the config) or `Network.from_spec`.

    Attributes
    ----------
    layers : list of Layer
    loss : Loss
    params : ParameterBuffer
        All parameters and gradients, flat.
    rng : numpy.random.Generator
        Draws dropout masks (every layer's ``rng``); derived from the Generator given to `build`.
    flush_denormals : bool
        Run training steps and predictions with flush-to-zero on (default True).
    fast : FastStep or None
        The training step's fast path, when every layer is a `FastDense`.
    """

    def __init__(
        self,
        n_inputs: int,
        layers: Sequence[Layer],
        loss: Loss,
        rng: np.random.Generator,
        dtype: np.dtype[np.floating] | type[np.floating] = np.float32,
    ) -> None:
        self.n_inputs, self.layers, self.loss = n_inputs, list(layers), loss
        self.dtype = np.dtype(dtype)
        named = [(f"layers.{i}.", layer) for i, layer in enumerate(self.layers)]
        shapes = {at + name: a.shape for at, layer in named for name, a in layer.params.items()}
        decayed = {at + name for at, layer in named for name in layer.decayed}
        self.params = ParameterBuffer(shapes, decayed, self.dtype)
        for i, layer in enumerate(self.layers):
            names = {name: f"layers.{i}.{name}" for name in layer.params}
            layer.bind({k: self.params.view(v) for k, v in names.items()},
                       {k: self.params.grad_view(v) for k, v in names.items()})  # fmt: skip
            layer.rng = rng
        self.rng = rng
        self.optimizer: Optimizer | None = None
        self.clip_grad_norm: float | None = None
        self.flush_denormals = True
        self.fast = FastStep.for_network(self, self.layers)

    @classmethod
    def build(
        cls,
        n_inputs: int,
        layers: Sequence[Mapping[str, Any]],
        loss: Loss | str,
        rng: np.random.Generator,
        dtype: np.dtype[np.floating] | type[np.floating] = np.float32,
    ) -> Network:
        """A network of `FastDense` layers from layer dicts, drawing initial weights from ``rng``.

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
        EngineConfigError
            For an unknown key or name, a bad value, dropout on the output layer, or a loss that
            does not fit the output activation (`check_loss_activation`).
        """
        if np.dtype(dtype) not in (np.float32, np.float64):
            raise EngineConfigError(f"dtype must be float32 or float64, got {np.dtype(dtype)}")
        if not layers:
            raise EngineConfigError("a network needs at least one layer")
        loss = get_loss(loss) if isinstance(loss, str) else loss
        last = layers[-1]
        check_loss_activation(loss.name, last.get("activation", "linear"), last.get("units", 0))
        if last.get("dropout", 0.0):
            raise EngineConfigError(
                "the output layer cannot have dropout; put it on a hidden layer"
            )
        built, width = [], n_inputs
        for i, spec in enumerate(layers):
            unknown = set(spec) - set(LAYER_KEYS)
            if unknown:
                raise EngineConfigError(f"layer {i}: unknown key(s) {sorted(unknown)}")
            kwargs = {k: spec[k] for k in LAYER_KEYS[1:] if spec.get(k) is not None}
            built.append(FastDense(width, spec["units"], **kwargs, rng=rng, dtype=dtype))
            width = spec["units"]
        return cls(n_inputs, built, loss, child_rng(rng), dtype)

    # --- forward, loss, backward ----------------------------------------------------------------

    def forward(self, X: Array, training: bool = False) -> Array:
        """The network's output for a batch, shape ``(n, units)``; the last layer's array."""
        A = np.asarray(X, dtype=self.dtype)
        with quiet():  # an overflow gives infinity or NaN: the callers report it
            for layer in self.layers:
                A = layer.forward(A, training)
        return A

    def loss_and_gradient(self, X: Array, y: Array, training: bool = True) -> float:
        """Forward, loss and backward for one batch: fills the gradients, returns the mean loss.

        A loss fused with the output activation gives ``dL/dZ`` of the output layer directly
        (``from_logits``); any other gives ``dL/dA``, which goes back through the activation.
        """
        A = self.forward(X, training)
        Z = self.layers[-1].Z
        assert Z is not None
        value, dY = self.loss.value_and_gradient(Z, A, np.asarray(y))
        fused = self.loss.activation is not None
        grad: Array | None = dY
        for i in range(len(self.layers) - 1, -1, -1):
            assert grad is not None
            from_logits = fused and i == len(self.layers) - 1
            grad = self.layers[i].backward(grad, need_dX=i > 0, from_logits=from_logits)
        return value

    # --- training -------------------------------------------------------------------------------

    def attach_optimizer(self, optimizer: Optimizer, clip_grad_norm: float | None = None) -> None:
        """Bind ``optimizer`` to the parameters; clip gradients to ``clip_grad_norm`` if given.

        Call before `train_step`; load the optimizer's saved state after this call (or before: it
        is then applied on binding).
        """
        if clip_grad_norm is not None and not clip_grad_norm > 0:
            raise EngineConfigError(f"clip_grad_norm must be positive, got {clip_grad_norm}")
        optimizer.bind(self.params)
        self.optimizer, self.clip_grad_norm = optimizer, clip_grad_norm

    def take_batch(self, X: Array, index: Array, out: Array) -> None:
        """``np.take(X, index, axis=0, out=out, mode="clip")``, the next `train_step`'s batch
        (in halves with the worker thread where the step's plan uses it, `FastStep.take_rows`)."""
        if self.fast is not None:
            return self.fast.take_rows(X, index, out)
        np.take(X, index, axis=0, out=out, mode="clip")

    def train_step(
        self, X: Array, y: Array, learning_rate: float | None = None
    ) -> tuple[float, Array]:
        """One optimizer step on a batch; returns the mean batch loss and the batch's outputs.

        The outputs (probabilities after softmax or sigmoid, values otherwise) are an internal
        buffer, valid until the next call. ``learning_rate`` (a schedule's) overrides the
        optimizer's own for this step. Runs `FastStep.train_step` when there is one.

        Raises
        ------
        NonFiniteError
            When the loss or the gradient norm is not finite, before the parameters are changed.

        Notes
        -----
        Divergence checks cost nothing: the loss is checked every step, before the update. A
        non-finite parameter makes every output, hence the next step's loss, non-finite (IEEE
        ``0 * nan`` is nan), so it is caught one step later, with the layer named; `check_finite`
        (one pass) checks the parameters themselves, e.g. after the last step of an epoch. With
        clipping, the gradient norm is computed anyway and a non-finite one is caught before the
        update.
        """
        optimizer = self.optimizer
        if optimizer is None:
            raise RuntimeError("attach_optimizer() must be called before train_step()")
        if self.fast is not None:
            value = self.fast.train_step(X, y, learning_rate)
        else:
            with flush_to_zero(self.flush_denormals), quiet():
                value = self.loss_and_gradient(X, y)
                self.check_loss(X, value, learning_rate)
                self.clip_gradients(learning_rate)
                optimizer.step(learning_rate)
        output = self.layers[-1].output
        assert output is not None
        return value, output

    def check_loss(self, X: Array, value: float, learning_rate: float | None) -> None:
        """Raise `NonFiniteError` when the batch's loss ``value`` is not finite."""
        if not math.isfinite(value):
            self._raise_diverged(X, "the loss is not finite", learning_rate)

    def clip_gradients(self, learning_rate: float | None) -> None:
        """Scale the gradient to norm ``clip_grad_norm`` (when set); a non-finite norm diverges."""
        if self.clip_grad_norm is None:
            return
        if not math.isfinite(clip_grad_norm(self.params.grad, self.clip_grad_norm)):
            self._raise_diverged(None, "the gradient is not finite", learning_rate)

    def check_finite(self) -> None:
        """Raise `NonFiniteError` naming the first layer with a non-finite parameter."""
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
        raise NonFiniteError(
            f"training diverged at step {step}: {what}; first non-finite values in {where}; {hint}",
            hint=hint,
        )

    def _locate_nonfinite(self, X: Array | None) -> str:
        """Where the first non-finite values are: the input, a layer's parameters or output."""
        if X is not None and not np.isfinite(X).all():
            return "the input batch"
        for i, layer in enumerate(self.layers):
            label = f"layer {i} ({layer.describe()})"
            if not all(np.isfinite(array).all() for array in layer.params.values()):
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
        out = self._outputs(X.shape[0])
        with flush_to_zero(self.flush_denormals):
            for start in range(0, X.shape[0], batch_size):
                out[start : start + batch_size] = self._answers(X[start : start + batch_size])
        return out

    def _answers(self, X: Array) -> Array:
        """`forward`; NaN where the last z is not finite (overflowed): sigmoid(inf) is no answer."""
        A, Z = self.forward(X), self.layers[-1].Z
        lost = ~np.isfinite(np.asarray(Z)).reshape(len(A), -1).all(axis=1)
        A[lost] = np.nan
        return A

    def loss_value(self, X: Array, y: Array, batch_size: int = 1024) -> float:
        """The mean loss over a whole data set (no dropout), computed in batches."""
        return self.evaluate(X, y, batch_size)[0]

    def evaluate(
        self,
        X: Array,
        y: Array,
        batch_size: int = 1024,
        on_batch: Callable[[int, int], None] | None = None,
    ) -> tuple[float, Array]:
        """The mean loss and the outputs (a new array) of a whole data set, in one pass.

        ``on_batch(start, stop)``, when given, is called after each batch's forward pass, while
        every layer's ``output`` holds its activations of rows ``start:stop`` (what
        `nnctl.inspection.layer_stats` reads, without a second pass).
        """
        X, y = np.asarray(X), np.asarray(y)
        out = self._outputs(X.shape[0])
        total = 0.0
        with flush_to_zero(self.flush_denormals), quiet():
            for start in range(0, X.shape[0], batch_size):
                A = self._answers(X[start : start + batch_size])
                Z = self.layers[-1].Z
                assert Z is not None
                total += self.loss.value(Z, A, y[start : start + batch_size]) * A.shape[0]
                out[start : start + batch_size] = A
                if on_batch is not None:
                    on_batch(start, start + A.shape[0])
        return total / max(1, len(X)), out

    def _outputs(self, n: int) -> Array:
        """An empty array for the outputs of ``n`` rows."""
        shape = [int(d) for d in self.layers[-1].output_shape[1:] if d is not None]
        return np.empty((n, *shape), dtype=self.dtype)

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
        layers = [layer.spec() for layer in self.layers]
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
        return [{"name": f"layers.{i}", **layer.summary()} for i, layer in enumerate(self.layers)]
