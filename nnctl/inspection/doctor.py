"""``nnctl doctor RUN``: findings about a training run, each with its evidence, rule and source.

Each rule (`RULES`) is a small function of the run's facts (`nnctl.inspection.run_facts`), with
its threshold and where the threshold comes from. It gives ``warn`` findings when the threshold
is crossed, else one ``info`` finding that says what it saw (or why it could not look). Without
``layer_stats.csv`` (a run from before it was written) the rules that need it are skipped, and an
``info`` finding says so.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from nnctl.inspection import rules_layers as layers
from nnctl.inspection import rules_metrics as metrics
from nnctl.inspection.findings import CS231N_1, CS231N_3, Rule
from nnctl.inspection.run_facts import LAYER_STATS_FILE, layer_stats_turned_off, read_run
from nnctl.store.runs import resolve_run

RULES: tuple[Rule, ...] = (
    Rule(
        "initial_loss",
        f"epoch 1's training loss above {metrics.INITIAL_FACTOR:g} x the loss at chance (ln K "
        "for K classes, ln 2 for binary, the target's variance for mse)",
        f"CS231n: 'look for correct loss at chance performance'; {CS231N_3}",
        metrics.initial_loss,
    ),
    Rule(
        "learning_rate",
        f"the training loss's rises, summed, above {metrics.OSCILLATION:.0%} of its fall "
        f"(oscillation), or its lowest after epoch 1 above {metrics.NOT_FALLING:.0%} of epoch 1's",
        f"CS231n, 'babysitting the learning process': the loss's shape tells the learning rate; "
        f"{CS231N_3}",
        metrics.learning_rate,
    ),
    Rule(
        "overfitting",
        f"validation loss (averaged over a tenth of the epochs) {metrics.OVERFIT_RISE:.0%} above "
        "its lowest, while the training loss still falls and the gap between them grows",
        "Goodfellow, Bengio & Courville, Deep Learning (2016), 7.8 Early Stopping",
        metrics.overfitting,
    ),
    Rule(
        "dead_units",
        f"dead fraction above {layers.DEAD_FRACTION:.0%} at the last epoch",
        f"CS231n: 'as much as 40% of your network can be dead' (ReLU); {CS231N_1}",
        layers.dead_units,
        needs_layer_stats=True,
    ),
    Rule(
        "update_ratio",
        f"median over epochs of ||dW|| / ||W|| outside [{layers.UPDATE_RATIO[0]:g}, "
        f"{layers.UPDATE_RATIO[1]:g}]",
        f"CS231n: the ratio of the updates to the values should be about 1e-3; {CS231N_3}",
        layers.update_ratios,
        needs_layer_stats=True,
    ),
    Rule(
        "gradient_flow",
        f"median over epochs of ||dL/dW|| of the first layer / the last outside "
        f"[{layers.GRADIENT_RATIO[0]:g}, {layers.GRADIENT_RATIO[1]:g}]",
        "Glorot & Bengio, 'Understanding the difficulty of training deep feedforward neural "
        "networks', AISTATS 2010",
        layers.gradient_flow,
        needs_layer_stats=True,
    ),
)


def diagnose(run: Path, runs_dir: Path | None = None) -> dict[str, Any]:
    """``nnctl doctor``'s report: ``{"run", "findings": [{"severity", "rule", "message",
    "evidence"}]}``, ``rule`` being ``{"name", "threshold", "source"}``.

    ``run`` is a run directory or a run's name; a damaged ``metrics.csv`` or ``layer_stats.csv``
    is a `nnctl.errors.CheckpointError` (exit 3).
    """
    path = resolve_run(run, runs_dir)
    facts = read_run(path)
    findings = []
    for rule in RULES:
        rule_json = {"name": rule.name, "threshold": rule.threshold, "source": rule.source}
        if rule.needs_layer_stats and facts.layer_stats is None:
            continue
        for found in rule.check(facts):
            findings.append(
                {
                    "severity": found.severity,
                    "rule": rule_json,
                    "message": found.message,
                    "evidence": found.evidence,
                }
            )
    if facts.layer_stats is None:
        skipped = [rule.name for rule in RULES if rule.needs_layer_stats]
        why = ("its config turns it off: diagnostics.layer_stats: false"
               if layer_stats_turned_off(path) else "a run from before nnctl wrote it")  # fmt: skip
        findings.append(
            {
                "severity": "info",
                "rule": {"name": "layer_stats", "threshold": "", "source": ""},
                "message": f"The run has no {LAYER_STATS_FILE} ({why}): "
                f"the rules {', '.join(skipped)} were skipped.",
                "evidence": {"missing": LAYER_STATS_FILE, "skipped": skipped},
            }
        )
    return {"run": str(path), "findings": findings}


def warnings(report: dict[str, Any]) -> list[dict[str, Any]]:
    """The ``warn`` findings of a `diagnose` report."""
    return [f for f in report["findings"] if f["severity"] == "warn"]
