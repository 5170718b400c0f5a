"""Learning-rate schedules, stepped once per epoch.

``schedule.lr(epoch)`` is the rate for epoch ``epoch`` (0-based), with ``base_lr`` the optimizer's
``learning_rate``. ``schedule.on_epoch_end(epoch, logs)`` lets ``reduce_on_plateau`` watch a
metric; the others ignore it. ``state_dict`` holds what a resumed run needs (plain numbers).

=================  =========================================================================
constant           ``lr = base_lr``
step               ``lr = base_lr * gamma ** (epoch // step_size)``
exponential        ``lr = base_lr * gamma ** epoch``
cosine             linear warm-up ``base_lr * (epoch + 1) / warmup_epochs`` for the first
                   ``warmup_epochs``, then ``min_lr + (base_lr - min_lr) * (1 + cos(pi * s)) / 2``
                   with ``s`` going from 0 (first epoch after warm-up) to 1 (last epoch)
reduce_on_plateau  ``lr = lr * factor`` (not below ``min_lr``) after ``patience`` epochs without
                   an improvement of ``monitor`` by more than ``min_delta``
=================  =========================================================================

References
----------
Loshchilov & Hutter, "SGDR: stochastic gradient descent with warm restarts", ICLR 2017 (cosine).
Goyal et al., "Accurate, large minibatch SGD: training ImageNet in 1 hour", arXiv:1706.02677, 2017
(linear warm-up).
"""

from __future__ import annotations

import inspect
import math
from collections.abc import Mapping
from typing import ClassVar

from nnctl.nn.errors import EngineConfigError
from nnctl.nn.registry import unknown_name


def _require(ok: bool, message: str) -> None:
    if not ok:
        raise EngineConfigError(message)


class Schedule:
    """Base class and the constant schedule: ``lr = base_lr``."""

    name: ClassVar[str] = "constant"

    def __init__(self, base_lr: float, epochs: int | None = None) -> None:
        _require(
            base_lr > 0 and math.isfinite(base_lr), f"learning rate must be > 0, got {base_lr}"
        )
        self.base_lr = float(base_lr)
        self.epochs = epochs

    def lr(self, epoch: int) -> float:
        """The learning rate to use during ``epoch`` (0-based)."""
        return self.base_lr

    def on_epoch_end(self, epoch: int, logs: Mapping[str, float]) -> None:
        """Observe the epoch's metrics (only ``reduce_on_plateau`` uses them)."""

    def state_dict(self) -> dict[str, float | int]:
        """What a resumed run needs, as plain numbers."""
        return {}

    def load_state_dict(self, state: Mapping[str, float | int]) -> None:
        """Restore a `state_dict`."""


class Constant(Schedule):
    """``lr = base_lr`` every epoch."""


class Step(Schedule):
    """``lr = base_lr * gamma ** (epoch // step_size)``."""

    name = "step"

    def __init__(
        self, base_lr: float, epochs: int | None = None, step_size: int = 10, gamma: float = 0.1
    ) -> None:
        super().__init__(base_lr, epochs)
        _require(step_size >= 1, f"schedule 'step': step_size must be >= 1, got {step_size}")
        _require(0 < gamma <= 1, f"schedule 'step': gamma must be in (0, 1], got {gamma}")
        self.step_size, self.gamma = int(step_size), float(gamma)

    def lr(self, epoch: int) -> float:
        return self.base_lr * self.gamma ** (epoch // self.step_size)


class Exponential(Schedule):
    """``lr = base_lr * gamma ** epoch``."""

    name = "exponential"

    def __init__(self, base_lr: float, epochs: int | None = None, gamma: float = 0.95) -> None:
        super().__init__(base_lr, epochs)
        _require(0 < gamma <= 1, f"schedule 'exponential': gamma must be in (0, 1], got {gamma}")
        self.gamma = float(gamma)

    def lr(self, epoch: int) -> float:
        return self.base_lr * self.gamma**epoch


class Cosine(Schedule):
    """Linear warm-up, then cosine decay to ``min_lr`` at the last epoch (``epochs - 1``).

    Notes
    -----
    For ``epoch < warmup_epochs``: ``lr = base_lr * (epoch + 1) / warmup_epochs``. Afterwards, with
    ``s = (epoch - warmup_epochs) / max(1, epochs - 1 - warmup_epochs)`` clipped to ``[0, 1]``:
    ``lr = min_lr + (base_lr - min_lr) * (1 + cos(pi * s)) / 2``.
    """

    name = "cosine"

    def __init__(
        self,
        base_lr: float,
        epochs: int | None = None,
        warmup_epochs: int = 0,
        min_lr: float = 0.0,
    ) -> None:
        super().__init__(base_lr, epochs)
        _require(epochs is not None and epochs >= 1, "schedule 'cosine' needs the number of epochs")
        _require(
            warmup_epochs >= 0,
            f"schedule 'cosine': warmup_epochs must be >= 0, got {warmup_epochs}",
        )
        _require(
            warmup_epochs < (epochs or 0),
            f"schedule 'cosine': warmup_epochs ({warmup_epochs}) must be less than "
            f"training.epochs ({epochs})",
        )
        _require(
            0 <= min_lr <= base_lr,
            f"schedule 'cosine': min_lr must be in [0, learning_rate={base_lr:g}], got {min_lr}",
        )
        self.warmup_epochs, self.min_lr = int(warmup_epochs), float(min_lr)
        self.total = int(epochs or 1)

    def lr(self, epoch: int) -> float:
        if epoch < self.warmup_epochs:
            return self.base_lr * (epoch + 1) / self.warmup_epochs
        span = max(1, self.total - 1 - self.warmup_epochs)
        s = min(1.0, max(0.0, (epoch - self.warmup_epochs) / span))
        return self.min_lr + (self.base_lr - self.min_lr) * (1 + math.cos(math.pi * s)) / 2


class ReduceOnPlateau(Schedule):
    """Multiply the rate by ``factor`` when ``monitor`` stops improving.

    Notes
    -----
    After each epoch, ``logs[monitor]`` improves if it beats the best so far by more than
    ``min_delta``: lower is better unless `set_direction` says ``max`` (the engine knows no
    metrics; the workflow that builds the schedule gives the monitor's direction). After
    ``patience`` epochs in a row without improvement, ``lr = max(lr * factor, min_lr)`` and the
    count restarts, as in Keras's ``ReduceLROnPlateau``.
    """

    name = "reduce_on_plateau"

    def __init__(
        self,
        base_lr: float,
        epochs: int | None = None,
        monitor: str = "val_loss",
        factor: float = 0.1,
        patience: int = 5,
        min_delta: float = 0.0,
        min_lr: float = 0.0,
    ) -> None:
        super().__init__(base_lr, epochs)
        _require(
            0 < factor < 1, f"schedule 'reduce_on_plateau': factor must be in (0, 1), got {factor}"
        )
        _require(
            patience >= 0, f"schedule 'reduce_on_plateau': patience must be >= 0, got {patience}"
        )
        _require(
            min_delta >= 0, f"schedule 'reduce_on_plateau': min_delta must be >= 0, got {min_delta}"
        )
        _require(min_lr >= 0, f"schedule 'reduce_on_plateau': min_lr must be >= 0, got {min_lr}")
        self.monitor, self.factor, self.patience = monitor, float(factor), int(patience)
        self.min_delta, self.min_lr = float(min_delta), float(min_lr)
        self.sign = 1.0  # minimize; see set_direction
        self.current_lr, self.best, self.has_best, self.wait = self.base_lr, 0.0, False, 0

    def set_direction(self, direction: str) -> None:
        """Whether a smaller (``min``) or a larger (``max``) value of the monitor is better."""
        if direction not in ("min", "max"):
            raise EngineConfigError(f"direction must be 'min' or 'max', got {direction!r}")
        self.sign = -1.0 if direction == "max" else 1.0

    def lr(self, epoch: int) -> float:
        return self.current_lr

    def on_epoch_end(self, epoch: int, logs: Mapping[str, float]) -> None:
        if self.monitor not in logs:
            raise EngineConfigError(
                f"schedule 'reduce_on_plateau' monitors '{self.monitor}', which is not among the "
                f"epoch's values: {', '.join(sorted(logs))}"
            )
        value = self.sign * float(logs[self.monitor])
        if not self.has_best or value < self.best - self.min_delta:
            self.best, self.has_best, self.wait = value, True, 0
            return
        self.wait += 1
        if self.wait >= self.patience:
            self.current_lr = max(self.current_lr * self.factor, self.min_lr)
            self.wait = 0

    def state_dict(self) -> dict[str, float | int]:
        return {
            "current_lr": self.current_lr,
            "best": self.best,
            "has_best": int(self.has_best),
            "wait": self.wait,
        }

    def load_state_dict(self, state: Mapping[str, float | int]) -> None:
        self.current_lr, self.best = float(state["current_lr"]), float(state["best"])
        self.has_best, self.wait = bool(state["has_best"]), int(state["wait"])


SCHEDULES: dict[str, type[Schedule]] = {
    "constant": Constant,
    "step": Step,
    "exponential": Exponential,
    "cosine": Cosine,
    "reduce_on_plateau": ReduceOnPlateau,
}


def get_schedule(
    name: str | None, *, base_lr: float, epochs: int | None = None, **params: float | str
) -> Schedule:
    """Build a schedule: ``get_schedule("cosine", base_lr=1e-3, epochs=100, warmup_epochs=5)``.

    Parameters
    ----------
    name : str or None
        A key of `SCHEDULES`; None means constant.
    base_lr : float
        The optimizer's learning rate.
    epochs : int, optional
        The number of training epochs (needed by ``cosine``; accepted and ignored by the others).
    **params
        The schedule's config keys, minus ``name``.

    Raises
    ------
    EngineConfigError
        For an unknown name or key, or a value out of range.
    """
    name = name or "constant"
    if name not in SCHEDULES:
        raise unknown_name("schedule", name, list(SCHEDULES))
    cls = SCHEDULES[name]
    accepted = [
        k
        for k in inspect.signature(cls.__init__).parameters
        if k not in ("self", "base_lr", "epochs")
    ]
    for key in params:
        if key not in accepted:
            takes = ", ".join(accepted) or "no parameters"
            raise EngineConfigError(f"schedule '{name}' does not take '{key}'; it takes {takes}")
    return cls(base_lr, epochs, **params)
