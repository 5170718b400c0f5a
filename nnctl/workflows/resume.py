"""What ``nnctl train --resume RUN`` may change: the one check for both forms of resume.

``nnctl train --resume RUN [--set KEY=VALUE]...`` (the run's own config) and
``nnctl train CONFIG --resume RUN`` both come to `resolve_config`, which loads the run's recorded
``config.yaml`` and the config wanted now and refuses every difference but ``training.epochs``,
naming the ``--set`` the user typed (or the config file) and listing the differences. A resumed run
therefore always continues the training its records describe.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path

from nnctl.config.loader import Config, config_differences, load_config
from nnctl.errors import CheckpointError, ConfigError, UsageError
from nnctl.store.record import read_record
from nnctl.store.runs import CONFIG_FILE, resolve_run

FREE = ("training.epochs",)
"""The keys a resume may change."""


def resolve_config(
    config_path: Path | None,
    overrides: Sequence[str],
    resume: Path | None,
    runs_dir: Path | None = None,
) -> Config:
    """The config of a new run, or of a resumed one (which may change only training.epochs).

    Raises
    ------
    ConfigError
        On resume, when the wanted config differs from the run's in anything but
        ``training.epochs``, or asks for fewer epochs than the run has done (exit 2).
    """
    if resume is None:
        if config_path is None:
            raise UsageError("give a CONFIG file to train, or --resume RUN to continue a run")
        return load_config(config_path, overrides)
    run = resolve_run(resume, runs_dir)
    saved = recorded_config(run)
    wanted = load_config(config_path or run / CONFIG_FILE, overrides)
    check_same_training(run, saved, wanted, overrides, config_path)
    check_epochs(run, read_record(run).epochs_done, wanted, overrides, config_path)
    return wanted


def recorded_config(run: Path) -> Config:
    """The config ``run`` records; a missing or invalid ``config.yaml`` is a damaged run (exit 3).

    The user did not write that file (nnctl did), so its problems are the run's, not a config
    mistake (exit 2) to fix by editing.
    """
    try:
        return load_config(run / CONFIG_FILE)
    except ConfigError as error:
        first = error.problems[0] if error.problems else error.message
        more = f" (and {len(error.problems) - 1} more)" if len(error.problems) > 1 else ""
        raise CheckpointError(
            f"{first}{more}; this run's record is damaged",
            hint="the run cannot be resumed; start a new run from its original config",
        ) from None


def check_same_training(
    run: Path,
    saved: Config,
    wanted: Config,
    overrides: Sequence[str],
    config_path: Path | None,
) -> None:
    """Refuse ``wanted`` unless it is ``saved`` with at most ``training.epochs`` changed."""
    differences = [d for d in config_differences(saved, wanted) if d.split(":")[0] not in FREE]
    if not differences:
        return
    origin = str(config_path) if config_path else "the defaults of this nnctl version"
    causes = [(d, _cause(d.split(":")[0], overrides)) for d in differences]
    typed = list(dict.fromkeys(f"--set {cause}" for _, cause in causes if cause is not None))
    source = ", ".join(typed) if typed else origin
    lines = [f"  {d}  ({f'--set {cause}' if cause else origin})" for d, cause in causes]
    raise ConfigError(
        f"{source}: cannot resume {run} with a different config; only training.epochs may "
        "change on --resume",
        problems=[
            f"{source}: cannot resume {run}: only training.epochs may change on --resume, "
            f"and the config differs from {run / CONFIG_FILE} in",
            *lines,
        ],
        hint=f"to train with these changes start a new run: nnctl train {run / CONFIG_FILE} "
        "--set ...",
    )


def check_epochs(
    run: Path, done: int, wanted: Config, overrides: Sequence[str], config_path: Path | None
) -> None:
    """Refuse to resume to fewer epochs than ``run`` has already done."""
    epochs = wanted.training.epochs
    if epochs >= done:
        return
    typed = _cause("training.epochs", overrides)
    source = f"--set {typed}" if typed else f"{config_path or run / CONFIG_FILE}: training.epochs"
    raise ConfigError(
        f"{source}: {run} has already done {done} epoch{'s' if done != 1 else ''}, so it cannot "
        f"be resumed to {epochs}; give training.epochs >= {done}",
        hint=f"to train longer: nnctl train --resume {run} --set training.epochs={done + 10}",
    )


def _cause(key: str, overrides: Sequence[str]) -> str | None:
    """The last ``--set`` text whose key is ``key`` or a section above it, if any."""
    found = None
    for text in overrides:
        typed = _dotted(text.partition("=")[0].strip())
        if key == typed or key.startswith((f"{typed}.", f"{typed}[")):
            found = text
    return found


def _dotted(key: str) -> str:
    """An override key as `config_differences` writes paths: ``model.layers[0].units``."""
    parts = re.sub(r"\[(\d+)\]", r".\1", key).split(".")
    return "".join(f"[{part}]" if part.isdigit() else f".{part}" for part in parts).lstrip(".")
