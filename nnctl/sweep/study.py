"""The Optuna study of a sweep: its storage, its sampler and pruner, and the sweep it belongs to.

By default the study lives in an Optuna journal file in the sweep's folder
(``runs/sweeps/<name>/study.journal``), which several processes of one machine share safely.
``--storage postgresql+psycopg://...`` (or ``NNCTL_SWEEP_STORAGE``) puts it in PostgreSQL for
many machines, with Optuna's heartbeat and the retry of trials whose worker died; the database
is created by whichever worker comes first. The study stores the sweep file it was started with
(`Sweep.fingerprint`): a changed file is refused with the differences. No password is printed or
written: `shown_storage` hides it.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from nnctl import extras
from nnctl.errors import ConfigError, NnctlError, UsageError
from nnctl.store.runs import runs_root
from nnctl.sweep.spec import Sweep

STORAGE_ENV = "NNCTL_SWEEP_STORAGE"
JOURNAL = "study.journal"
HEARTBEAT_ENV = "NNCTL_SWEEP_HEARTBEAT"
"""Seconds between a PostgreSQL worker's heartbeats (default 10; the tests use 1)."""
CONNECT_SECONDS = 60.0
"""How long a worker keeps trying to create or open a study that others are creating."""


@dataclass(frozen=True)
class Place:
    """Where a sweep's runs go (``folder``) and its study (``url``; None: the journal file)."""

    folder: Path
    url: str | None

    @property
    def journal(self) -> Path:
        return self.folder / JOURNAL


def sweep_folder(name: str, runs_dir: Path | None) -> Path:
    """``runs/sweeps/<name>``."""
    return runs_root(runs_dir) / "sweeps" / name


def place_of(sweep: Sweep, runs_dir: Path | None, storage: str | None) -> Place:
    """The sweep's folder and storage URL: ``--storage``, else ``NNCTL_SWEEP_STORAGE``."""
    url = storage or os.environ.get(STORAGE_ENV) or None
    if url is not None and not url.startswith(("postgresql", "sqlite")):
        raise UsageError(
            f"--storage {shown_storage(url)}: expected postgresql+psycopg://USER@HOST/DB",
            hint="leave --storage out to keep the study in a journal file in the sweep's folder",
        )
    return Place(sweep_folder(sweep.name, runs_dir), url)


def shown_storage(url: str | None) -> str:
    """The storage as it may be shown: the journal, or the URL without its password."""
    if url is None:
        return "journal file"
    head, at, tail = url.rpartition("@")
    if not at:
        return url
    scheme, _, user = head.partition("://")
    return f"{scheme}://{user.partition(':')[0]}:***@{tail}" if ":" in user else url


def open_storage(place: Place) -> Any:
    """The Optuna storage of ``place``, creating the journal file or the database if needed."""
    optuna = extras.load("optuna", "sweep")
    try:
        place.folder.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise UsageError(f"cannot create the sweep's folder {place.folder}: {error}") from None
    if place.url is None:
        from optuna.storages.journal import JournalFileBackend, JournalFileOpenLock

        path = str(place.journal)
        return optuna.storages.JournalStorage(JournalFileBackend(path, JournalFileOpenLock(path)))
    from nnctl.sweep.database import create_database

    create_database(place.url)
    retry = optuna.storages.RetryFailedTrialCallback(max_retry=3, inherit_intermediate_values=False)
    beat = heartbeat_seconds()
    return _retrying(
        lambda: optuna.storages.RDBStorage(
            place.url,
            heartbeat_interval=beat,
            grace_period=3 * beat,
            failed_trial_callback=retry,
            engine_kwargs={"pool_pre_ping": True},
        )
    )


def heartbeat_seconds() -> int:
    """``NNCTL_SWEEP_HEARTBEAT`` seconds (an integer >= 1), else 10; a trial silent 3 beats is
    retried by another worker."""
    text = os.environ.get(HEARTBEAT_ENV, "10")
    if not text.isdigit() or int(text) < 1:
        raise UsageError(f"{HEARTBEAT_ENV}={text!r}: expected a whole number of seconds >= 1")
    return int(text)


def _retrying(make: Any) -> Any:
    """``make()``, retried while other workers create the same tables (a race in the database).

    Only the database's own errors are retried, until `CONNECT_SECONDS`; the message names the
    error's type, never its text (which may hold the URL and its password).
    """
    deadline = time.monotonic() + CONNECT_SECONDS
    while True:
        try:
            return make()
        except NnctlError:
            raise
        except Exception as error:
            if not type(error).__module__.startswith(("sqlalchemy", "psycopg", "optuna")):
                raise  # a bug, not the database
            if time.monotonic() > deadline:
                raise UsageError(f"cannot open the study: {type(error).__name__}") from None
            time.sleep(0.2 + 0.3 * np.random.default_rng().random())


def open_study(sweep: Sweep, storage: Any, worker: int = 0, create: bool = True) -> Any:
    """The sweep's study (created when ``create``), refusing one started by a different file."""
    optuna = extras.load("optuna", "sweep")
    optuna.logging.set_verbosity(optuna.logging.ERROR)
    direction = "maximize" if sweep.goal == "max" else "minimize"
    first, pruning = sampler(sweep, worker, 0), pruner(sweep)
    if create:
        study = _retrying(
            lambda: optuna.create_study(
                storage=storage,
                study_name=sweep.name,
                direction=direction,
                sampler=first,
                pruner=pruning,
                load_if_exists=True,
            )
        )
    else:
        try:
            study = optuna.load_study(study_name=sweep.name, storage=storage)
        except KeyError:
            raise UsageError(
                f"no study named {sweep.name!r} yet", hint=f"start it: nnctl sweep run {sweep.path}"
            ) from None
    check_same_sweep(sweep, study)
    study.sampler = sampler(sweep, worker, len(study.get_trials(deepcopy=False)))
    study.pruner = pruning
    return study


def check_same_sweep(sweep: Sweep, study: Any) -> None:
    """Store the sweep file's fingerprint on a new study; refuse a different one (exit 2)."""
    wanted = sweep.fingerprint()
    saved = study.user_attrs.get("sweep")
    if saved is None:
        study.set_user_attr("sweep", wanted)
        return
    differences = [
        f"  {key}: {saved.get(key)!r} -> {wanted.get(key)!r}"
        for key in dict.fromkeys([*saved, *wanted])
        if saved.get(key) != wanted.get(key)
    ]
    if differences:
        raise ConfigError(
            f"{sweep.path}: differs from the sweep that started study {sweep.name!r}",
            problems=[
                f"{sweep.path}: differs from the sweep that started study {sweep.name!r} in",
                *differences,
            ],
            hint="give the sweep another name (name: ...) to start a new study",
        )


def sampler(sweep: Sweep, worker: int, done: int) -> Any:
    """The sampler of ``method``, seeded from the sweep's seed, the worker and the trials so far.

    Each worker gets its own stream, so that two random workers do not draw the same values.
    """
    optuna = extras.load("optuna", "sweep")
    seed = int(np.random.SeedSequence([sweep.seed, worker, done]).generate_state(1)[0])
    if sweep.method == "random":
        return optuna.samplers.RandomSampler(seed=seed)
    if sweep.method == "grid":
        space = {p.key: list(p.values or ()) for p in sweep.parameters}
        return optuna.samplers.GridSampler(space, seed=seed)
    if sweep.method == "cmaes":
        extras.load("cmaes", "sweep")  # Optuna's CMA-ES sampler needs the cmaes package
        return optuna.samplers.CmaEsSampler(seed=seed)
    return optuna.samplers.TPESampler(seed=seed, constant_liar=True)  # workers in parallel


def pruner(sweep: Sweep) -> Any:
    """The pruner: median, hyperband (from ``warmup_epochs``), or none."""
    optuna = extras.load("optuna", "sweep")
    if sweep.pruner == "median":
        return optuna.pruners.MedianPruner(n_startup_trials=5, n_warmup_steps=sweep.warmup_epochs)
    if sweep.pruner == "hyperband":
        return optuna.pruners.HyperbandPruner(min_resource=max(1, sweep.warmup_epochs))
    return optuna.pruners.NopPruner()


def grid_size(sweep: Sweep) -> int | None:
    """The number of grid points (``method: grid``), else None."""
    if sweep.method != "grid":
        return None
    return int(np.prod([len(p.values or ()) for p in sweep.parameters]))
