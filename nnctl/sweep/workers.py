"""The workers of a sweep: processes that each run Optuna's loop on the shared study.

`work` is one worker's loop: before each trial it hands the trials of dead workers back to the
study (`requeue`), then runs one trial with ``study.optimize`` (which keeps Optuna's heartbeat on
PostgreSQL). The budget (``trials``, in all) is kept by counting, right after a trial is drawn,
the trials that count before it (`claim`); a trial drawn beyond it, or a grid point drawn twice
by two workers at once, is dropped (state FAIL, user attribute ``skipped``) and never trained.
`spawn` starts N such workers as ``nnctl sweep worker`` processes, never threads.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from nnctl import extras
from nnctl.errors import TrainingDiverged
from nnctl.sweep.spec import Sweep
from nnctl.sweep.study import STORAGE_ENV, Place, grid_size, open_storage, open_study
from nnctl.sweep.trial import Skipped, run_trial

POLL_SECONDS = 1.0
"""How often an idle worker looks at the trials other workers are still running."""

#: Called with each finished trial (an Optuna ``FrozenTrial``), to show a line.
OnTrial = Callable[[Any], None]


def budget(sweep: Sweep) -> int:
    """The number of trials to run in all: ``trials``, or fewer when the grid is smaller."""
    size = grid_size(sweep)
    return sweep.trials if size is None else min(sweep.trials, size)


def counted(trials: list[Any]) -> list[Any]:
    """The trials that use the budget: all but those skipped, and failed ones retried since."""
    state = extras.load("optuna", "sweep").trial.TrialState
    retried = {t.system_attrs.get("failed_trial") for t in trials}
    return [
        t
        for t in trials
        if not (t.state == state.FAIL and (t.user_attrs.get("skipped") or t.number in retried))
    ]


def remaining(study: Any, sweep: Sweep) -> int:
    """How many trials are still to draw (waiting retries are drawn first, and counted)."""
    return budget(sweep) - len(counted(study.get_trials(deepcopy=False)))


def enqueue_grid(study: Any, sweep: Sweep, folder: Path) -> None:
    """Put every grid point not yet in the study in it as a waiting trial (``method: grid``).

    Workers take waiting trials one at a time, atomically, so that no point is trained twice;
    Optuna's `GridSampler` alone may give two workers the same point at the same moment.
    """
    if sweep.method != "grid":
        return
    import itertools

    lists = [list(p.values or ()) for p in sweep.parameters]
    with folder_lock(folder):
        points = list(itertools.product(*lists))[: budget(sweep)]
        for point in points:
            params = dict(zip((p.key for p in sweep.parameters), point, strict=True))
            study.enqueue_trial(params, skip_if_exists=True)


def claim(study: Any, trial: Any, sweep: Sweep) -> None:
    """Raise `Skipped` unless ``trial`` is within the budget and, on a grid, a new point."""
    frozen = study._storage.get_trial(trial._trial_id)
    if "failed_trial" in frozen.system_attrs:
        return  # a retry takes the place of the trial it repeats
    earlier = [t for t in counted(study.get_trials(deepcopy=False)) if t.number < trial.number]
    reason = None
    if len(earlier) >= budget(sweep):
        reason = "budget reached"
    elif sweep.method == "grid" and _repeats_a_point(frozen, earlier):
        reason = "grid point drawn by another worker"
    if reason is not None:
        trial.set_user_attr("skipped", reason)
        raise Skipped(reason)


def _repeats_a_point(frozen: Any, earlier: list[Any]) -> bool:
    """Whether a trial of a grid sweep is not a grid point of its own.

    Every point is enqueued before any worker starts (`enqueue_grid`), so a trial without
    ``fixed_params`` was drawn by the sampler after the queue ran dry: it repeats a point. A
    trial's ``params`` are filled only as its objective suggests them, so the points are compared
    by what each trial was enqueued with (two running trials both have ``params == {}``).
    """
    mine = frozen.system_attrs.get("fixed_params")
    if mine is None:
        return True
    return any(t.system_attrs.get("fixed_params", t.params) == mine for t in earlier)


@contextlib.contextmanager
def folder_lock(folder: Path) -> Iterator[None]:
    """``flock`` on the sweep's folder: one process of this machine requeues at a time."""
    fd = os.open(folder, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def requeue(study: Any, folder: Path) -> list[int]:
    """Hand back the trials of dead workers: interrupted (Ctrl-C) ones, and, on this machine,
    running ones whose process is gone (``kill -9``). Returns the numbers requeued.

    Each becomes a waiting trial with the same values and run directory (Optuna's
    ``RetryFailedTrialCallback`` does the same on PostgreSQL for trials whose heartbeat stopped).
    """
    optuna = extras.load("optuna", "sweep")
    state = optuna.trial.TrialState
    with folder_lock(folder):
        trials = study.get_trials(deepcopy=False)
        retried = {t.system_attrs.get("failed_trial") for t in trials}
        done = []
        for t in trials:
            if t.number in retried or not (_interrupted(t, state) or _orphan(t, state)):
                continue
            if t.state == state.RUNNING:
                study._storage.set_trial_state_values(t._trial_id, state=state.FAIL)
            retry = optuna.trial.create_trial(
                state=state.WAITING,
                params=t.params,
                distributions=t.distributions,
                user_attrs=t.user_attrs,
                system_attrs={"failed_trial": t.number},
            )
            study.add_trial(retry)
            done.append(t.number)
    return done


def _interrupted(t: Any, state: Any) -> bool:
    return bool(t.state == state.FAIL and t.user_attrs.get("interrupted"))


def _orphan(t: Any, state: Any) -> bool:
    """A running trial of this machine whose worker process is gone."""
    if t.state != state.RUNNING or t.user_attrs.get("host") != socket.gethostname():
        return False
    pid = t.user_attrs.get("pid")
    if not isinstance(pid, int) or pid == os.getpid():
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return _zombie(pid)


def _zombie(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().split(") ")[1].startswith("Z")
    except (OSError, IndexError):
        return False


def work(sweep: Sweep, place: Place, worker: int, on_trial: OnTrial, command: list[str]) -> None:
    """One worker's loop, until the budget is used and no other worker's trial may need a retry.

    Once nothing is left to draw, the worker waits for the trials still running elsewhere: a
    worker that dies leaves its trial to be retried (`requeue` on this machine, Optuna's
    heartbeat on PostgreSQL), and a live worker must be there to take it.
    """
    optuna = extras.load("optuna", "sweep")
    study = open_study(sweep, open_storage(place), worker)

    def objective(trial: Any) -> float:
        claim(study, trial, sweep)
        return run_trial(trial, sweep, place.folder, command)

    def shown(study_: Any, trial: Any) -> None:
        if not trial.user_attrs.get("skipped"):
            on_trial(trial)

    while True:
        if place.url is None:
            requeue(study, place.folder)
        else:
            optuna.storages.fail_stale_trials(study)
        trials = study.get_trials(deepcopy=False)
        states = {t.state for t in trials}
        if remaining(study, sweep) <= 0 and optuna.trial.TrialState.WAITING not in states:
            if optuna.trial.TrialState.RUNNING not in states:
                return
            time.sleep(POLL_SECONDS)  # another worker's trial: wait for its end, or its retry
            continue
        study.optimize(objective, n_trials=1, catch=(Skipped, TrainingDiverged), callbacks=[shown])


def spawn(sweep: Sweep, place: Place, workers: int) -> list[int]:
    """Run ``workers`` worker processes (``nnctl sweep worker``) and wait for them all.

    The storage URL goes to them in the environment, never on a command line. They run in their
    own session, so that Ctrl-C reaches this process alone, which passes it on to each worker
    once: each stops after its current batch, its trial recorded as interrupted. Returns their
    exit codes.
    """
    env = {**os.environ}
    if place.url is not None:
        env[STORAGE_ENV] = place.url
    argv = [sys.executable, "-m", "nnctl", "sweep", "worker", str(sweep.path)]
    argv += ["--runs-dir", str(place.folder.parent.parent)]
    processes = [
        subprocess.Popen([*argv, "--index", str(index)], env=env, start_new_session=True)
        for index in range(workers)
    ]
    codes = []
    for process in processes:
        while True:
            try:
                codes.append(process.wait())
                break
            except KeyboardInterrupt:
                for other in processes:
                    if other.poll() is None:
                        other.send_signal(signal.SIGINT)
    return codes
