"""How much memory training a config's network needs, known before a byte of it is allocated.

``units: 1000000000`` is a valid number of units, and NumPy would try to allocate it (and the
machine would swap, or the kernel kill nnctl). `network_memory_problem` estimates what training
holds at once and says which layer is too big for this machine, so that ``nnctl train`` and
``nnctl validate`` refuse it with exit 2.
"""

from __future__ import annotations

import os

from nnctl.config.loader import Config

GIB = 1 << 30

OPTIMIZER_SLOTS = {"sgd": 1, "rmsprop": 1, "adagrad": 1, "adam": 2, "adamw": 2}
"""Arrays of the parameters' size each optimizer keeps (sgd: the momentum buffer)."""


def training_bytes(cfg: Config, n_inputs: int, n_rows: int | None = None) -> tuple[int, list[int]]:
    """The bytes training ``cfg``'s network on ``n_inputs`` features needs, and each layer's
    parameter count.

    Notes
    -----
    With ``P`` parameters, ``k`` optimizer slots, batch size ``B``, ``U`` units in all layers and
    ``s`` bytes per number (``training.dtype``); ``B`` is at most the ``n_rows`` training rows,
    as a batch is (`nnctl.training.trainer.Trainer`)::

        bytes = s * (P * (3 + k + e) + 3 * B * U)

    for the parameters, their gradients, one copy a checkpoint writes, the optimizer's state, the
    early-stopping copy of the best weights (``e`` = 1 with ``restore_best_weights``), and a
    batch's pre-activations, activations and their gradients. The data itself is not counted.
    """
    size = 8 if cfg.training.dtype == "float64" else 4
    per_layer, width = [], n_inputs
    for layer in cfg.model.layers:
        per_layer.append(width * layer.units + layer.units)
        width = layer.units
    early = cfg.training.early_stopping
    copies = 3 + OPTIMIZER_SLOTS.get(cfg.optimizer.name, 2)
    copies += int(early is not None and early.restore_best_weights)
    units = sum(layer.units for layer in cfg.model.layers)
    total = size * (sum(per_layer) * copies + 3 * batch_rows(cfg, n_rows) * units)
    return total, per_layer


def batch_rows(cfg: Config, n_rows: int | None) -> int:
    """The rows of a training batch: ``training.batch_size``, at most the training rows."""
    return cfg.training.batch_size if n_rows is None else min(cfg.training.batch_size, n_rows)


def physical_memory() -> int | None:
    """The machine's physical memory in bytes (``os.sysconf`` pages), None when unknown."""
    try:
        return int(os.sysconf("SC_PHYS_PAGES")) * int(os.sysconf("SC_PAGE_SIZE"))
    except (AttributeError, ValueError, OSError):
        return None


def free_memory() -> int | None:
    """The memory free right now in bytes, None when unknown."""
    try:
        return int(os.sysconf("SC_AVPHYS_PAGES")) * int(os.sysconf("SC_PAGE_SIZE"))
    except (AttributeError, ValueError, OSError):
        return None


def network_memory_problem(
    cfg: Config, n_inputs: int, available: int | None = None, n_rows: int | None = None
) -> str | None:
    """Why training ``cfg``'s network on ``n_inputs`` features cannot fit in memory, or None.

    ``available`` defaults to the machine's physical memory; ``n_rows`` (the training rows, when
    known) caps the batch. The message starts with the key to change: the layer with the most
    parameters (``model.layers[0].units: ...``), or ``training.batch_size`` when a batch of
    one row would fit.
    """
    available = physical_memory() if available is None else available
    needed, per_layer = training_bytes(cfg, n_inputs, n_rows)
    if available is None or needed <= available:
        return None
    free = free_memory()
    free_text = f", {free / GIB:.1f} GiB of it free now" if free is not None else ""
    need_text = (
        f"training the network needs about {needed / GIB:,.1f} GiB (weights, gradients, "
        f"optimizer state, a batch's activations), and this machine has "
        f"{available / GIB:.1f} GiB{free_text}"
    )
    batch = batch_rows(cfg, n_rows)
    if training_bytes(cfg, n_inputs, 1)[0] <= available:  # the batch alone is too big
        units = sum(layer.units for layer in cfg.model.layers)
        through = f"a batch of {batch:,} rows through {units:,} units"
        return f"training.batch_size: {through}; {need_text}"
    i = max(range(len(per_layer)), key=per_layer.__getitem__)
    width = n_inputs if i == 0 else cfg.model.layers[i - 1].units
    return (
        f"model.layers[{i}].units: {cfg.model.layers[i].units} units on {width} inputs make "
        f"{per_layer[i]:,} parameters; {need_text}"
    )


def memory_hint(problem: str) -> str:
    """What to change for a `network_memory_problem`: the units, or the batch size."""
    if problem.startswith("training.batch_size"):
        return "use a smaller training.batch_size"
    return "use fewer units"
