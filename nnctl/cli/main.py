"""The ``nnctl`` app: the Typer group, its one error handler, and every command registered.

Start-up stays fast because nothing here imports NumPy, pandas or pydantic; each command imports
what it needs when it runs. Every error reaches one handler, `NnctlGroup.invoke`, which turns an
`NnctlError` into one line on stderr and its exit code, and any other exception into a short
message with exit 1 (the traceback only with ``--debug`` or ``NNCTL_DEBUG=1``). `NnctlGroup.main`
wraps the whole process, option parsing (``--help``, ``--version``) and the last flush of stdout
included, with the policies of `nnctl.cli.streams`: a closed pipe on stdout ends quietly.
"""

from __future__ import annotations

import os
import signal
import sys
import traceback
from typing import Annotated, Any

import typer
from typer.core import TyperGroup

from nnctl import __version__
from nnctl.cli import (
    data_cmd,
    evaluate,
    inspect,
    plot,
    predict,
    runs_cmd,
    schema,
    serve,
    streams,
    trace,
    train,
    validate,
)
from nnctl.cli import doctor as doctor_cmd
from nnctl.cli import draw as draw_cmd
from nnctl.cli import export as export_cmd
from nnctl.cli import gradcheck as gradcheck_cmd
from nnctl.cli import report as report_cmd
from nnctl.cli import sweep as sweep_cmd
from nnctl.errors import EXIT_INTERNAL, EXIT_INTERRUPTED, EXIT_OK, Interrupted, NnctlError

#: The signals (SIGINT, SIGTERM) received while the current command runs.
SIGNALS_RECEIVED: set[int] = set()


def _debug_enabled(ctx: typer.Context) -> bool:
    return bool(ctx.params.get("debug")) or os.environ.get("NNCTL_DEBUG", "") not in ("", "0")


def report_error(error: NnctlError) -> None:
    """Write a user's error to stderr: one line per problem, then the hint if there is one."""
    for problem in getattr(error, "problems", None) or [error.message]:
        sys.stderr.write(f"nnctl: error: {problem}\n")
    if error.hint:
        sys.stderr.write(f"nnctl: hint: {error.hint}\n")


class NnctlGroup(TyperGroup):
    """The top-level group: `main` and `invoke` give every error to `_exit_code`, the handler."""

    def main(self, *args: Any, **kwargs: Any) -> Any:
        """The whole command, from parsing its options to the last flush of its results.

        Errors raised outside `invoke` (writing ``--help`` or ``--version`` to a closed stdout,
        the flush of the results at the end, Ctrl-C while that flush waits on a full pipe) get
        the same treatment as inside it.
        """
        if not kwargs.get("standalone_mode", True):
            return super().main(*args, **kwargs)
        SIGNALS_RECEIVED.clear()
        streams.install()
        try:
            super().main(*args, **kwargs)
            code = EXIT_OK
        except SystemExit as done:
            code = done.code if isinstance(done.code, int) else int(done.code is not None)
        except BaseException as error:  # raised while parsing the options
            code = _exit_code(error)
        try:
            streams.flush_stdout()
        except BaseException as error:
            failed = _exit_code(error)
            code = code or failed
        sys.exit(code)

    def invoke(self, ctx: typer.Context) -> Any:  # type: ignore[override]
        try:
            return super().invoke(ctx)
        except (NnctlError, KeyboardInterrupt, streams.OutputClosed) as error:
            raise typer.Exit(_exit_code(error)) from None
        except (typer.TyperException, typer.Exit, typer.Abort, SystemExit):
            raise  # Typer's own usage errors (exit 2), --help and explicit exits
        except Exception as error:
            if SIGNALS_RECEIVED:  # a library made something else of the KeyboardInterrupt
                raise typer.Exit(_exit_code(error)) from None
            if _debug_enabled(ctx):
                traceback.print_exc()
            sys.stderr.write(
                f"nnctl: internal error: {type(error).__name__}: {error}\n"
                "nnctl: this is a bug in nnctl; run again with --debug for the traceback\n"
            )
            raise typer.Exit(EXIT_INTERNAL) from None


def _exit_code(error: BaseException) -> int:
    """Report an error that ends a command, the way the README says, and return its exit code.

    After SIGINT or SIGTERM any error is an interruption: Ctrl-C drops the results not yet
    written. A closed pipe on stdout is no error (exit 0, nothing said). Anything else outside
    `NnctlError` is a bug (exit 1).
    """
    if isinstance(error, KeyboardInterrupt) or (
        SIGNALS_RECEIVED and not isinstance(error, Interrupted)
    ):
        streams.abandon_stdout()
        sys.stderr.write("nnctl: interrupted\n")
        return EXIT_INTERRUPTED
    if isinstance(error, streams.OutputClosed):
        return EXIT_OK
    if isinstance(error, NnctlError):
        report_error(error)
        return error.exit_code
    if isinstance(error, SystemExit):
        return error.code if isinstance(error.code, int) else int(error.code is not None)
    if os.environ.get("NNCTL_DEBUG", "") not in ("", "0"):
        traceback.print_exception(error)
    sys.stderr.write(
        f"nnctl: internal error: {type(error).__name__}: {error}\n"
        "nnctl: this is a bug in nnctl; run again with --debug for the traceback\n"
    )
    return EXIT_INTERNAL


app = typer.Typer(
    cls=NnctlGroup,
    name="nnctl",
    help="Train neural networks from YAML config files with a NumPy engine.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _version(value: bool) -> None:
    if value:
        sys.stdout.write(f"nnctl {__version__}\n")
        raise typer.Exit(0)


@app.callback()
def main(
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_version, is_eager=True, help="Print the version and exit."
        ),
    ] = False,
    debug: Annotated[
        bool, typer.Option("--debug", help="Show the traceback of an internal error.")
    ] = False,
) -> None:
    """Train neural networks from YAML config files with a NumPy engine."""
    for sig in (signal.SIGINT, signal.SIGTERM):
        if signal.getsignal(sig) != signal.SIG_IGN:  # `nohup`, `cmd &` in a script
            signal.signal(sig, _terminate)


def _terminate(signum: int, frame: object) -> None:
    """SIGINT and SIGTERM end a command cleanly with exit 130 (training saves first).

    The signal is recorded as well as raised: a library that catches the ``KeyboardInterrupt``
    and raises something else instead (pandas' C parser, waiting on stdin, can make a
    ``ParserError`` of it) still ends the command as interrupted (see `_exit_code`).
    """
    SIGNALS_RECEIVED.add(signum)
    raise KeyboardInterrupt


app.command("train")(train.train)
app.command("evaluate")(evaluate.evaluate)
app.command("predict")(predict.predict)
app.command("validate")(validate.validate)
app.command("schema")(schema.schema)
app.command("inspect")(inspect.inspect)
app.command("trace")(trace.trace)
app.command("gradcheck")(gradcheck_cmd.gradcheck)
app.command("doctor")(doctor_cmd.doctor)
app.command("plot")(plot.plot)
app.command("draw")(draw_cmd.draw)
app.command("report")(report_cmd.report)
app.command("export")(export_cmd.export)
app.command("serve")(serve.serve)
app.add_typer(sweep_cmd.app, name="sweep")
app.add_typer(runs_cmd.app, name="runs")
app.add_typer(data_cmd.app, name="data")
