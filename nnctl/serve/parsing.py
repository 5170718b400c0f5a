"""A request's body as the rows ``nnctl predict`` would read, and its parameters.

The JSON bodies are MLflow's scoring formats::

    {"dataframe_split": {"columns": ["a", "b"], "data": [[1, 2], [3, 4]]}}
    {"dataframe_records": [{"a": 1, "b": 2}, {"a": 3, "b": 4}]}
    {"instances": [{"a": 1, "b": 2}]}     or, in the order of /metadata's inputs, [[1, 2]]

with an optional ``"params": {"proba": true}`` (or, without it, ``?proba=true``). A ``text/csv``
body is read by pandas as predict reads a CSV file (the same delimiter, text columns as text), its
parameters in the query string (``?proba=true``). Either way the rows become a
`pandas.DataFrame` that `rows_to_features` turns into the network's input with the model's own
`~nnctl.data.Preprocessor.transform_features`, so a value the model cannot use gets the message
predict gives, naming the column and the row.

A body that is not what it claims to be is a `RequestError` (400); a content type other than
JSON or CSV is 415; rows the model cannot use (`~nnctl.errors.DataError` from the preprocessor)
are 422, see `nnctl.serve.app`.
"""

from __future__ import annotations

import csv as std_csv
import io
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from nnctl.data.fit import images_in_order
from nnctl.data.formats.csv import source_name
from nnctl.data.formats.csv.header import check_names
from nnctl.data.formats.csv.source import csv_errors
from nnctl.errors import DataError, NnctlError
from nnctl.store.model import Model

#: How request rows are named in messages ("request: column 'x', row 2: ...").
SOURCE = "request"
FORMATS = ("dataframe_split", "dataframe_records", "instances")
PARAMS = {"proba": "true adds one probability column per class (nnctl predict --proba)"}
JSON_TYPES = ("application/json",)
CSV_TYPES = ("text/csv", "application/csv")


class RequestError(NnctlError):
    """A request the server refuses, with its HTTP status and MLflow-style ``error_code``."""

    def __init__(self, status: int, code: str, message: str, *, hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.status, self.code = status, code


def malformed(message: str, hint: str | None = None) -> RequestError:
    """A 400: the body is not valid JSON or CSV, or not in a format the server reads."""
    return RequestError(400, "MALFORMED_REQUEST", message, hint=hint)


@dataclass(frozen=True)
class Rows:
    """A request's rows: a frame of named columns (CSV models), or images (IDX models)."""

    frame: pd.DataFrame | None
    images: np.ndarray | None
    proba: bool

    def __len__(self) -> int:
        return len(self.frame) if self.frame is not None else len(self.images)  # type: ignore[arg-type]


def media_type(content_type: str | None) -> str:
    """``text/csv`` of ``text/csv; charset=utf-8``: the type without its parameters, lowercase."""
    return (content_type or "").split(";", 1)[0].strip().lower()


def parse_request(
    model: Model, content_type: str | None, body: bytes, query: Mapping[str, str]
) -> Rows:
    """The rows and parameters of a ``POST /invocations``; raises `RequestError`."""
    kind = media_type(content_type)
    if kind in JSON_TYPES:
        return _parse_json(model, body, query)
    if kind in CSV_TYPES:
        if model.preprocessor.input == "idx":
            raise RequestError(
                415,
                "UNSUPPORTED_CONTENT_TYPE",
                "this model reads images: send them as JSON 'instances', not as CSV",
            )
        return Rows(_read_csv(model, body), None, parse_params(dict(query), "the query string"))
    raise RequestError(
        415,
        "UNSUPPORTED_CONTENT_TYPE",
        f"content type {kind or '(none)'!r} is not supported; "
        "expected application/json (MLflow's formats) or text/csv",
    )


def parse_params(params: Any, where: str) -> bool:
    """The ``proba`` parameter (default false); anything else in ``params`` is a 400."""
    if params is None:
        return False
    if not isinstance(params, dict):
        raise malformed(f"{where}: 'params' must be an object, found {_kind(params)}")
    unknown = sorted(set(params) - set(PARAMS))
    if unknown:
        raise malformed(
            f"{where}: unknown parameter {unknown[0]!r}; expected one of: {', '.join(PARAMS)}",
            hint="; ".join(f"{k}: {v}" for k, v in PARAMS.items()),
        )
    value = params.get("proba", False)
    if isinstance(value, str) and value.lower() in ("true", "false", "1", "0"):
        return value.lower() in ("true", "1")
    if not isinstance(value, bool):
        raise malformed(f"{where}: 'proba' must be true or false, found {value!r}")
    return value


def _parse_json(model: Model, body: bytes, query: Mapping[str, str]) -> Rows:
    try:
        document = json.loads(body, parse_constant=_no_constant, object_pairs_hook=_object)
    except (ValueError, UnicodeDecodeError) as error:
        raise malformed(f"the body is not valid JSON: {error}") from None
    except RecursionError:
        raise malformed("the body is not a table: its JSON is nested too deeply") from None
    if not isinstance(document, dict):
        raise malformed(f"the body must be a JSON object, found {_kind(document)}")
    present = [key for key in FORMATS if key in document]
    other = sorted(set(document) - {*FORMATS, "params"})
    if len(present) != 1 or other:
        found = ", ".join(map(repr, sorted(document))) or "nothing"
        raise malformed(
            f"the body must hold one of {', '.join(FORMATS)} (and optionally params); found {found}"
        )
    if "params" in document or not query:
        proba = parse_params(document.get("params"), "params")
    else:  # ?proba=true, as for CSV
        proba = parse_params(dict(query), "the query string")
    key = present[0]
    if model.preprocessor.input == "idx":
        if key != "instances":
            raise malformed(f"this model reads images: send them as 'instances', not {key!r}")
        return Rows(None, _images(model, document[key]), proba)
    return Rows(_frame(model, key, document[key]), None, proba)


def _object(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """A JSON object; a key given twice is an error (json would keep the last silently)."""
    document = dict(pairs)
    if len(document) != len(pairs):
        keys = [k for k, _ in pairs]
        repeated = next(k for i, k in enumerate(keys) if k in keys[:i])
        raise ValueError(f"an object repeats the key {repeated!r}")
    return document


def _no_constant(name: str) -> None:
    raise ValueError(f"{name} is not JSON; write a missing value as null")


def _kind(value: Any) -> str:
    names = {dict: "an object", list: "an array", str: "a string", bool: "a boolean"}
    return "null" if value is None else names.get(type(value), "a number")


def _frame(model: Model, key: str, value: Any) -> pd.DataFrame:
    """The rows of one of MLflow's JSON formats as a frame, text columns as text."""
    if key == "dataframe_split":
        if not isinstance(value, dict) or not isinstance(value.get("data"), list):
            raise malformed(
                "dataframe_split must be an object with 'columns' and 'data' (a list of rows)"
            )
        columns = value.get("columns", model.preprocessor.feature_columns)
        rows = value["data"]
    else:
        rows = value
        if not isinstance(rows, list):
            raise malformed(f"{key} must be a list of rows, found {_kind(rows)}")
        columns = model.preprocessor.feature_columns
        if not rows:
            return pd.DataFrame()
        if all(isinstance(row, dict) for row in rows):
            return _typed(model, _records(key, rows))
        if key == "dataframe_records":
            raise malformed("dataframe_records must be a list of objects ({column: value})")
    if not isinstance(columns, list) or not all(isinstance(c, str) for c in columns):
        raise malformed(f"{key}: 'columns' must be a list of column names")
    for number, row in enumerate(rows, start=1):
        if not isinstance(row, list) or len(row) != len(columns):
            raise malformed(
                f"{key}: row {number} must be a list of {len(columns)} values "
                f"({', '.join(columns)}), found {_kind(row)}"
                + (f" of {len(row)}" if isinstance(row, list) else "")
            )
        if any(isinstance(v, dict | list) for v in row):
            _one_value_each(key, number, dict(zip(columns, row, strict=True)))
    check_names(SOURCE, columns)
    if len(set(columns)) != len(columns):
        raise malformed(f"{key}: 'columns' repeats a name")
    return _typed(model, pd.DataFrame(rows, columns=columns, dtype=object))


def _records(key: str, rows: list[dict[str, Any]]) -> pd.DataFrame:
    for number, row in enumerate(rows, start=1):
        _one_value_each(key, number, row)
    return pd.DataFrame.from_records(rows).astype(object)


def _one_value_each(key: str, number: int, row: dict[str, Any]) -> None:
    """Refuse a row holding a list or an object where a column's value goes."""
    nested = [k for k, v in row.items() if isinstance(v, dict | list)]
    if nested:
        raise malformed(f"{key}: row {number}, column {nested[0]!r}: expected one value")


def _typed(model: Model, frame: pd.DataFrame) -> pd.DataFrame:
    """Text columns as text (as predict reads them, ``dtype=str``); numbers left to the model."""
    for category in model.preprocessor.categories:
        name = category.column
        if name in frame.columns:
            column = frame[name]
            frame[name] = column.where(column.isna(), column.map(str))
    return frame


def _read_csv(model: Model, body: bytes) -> pd.DataFrame:
    """A CSV body read as `nnctl.data.formats.csv.read_chunks` reads a file (one chunk)."""
    pre = model.preprocessor
    try:
        text = body.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise malformed(f"the CSV body is not UTF-8 text: byte {error.start}") from None
    if not text.strip():
        raise malformed("the CSV body is empty; expected a header line and rows")
    if "\x00" in text:  # predict refuses such a file: "not text: a NUL byte"
        raise malformed(f"the CSV body is not text: a NUL byte at character {text.index(chr(0))}")
    try:
        with csv_errors(SOURCE):
            frame = pd.read_csv(
                io.StringIO(text),
                sep=pre.delimiter,
                dtype=dict.fromkeys([c.column for c in pre.categories], str),
                quoting=std_csv.QUOTE_MINIMAL,
            )
        check_names(SOURCE, list(frame.columns))
    except DataError as error:
        raise malformed(error.message, error.hint) from None
    if not isinstance(frame.index, pd.RangeIndex):  # pandas took the extra values as an index
        raise malformed(
            f"{source_name(SOURCE)}: the rows have more values than the header has columns "
            f"({len(frame.columns)}); the values would be read under the wrong columns",
            hint="a trailing delimiter on each line is an extra value too",
        )
    renamed = [c for c in frame.columns if str(c).rpartition(".")[0] in frame.columns]
    if renamed:
        raise malformed(f"{source_name(SOURCE)}: the header repeats a column name ({renamed[0]})")
    return frame


def _images(model: Model, value: Any) -> np.ndarray:
    """IDX models: ``instances`` are images of bytes (0-255), as in the IDX file, flat or not."""
    shape = model.preprocessor.image_shape or ()
    pixels = int(np.prod(shape)) if shape else model.preprocessor.n_features
    if isinstance(value, list) and not value:  # no rows, no predictions, as for a CSV model
        return np.zeros((0, pixels), dtype=np.uint8)
    try:
        array = np.asarray(value, dtype=np.float64)
    except (ValueError, TypeError):
        raise malformed(
            f"instances must be images: lists of {pixels} numbers 0-255 (or {list(shape)})"
        ) from None
    if array.ndim < 1 or array.shape[0] == 0 or array[0].size != pixels:
        raise malformed(f"instances must be images of {pixels} pixels ({list(shape)}) each")
    flat = array.reshape(array.shape[0], pixels)
    if not np.all((flat >= 0) & (flat <= 255) & (flat == np.round(flat))):
        raise DataError(f"{SOURCE}: an image holds a pixel that is not a byte (0-255)")
    return flat.astype(np.uint8)


def rows_to_features(model: Model, rows: Rows) -> np.ndarray:
    """The network's input for ``rows``, prepared as predict prepares a file's rows."""
    pre, dtype = model.preprocessor, model.network.dtype.type
    if rows.images is not None:
        return pre.transform_images(images_in_order(rows.images, None, dtype))
    assert rows.frame is not None
    return pre.transform_features(rows.frame, dtype, SOURCE, 0)
