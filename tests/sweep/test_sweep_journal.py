"""Sweeps on one machine: one journal file, worker processes, resumed after kill and Ctrl-C."""

from __future__ import annotations

import json
import signal
import subprocess
from pathlib import Path

from helpers import weights
from sweep_helpers import (
    env,
    nnctl_argv,
    run,
    sweep_file,
    trials_csv,
    wait_for_epochs,
    without_seconds,
)


def test_two_workers_reach_the_budget_without_duplicates(tmp_path: Path) -> None:
    path = sweep_file(tmp_path, method="random", trials=6, epochs=3)
    done = run("sweep", "run", path, "--workers", "2", "--runs-dir", tmp_path / "runs")
    assert done.returncode == 0, done.stderr
    folder = Path(done.stdout.strip())
    assert folder == tmp_path / "runs" / "sweeps" / "s"
    rows = trials_csv(folder)
    assert [r["state"] for r in rows] == ["complete"] * 6
    assert sorted(int(r["trial"]) for r in rows) == list(range(6))
    assert len({r["run_dir"] for r in rows}) == 6
    assert len({(r["optimizer.learning_rate"], r["model.layers.0.units"]) for r in rows}) == 6
    pids = {json.loads((Path(r["run_dir"]) / "run.json").read_text())["status"] for r in rows}
    assert pids == {"completed"}
    assert done.stderr.count("\ntrial ") + done.stderr.startswith("trial ") == 6
    again = run("sweep", "run", path, "--workers", "2", "--runs-dir", tmp_path / "runs")
    assert again.returncode == 0 and len(trials_csv(folder)) == 6, again.stderr


def test_grid_has_no_duplicates_with_two_workers(tmp_path: Path) -> None:
    params = "  optimizer.learning_rate: {values: [0.001, 0.01, 0.1]}\n"
    params += "  model.layers.0.units: {values: [4, 8]}\n"
    path = sweep_file(tmp_path, method="grid", trials=50, epochs=2, parameters=params)
    done = run("sweep", "run", path, "--workers", "2", "--runs-dir", tmp_path / "runs")
    assert done.returncode == 0, done.stderr
    rows = trials_csv(Path(done.stdout.strip()))
    points = [(r["optimizer.learning_rate"], r["model.layers.0.units"]) for r in rows]
    assert len(points) == 6 and len(set(points)) == 6


def test_best_yaml_reproduces_the_best_trial_and_show_agrees(tmp_path: Path) -> None:
    path = sweep_file(tmp_path, trials=3, epochs=4)
    runs = tmp_path / "runs"
    assert run("sweep", "run", path, "--runs-dir", runs).returncode == 0
    shown = run("sweep", "show", runs / "sweeps" / "s", "--json")
    assert shown.returncode == 0, shown.stderr
    best = json.loads(shown.stdout)["best"]
    out = tmp_path / "best.yaml"
    assert run("sweep", "best", path, "-o", out, "--runs-dir", runs).stdout.strip() == str(out)
    trained = run("train", out, "--runs-dir", tmp_path / "again")
    assert trained.returncode == 0, trained.stderr
    again, trial = Path(trained.stdout.strip()), Path(best["run_dir"])
    assert without_seconds(again) == without_seconds(trial)
    assert weights(again / "checkpoints/last.npz") == weights(trial / "checkpoints/last.npz")


def test_a_changed_sweep_file_is_refused_with_the_differences(tmp_path: Path) -> None:
    path = sweep_file(tmp_path, trials=1, epochs=2)
    assert run("sweep", "run", path, "--runs-dir", tmp_path / "runs").returncode == 0
    path.write_text(path.read_text().replace("seed: 0", "seed: 1"))
    refused = run("sweep", "run", path, "--runs-dir", tmp_path / "runs")
    assert refused.returncode == 2
    assert "differs from the sweep that started study 's'" in refused.stderr
    assert "seed: 0 -> 1" in refused.stderr and "Traceback" not in refused.stderr


def test_kill_9_mid_trial_then_the_trial_resumes_its_run_bit_identical(tmp_path: Path) -> None:
    path = sweep_file(
        tmp_path,
        trials=2,
        epochs=60,
        parameters="  model.layers.0.units: {values: [16]}\n"
        "  optimizer.learning_rate: {values: [0.01, 0.02]}\n",
    )
    runs = tmp_path / "runs"
    worker = subprocess.Popen(
        nnctl_argv("sweep", "run", path, "--runs-dir", runs),
        env=env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    killed = wait_for_epochs(worker, runs / "sweeps" / "s" / "trial-0000-*", 10)
    worker.kill()
    worker.wait()
    assert json.loads((killed / "run.json").read_text())["status"] == "running"
    done = run("sweep", "run", path, "--runs-dir", runs)
    assert done.returncode == 0, done.stderr
    rows = trials_csv(runs / "sweeps" / "s")
    retried = [r for r in rows if r["retry_of"] == "0"]
    assert len(rows) == 2 and len(retried) == 1 and retried[0]["run_dir"] == str(killed)
    assert json.loads((killed / "run.json").read_text())["resumed"]
    whole = run("train", killed / "config.yaml", "--runs-dir", tmp_path / "whole")
    assert whole.returncode == 0, whole.stderr
    reference = Path(whole.stdout.strip())
    assert without_seconds(killed) == without_seconds(reference)
    assert weights(killed / "checkpoints/last.npz") == weights(reference / "checkpoints/last.npz")


def test_ctrl_c_exits_130_and_a_rerun_finishes_the_budget(tmp_path: Path) -> None:
    path = sweep_file(tmp_path, trials=3, epochs=60)
    runs = tmp_path / "runs"
    worker = subprocess.Popen(
        nnctl_argv("sweep", "run", path, "--runs-dir", runs),
        env=env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    wait_for_epochs(worker, runs / "sweeps" / "s" / "trial-0001-*", 5)
    worker.send_signal(signal.SIGINT)
    out, err = worker.communicate(timeout=60)
    assert worker.returncode == 130, err
    assert out == "" and "Traceback" not in err
    shown = run("sweep", "show", runs / "sweeps" / "s", "--json")
    assert json.loads(shown.stdout)["trials"] == {"complete": 1, "interrupted": 1}, shown.stderr
    done = run("sweep", "run", path, "--runs-dir", runs)
    assert done.returncode == 0, done.stderr
    rows = trials_csv(runs / "sweeps" / "s")
    assert [r["state"] for r in rows] == ["complete"] * 3
    assert [r["retry_of"] for r in rows].count("1") == 1


def test_ctrl_c_reaches_every_worker_process(tmp_path: Path) -> None:
    path = sweep_file(tmp_path, trials=4, epochs=200)
    runs = tmp_path / "runs"
    sweep = subprocess.Popen(
        nnctl_argv("sweep", "run", path, "--workers", "2", "--runs-dir", runs),
        env=env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    wait_for_epochs(sweep, runs / "sweeps" / "s" / "trial-0000-*", 5)
    wait_for_epochs(sweep, runs / "sweeps" / "s" / "trial-0001-*", 5)
    sweep.send_signal(signal.SIGINT)
    out, err = sweep.communicate(timeout=60)
    assert out == ""
    assert sweep.returncode == 130, err
    assert "continue with: nnctl sweep run" in err and "Traceback" not in err
    statuses = [json.loads(p.read_text())["status"] for p in runs.glob("sweeps/s/*/run.json")]
    assert statuses.count("interrupted") == 2, statuses


def test_a_diverging_trial_fails_and_the_sweep_goes_on(tmp_path: Path) -> None:
    params = "  optimizer.learning_rate: {values: [1.0e+6, 0.01]}\n"
    params += "  optimizer.name: {values: [sgd]}\n"
    path = sweep_file(tmp_path, method="grid", trials=2, epochs=3, parameters=params)
    done = run("sweep", "run", path, "--runs-dir", tmp_path / "runs")
    assert done.returncode == 0, done.stderr
    rows = {r["optimizer.learning_rate"]: r for r in trials_csv(Path(done.stdout.strip()))}
    assert rows["1000000.0"]["state"] == "fail"
    assert rows["1000000.0"]["stop_reason"].startswith("diverged")
    assert rows["0.01"]["state"] == "complete"


def test_the_picture_has_three_panels_and_the_same_bytes_twice(tmp_path: Path) -> None:
    path = sweep_file(tmp_path, trials=3, epochs=2)
    runs = tmp_path / "runs"
    assert run("sweep", "run", path, "--runs-dir", runs).returncode == 0
    pictures = [tmp_path / "a.png", tmp_path / "b.png"]
    for picture in pictures:
        drawn = run("sweep", "plot", runs / "sweeps" / "s", "-o", picture)
        assert drawn.returncode == 0 and drawn.stdout.strip() == str(picture), drawn.stderr
    assert pictures[0].read_bytes() == pictures[1].read_bytes()
    assert pictures[0].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
