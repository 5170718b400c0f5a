"""``nnctl gradcheck``: a network's backpropagation against central differences, with a verdict.

`gradcheck_network` runs the engine's sampled check (`nnctl.nn.gradcheck.entries`) on a float64
copy of a network, dropout off: ``per_param`` entries of every ``W`` and every ``b`` against
``(L(x + h) - L(x - h)) / 2h`` of the mean loss, then L2 weight decay apart from the data loss.
Each tensor's error is the largest relative error ``|a - n| / max(|a|, |n|)`` of its entries,
read with CS231n's bands (`BANDS`); an entry whose difference crossed a relu kink is reported,
not counted. The report passes when every tensor is ``excellent`` or ``fine``.

References
----------
CS231n, "Neural networks part 3: gradient checks", https://cs231n.github.io/neural-networks-3/
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from nnctl.nn import gradcheck as engine
from nnctl.nn.network import Network

Array = np.ndarray

#: CS231n's bands for a relative error: each name holds errors below its bound.
BANDS: tuple[tuple[str, float], ...] = (
    ("excellent", 1e-7),
    ("fine", 1e-4),
    ("suspect", 1e-2),
    ("wrong", math.inf),
)
#: The bands that pass.
PASSING = ("excellent", "fine")


def band(error: float) -> str:
    """The name of the band of ``error``: ``excellent`` below 1e-7, ``fine`` below 1e-4, ..."""
    return next(name for name, bound in BANDS if error < bound)


@dataclass(frozen=True)
class Term:
    """One tensor of one term of the objective: the data ``loss`` or the ``weight_decay``."""

    term: str
    check: engine.TensorCheck

    @property
    def band(self) -> str:
        return band(self.check.error)

    def to_json(self) -> dict[str, Any]:
        """The tensor's row: name, term, shape, entries checked, error, band, kinks, entries."""
        check = self.check
        counted = [e for e in check.entries if not e.kink]
        worst = max(counted, key=lambda e: e.error, default=None)
        return {
            "name": check.name,
            "term": self.term,
            "shape": list(check.shape),
            "checked": len(check.entries),
            "error": check.error,
            "band": self.band,
            "kinks": check.kinks,
            "worst": None if worst is None else _entry(worst),
            "entries": [_entry(e) for e in check.entries],
        }


def _entry(entry: engine.Entry) -> dict[str, Any]:
    return {"index": list(entry.index), "analytic": entry.analytic, "numeric": entry.numeric,
            "error": entry.error, "kink": entry.kink}  # fmt: skip


@dataclass(frozen=True)
class GradcheckReport:
    """What ``nnctl gradcheck`` shows: where the network and rows came from, and each tensor."""

    source: str
    inputs: str
    random_inputs: bool
    rows: int
    per_param: int
    loss: float
    terms: tuple[Term, ...]
    weight_decay: float
    decay_note: str

    @property
    def passed(self) -> bool:
        """Whether every tensor is ``excellent`` or ``fine``."""
        return all(term.band in PASSING for term in self.terms)

    @property
    def failing(self) -> list[Term]:
        """The tensors outside the passing bands, worst first."""
        bad = [term for term in self.terms if term.band not in PASSING]
        return sorted(bad, key=lambda term: -term.check.error)

    def verdict(self) -> str:
        """One line: every tensor fine, or the worst tensor and how many failed."""
        if self.passed:
            return "every tensor passed (relative error below 1e-4)"
        worst, n = self.failing[0], len(self.failing)
        others = f" and {n - 1} more tensor{'s' if n > 2 else ''}" if n > 1 else ""
        return (f"gradient check failed: {worst.check.name} ({worst.term.replace('_', ' ')}) "
                f"has relative error {worst.check.error:.2e} ({worst.band}){others}; "
                "backpropagation disagrees with the finite differences")  # fmt: skip

    def to_json(self) -> dict[str, Any]:
        """``nnctl gradcheck --json``'s object."""
        return {
            "source": self.source,
            "inputs": {"description": self.inputs, "rows": self.rows, "random": self.random_inputs},
            "per_param": self.per_param,
            "h": engine.H,
            "dtype": "float64",
            "dropout": "off",
            "loss": self.loss,
            "bands": {name: bound for name, bound in BANDS if math.isfinite(bound)},
            "tensors": [term.to_json() for term in self.terms],
            "weight_decay": {"value": self.weight_decay, "note": self.decay_note},
            "kinks": sum(term.check.kinks for term in self.terms),
            "passed": self.passed,
            "verdict": self.verdict(),
        }


def gradcheck_network(
    network: Network,
    X: Array,
    y: Array,
    *,
    source: str,
    inputs: str,
    random_inputs: bool = False,
    weight_decay: float = 0.0,
    decoupled: bool = False,
    per_param: int = 10,
    seed: int = 0,
) -> GradcheckReport:
    """Check a network's gradients on rows ``X`` (shape ``(rows, n_inputs)``) and targets ``y``.

    Parameters
    ----------
    network : Network
        Copied to float64 first (`nnctl.nn.gradcheck.as_float64`); the original is not touched.
    X, y : ndarray
        The rows and their targets, as the network trains on them (preprocessed).
    source, inputs : str
        Where the network and the rows came from, for the report.
    weight_decay : float
        The optimizer's; L2 decay (``g = g + wd * W``) is checked against the gradient of
        ``wd / 2 * sum(||W||**2)``. A ``decoupled`` one (adamw) is no gradient: not checked.
    per_param, seed : int
        Entries sampled from each tensor, and the seed that draws them.
    """
    copy = engine.as_float64(network)
    X = np.asarray(X, dtype=np.float64)
    loss = engine.network_evaluation(copy, X, y)[0]
    terms = [Term("loss", c) for c in engine.check_network_entries(copy, X, y, per_param, seed)]
    if weight_decay > 0 and not decoupled:
        decay = engine.check_weight_decay(copy, weight_decay, per_param, seed)
        terms += [Term("weight_decay", c) for c in decay]
    return GradcheckReport(source, inputs, random_inputs, len(X), per_param, loss, tuple(terms),
                           weight_decay, _decay_note(weight_decay, decoupled))  # fmt: skip


def _decay_note(weight_decay: float, decoupled: bool) -> str:
    if weight_decay <= 0:
        return "none (the optimizer has weight_decay 0)"
    if decoupled:
        return (f"decoupled weight decay {weight_decay:g} (W = W - lr * wd * W) is no gradient "
                "of the loss: not checked")  # fmt: skip
    return f"L2 weight decay {weight_decay:g}, checked apart from the data loss: g = g + wd * W"
