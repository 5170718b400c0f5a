"""Which drawn trial may train, on a grid: each enqueued point once, nothing the sampler repeats.

Seen in CI: two workers each held an enqueued trial not yet started (``params == {}`` until the
objective suggests them); the second was taken for a repeat of the first and skipped, and the
sampler then drew a point that had already been trained in its place.
"""

from __future__ import annotations

from pathlib import Path

import optuna
import pytest
from sweep_helpers import sweep_file

from nnctl.sweep.spec import load_sweep
from nnctl.sweep.trial import Skipped
from nnctl.sweep.workers import claim, enqueue_grid

PARAMS = (
    "  optimizer.learning_rate: {values: [0.001, 0.1]}\n  model.layers.0.units: {values: [4]}\n"
)


def _grid(tmp_path: Path):  # type: ignore[no-untyped-def]
    sweep = load_sweep(sweep_file(tmp_path, method="grid", trials=10, parameters=PARAMS))
    space = {p.key: list(p.values or ()) for p in sweep.parameters}
    study = optuna.create_study(sampler=optuna.samplers.GridSampler(space, seed=0))
    enqueue_grid(study, sweep, tmp_path)
    return sweep, study


def test_two_enqueued_points_running_at_once_both_train(tmp_path: Path) -> None:
    sweep, study = _grid(tmp_path)
    first, second = study.ask(), study.ask()  # both running, neither has suggested yet
    assert first.params == second.params == {}
    claim(study, first, sweep)
    claim(study, second, sweep)  # raised Skipped("grid point drawn by another worker")


def test_a_point_the_sampler_draws_after_the_queue_is_a_repeat(tmp_path: Path) -> None:
    sweep, study = _grid(tmp_path)
    trained = study.ask()
    claim(study, trained, sweep)
    study.tell(trained, 1.0)
    lost = study.ask()  # the other point, dropped (as the old check did): the budget has room
    lost.set_user_attr("skipped", "dropped")
    study.tell(lost, state=optuna.trial.TrialState.FAIL)
    drawn = study.ask()  # the queue is empty: the grid sampler draws a point again
    with pytest.raises(Skipped, match="grid point drawn by another worker"):
        claim(study, drawn, sweep)
