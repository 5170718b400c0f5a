"""A real PostgreSQL server for the sweep tests, started once per session on 127.0.0.1.

Debian's server binaries (``/usr/lib/postgresql/<version>/bin``; ``scripts/test`` installs the
``postgresql`` package when they are missing) run as a non-root user, since ``initdb`` refuses
root: as ``postgres`` (Debian's system user) when the tests run as root, else as the test's
user. The data and the socket are in a fresh temporary folder, the port is a free one, and the
fixture waits for the server with ``pg_ctl -w`` and then a connection, with a deadline. When the
server cannot start the fixture FAILS: the tests that need PostgreSQL are never skipped.
"""

from __future__ import annotations

import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

READY_SECONDS = 60.0


def _server_bin() -> Path:
    found = sorted(
        Path("/usr/lib/postgresql").glob("*/bin/postgres"), key=lambda p: int(p.parts[-3])
    )
    if not found:
        pytest.fail(
            "PostgreSQL is not installed (no /usr/lib/postgresql/*/bin/postgres); "
            "scripts/test installs Debian's postgresql package"
        )
    return found[-1].parent


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """``postgresql+psycopg://nnctl:...@127.0.0.1:PORT/`` of a server made for this session.

    Add a database name: each test takes a new one, which the first worker creates.
    """
    bindir = _server_bin()
    user = "postgres" if os.geteuid() == 0 else None
    folder = Path(tempfile.mkdtemp(prefix="nnctl-pg-"))
    if user is not None:
        owner = pwd.getpwnam(user)
        os.chown(folder, owner.pw_uid, owner.pw_gid)
    data, port = folder / "data", _free_port()
    # As the owner through the kernel (setuid in the child), not `runuser`: that lives in
    # /usr/sbin, which a CI's PATH may not hold. The cwd is the owner's own folder.
    owner_ids = {} if user is None else {"user": user, "group": pwd.getpwnam(user).pw_gid}
    run = lambda *argv: subprocess.run(  # noqa: E731
        [str(a) for a in argv], capture_output=True, text=True, timeout=120, cwd=folder,
        **owner_ids,
    )  # fmt: skip
    made = run(bindir / "initdb", "-D", data, "-U", "nnctl", "--auth=trust", "-E", "UTF8")
    if made.returncode != 0:
        pytest.fail(f"initdb failed: {made.stderr}")
    options = f"-p {port} -k {folder} -c listen_addresses=127.0.0.1 -c max_connections=200"
    started = run(
        bindir / "pg_ctl",
        "-D",
        data,
        "-l",
        folder / "log",
        "-o",
        options,
        "-w",
        "-t",
        "60",
        "start",
    )
    if started.returncode != 0:
        log = (folder / "log").read_text() if (folder / "log").exists() else ""
        pytest.fail(f"PostgreSQL did not start: {started.stderr}{log}")
    try:
        _wait_ready(port)
        yield f"postgresql+psycopg://nnctl:s3cret-pw@127.0.0.1:{port}/"
    finally:
        run(bindir / "pg_ctl", "-D", data, "-m", "immediate", "stop")
        shutil.rmtree(folder, ignore_errors=True)


def _wait_ready(port: int) -> None:
    import psycopg

    deadline = time.monotonic() + READY_SECONDS
    while True:
        try:
            with psycopg.connect(host="127.0.0.1", port=port, user="nnctl", dbname="postgres"):
                return
        except psycopg.OperationalError as error:
            if time.monotonic() > deadline:
                pytest.fail(f"PostgreSQL on port {port} does not answer: {error}")
            time.sleep(0.05)
