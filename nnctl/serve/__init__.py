"""``nnctl serve``: a trained model over HTTP (Starlette and uvicorn, the extra ``serve``).

- `parsing`: a request's body (MLflow's JSON formats, or CSV) as the rows predict would read.
- `app`: the Starlette application: ``/invocations``, ``/ping``, ``/health``, ``/metadata``.
- `server`: the socket, uvicorn (one process or ``--workers N``), the ready line, signals.

Only `app` and `server` use the extra's libraries, inside functions, so importing this package
needs neither.
"""
