"""What a sweep has found: its trials as rows, ``trials.csv``, ``best.yaml`` and a summary.

Everything here reads the study; `write_results` writes the sweep folder's files atomically
(``trials.csv`` with every parameter and the objective, ``best.yaml`` the best trial's config,
which ``nnctl train best.yaml`` turns into the best trial's result bit for bit).
"""

from __future__ import annotations

import csv
import math
from typing import Any

from nnctl import extras
from nnctl.config.loader import config_to_yaml
from nnctl.errors import UsageError
from nnctl.store.files import atomic_writer, write_json, write_text
from nnctl.sweep.spec import Sweep
from nnctl.sweep.study import Place, shown_storage
from nnctl.sweep.trial import trial_config
from nnctl.sweep.workers import budget, counted

TRIALS_FILE = "trials.csv"
BEST_FILE = "best.yaml"
SWEEP_FILE = "sweep.json"


def trial_rows(study: Any, sweep: Sweep) -> list[dict[str, Any]]:
    """One row per trial that counts (skipped draws left out), in trial order."""
    rows = []
    for t in counted(study.get_trials(deepcopy=False)):
        value = t.value if t.value is not None else _last_reported(t)
        rows.append(
            {
                "trial": t.number,
                "state": _state(t),
                sweep.metric: value,
                **{p.key: t.params.get(p.key) for p in sweep.parameters},
                "epochs": t.user_attrs.get("epochs"),
                "stop_reason": t.user_attrs.get("stop_reason"),
                "retry_of": t.system_attrs.get("failed_trial"),
                "run_dir": t.user_attrs.get("run_dir"),
            }
        )
    return rows


def _state(t: Any) -> str:
    """complete, pruned, running, waiting, fail, or interrupted (a failed trial Ctrl-C ended)."""
    state = str(t.state.name).lower()
    return "interrupted" if state == "fail" and t.user_attrs.get("interrupted") else state


def _last_reported(t: Any) -> float | None:
    steps = t.intermediate_values
    return steps[max(steps)] if steps else None


def best_trial(study: Any, sweep: Sweep) -> Any | None:
    """The best complete trial (ties: the earliest), or None when none has completed."""
    state = extras.load("optuna", "sweep").trial.TrialState
    done = [t for t in study.get_trials(deepcopy=False, states=(state.COMPLETE,))]
    done = [t for t in done if t.value is not None and not math.isnan(t.value)]
    if not done:
        return None
    sign = -1.0 if sweep.goal == "max" else 1.0
    return min(done, key=lambda t: (sign * t.value, t.number))


def ranked(rows: list[dict[str, Any]], sweep: Sweep, top: int = 10) -> list[dict[str, Any]]:
    """The complete trials' rows, best first."""
    sign = -1.0 if sweep.goal == "max" else 1.0
    done = [r for r in rows if r["state"] == "complete" and r[sweep.metric] is not None]
    return sorted(done, key=lambda r: (sign * r[sweep.metric], r["trial"]))[:top]


def best_yaml(study: Any, sweep: Sweep) -> str:
    """The best trial's full config as YAML (defaults filled in)."""
    best = best_trial(study, sweep)
    if best is None:
        raise UsageError(f"sweep {sweep.name!r} has no complete trial yet")
    header = (
        f"# The best trial ({best.number}) of sweep {sweep.name}: {sweep.metric} {best.value}\n"
    )
    return header + config_to_yaml(trial_config(sweep, dict(best.params)))


def summary(study: Any, sweep: Sweep, place: Place) -> dict[str, Any]:
    """``nnctl sweep show --json``'s object."""
    rows = trial_rows(study, sweep)
    best = best_trial(study, sweep)
    states: dict[str, int] = {}
    for row in rows:
        states[row["state"]] = states.get(row["state"], 0) + 1
    return {
        "sweep": sweep.name,
        "folder": str(place.folder),
        "storage": shown_storage(place.url),
        "objective": {"metric": sweep.metric, "goal": sweep.goal, "value": sweep.value},
        "budget": budget(sweep),
        "trials": states,
        "best": None
        if best is None
        else {
            "trial": best.number,
            "value": best.value,
            "params": dict(best.params),
            "run_dir": best.user_attrs.get("run_dir"),
        },
        "top": ranked(rows, sweep),
    }


def write_results(study: Any, sweep: Sweep, place: Place) -> dict[str, Any]:
    """Write ``trials.csv``, ``best.yaml`` (once a trial has completed) and ``sweep.json``."""
    place.folder.mkdir(parents=True, exist_ok=True)
    rows = trial_rows(study, sweep)
    columns = ["trial", "state", sweep.metric, *(p.key for p in sweep.parameters)]
    columns += ["epochs", "stop_reason", "retry_of", "run_dir"]
    with atomic_writer(place.folder / TRIALS_FILE) as handle:
        writer = csv.DictWriter(handle, columns, lineterminator="\n")
        writer.writeheader()
        writer.writerows({k: "" if v is None else v for k, v in row.items()} for row in rows)
    if best_trial(study, sweep) is not None:
        write_text(place.folder / BEST_FILE, best_yaml(study, sweep))
    info = summary(study, sweep, place)
    write_json(place.folder / SWEEP_FILE, {**info, "file": str(sweep.path.resolve())})
    return info
