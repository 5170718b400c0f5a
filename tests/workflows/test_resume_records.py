"""Resume, the best checkpoint and run records: what a run says it did is what it did.

In-process (`CliRunner` and `train_run`); the subprocess cases (``kill -9``) are in
``tests/e2e/test_records.py``.
"""

from __future__ import annotations

import errno
import fcntl
import json
import math
import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from typer.testing import CliRunner, Result

from nnctl.cli import app
from nnctl.config.loader import load_config
from nnctl.errors import CheckpointError, Interrupted
from nnctl.store import jsonio
from nnctl.store.files import atomic_writer, read_json
from nnctl.store.metrics import read_metrics
from nnctl.training.callbacks import Callback
from nnctl.training.monitors import EarlyStopping
from nnctl.workflows.memory import network_memory_problem
from nnctl.workflows.resume import resolve_config
from nnctl.workflows.train import train_run
from tests.helpers import DATASETS, iris_config, weights

RECORDS = ("config.yaml", "run.json", "metrics.csv", "checkpoints/last.npz", "checkpoints/best.npz")


def _snapshot(run: Path) -> dict[str, bytes]:
    return {name: (run / name).read_bytes() for name in RECORDS}


def _invoke(*args: str | Path) -> Result:
    return CliRunner().invoke(app, [str(arg) for arg in args])


def _errors(result: Result) -> str:
    return result.stderr


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A completed 3-epoch iris run, trained once for the module; tests work on copies."""
    folder = tmp_path_factory.mktemp("trained")
    return train_run(load_config(iris_config(folder, epochs=3)), runs_dir=folder / "runs").path


@pytest.fixture
def run(trained: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A copy of the trained run in ``runs`` of the working folder ``tmp_path``, as a relative
    path, as ``nnctl train`` prints it."""
    shutil.copytree(trained, tmp_path / "runs" / trained.name)
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("NNCTL_RUNS_DIR", raising=False)
    yield Path("runs") / trained.name


# --- 1. resume may change training.epochs only ---------------------------------------------------


@pytest.mark.parametrize(
    ("override", "difference"),
    [
        ("optimizer.learning_rate=0.5", "optimizer.learning_rate: 0.01 -> 0.5"),
        ("model.layers.0.units=9", "model.layers[0].units: 8 -> 9"),
        ("model.layers[1].dropout=0.2", "model.layers[1].dropout: 0.0 -> 0.2"),
        ("seed=4", "seed: 3 -> 4"),
        ("metrics=[accuracy, f1]", 'metrics: ["accuracy"] -> ["accuracy", "f1"]'),
        ("optimizer={name: sgd}", "optimizer.name: 'adam' -> 'sgd'"),
    ],
)
def test_resume_without_config_refuses_a_set_other_than_epochs(
    run: Path, override: str, difference: str
) -> None:
    before = _snapshot(run)
    result = _invoke("train", "--resume", run, "--set", override, "--set", "training.epochs=5")
    assert result.exit_code == 2, result.output
    assert f"nnctl: error: --set {override}: cannot resume {run}" in _errors(result)
    assert difference in _errors(result)
    assert "training.epochs" not in _errors(result).split("in\n", 1)[1].split("hint")[0]
    assert "Traceback" not in result.output
    assert _snapshot(run) == before


def test_resume_refuses_other_data_given_with_set(run: Path, tmp_path: Path) -> None:
    other = tmp_path / "other.csv"
    other.write_bytes((DATASETS / "iris.csv").read_bytes())
    before = _snapshot(run)
    result = _invoke("train", "--resume", run, "--set", f"data.train={other}")
    assert result.exit_code == 2, result.output
    assert f"--set data.train={other}" in _errors(result)
    assert f"data.train: '{DATASETS / 'iris.csv'}' -> '{other}'" in _errors(result)
    assert _snapshot(run) == before


def test_resume_with_a_config_file_names_the_file_and_the_key(run: Path, tmp_path: Path) -> None:
    config = iris_config(tmp_path, epochs=3)
    config.write_text(config.read_text().replace("units: 8", "units: 12"))
    before = _snapshot(run)
    result = _invoke("train", config, "--resume", run)
    assert result.exit_code == 2, result.output
    assert f"nnctl: error: {config}: cannot resume {run}" in _errors(result)
    assert f"model.layers[0].units: 8 -> 12  ({config})" in _errors(result)
    assert _snapshot(run) == before


@pytest.mark.parametrize("form", ["set", "config"])
def test_resume_to_fewer_epochs_than_done_is_refused(run: Path, tmp_path: Path, form: str) -> None:
    before = _snapshot(run)
    if form == "set":
        result = _invoke("train", "--resume", run, "--set", "training.epochs=2")
        source = "--set training.epochs=2"
    else:
        config = iris_config(tmp_path, epochs=2)
        result = _invoke("train", config, "--resume", run)
        source = f"{config}: training.epochs"
    assert result.exit_code == 2, result.output
    assert f"nnctl: error: {source}: {run} has already done 3 epochs" in _errors(result)
    assert _snapshot(run) == before


def test_resume_to_more_epochs_updates_every_record(run: Path) -> None:
    result = _invoke("train", "--resume", run, "--set", "training.epochs=5", "--quiet")
    assert result.exit_code == 0, result.output
    assert load_config(run / "config.yaml").training.epochs == 5
    info = read_json(run / "run.json")
    assert (info["epochs_planned"], info["epochs_done"], info["status"]) == (5, 5, "completed")
    shown = json.loads(_invoke("runs", "show", run, "--json").stdout)
    assert shown["config"]["epochs"] == 5 == shown["info"]["epochs_planned"]
    assert len(read_metrics(run / "metrics.csv")) == 5
    assert not list(run.glob(".*.tmp"))


# --- 2. early stopping and the best checkpoint ---------------------------------------------------


class _Trainer:
    """Just what `EarlyStopping` calls on its trainer."""

    def __init__(self) -> None:
        self.stopped: str | None = None
        self.network = self

    def state_dict(self) -> dict[str, np.ndarray]:
        return {}

    def stop(self, reason: str) -> None:
        self.stopped = reason


@pytest.mark.parametrize("patience", [0, 1, 3, 20])
def test_early_stopping_stops_after_patience_epochs_without_improvement(patience: int) -> None:
    callback = EarlyStopping(monitor="val_loss", patience=patience)
    trainer = _Trainer()
    callback.trainer = trainer  # type: ignore[assignment]
    epoch = 0
    while trainer.stopped is None:
        epoch += 1
        callback.on_epoch_end(epoch, {"val_loss": 1.0 if epoch > 1 else 0.5})
    # Keras: the best epoch, then `patience` epochs without improvement (at least one).
    assert epoch == 1 + max(patience, 1)
    waited = max(patience, 1)
    assert f"did not improve for {waited} epoch{'s' if waited > 1 else ''}" in trainer.stopped


class _InterruptAfter(Callback):
    def __init__(self, epoch: int) -> None:
        self.epoch = epoch

    def on_epoch_end(self, epoch: int, logs: dict[str, Any]) -> None:
        if epoch == self.epoch:
            self.trainer.request_interrupt()


EARLY = "  early_stopping: {monitor: val_accuracy, patience: 3, min_delta: 0.2}"


def test_an_early_stop_is_the_same_epoch_after_a_resume(tmp_path: Path) -> None:
    config = iris_config(tmp_path, epochs=60, extra=EARLY)
    whole = train_run(load_config(config), runs_dir=tmp_path / "whole").record
    assert whole.epochs_done < 60 and whole.stop_reason is not None
    assert "for 3 epochs" in whole.stop_reason
    with pytest.raises(Interrupted):
        train_run(load_config(config), runs_dir=tmp_path / "parts", progress=_InterruptAfter(2))
    (run,) = (tmp_path / "parts").iterdir()
    resumed = train_run(resolve_config(None, [], run), resume=run).record
    assert (resumed.epochs_done, resumed.stop_reason) == (whole.epochs_done, whole.stop_reason)
    assert resumed.best_epoch == whole.best_epoch


def test_the_best_checkpoint_follows_the_early_stopping_monitor(tmp_path: Path) -> None:
    extra = "  early_stopping: {monitor: val_accuracy, patience: 4, restore_best_weights: true}"
    cfg = load_config(iris_config(tmp_path, epochs=12, extra=extra))
    assert (cfg.training.checkpoint.monitor, cfg.training.checkpoint.mode) == (
        "val_accuracy",
        "auto",
    )
    record = train_run(cfg, runs_dir=tmp_path / "runs").record
    run = tmp_path / "runs" / record.name
    accuracy = [float(row["val_accuracy"]) for row in read_metrics(run / "metrics.csv")]
    assert record.monitor == "val_accuracy"
    assert record.best_epoch == 1 + accuracy.index(max(accuracy))  # the first best, as Keras
    with np.load(run / "checkpoints/last.npz") as last:
        restored = {k.split("/", 1)[1]: last[k].tobytes() for k in last.files if "early_" in k}
    best = {k.split("/", 1)[1]: v for k, v in weights(run / "checkpoints/best.npz").items()}
    assert best == restored  # evaluate and predict use what restore_best_weights restored


def test_an_explicit_checkpoint_monitor_is_kept(tmp_path: Path) -> None:
    extra = f"{EARLY}\n  checkpoint: {{monitor: val_loss}}"
    cfg = load_config(iris_config(tmp_path, extra=extra))
    assert cfg.training.checkpoint.monitor == "val_loss"
    cfg = load_config(
        iris_config(tmp_path, extra="  early_stopping: {monitor: val_loss, mode: max}")
    )
    assert (cfg.training.checkpoint.monitor, cfg.training.checkpoint.mode) == ("val_loss", "max")
    assert load_config(iris_config(tmp_path)).training.checkpoint.monitor == "val_loss"


def test_a_full_disk_while_writing_best_keeps_best_epoch_true(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import nnctl.workflows.checkpoints

    real = nnctl.workflows.checkpoints.save_bundle
    written: list[int] = []

    def save(path: Path, meta: dict[str, Any], groups: Any) -> None:
        if path.name == "best.npz" and written:  # the first best goes to disk, later ones fail
            with atomic_writer(path, "wb"):
                raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        real(path, meta, groups)
        if path.name == "best.npz":
            written.append(meta["epoch"])

    monkeypatch.setattr(nnctl.workflows.checkpoints, "save_bundle", save)
    with pytest.raises(CheckpointError, match="No space left on device"):
        train_run(load_config(iris_config(tmp_path, epochs=30)), runs_dir=tmp_path / "runs")
    (run,) = (tmp_path / "runs").iterdir()
    info = read_json(run / "run.json")
    with np.load(run / "checkpoints/best.npz") as best:
        in_file = json.loads(best["__nnctl__"].tobytes())["epoch"]
    assert info["status"] == "failed"
    assert info["best_epoch"] == in_file == written[0]
    assert not list(run.glob("checkpoints/.*.tmp"))


# --- 3. records that do not mislead --------------------------------------------------------------


def _record_as_killed(run: Path) -> None:
    info = read_json(run / "run.json")
    info.update(status="running", ended=None)
    (run / "run.json").write_text(json.dumps(info))


def test_a_running_run_nobody_trains_is_shown_as_stopped_and_resumable(run: Path) -> None:
    _record_as_killed(run)
    listed = json.loads(_invoke("runs", "list", "--json").stdout)
    assert (listed["status"], listed["resumable"]) == ("stopped", True)
    assert "stopped (killed?)" in _invoke("runs", "list").stdout
    shown = _invoke("runs", "show", run, "--json")
    details = json.loads(shown.stdout)
    assert details["info"]["status"] == "stopped" and details["resumable"] is True
    assert f"nnctl train --resume {run}" in details["info"]["stop_reason"]
    assert read_json(run / "run.json")["status"] == "running"  # the record itself is not changed


def test_a_run_being_trained_is_shown_as_running(run: Path) -> None:
    _record_as_killed(run)
    fd = os.open(run, os.O_RDONLY)  # as the process training it holds it
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        listed = json.loads(_invoke("runs", "list", "--json").stdout)
    finally:
        os.close(fd)
    assert (listed["status"], listed["resumable"]) == ("running", False)


def _strict(text: str) -> Any:
    def refuse(name: str) -> None:
        raise AssertionError(f"not JSON: {name}")

    return json.loads(text, parse_constant=refuse)


def test_json_output_and_records_hold_null_for_nan(
    run: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert _strict(jsonio.dumps({"a": math.nan, "b": [np.float32("inf")], "c": np.int64(2)})) == {
        "a": None,
        "b": [None],
        "c": 2,
    }
    import nnctl.workflows.evaluate

    monkeypatch.setattr(nnctl.workflows.evaluate, "regression_report", lambda *a: {})
    original = nnctl.workflows.evaluate.classification_report
    monkeypatch.setattr(
        nnctl.workflows.evaluate,
        "classification_report",
        lambda *a: {**original(*a), "accuracy": math.nan},
    )
    result = _invoke("evaluate", run, "--json")
    assert result.exit_code == 0, result.output
    assert _strict(result.stdout)["accuracy"] is None
    info = read_json(run / "run.json")
    info["best_value"] = math.nan
    (run / "run.json").write_text(json.dumps(info))  # Python's json writes a bare NaN
    assert _strict(_invoke("runs", "list", "--json").stdout)["best_value"] is None
    assert _strict(_invoke("runs", "show", run, "--json").stdout)["info"]["best_value"] is None


def test_a_checkpoint_with_non_finite_weights_is_refused(run: Path, tmp_path: Path) -> None:
    with np.load(run / "checkpoints/best.npz") as npz:
        arrays = {key: npz[key] for key in npz.files}
    arrays["weights/layers.1.W"] = arrays["weights/layers.1.W"].copy()
    arrays["weights/layers.1.W"][0, 0] = np.nan
    bad = tmp_path / "bad.npz"
    np.savez(bad, **arrays)
    for command in (["predict", bad, "--input", DATASETS / "iris.csv"], ["evaluate", bad]):
        result = _invoke(*command)
        assert result.exit_code == 3, result.output
        assert f"{bad}: weights/layers.1.W holds 1 non-finite value" in _errors(result)
        assert result.stdout == ""


# --- 4. run names, and runs that do not exist ----------------------------------------------------


def test_every_command_takes_the_name_runs_list_prints(
    run: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    name = json.loads(_invoke("runs", "list", "--json").stdout)["name"]
    assert name == run.name
    assert json.loads(_invoke("runs", "show", name, "--json").stdout)["run"] == str(run)
    assert _invoke("evaluate", name, "--json").exit_code == 0
    predicted = _invoke("predict", name, "--input", DATASETS / "iris.csv")
    assert predicted.exit_code == 0 and predicted.stdout.startswith("species")
    best = f"{name}/checkpoints/best.npz"
    assert _invoke("evaluate", best, "--json").exit_code == 0
    resumed = _invoke("train", "--resume", name, "--set", "training.epochs=4", "--quiet")
    assert resumed.exit_code == 0, resumed.output
    assert resumed.stdout.strip() == str(run)
    runs = run.parent.resolve()
    monkeypatch.chdir(runs.parent.parent)  # elsewhere: --runs-dir or NNCTL_RUNS_DIR
    assert _invoke("runs", "show", name, "--runs-dir", runs).exit_code == 0
    monkeypatch.setenv("NNCTL_RUNS_DIR", str(runs))
    assert _invoke("evaluate", name).exit_code == 0


@pytest.mark.parametrize(
    "command",
    [
        ["evaluate", "nosuch-run"],
        ["predict", "nosuch-run", "--input", "x.csv"],
        ["runs", "show", "nosuch-run"],
        ["train", "--resume", "nosuch-run"],
        ["evaluate", "/nonexistent/run/checkpoints/best.npz"],
    ],
)
def test_a_run_that_does_not_exist_is_exit_2_everywhere(run: Path, command: list[str]) -> None:
    result = _invoke(*command)
    assert result.exit_code == 2, result.output
    assert f"nnctl: error: {command[-1] if command[0] != 'predict' else command[1]}: no such" in (
        _errors(result)
    )


def test_a_run_without_its_checkpoints_stays_exit_3(run: Path) -> None:
    shutil.rmtree(run / "checkpoints")
    (run / "checkpoints").mkdir()
    result = _invoke("evaluate", run)
    assert result.exit_code == 3, result.output
    assert f"{run}: no checkpoints/best.npz or checkpoints/last.npz" in _errors(result)


# --- 5. one damaged run does not break the others ------------------------------------------------


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        ("{not json", "damaged: not readable JSON"),
        ("[1, 2]", "damaged: expected a JSON object"),
        ('{"name": "x", "status": "running", "epochs_done": "many"}', "'epochs_done' must be"),
        ('{"name": "x", "status": "done", "epochs_done": 1}', "'status' must be one of"),
        (
            '{"name": "x", "status": "completed", "epochs_done": 1, "best_value": "low"}',
            "best_value",
        ),
    ],
)
def test_a_damaged_run_json_is_skipped_with_a_warning_and_shown_as_damaged(
    run: Path, trained: Path, damage: str, message: str
) -> None:
    good = run.parent / "good-run"
    shutil.copytree(trained, good)
    (run / "run.json").write_text(damage)
    listed = _invoke("runs", "list", "--json")
    assert listed.exit_code == 0, listed.output
    assert [json.loads(line)["run"] for line in listed.stdout.splitlines()] == [str(good)]
    assert f"nnctl: warning: skipped {run}: {run / 'run.json'}: " in _errors(listed)
    assert message in _errors(listed)
    assert _invoke("runs", "list").exit_code == 0
    shown = _invoke("runs", "show", run)
    assert shown.exit_code == 3, shown.output
    assert f"nnctl: error: {run / 'run.json'}: damaged" in _errors(shown)


@pytest.mark.parametrize(
    ("name", "damage", "message"),
    [
        ("metrics.csv", b"epoch,train_loss\n1,0.5,0.7,9\n", "metrics.csv: damaged: line 2"),
        ("metrics.csv", b"\xff\xfe\x00garbage", "metrics.csv: damaged: not a readable CSV"),
        ("config.yaml", b"model: [unclosed\n", "config.yaml: damaged: not readable YAML"),
        ("config.yaml", b"- a list\n", "config.yaml: damaged: expected model.layers"),
        ("summary.json", b"{", "summary.json: damaged: not readable JSON"),
    ],
)
def test_runs_show_names_a_damaged_file(run: Path, name: str, damage: bytes, message: str) -> None:
    (run / name).write_bytes(damage)
    shown = _invoke("runs", "show", run)
    assert shown.exit_code == 3, shown.output
    assert message in _errors(shown)
    assert "Traceback" not in shown.output
    assert _invoke("runs", "list").exit_code == 0


def test_resume_rebuilds_a_damaged_metrics_csv_from_the_checkpoint(run: Path) -> None:
    (run / "metrics.csv").write_bytes(b"\xff\xfe\x00garbage")
    result = _invoke("train", "--resume", run, "--set", "training.epochs=4", "--quiet")
    assert result.exit_code == 0, result.output
    assert [row["epoch"] for row in read_metrics(run / "metrics.csv")] == ["1", "2", "3", "4"]


# --- 6. a network too big for the machine --------------------------------------------------------


@pytest.mark.parametrize(
    ("override", "layer"),
    [("model.layers.0.units=1000000000", 0), ("model.layers.1.units=3", None)],
)
def test_a_network_too_big_for_memory_is_refused_before_allocating(
    tmp_path: Path, override: str, layer: int | None
) -> None:
    config = iris_config(tmp_path)
    cfg = load_config(config, [override])
    if layer is None:
        assert network_memory_problem(cfg, 4) is None
        assert network_memory_problem(cfg, 4, available=1000) is not None
        return
    result = _invoke("train", config, "--set", override, "--runs-dir", tmp_path / "runs")
    assert result.exit_code == 2, result.output
    errors = _errors(result)
    assert (
        f"nnctl: error: {config}: model.layers[{layer}].units: 1000000000 units on 4 inputs"
        in errors
    )
    assert "GiB" in errors and "this machine has" in errors
    assert not list((tmp_path / "runs").glob("*"))


def test_the_memory_check_names_the_biggest_layer(tmp_path: Path) -> None:
    cfg = load_config(
        iris_config(tmp_path),
        [
            "model.layers.0.units=100000",
            "model.layers.1={units: 100000, activation: relu}",
            "model.layers.2={units: 3, activation: softmax}",
        ],
    )
    problem = network_memory_problem(cfg, 4, available=1 << 30)
    assert problem is not None and problem.startswith(
        "model.layers[1].units: 100000 units on 100000"
    )
