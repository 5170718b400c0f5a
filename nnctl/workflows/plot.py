"""``nnctl plot``: the curves of some runs, the charts asked for, and the figure file.

`gather` reads each run's curves (`nnctl.inspection.curves`) and, for the confusion chart, the
confusion matrix on the run's test split (the ``nnctl evaluate`` workflow's). Asked for by
``--what``, a chart a run does not have (no ``layer_stats.csv``, no confusion matrix for a
regression) is a `UsageError` (exit 2) that says why; by default, each chart some run has is
shown, and a note on stderr says what was left out. The CLI draws the result on the terminal,
or `save_plot` writes it as a picture (the ``plot`` extra).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from nnctl.errors import NnctlError, UsageError
from nnctl.inspection.curves import KINDS, Confusion, RunCurves, read_curves
from nnctl.inspection.run_facts import layer_stats_turned_off
from nnctl.nn.registry import did_you_mean
from nnctl.store.runs import METRICS_FILE
from nnctl.workflows.evaluate import evaluate


@dataclass
class Plot:
    """What ``nnctl plot`` draws.

    Attributes
    ----------
    runs : list of RunCurves
        The runs, in the order given (the legend's order).
    kinds : list of str
        The charts, in `KINDS` order: ``loss``, ``metrics``, ``lr``, ``update_ratio``,
        ``confusion``.
    confusions : list of Confusion
        One per classification run with a test split, when ``confusion`` is in ``kinds``.
    notes : list of str
        Why a chart some run has is not drawn for another (shown on stderr).
    """

    runs: list[RunCurves]
    kinds: list[str]
    confusions: list[Confusion] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def parse_what(text: str | None) -> list[str] | None:
    """``--what loss,metrics`` as a list of chart kinds (None: the default, all there are).

    An unknown name is a `UsageError` naming it, with a did-you-mean and the kinds there are.
    """
    if text is None:
        return None
    kinds = [word.strip().replace("-", "_") for word in text.split(",") if word.strip()]
    for kind in kinds:
        if kind not in KINDS:
            raise UsageError(
                f"--what: unknown chart {kind!r}{did_you_mean(kind, KINDS)} "
                f"expected some of {','.join(KINDS)}"
            )
    if not kinds:
        raise UsageError(f"--what: no chart named; expected some of {','.join(KINDS)}")
    return [kind for kind in KINDS if kind in kinds]


def gather(runs: Sequence[Path], what: Sequence[str] | None, runs_dir: Path | None = None) -> Plot:
    """The curves of ``runs`` and the charts to draw: ``what`` (each a `KINDS` name), or every
    chart some run has when None. See the module's docstring for what is missing."""
    curves = [read_curves(run, runs_dir) for run in runs]
    for run in curves:
        if not run.loss:
            raise UsageError(f"{run.path}: nothing to plot: {METRICS_FILE} has no epochs yet")
    plot = Plot(curves, [])
    for kind in KINDS:
        if what is not None and kind not in what:
            continue
        missing = {run.name: why for run in curves if (why := _missing(run, kind)) is not None}
        if what is not None and missing:
            name, why = next(iter(missing.items()))
            raise UsageError(f"--what {kind}: the run {name} has no {_TITLES[kind]}: {why}")
        if len(missing) == len(curves):
            continue
        if kind == "confusion":
            plot.confusions = _confusions(curves, what is None, plot.notes)
            if not plot.confusions:
                continue
        plot.notes.extend(f"{name}: no {_TITLES[kind]} ({why})" for name, why in missing.items())
        plot.kinds.append(kind)
    return plot


def save_plot(plot: Plot, output: Path, log_y: bool = False) -> None:
    """Write ``plot``'s charts to ``output`` (``.png``, ``.svg`` or ``.pdf``), atomically.

    Needs matplotlib (the ``plot`` extra): without it, a `UsageError` saying what to install.
    """
    from nnctl.inspection import figures, pictures

    pictures.format_of(output)  # a wrong suffix or folder is said before anything is drawn
    folder = output.parent
    if not folder.is_dir():
        raise UsageError(f"-o {output}: no such directory {folder}")
    if output.is_dir():
        raise UsageError(f"-o {output}: is a directory; expected a picture file such as "
                         f"{output / 'curves.png'}")  # fmt: skip
    figure = figures.plot_figure(plot.runs, plot.kinds, plot.confusions, log_y)
    pictures.save_figure(figure, output)


#: The end of ``nnctl evaluate``'s message for a run without a test split.
_EVALUATE_ADVICE = "; give the data with --data PATH"

_TITLES = {
    "loss": "loss",
    "metrics": "metrics",
    "lr": "learning rate",
    "update_ratio": "update ratios",
    "confusion": "confusion matrix",
}


def _missing(run: RunCurves, kind: str) -> str | None:
    """Why ``run`` has no ``kind`` chart, or None when it has one."""
    checks: dict[str, Callable[[RunCurves], str | None]] = {
        "loss": lambda r: None,
        "metrics": lambda r: None if r.metrics else "metrics.csv has no train_ or val_ metric",
        "lr": lambda r: None if r.lr and r.lr.finite() else "metrics.csv has no lr column",
        "update_ratio": _no_update_ratio,
        "confusion": lambda r: (
            None if r.task in ("classification", "binary") else f"the task is {r.task}"
        ),
    }
    return checks[kind](run)


def _no_update_ratio(run: RunCurves) -> str | None:
    if run.update_ratio is None:
        if layer_stats_turned_off(run.path):
            return "the config turns them off (diagnostics.layer_stats: false)"
        return "the run has no layer_stats.csv (it predates it)"
    if not any(curve.finite() for curve in run.update_ratio):
        return "layer_stats.csv has no epoch after initialization yet"
    return None


def _confusions(runs: Sequence[RunCurves], default: bool, notes: list[str]) -> list[Confusion]:
    """The confusion matrix of each classification run on its test split.

    By default (``default``), a run whose test split cannot be scored (none, a missing
    checkpoint) is left out with a note; asked for, that is the error it is.
    """
    found = []
    for run in runs:
        if _missing(run, "confusion") is not None:
            continue
        try:
            with np.errstate(all="ignore"):  # a diverged run's overflows: its matrix says enough
                report = evaluate(run.path, None, None)
        except NnctlError as error:
            said = error
            if error.message.endswith(_EVALUATE_ADVICE):  # --data PATH: plot has no such option
                said = UsageError(error.message.removesuffix(_EVALUATE_ADVICE))
            if not default:
                raise said from None
            notes.append(f"{run.name}: no confusion matrix ({said.message})")
            continue
        matrix = report["confusion_matrix"]
        title = f"confusion matrix - {run.name}\ntest split, {report['n_samples']} rows"
        found.append(Confusion(matrix["matrix"], matrix["labels"], title))
    return found
