"""``nnctl serve``: a trained model over HTTP, MLflow's ``/invocations`` protocol."""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from nnctl.cli.options import ModelArgument, RunsDirOption


def serve(
    model: ModelArgument,
    host: Annotated[
        str, typer.Option("--host", help="Address to listen on (0.0.0.0: every interface).")
    ] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", help="Port; 0 takes a free one.")] = 8000,
    workers: Annotated[
        int, typer.Option("--workers", help="Server processes, each with the model loaded.")
    ] = 1,
    max_bytes: Annotated[
        int, typer.Option("--max-bytes", help="Largest request body (bytes); larger: 413.")
    ] = 10 << 20,
    max_rows: Annotated[
        int, typer.Option("--max-rows", help="Most rows in one request; more: 413.")
    ] = 100_000,
    runs_dir: RunsDirOption = None,
) -> None:
    """Serve a trained model over HTTP until Ctrl-C or SIGTERM (which let requests finish).

    POST /invocations takes MLflow's JSON (dataframe_split, dataframe_records, instances) or
    text/csv and answers {"predictions": [...]}, what nnctl predict gives for the same rows;
    GET /ping, /health and /metadata. Says "listening on http://HOST:PORT" on stderr when ready.

    Example: nnctl serve runs/iris-20260101-120000 --port 8000
    """
    from nnctl.serve.app import Limits
    from nnctl.serve.server import is_loopback
    from nnctl.serve.server import serve as run_server

    def ready(url: str) -> None:
        sys.stderr.write(f"nnctl: listening on {url}\n")
        if not is_loopback(url):
            sys.stderr.write(
                "nnctl: warning: not on a loopback address: anyone who can reach this machine "
                "can use the model (there is no authentication)\n"
            )

    run_server(
        model,
        host=host,
        port=port,
        workers=workers,
        limits=Limits(max_bytes, max_rows),
        runs_dir=runs_dir,
        on_ready=ready,
    )
    sys.stderr.write("nnctl: stopped\n")
