"""Create a sweep's PostgreSQL database on first use, whichever worker comes first."""

from __future__ import annotations

import time

from nnctl import extras
from nnctl.errors import UsageError

CREATE_SECONDS = 15.0
"""How long to keep trying a database server that does not answer (it may be starting)."""


def create_database(url: str) -> None:
    """Create the database ``url`` names unless it exists; workers racing to do it all succeed.

    ``CREATE DATABASE`` cannot run in a transaction, so it runs in autocommit on the server's
    ``postgres`` database; a worker that loses the race sees ``DuplicateDatabase`` (or a unique
    violation on ``pg_database``) and goes on.
    """
    psycopg = extras.load("psycopg", "sweep")
    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    name = parsed.database
    if not name:
        raise UsageError("--storage: the URL names no database (postgresql+psycopg://.../DB)")
    params = {
        "host": parsed.host,
        "port": parsed.port,
        "user": parsed.username,
        "password": parsed.password,
        "dbname": "postgres",
        **{k: v for k, v in parsed.query.items() if isinstance(v, str)},
    }
    deadline = time.monotonic() + CREATE_SECONDS
    while True:
        try:
            with psycopg.connect(autocommit=True, **{k: v for k, v in params.items() if v}) as db:
                found = db.execute(
                    "SELECT 1 FROM pg_database WHERE datname = %s", (name,)
                ).fetchone()
                if found is None:
                    db.execute(f'CREATE DATABASE "{name}"')
            return
        except (psycopg.errors.DuplicateDatabase, psycopg.errors.UniqueViolation):
            return
        except psycopg.OperationalError as error:
            if time.monotonic() > deadline:
                reason = str(error).splitlines()[0].replace(parsed.password or "\0", "***")
                raise UsageError(f"cannot reach the study's database server: {reason}") from None
            time.sleep(0.2)
