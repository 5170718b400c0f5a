"""The optimizer base class: validation, binding, weight decay, named state, the step counter.

The update rules themselves, and the registry, are in :mod:`nnctl.nn.optim.optimizers`.
"""

from __future__ import annotations

import inspect
import math
from collections.abc import Mapping, Sequence
from typing import ClassVar

import numpy as np

from nnctl.nn.errors import EngineConfigError
from nnctl.nn.fast import elementwise
from nnctl.nn.fast.buffers import ParameterBuffer
from nnctl.nn.fast.elementwise import Programs, Trace, Untraceable, trace
from nnctl.nn.fast.fpu import FTZ_AVAILABLE, flush_subnormals
from nnctl.nn.fast.threads import Helper
from nnctl.nn.fast.worker import Call, compute

Array = np.ndarray

#: Steps between flushes of tiny optimizer state when the CPU cannot flush subnormals itself.
FLUSH_EVERY = 64

#: Fewest parameters for which `Optimizer.step` splits the update over two threads when asked.
SPLIT_MIN_SIZE = 1 << 16
#: Fewest parameters for which the update runs in the elementwise kernel: below, tracing the rule
#: costs more than it saves (Adam on 4810 parameters: 23 us a step against NumPy's 12; on 65536,
#: 68 against 73; `nnctl.nn.fast.elementwise`). The numbers are the same either way.
KERNEL_MIN_SIZE = SPLIT_MIN_SIZE


def check_range(name: str, key: str, value: float, low: float, high: float = math.inf) -> float:
    """``value`` as a float if ``low <= value < high`` (``high`` open), else `EngineConfigError`."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise EngineConfigError(f"optimizer '{name}': {key} must be a number, got {value!r}")
    if not (math.isfinite(value) and low <= value < high):
        span = f"at least {low:g}" if high == math.inf else f"in [{low:g}, {high:g})"
        raise EngineConfigError(f"optimizer '{name}': {key} must be {span}, got {value!r}")
    return float(value)


def check_positive(name: str, key: str, value: float) -> float:
    value = check_range(name, key, value, 0.0)
    if value == 0.0:
        raise EngineConfigError(f"optimizer '{name}': {key} must be positive, got {value!r}")
    return value


class Optimizer:
    """Base class: validation, binding, L2 weight decay, named state and the step counter.

    Subclasses set ``name``, ``state_names`` and implement ``_update(p, g, state, tmp, lr)``, an
    elementwise rule on the flat arrays (so the same as applying it to each parameter).
    """

    name: ClassVar[str]
    decoupled_weight_decay: ClassVar[bool] = False
    #: Fewest parameters updated in the elementwise kernel (`KERNEL_MIN_SIZE`; tests lower it).
    kernel_min_size = KERNEL_MIN_SIZE

    def __init__(self, learning_rate: float, weight_decay: float) -> None:
        self.learning_rate = check_positive(self.name, "learning_rate", learning_rate)
        self.weight_decay = check_range(self.name, "weight_decay", weight_decay, 0.0)
        self.state_names: tuple[str, ...] = ()
        self.iterations = 0
        self.flush_every = 0 if FTZ_AVAILABLE else FLUSH_EVERY
        self.params: ParameterBuffer | None = None
        self.state: dict[str, Array] = {}
        self._tmp = np.empty(0)
        self._pending: dict[str, Array] | None = None
        self._programs = Programs()  # the update's programs for the elementwise kernel
        self._ops: tuple[tuple[int, float], tuple[Trace, Trace]] | None = None
        self._traceable = True

    def config(self) -> dict[str, object]:
        """The hyperparameters, as ``get_optimizer`` takes them."""
        keys = inspect.signature(type(self).__init__).parameters
        return {"name": self.name, **{k: getattr(self, k) for k in keys if k != "self"}}

    def _initial_state(self, state_name: str, like: Array) -> Array:
        return np.zeros_like(like)

    def bind(self, params: ParameterBuffer) -> None:
        """Attach to a network's parameters; allocates the state (zeros) and a work buffer."""
        self.params = params
        self.state = {s: self._initial_state(s, params.data) for s in self.state_names}
        self._tmp = np.empty_like(params.data)
        if self._pending is not None:
            pending, self._pending = self._pending, None
            self.load_state_dict(pending)

    def step(self, learning_rate: float | None = None, helper: Helper | None = None) -> None:
        """One update of the bound parameters from their gradients.

        ``learning_rate`` overrides the built one for this step (a schedule's rate). With L2 weight
        decay the gradient buffer is changed in place to ``g + wd * W``. With a ``helper`` (and at
        least `SPLIT_MIN_SIZE` parameters) the two halves of the flat arrays are updated at once,
        the first on the helper thread. The same as ``begin_step``, ``update_range`` over all
        parameters, ``end_step``.
        """
        lr = self.begin_step(learning_rate)
        size = self._tmp.size
        if helper is not None and size >= SPLIT_MIN_SIZE:
            half = size // 2 // 16 * 16  # both halves start on a 64-byte boundary
            helper.run_split(lambda: self.update_range(0, half, lr),
                             lambda: self.update_range(half, size, lr))  # fmt: skip
        else:
            self.update_range(0, size, lr)
        self.end_step()

    def begin_step(self, learning_rate: float | None = None) -> float:
        """Count a step; return its learning rate (``learning_rate``, else the built one)."""
        if self.params is None:
            raise RuntimeError(f"optimizer '{self.name}' is not bound to any parameters")
        self.iterations += 1
        return self.learning_rate if learning_rate is None else float(learning_rate)

    def update_range(self, start: int, stop: int, lr: float) -> None:
        """Update the flat parameters ``start:stop``, weight decay included.

        The rule is elementwise, so disjoint ranges may be updated in any order, or at once on
        different threads, with the same result as one pass over everything.
        """
        compute(self.update_task(((start, stop),), lr))

    def update_task(self, ranges: Sequence[tuple[int, int]], lr: float) -> Call:
        """The update of the flat parameters in ``ranges`` (``start``, ``stop``), weight decay
        included, as one task for `nnctl.nn.fast.worker.compute` (or `pair`).

        It runs the rule's passes in the elementwise kernel (`nnctl.nn.fast.elementwise`,
        without the GIL) where it can, else with NumPy; the numbers are the same.
        """
        if self.params is None:
            raise RuntimeError(f"optimizer '{self.name}' is not bound to any parameters")

        def fallback() -> None:
            for start, stop in ranges:
                self._update_numpy(start, stop, lr)

        traced = self._traced(lr) if self.params.size >= self.kernel_min_size else None
        if traced is None:
            return Call(None, 0, fallback)
        decayed, rule = traced  # the ops of a weight (decay, then the rule), and of a bias
        n_decay = self.params.n_decay if self.weight_decay > 0 else 0
        segments: list[tuple[int, int, Trace]] = []
        for start, stop in ranges:
            cut = max(start, min(stop, n_decay))
            segments += [(start, cut, decayed), (cut, stop, rule)]
        arrays = {"p": self.params.data, "g": self.params.grad, "tmp": self._tmp, **self.state}
        return self._programs.call(arrays, segments, fallback)

    def _traced(self, lr: float) -> tuple[Trace, Trace] | None:
        """The ops of a decayed weight (the decay, then the rule) and of the rule, at this step
        and ``lr`` (`trace`), or None where the kernel cannot run them."""
        key = (self.iterations, lr)
        if self._ops is not None and self._ops[0] == key:
            return self._ops[1]
        if not self._traceable or not elementwise.runs():
            return None
        try:
            rule = trace(lambda p, g, state, tmp: self._update(p, g, state, tmp, lr),
                         "p", "g", self.state_names, "tmp")  # fmt: skip
            weights = rule
            if self.weight_decay > 0:
                weights = trace(lambda p, g, tmp: self._decay(p, g, tmp, lr),
                                "p", "g", "tmp") + rule  # fmt: skip
        except Untraceable:  # a rule the kernel cannot run: NumPy runs it, at every step
            self._traceable = False
            return None
        except Exception:  # NumPy's passes fail the same way (or else succeed)
            return None
        self._ops = (key, (weights, rule))
        return self._ops[1]

    def _update_numpy(self, start: int, stop: int, lr: float) -> None:
        """`update_range` with NumPy's passes."""
        params = self.params
        assert params is not None
        if stop <= start:
            return
        p, g, tmp = params.data[start:stop], params.grad[start:stop], self._tmp[start:stop]
        d = max(0, min(stop, params.n_decay) - start)
        if self.weight_decay > 0 and d > 0:
            self._decay(p[:d], g[:d], tmp[:d], lr)
        state = {name: flat[start:stop] for name, flat in self.state.items()}
        self._update(p, g, state, tmp, lr)

    def _decay(self, p: Array, g: Array, tmp: Array, lr: float) -> None:
        """Weight decay of the weights ``p`` (decoupled), or of their gradient ``g`` (L2)."""
        if self.decoupled_weight_decay:
            p *= 1.0 - lr * self.weight_decay
        else:
            g += np.multiply(p, self.weight_decay, out=tmp)

    def end_step(self) -> None:
        """Finish a step: flush tiny state every `flush_every` steps where the CPU cannot."""
        if self.flush_every and self.iterations % self.flush_every == 0:
            flush_subnormals(self.state.values())

    def _update(self, p: Array, g: Array, state: dict[str, Array], tmp: Array, lr: float) -> None:
        """The update rule: change ``p`` (and ``state``) in place; ``tmp`` is scratch space."""
        raise NotImplementedError

    def state_dict(self) -> dict[str, Array]:
        """Copies of the step counter (``iterations``) and every named state array."""
        if self.params is None:
            raise RuntimeError("state_dict() needs a bound optimizer")
        out = {"iterations": np.array(self.iterations, dtype=np.int64)}
        for state_name, flat in self.state.items():
            for name in self.params.names:
                out[f"{state_name}.{name}"] = self.params.slice_of(flat, name).copy()
        return out

    def load_state_dict(self, state: Mapping[str, Array]) -> None:
        """Restore a `state_dict` (before `bind`, it is kept and applied on binding).

        Raises
        ------
        ValueError
            Naming a missing, unexpected or wrongly shaped entry.
        """
        if self.params is None:
            self._pending = dict(state)
            return
        expected = self.state_dict()
        missing, unexpected = set(expected) - set(state), set(state) - set(expected)
        if missing or unexpected:
            raise ValueError(
                f"optimizer state does not match: missing {sorted(missing)}, "
                f"unexpected {sorted(unexpected)}"
            )
        for key, value in state.items():
            if np.shape(value) != expected[key].shape:
                raise ValueError(
                    f"optimizer state '{key}' has shape {np.shape(value)}, "
                    f"expected {expected[key].shape}"
                )
            if np.asarray(value).dtype.kind not in "fiu":  # a cast would drop or parse
                raise ValueError(
                    f"optimizer state '{key}' holds {np.asarray(value).dtype} values; "
                    "expected real numbers"
                )
        self.iterations = int(state["iterations"])
        for state_name, flat in self.state.items():
            for name in self.params.names:
                self.params.slice_of(flat, name)[...] = state[f"{state_name}.{name}"]
