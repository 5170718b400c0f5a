"""``nnctl sweep``: hyperparameter sweeps on Optuna (validate, run, show, best, plot)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from nnctl.cli.options import JsonOption

app = typer.Typer(help="Hyperparameter sweeps on Optuna.", no_args_is_help=True)

SweepArgument = Annotated[
    Path, typer.Argument(metavar="SWEEP", help="The sweep file (YAML).", readable=False)
]
TargetArgument = Annotated[
    Path,
    typer.Argument(metavar="SWEEP|DIR", help="The sweep file, or its folder.", readable=False),
]
StorageOption = Annotated[
    str | None,
    typer.Option(
        "--storage",
        envvar="NNCTL_SWEEP_STORAGE",
        show_envvar=True,
        help="postgresql+psycopg://USER@HOST/DB for many machines; default: a journal file.",
    ),
]
SweepRunsDir = Annotated[
    Path | None,
    typer.Option("--runs-dir", envvar="NNCTL_RUNS_DIR", help="Where runs/sweeps/<name> is."),
]


@app.command("validate")
def validate(sweep: SweepArgument) -> None:
    """Check a sweep file and each parameter's values against its base config, without training.

    Example: nnctl sweep validate configs/iris-sweep.yaml
    """
    from nnctl.sweep.api import validate_sweep

    info = validate_sweep(sweep)
    sys.stdout.write(
        f"{sweep}: ok: {info['trials']} trials ({info['method']}) over "
        f"{', '.join(info['parameters'])}\n"
    )


@app.command("run")
def run(
    sweep: SweepArgument,
    storage: StorageOption = None,
    workers: Annotated[
        str, typer.Option("--workers", help="Worker processes: N, or auto (CPUs / 2).")
    ] = "1",
    runs_dir: SweepRunsDir = None,
    json_: JsonOption = False,
) -> None:
    """Run a sweep until its trial budget is used; print the sweep's folder.

    Running it again, or on another machine with the same --storage, joins the same study.

    Example: nnctl sweep run configs/iris-sweep.yaml --workers 2
    """
    from nnctl.sweep.api import run_sweep, worker_count

    info = run_sweep(
        sweep, runs_dir, storage, worker_count(workers), _trial_line, ["nnctl", *sys.argv[1:]]
    )
    _print_top(info)
    _print_summary(info, json_)


@app.command("worker", hidden=True)
def worker(
    sweep: SweepArgument,
    index: Annotated[int, typer.Option("--index")] = 0,
    storage: StorageOption = None,
    runs_dir: SweepRunsDir = None,
) -> None:
    """One worker process of ``nnctl sweep run --workers N``."""
    from nnctl.sweep.api import run_worker

    run_worker(sweep, runs_dir, storage, index, _trial_line)


@app.command("show")
def show(
    target: TargetArgument,
    storage: StorageOption = None,
    runs_dir: SweepRunsDir = None,
    json_: JsonOption = False,
) -> None:
    """Show a sweep's trials by state, its best trial and the top 10.

    Example: nnctl sweep show runs/sweeps/iris-sweep --json
    """
    from nnctl.sweep.api import show_sweep

    info = show_sweep(target, runs_dir, storage)
    if json_:
        _print_summary(info, True)
        return
    _print_top(info, sys.stdout)


@app.command("best")
def best(
    target: TargetArgument,
    output: Annotated[
        Path | None, typer.Option("-o", "--output", help="Also write the config to this file.")
    ] = None,
    storage: StorageOption = None,
    runs_dir: SweepRunsDir = None,
) -> None:
    """Print the best trial's config; nnctl train on it gives the best trial's result.

    Example: nnctl sweep best configs/iris-sweep.yaml -o best.yaml
    """
    from nnctl.sweep.api import best_config

    text = best_config(target, runs_dir, storage, output)
    if output is None:
        sys.stdout.write(text)
    else:
        sys.stdout.write(f"{output}\n")


@app.command("plot")
def plot(
    target: TargetArgument,
    output: Annotated[Path, typer.Option("-o", "--output", help="The picture (.png, .svg).")],
    storage: StorageOption = None,
    runs_dir: SweepRunsDir = None,
) -> None:
    """Draw the objective over trials, the parameters' importance and parallel coordinates.

    Example: nnctl sweep plot runs/sweeps/iris-sweep -o sweep.png
    """
    from nnctl.sweep.plot import plot_sweep

    plot_sweep(target, runs_dir, storage, output)
    sys.stdout.write(f"{output}\n")


def _trial_line(trial: Any) -> None:
    """stderr: one line per finished trial."""
    value = trial.value
    if value is None and trial.intermediate_values:
        value = trial.intermediate_values[max(trial.intermediate_values)]
    shown = "-" if value is None else f"{value:.4g}"
    params = " ".join(f"{key}={_short(v)}" for key, v in trial.params.items())
    run = trial.user_attrs.get("run_dir", "")
    sys.stderr.write(
        f"trial {trial.number:>3} {trial.state.name.lower():<8} {shown:>8}  {params}  {run}\n"
    )
    sys.stderr.flush()


def _short(value: Any) -> str:
    return f"{value:.4g}" if isinstance(value, float) else str(value)


def _print_top(info: dict[str, Any], file: Any = None) -> None:
    """The top 10 complete trials, best first (stderr by default); trials.csv has every column."""
    from nnctl.cli import render

    metric = info["objective"]["metric"]
    top = info["top"]
    skip = ("trial", "state", metric, "epochs", "stop_reason", "retry_of", "run_dir")
    keys = [k for k in (top[0] if top else {}) if k not in skip]
    columns = ["trial", metric, *(_short_key(k) for k in keys), "epochs"]
    rows = [
        [str(r["trial"]), _short(r[metric]), *(_short(r[k]) for k in keys), str(r["epochs"])]
        for r in top
    ]
    counts = ", ".join(f"{n} {state}" for state, n in info["trials"].items())
    title = f"sweep {info['sweep']}: {counts} of {info['budget']} trials; the best {len(rows)}"
    render.print_table(title, columns, rows, file or sys.stderr, right_align=range(len(columns)))


def _short_key(key: str) -> str:
    """A parameter's column header: its last parts (``learning_rate``, ``layers.0.units``)."""
    parts = key.split(".")
    return ".".join(parts[-3:] if len(parts) > 2 and parts[-2].isdigit() else parts[-1:])


def _print_summary(info: dict[str, Any], json_: bool) -> None:
    """stdout: the sweep's folder, or with ``--json`` its summary."""
    if json_:
        from nnctl.store import jsonio

        sys.stdout.write(jsonio.dumps(info) + "\n")
    else:
        sys.stdout.write(f"{info['folder']}\n")
