"""``nnctl serve``: the application of `nnctl.serve.app` on uvicorn, one process or several.

`serve` loads the model first (a bad MODEL is exit 2 or 3 before anything listens), binds the
socket itself (an address in use is a `UsageError` naming it; ``--port 0`` takes a free port)
and calls ``on_ready(url)`` once the server accepts connections: the command writes
``listening on http://HOST:PORT`` on stderr then. With ``workers`` above 1, uvicorn's supervisor
runs that many processes on the one socket, each loading the model through `worker_app` (an app
factory, the model named by environment variables).

SIGTERM or SIGINT (Ctrl-C) stops it gracefully: no new connections, the requests in flight are
answered (for at most `GRACE_SECONDS`), then `serve` returns.
"""

from __future__ import annotations

import ipaddress
import os
import signal
import socket
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from nnctl import extras
from nnctl.errors import UsageError
from nnctl.serve.app import Limits, create_app
from nnctl.store.bundle import locate_model, model_file
from nnctl.store.model import load_model

if TYPE_CHECKING:
    from starlette.applications import Starlette

GRACE_SECONDS = 30
MODEL_ENV, MAX_BYTES_ENV, MAX_ROWS_ENV = (
    "NNCTL_SERVE_MODEL",
    "NNCTL_SERVE_MAX_BYTES",
    "NNCTL_SERVE_MAX_ROWS",
)


def serve(
    model: Path,
    *,
    host: str = "127.0.0.1",
    port: int = 8000,
    workers: int = 1,
    limits: Limits | None = None,
    runs_dir: Path | None = None,
    on_ready: Callable[[str], None] | None = None,
) -> None:
    """Serve ``model`` over HTTP until SIGTERM or SIGINT, then return (see the module doc)."""
    uvicorn = extras.load("uvicorn", "serve")
    extras.load("starlette", "serve")
    limits = limits or Limits()
    _check_options(port, workers, limits)
    path = model_file(locate_model(model, runs_dir))
    loaded = load_model(path)
    options: dict[str, Any] = {
        "log_level": "warning",
        "access_log": False,
        "lifespan": "off",
        "timeout_graceful_shutdown": GRACE_SECONDS,
    }
    sock = _bind(host, port)
    ready = (lambda: on_ready(_url(sock))) if on_ready else (lambda: None)
    # uvicorn answers these signals itself while it serves; before and after, they are noted
    # and ignored, so that a signal that arrives while it starts or stops ends it the same way.
    noted: list[int] = []
    previous = {sig: signal.signal(sig, lambda n, _: noted.append(n)) for sig in _SIGNALS}
    try:
        if workers == 1:
            config = uvicorn.Config(create_app(loaded, limits), **options)
            _Server(config, ready, noted).run(sockets=[sock])
        else:
            os.environ.update(
                {MODEL_ENV: str(path.resolve()), MAX_BYTES_ENV: str(limits.max_bytes),
                 MAX_ROWS_ENV: str(limits.max_rows)}
            )  # fmt: skip
            app = f"{__name__}:worker_app"
            config = uvicorn.Config(app, factory=True, workers=workers, **options)
            _supervise(config, sock, ready)
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        sock.close()


def _check_options(port: int, workers: int, limits: Limits) -> None:
    if workers < 1:
        raise UsageError(f"--workers {workers}: expected 1 or more processes")
    if not 0 <= port <= 65535:
        raise UsageError(f"--port {port}: expected 0 (any free port) to 65535")
    if limits.max_bytes < 1 or limits.max_rows < 1:
        raise UsageError("--max-bytes and --max-rows must be 1 or more")


def _supervise(config: Any, sock: socket.socket, ready: Callable[[], None]) -> None:
    """uvicorn's `Multiprocess` loop, which calls ``ready`` once every worker serves."""
    from uvicorn.supervisors import Multiprocess

    supervisor = Multiprocess(config, sockets=[sock])
    supervisor.init_processes()
    started = [
        process.wait_until_ready(config.timeout_worker_healthcheck * 6, supervisor.should_exit)
        for process in supervisor.processes
    ]
    if all(started):
        ready()
    else:
        supervisor.should_exit.set()
    while not supervisor.should_exit.wait(0.5):
        supervisor.handle_signals()
        supervisor.keep_subprocess_alive()
    supervisor.terminate_all()
    supervisor.join_all()
    if not all(started):
        raise UsageError("a worker process did not start; see the messages above")


_SIGNALS = (signal.SIGINT, signal.SIGTERM)


def _bind(host: str, port: int) -> socket.socket:
    """A socket bound to ``host:port`` (``--port 0``: a free port); in use: `UsageError`."""
    try:
        family, kind, proto, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0]
    except (socket.gaierror, UnicodeError) as error:
        raise UsageError(f"--host {host}: not an address of this machine ({error})") from None
    sock = socket.socket(family, kind, proto)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind(address)
    except OSError as error:
        sock.close()
        raise UsageError(
            f"--host {host} --port {port}: cannot listen there: {error.strerror or error}",
            hint="--port 0 takes a free port" if port else None,
        ) from None
    sock.set_inheritable(True)
    return sock


def _url(sock: socket.socket) -> str:
    ip, port = sock.getsockname()[:2]
    shown = f"[{ip}]" if ":" in ip else ip
    return f"http://{shown}:{port}"


def is_loopback(url: str) -> bool:
    """Whether a server's ``http://IP:PORT`` is reachable from this machine only."""
    ip = url.split("//", 1)[1].rsplit(":", 1)[0].strip("[]")
    return ipaddress.ip_address(ip).is_loopback


def worker_app() -> Starlette:
    """The app factory of each worker process (``--workers`` above 1): the model of `MODEL_ENV`."""
    limits = Limits(int(os.environ[MAX_BYTES_ENV]), int(os.environ[MAX_ROWS_ENV]))
    return create_app(load_model(Path(os.environ[MODEL_ENV])), limits)


def _server_class() -> type:
    uvicorn = extras.load("uvicorn", "serve")

    class Server(uvicorn.Server):  # type: ignore[misc, name-defined]
        """uvicorn's server, which says when it accepts connections."""

        def __init__(self, config: Any, ready: Callable[[], None], noted: list[int]) -> None:
            super().__init__(config)
            self.ready, self.noted = ready, noted

        async def startup(self, sockets: list[socket.socket] | None = None) -> None:
            await super().startup(sockets)
            if self.noted:  # a signal came while it started
                self.should_exit = True
            elif self.started:
                self.ready()

    return Server


def _Server(config: Any, ready: Callable[[], None], noted: list[int]) -> Any:
    """uvicorn's `Server` with `startup` extended (the class is made when uvicorn is loaded)."""
    return _server_class()(config, ready, noted)
