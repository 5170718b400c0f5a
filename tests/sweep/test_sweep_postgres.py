"""Sweeps across machines: one study in a real PostgreSQL, workers started at the same instant."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from helpers import weights
from sweep_helpers import env, nnctl_argv, run, sweep_file, wait_for_epochs, without_seconds


def test_two_workers_at_the_same_instant_on_a_fresh_database(
    tmp_path: Path, postgres_url: str
) -> None:
    url = postgres_url + "fresh_sweep"
    path = sweep_file(tmp_path, trials=6, epochs=3)
    machines = [tmp_path / f"machine{i}" for i in range(2)]
    workers = [
        subprocess.Popen(
            nnctl_argv("sweep", "run", path, "--runs-dir", runs),
            env={**env(), "NNCTL_SWEEP_STORAGE": url},
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for runs in machines
    ]
    outputs = [worker.communicate(timeout=300) for worker in workers]
    for worker, (out, err) in zip(workers, outputs, strict=True):
        assert worker.returncode == 0, err
        assert "s3cret-pw" not in out + err
    shown = run("sweep", "show", path, "--json", "--storage", url)
    assert shown.returncode == 0, shown.stderr
    info = json.loads(shown.stdout)
    assert info["trials"] == {"complete": 6}
    assert "s3cret-pw" not in shown.stdout and "***" in info["storage"]
    runs = [Path(r["run_dir"]) for r in info["top"]]
    assert len(set(runs)) == 6 and all(r.is_dir() for r in runs)
    assert {r.parents[2] for r in runs} <= set(machines)
    for machine in machines:
        for file in machine.rglob("*"):
            if file.is_file() and file.suffix in (".json", ".csv", ".yaml", ".journal"):
                assert "s3cret-pw" not in file.read_text(errors="replace"), file


def test_a_changed_sweep_file_is_refused_by_the_database_study(
    tmp_path: Path, postgres_url: str
) -> None:
    url = postgres_url + "changed_sweep"
    path = sweep_file(tmp_path, trials=1, epochs=2)
    assert run("sweep", "run", path, "--storage", url, "--runs-dir", tmp_path).returncode == 0
    path.write_text(
        path.read_text().replace("trials: 1", "trials: 2").replace("seed: 0", "seed: 2")
    )
    refused = run("sweep", "run", path, "--storage", url, "--runs-dir", tmp_path)
    assert refused.returncode == 2 and "seed: 0 -> 2" in refused.stderr, refused.stderr


def test_kill_9_a_worker_then_the_heartbeat_retries_its_trial_in_its_run(
    tmp_path: Path, postgres_url: str
) -> None:
    url = postgres_url + "killed_sweep"
    path = sweep_file(
        tmp_path, trials=2, epochs=60,
        parameters="  optimizer.learning_rate: {values: [0.01, 0.02]}\n",
    )  # fmt: skip
    runs = tmp_path / "runs"
    fast = {**env(), "NNCTL_SWEEP_STORAGE": url, "NNCTL_SWEEP_HEARTBEAT": "1"}
    first = subprocess.Popen(
        nnctl_argv("sweep", "run", path, "--runs-dir", runs),
        env=fast, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    killed = wait_for_epochs(first, runs / "sweeps" / "s" / "trial-0000-*", 10)
    first.kill()
    first.wait()
    # `sweep worker` leaves the dead trial to Optuna's heartbeat (no requeue of its own here).
    second = subprocess.run(
        nnctl_argv("sweep", "worker", path, "--runs-dir", runs),
        env=fast, capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert second.returncode == 0, second.stderr
    info = json.loads(run("sweep", "show", path, "--json", "--storage", url).stdout)
    assert info["trials"] == {"complete": 2}
    retried = [t for t in info["top"] if t["retry_of"] == 0]
    assert len(retried) == 1 and retried[0]["run_dir"] == str(killed)
    whole = run("train", killed / "config.yaml", "--runs-dir", tmp_path / "whole")
    reference = Path(whole.stdout.strip())
    assert without_seconds(killed) == without_seconds(reference)
    assert weights(killed / "checkpoints/last.npz") == weights(reference / "checkpoints/last.npz")
