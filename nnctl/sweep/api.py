"""The operations of ``nnctl sweep``: validate, run, a worker's loop, show, best.

Each is one function the command calls; none prints (a finished trial goes to ``on_trial``).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from nnctl.errors import EXIT_INTERRUPTED, Interrupted, UsageError
from nnctl.store.files import read_json, write_text
from nnctl.sweep.results import SWEEP_FILE, best_yaml, summary, write_results
from nnctl.sweep.spec import Sweep, check_against_base, load_sweep
from nnctl.sweep.study import Place, open_storage, open_study, place_of
from nnctl.sweep.workers import OnTrial, budget, enqueue_grid, requeue, spawn, work


@dataclass(frozen=True)
class Opened:
    """A sweep file, where its study is, and the study."""

    sweep: Sweep
    place: Place
    study: Any


def validate_sweep(path: Path) -> dict[str, Any]:
    """Check a sweep file and every parameter's extreme values against its base config."""
    sweep = load_sweep(path)
    check_against_base(sweep)
    return {
        "sweep": sweep.name,
        "base": str(sweep.base),
        "parameters": [p.key for p in sweep.parameters],
        "trials": budget(sweep),
        "method": sweep.method,
    }


def worker_count(workers: str) -> int:
    """``--workers N`` or ``auto`` (the CPU count halved: each training uses two threads)."""
    if workers == "auto":
        return max(1, (os.cpu_count() or 2) // 2)
    if not workers.isdigit() or int(workers) < 1:
        raise UsageError(f"--workers {workers}: expected a number >= 1 or auto")
    return int(workers)


def run_sweep(
    path: Path,
    runs_dir: Path | None,
    storage: str | None,
    workers: int,
    on_trial: OnTrial,
    command: list[str],
) -> dict[str, Any]:
    """Run (or join, or resume) the sweep until its budget is used; write its results.

    With one worker the loop runs in this process, else in ``workers`` processes.

    Raises
    ------
    Interrupted
        On Ctrl-C (exit 130); the study and every finished trial are intact, and running
        ``nnctl sweep run`` again resumes the interrupted trials and finishes the budget.
    """
    sweep = load_sweep(path)
    check_against_base(sweep)
    place = place_of(sweep, runs_dir, storage)
    study = open_study(sweep, open_storage(place))
    requeue(study, place.folder)
    enqueue_grid(study, sweep, place.folder)
    write_results(study, sweep, place)  # sweep.json at once: `nnctl sweep show DIR` works now
    try:
        codes = [0] if workers == 1 else spawn(sweep, place, workers)
        if workers == 1:
            work(sweep, place, 0, on_trial, command)
    except (Interrupted, KeyboardInterrupt):
        write_results(study, sweep, place)
        raise
    if any(code == EXIT_INTERRUPTED for code in codes):
        write_results(study, sweep, place)
        raise Interrupted(
            f"sweep interrupted; {place.folder} holds the trials so far",
            hint=f"continue with: nnctl sweep run {path}",
        )
    if any(codes):
        raise UsageError(f"{sum(1 for c in codes if c)} of {workers} workers failed")
    return write_results(study, sweep, place)


def run_worker(
    path: Path, runs_dir: Path | None, storage: str | None, index: int, on_trial: OnTrial
) -> None:
    """One worker process of `run_sweep` (``nnctl sweep worker``)."""
    sweep = load_sweep(path)
    work(sweep, place_of(sweep, runs_dir, storage), index, on_trial, ["nnctl", "sweep", "run"])


def open_sweep(target: Path, runs_dir: Path | None, storage: str | None) -> Opened:
    """A sweep file, or a sweep folder (its ``sweep.json`` names the file), with its study."""
    path = target
    if target.is_dir():
        info = read_json(target / SWEEP_FILE)
        path = Path(str(info.get("file", "")))
        runs_dir = runs_dir or target.parent.parent
    sweep = load_sweep(path)
    place = place_of(sweep, runs_dir, storage)
    if place.url is None and not place.journal.exists():
        raise UsageError(
            f"sweep {sweep.name!r} has not run yet: no {place.journal}",
            hint=f"start it: nnctl sweep run {path}",
        )
    return Opened(sweep, place, open_study(sweep, open_storage(place), create=False))


def show_sweep(target: Path, runs_dir: Path | None, storage: str | None) -> dict[str, Any]:
    """The summary of a sweep: trials by state, the best, the top 10."""
    opened = open_sweep(target, runs_dir, storage)
    return summary(opened.study, opened.sweep, opened.place)


def best_config(
    target: Path, runs_dir: Path | None, storage: str | None, output: Path | None
) -> str:
    """The best trial's config as YAML, also written to ``output`` when given."""
    opened = open_sweep(target, runs_dir, storage)
    text = best_yaml(opened.study, opened.sweep)
    if output is not None:
        if output.resolve() in (opened.sweep.path.resolve(), opened.sweep.base.resolve()):
            raise UsageError(f"-o {output}: that is an input of the sweep; choose another file")
        write_text(output, text)
    return text
