"""The HTTP application (Starlette): ``/invocations``, ``/ping``, ``/health``, ``/metadata``.

`create_app` serves one loaded `~nnctl.store.model.Model`. ``/invocations`` answers
``{"predictions": [...]}`` holding what ``nnctl predict`` writes for the same rows: the labels (or
values) alone, or with ``proba`` one object per row with predict's columns (``species``,
``proba_setosa``, ...). Every error is JSON ``{"error_code", "message"}`` (plus ``hint`` when
there is one), never a traceback:

- 400 ``MALFORMED_REQUEST``: not valid JSON or CSV, not one of MLflow's formats, a bad parameter;
- 413 ``REQUEST_TOO_LARGE``: a body over ``max_bytes``, or more rows than ``max_rows``;
- 415 ``UNSUPPORTED_CONTENT_TYPE``: neither ``application/json`` nor ``text/csv``;
- 422 ``INVALID_DATA``: rows the model cannot use (a missing column, text in a number column, an
  unseen category): predict's message, naming the column and the row;
- 404, 405: ``NOT_FOUND``, ``METHOD_NOT_ALLOWED``;
- 500 ``INTERNAL_ERROR``: a bug; the message names the exception only.

Concurrent requests: the network's forward pass writes into per-layer buffers (`nnctl.nn.fast`),
so the one network is shared behind a lock (`Predictor`); the rest of a request (parsing, the
preprocessing, the JSON) runs outside it, on Starlette's thread pool, off the event loop.
"""

from __future__ import annotations

import math
import platform
import sys
import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from nnctl import __version__
from nnctl.errors import NnctlError
from nnctl.serve.parsing import SOURCE, RequestError, parse_request, rows_to_features
from nnctl.store.model import Model
from nnctl.workflows.predict import output_frame

if TYPE_CHECKING:
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import Response

MAX_BYTES = 10 << 20
MAX_ROWS = 100_000


@dataclass(frozen=True)
class Limits:
    """How much one request may carry: body bytes and rows."""

    max_bytes: int = MAX_BYTES
    max_rows: int = MAX_ROWS


class Predictor:
    """The model, shared by the requests: each forward pass holds `lock` (see the module doc)."""

    def __init__(self, model: Model) -> None:
        self.model = model
        self.lock = threading.Lock()

    def predictions(self, content_type: str | None, body: bytes, query: dict[str, str],
                    limits: Limits) -> list[Any]:  # fmt: skip
        """The ``predictions`` of a request's body; raises `RequestError` or `DataError`."""
        rows = parse_request(self.model, content_type, body, query)
        if len(rows) > limits.max_rows:
            raise RequestError(
                413,
                "REQUEST_TOO_LARGE",
                f"{len(rows)} rows; a request holds at most {limits.max_rows} "
                "(nnctl serve --max-rows)",
                hint="split the rows into several requests",
            )
        if len(rows) == 0:
            return []
        # A value its scaling overflows is a DataError (422); a row the network overflows on
        # has NaN outputs, answered as null.
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            X = rows_to_features(self.model, rows)
            with self.lock:
                output = self.model.network.predict(X)
        frame = output_frame(self.model, output, proba=rows.proba)
        columns = [json_column(frame[name].to_numpy()) for name in frame.columns]
        if not rows.proba or self.model.task == "regression":
            return columns[0]
        names = [str(name) for name in frame.columns]
        return [dict(zip(names, row, strict=True)) for row in zip(*columns, strict=True)]


def json_column(values: np.ndarray) -> list[Any]:
    """`json_value` of each value of a column, a whole float column at once (the fast path)."""
    if values.dtype.kind != "f":
        return [v if isinstance(v, str | int) else json_value(v) for v in values.tolist()]
    numbers: list[Any] = list(map(float, values.astype(str).tolist()))
    if not np.isfinite(values).all():
        numbers = [v if math.isfinite(v) else None for v in numbers]
    return numbers


def json_value(value: Any) -> Any:
    """A value of predict's output as JSON writes it: a float as predict's CSV writes it
    (the shortest text of a float32), NaN and infinity as ``null``, NumPy scalars as Python's."""
    if isinstance(value, list | tuple | np.ndarray):
        return [json_value(v) for v in value]
    if isinstance(value, np.floating | float):
        number = float(str(value))
        return number if math.isfinite(number) else None
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.bool_):
        return bool(value)
    return value


def metadata(model: Model, limits: Limits) -> dict[str, Any]:
    """What ``GET /metadata`` answers: inputs, outputs, labels, versions, limits."""
    pre = model.preprocessor
    if pre.input == "idx":
        inputs: list[dict[str, Any]] = [
            {"name": "image", "type": "bytes", "shape": list(pre.image_shape or ())}
        ]
    else:
        categories = {c.column: c.vocabulary for c in pre.categories}
        inputs = [{"name": c, "type": "number"} for c in pre.numeric_columns]
        inputs += [{"name": c, "type": "string", "categories": v} for c, v in categories.items()]
    target = pre.target_column or "label"
    outputs: list[dict[str, Any]] = [
        {"name": target, "type": "number" if model.task == "regression" else "label"}
    ]
    if model.task != "regression":
        zeros = np.zeros((1, pre.n_features), dtype=model.network.dtype)
        frame = output_frame(model, model.network.predict(zeros), proba=True)
        outputs += [{"name": c, "type": "number", "with": "proba"} for c in frame.columns[1:]]
    return {
        "task": model.task,
        "model_file": str(model.path),
        "inputs": inputs,
        "outputs": outputs,
        "labels": [json_value(v) for v in pre.target.classes] or None,
        "limits": {"max_bytes": limits.max_bytes, "max_rows": limits.max_rows},
        "versions": {
            "nnctl": __version__,
            "numpy": np.__version__,
            "python": platform.python_version(),
            "model_format": model.bundle.meta.get("format_version"),
            "trained_with_nnctl": model.bundle.meta.get("nnctl_version"),
        },
    }


def error_body(code: str, message: str, hint: str | None = None) -> dict[str, str]:
    """``{"error_code": ..., "message": ...}``, with ``hint`` when there is one."""
    return {"error_code": code, "message": message, **({"hint": hint} if hint else {})}


def create_app(model: Model, limits: Limits | None = None) -> Starlette:
    """The Starlette application serving ``model`` (see the module docstring)."""
    from starlette.applications import Starlette
    from starlette.concurrency import run_in_threadpool
    from starlette.exceptions import HTTPException
    from starlette.routing import Route

    limits = limits or Limits()
    predictor = Predictor(model)
    described = metadata(model, limits)

    async def invocations(request: Request) -> Response:
        try:
            body = await _read_body(request, limits.max_bytes)
            answer = await run_in_threadpool(
                predictor.predictions,
                request.headers.get("content-type"),
                body,
                dict(request.query_params),
                limits,
            )
        except RequestError as error:
            return _json(error_body(error.code, error.message, error.hint), error.status)
        except NnctlError as error:  # DataError: what predict says of such rows
            return _json(error_body("INVALID_DATA", error.message, _client_hint(error.hint)), 422)
        except Exception as error:  # a bug: one line on stderr, no traceback in the answer
            sys.stderr.write(f"nnctl: internal error: POST /invocations: {error!r}\n")
            message = f"internal error: {type(error).__name__}; this is a bug in nnctl"
            return _json(error_body("INTERNAL_ERROR", message), 500)
        return _json({"predictions": answer})

    async def ping(request: Request) -> Response:
        return _json({"status": "ok"})

    async def describe(request: Request) -> Response:
        return _json(described)

    async def http_error(request: Request, error: Exception) -> Response:
        status = error.status_code if isinstance(error, HTTPException) else 500
        codes = {404: "NOT_FOUND", 405: "METHOD_NOT_ALLOWED"}
        detail = getattr(error, "detail", "")
        message = f"{request.method} {request.url.path}: {detail}"
        return _json(error_body(codes.get(status, "BAD_REQUEST"), message), status)

    async def internal_error(request: Request, error: Exception) -> Response:
        message = f"internal error: {type(error).__name__}; this is a bug in nnctl"
        return _json(error_body("INTERNAL_ERROR", message), 500)

    return Starlette(
        routes=[
            Route("/invocations", invocations, methods=["POST"]),
            Route("/ping", ping, methods=["GET"]),
            Route("/health", ping, methods=["GET"]),
            Route("/metadata", describe, methods=["GET"]),
        ],
        exception_handlers={HTTPException: http_error, Exception: internal_error},
    )


def _client_hint(hint: str | None) -> str | None:
    """A hint that helps the client (``columns found: ...``), not one about the training config."""
    return None if hint is None or "data." in hint else hint


async def _read_body(request: Request, max_bytes: int) -> bytes:
    """The body, at most ``max_bytes`` (by its Content-Length first, then as it arrives)."""
    too_large = RequestError(
        413,
        "REQUEST_TOO_LARGE",
        f"the body is over {max_bytes} bytes, the most a request may hold "
        "(nnctl serve --max-bytes)",
        hint="split the rows into several requests",
    )
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > max_bytes:
        raise too_large
    parts, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > max_bytes:
            raise too_large
        parts.append(chunk)
    return b"".join(parts)


def _json(content: Any, status: int = 200) -> Response:
    """A JSON response; NaN and infinity never appear (``allow_nan=False`` would raise)."""
    import json

    from starlette.responses import Response

    text = json.dumps(content, ensure_ascii=False, allow_nan=False, separators=(",", ":"))
    return Response(text + "\n", status, media_type="application/json")


__all__ = ["MAX_BYTES", "MAX_ROWS", "SOURCE", "Limits", "Predictor", "create_app", "metadata"]
