"""What a doctor's rule finds (`Found`) and what a rule is (`Rule`): the shared vocabulary of
`nnctl.inspection.doctor` and its rules."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from nnctl.inspection.run_facts import RunFacts

CS231N_1 = "CS231n, Neural Networks Part 1, https://cs231n.github.io/neural-networks-1/"
CS231N_3 = "CS231n, Neural Networks Part 3, https://cs231n.github.io/neural-networks-3/"


@dataclass(frozen=True)
class Found:
    """What a rule found: ``warn`` or ``info``, a sentence, the evidence."""

    severity: str
    message: str
    evidence: dict[str, Any]


@dataclass(frozen=True)
class Rule:
    """A rule: its name, threshold and source, and the function that applies it."""

    name: str
    threshold: str
    source: str
    check: Callable[[RunFacts], list[Found]]
    needs_layer_stats: bool = False


def info(message: str, **evidence: Any) -> list[Found]:
    """One ``info`` finding, as a rule returns it."""
    return [Found("info", message, evidence)]


def warn(message: str, **evidence: Any) -> Found:
    """One ``warn`` finding."""
    return Found("warn", message, evidence)
