"""``nnctl train``: train a network from a config file and write a run directory."""

from __future__ import annotations

import sys
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

if TYPE_CHECKING:
    from nnctl.config.loader import Config
    from nnctl.workflows.train import RunResult


def train(
    config: Annotated[
        Path | None,
        typer.Argument(
            metavar="CONFIG",
            help="The YAML config file (optional with --resume: the run's own config).",
            readable=False,  # nnctl says why a file cannot be read (see inputs.open_error)
        ),
    ] = None,
    set_: Annotated[
        list[str] | None,
        typer.Option(
            "--set", metavar="KEY=VALUE", help="Override a config key; VALUE is parsed as YAML."
        ),
    ] = None,
    name: Annotated[str | None, typer.Option("--name", help="Run-name prefix.")] = None,
    runs_dir: Annotated[
        Path | None,
        typer.Option("--runs-dir", envvar="NNCTL_RUNS_DIR", help="Where run directories go."),
    ] = None,
    resume: Annotated[
        Path | None,
        typer.Option(
            "--resume", help="Continue this run (a directory, or a name in runs/).", readable=False
        ),
    ] = None,
    json_: Annotated[
        bool, typer.Option("--json", help="Print a JSON summary instead of the run path.")
    ] = False,
    quiet: Annotated[
        bool, typer.Option("--quiet", "-q", help="Print nothing on stderr but errors.")
    ] = False,
) -> None:
    """Train the network a config file describes; print the run directory.

    Progress goes to stderr (a live bar in a terminal, a plain line per epoch otherwise); stdout
    gets only the run directory, so that run=$(nnctl train ...) works.

    Example: run=$(nnctl train configs/iris.yaml --set training.epochs=50)
    """
    if config is None and resume is None:
        raise typer.BadParameter("give a CONFIG file to train, or --resume RUN to continue a run")
    if resume is not None and name is not None:
        raise typer.BadParameter(
            "a resumed run keeps its directory and name; leave out --name, or train a new run",
            param_hint="'--name'",
        )
    from nnctl.cli import render
    from nnctl.workflows.train import training_config

    cfg, resume = training_config(config, set_ or [], resume, runs_dir)
    progress = None if quiet else render.TrainingProgress(cfg.training.epochs, cfg.metrics)
    try:
        result = _train_printing_a_stopped_run(
            json_,
            cfg,
            name=name,
            runs_dir=runs_dir,
            resume=resume,
            progress=progress,
            command=["nnctl", *sys.argv[1:]],
            config_path=config,
            loading=nullcontext if quiet else _loading(cfg),
        )
    finally:
        if progress is not None:
            progress.close()
    if progress is not None:
        render.print_run_summary(result.path, result.info, result.test_metrics)
    _print_result(result, json_)


def _loading(cfg: Config) -> Callable[[], AbstractContextManager[object]]:
    """The status line shown while the config's data files are read."""
    from nnctl.cli import render

    files = [cfg.data.train, cfg.data.validation, cfg.data.test]
    what = render.describe_files([path for path in files if path is not None])
    return lambda: render.loading_status(what)


def _print_result(result: RunResult, json_: bool) -> None:
    """stdout: the run directory, or with ``--json`` the run's summary object."""
    if json_:
        from nnctl.store import jsonio

        sys.stdout.write(jsonio.dumps(result.summary()) + "\n")
    else:
        sys.stdout.write(f"{result.path}\n")


def _train_printing_a_stopped_run(json_: bool, *args: Any, **kwargs: Any) -> RunResult:
    """`train_run`; with ``--json``, a run that diverged or was interrupted still gets its
    summary on stdout (status ``diverged`` or ``interrupted``) before the error's exit code."""
    from nnctl.errors import NnctlError
    from nnctl.store import jsonio
    from nnctl.workflows.train import train_run

    try:
        return train_run(*args, **kwargs)
    except NnctlError as error:
        if json_ and error.run_summary is not None:
            sys.stdout.write(jsonio.dumps(error.run_summary) + "\n")
        raise
