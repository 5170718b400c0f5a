"""``nnctl sweep plot``: objective over trials, parameter importance, parallel coordinates.

One figure of three panels, drawn with matplotlib's object API and saved by
`nnctl.inspection.pictures` (the same study, the same bytes). Importance is Optuna's default
evaluator (PED-ANOVA), computed on the complete trials; it needs at least two.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from nnctl import extras
from nnctl.inspection.pictures import format_of, new_figure, save_figure
from nnctl.sweep.api import open_sweep
from nnctl.sweep.results import trial_rows
from nnctl.sweep.spec import Sweep


def plot_sweep(target: Path, runs_dir: Path | None, storage: str | None, output: Path) -> None:
    """Draw the sweep's three panels to ``output`` (.png, .svg or .pdf)."""
    format_of(output)
    opened = open_sweep(target, runs_dir, storage)
    rows = [r for r in trial_rows(opened.study, opened.sweep) if r[opened.sweep.metric] is not None]
    figure = new_figure(13, 4.2)
    axes = figure.subplots(1, 3, width_ratios=[1.1, 0.9, 1.4])
    _objective(axes[0], rows, opened.sweep)
    _importance(axes[1], opened.study, opened.sweep)
    _parallel(figure, axes[2], rows, opened.sweep)
    figure.suptitle(f"sweep {opened.sweep.name}: {len(rows)} trials")
    save_figure(figure, output)


def _objective(ax: Any, rows: list[dict[str, Any]], sweep: Sweep) -> None:
    """Each trial's value (pruned ones hollow) and the best so far."""
    metric = sweep.metric
    done = [r for r in rows if r["state"] == "complete"]
    pruned = [r for r in rows if r["state"] == "pruned"]
    ax.scatter([r["trial"] for r in done], [r[metric] for r in done], s=22, label="complete")
    ax.scatter(
        [r["trial"] for r in pruned],
        [r[metric] for r in pruned],
        s=22,
        facecolors="none",
        edgecolors="grey",
        label="pruned",
    )
    best, xs, ys = None, [], []
    for r in sorted(done, key=lambda r: r["trial"]):
        value = r[metric]
        if best is None or (value > best if sweep.goal == "max" else value < best):
            best = value
        xs.append(r["trial"])
        ys.append(best)
    ax.step(xs, ys, where="post", color="C3", label="best so far")
    ax.set_xlabel("trial")
    ax.set_ylabel(metric)
    ax.set_title("objective over trials")
    ax.legend(loc="best", fontsize=8)


def _importance(ax: Any, study: Any, sweep: Sweep) -> None:
    """Optuna's parameter importance (PED-ANOVA) as horizontal bars."""
    optuna = extras.load("optuna", "sweep")
    ax.set_title("parameter importance")
    try:
        importances = optuna.importance.get_param_importances(study)
    except (ValueError, RuntimeError) as error:
        ax.text(0.5, 0.5, f"not enough trials\n({error})", ha="center", va="center", wrap=True)
        ax.set_axis_off()
        return
    names = [p.key for p in sweep.parameters if p.key in importances][::-1]
    ax.barh(names, [importances[n] for n in names], color="C0")
    ax.set_xlabel("importance (sums to 1)")
    ax.tick_params(axis="y", labelsize=8)


def _parallel(figure: Any, ax: Any, rows: list[dict[str, Any]], sweep: Sweep) -> None:
    """One line per trial across the parameters (each scaled to its range), coloured by value."""
    colormaps = extras.load("matplotlib", "plot").colormaps
    keys = [p.key for p in sweep.parameters]
    values = [r[sweep.metric] for r in rows]
    ax.set_title("parallel coordinates")
    if not rows:
        ax.set_axis_off()
        return
    low, high = min(values), max(values)
    cmap = colormaps["viridis"]
    for r in sorted(rows, key=lambda r: r[sweep.metric] * (1 if sweep.goal == "max" else -1)):
        ys = [_scaled(p, r[p.key]) for p in sweep.parameters]
        shade = 0.5 if high == low else (r[sweep.metric] - low) / (high - low)
        ax.plot(
            range(len(keys)),
            ys,
            color=cmap(shade if sweep.goal == "max" else 1 - shade),
            alpha=0.8,
            linewidth=1.2,
        )
    ax.set_xticks(range(len(keys)), [_label(p) for p in sweep.parameters], fontsize=8)
    ax.set_yticks([0, 1], ["low", "high"])
    for x in range(len(keys)):
        ax.axvline(x, color="0.8", linewidth=0.8, zorder=0)
    scale = extras.load("matplotlib.cm", "plot").ScalarMappable(cmap=cmap)
    scale.set_clim(low, high)
    figure.colorbar(scale, ax=ax, label=sweep.metric)


def _scaled(p: Any, value: Any) -> float:
    """A parameter's value on 0..1: its place in the list, or in the (log) range."""
    if p.values is not None:
        index = list(p.values).index(value) if value in p.values else 0
        return index / max(1, len(p.values) - 1)
    if p.log:
        return (math.log(value) - math.log(p.low)) / (math.log(p.high) - math.log(p.low))
    return float((value - p.low) / (p.high - p.low))


def _label(p: Any) -> str:
    """The axis label: the key's last parts (``layers.0.units``), then the range or values."""
    parts = p.key.split(".")
    short = ".".join(parts[-3:] if len(parts) > 2 and parts[-2].isdigit() else parts[-2:])
    if p.values is not None:
        return f"{short}\n{', '.join(map(str, p.values))}"
    return f"{short}\n{p.low:g}..{p.high:g}{' log' if p.log else ''}"
