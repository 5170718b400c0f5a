"""The application in-process (Starlette's TestClient): formats, answers and every error."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from nnctl.serve.app import json_value
from nnctl.store.model import load_model
from nnctl.workflows.predict import prediction_frames
from tests.helpers import DATASETS
from tests.serve.conftest import ClientFor

IRIS = pd.read_csv(DATASETS / "iris.csv")
FEATURES = ["sepal_length", "sepal_width", "petal_length", "petal_width"]


def _records(frame: pd.DataFrame) -> list[dict[str, object]]:
    return json.loads(frame.to_json(orient="records"))


def _predicted(run: Path, csv: Path, proba: bool) -> list[object]:
    """What predict's frames hold for the file, as serve writes them in JSON."""
    [frame] = list(prediction_frames(load_model(run), csv, proba=proba))
    if not proba:
        return [json_value(v) for v in frame.iloc[:, 0].to_numpy()]
    return [
        {c: json_value(frame[c].to_numpy()[i]) for c in frame.columns} for i in range(len(frame))
    ]


def test_every_format_answers_what_predict_gives(
    serve_iris: Path, client_for: ClientFor, tmp_path: Path
):
    rows = IRIS.iloc[::7].reset_index(drop=True)
    csv = tmp_path / "rows.csv"
    rows.to_csv(csv, index=False)
    client = client_for(serve_iris)
    split = {"columns": list(rows.columns), "data": rows.to_numpy().tolist()}
    bodies = [
        {"dataframe_split": split},
        {"dataframe_records": _records(rows)},
        {"instances": _records(rows)},
        {"instances": rows[FEATURES].to_numpy().tolist()},
    ]
    for proba in (False, True):
        expected = _predicted(serve_iris, csv, proba)
        assert len(expected) == len(rows)
        for body in bodies:
            answer = client.post("/invocations", json={**body, "params": {"proba": proba}})
            assert answer.status_code == 200, answer.text
            assert answer.json() == {"predictions": expected}
        answer = client.post(
            f"/invocations?proba={str(proba).lower()}",
            content=csv.read_bytes(),
            headers={"Content-Type": "text/csv; charset=utf-8"},
        )
        assert answer.json() == {"predictions": expected}
    assert set(expected[0]) == {"species", "proba_setosa", "proba_versicolor", "proba_virginica"}
    assert expected[0]["species"] == "setosa"


def test_binary_labels_keep_their_type_and_text_columns_are_text(serve_pets: Path, client_for):
    client = client_for(serve_pets)
    body = {"dataframe_records": [{"weight": 3, "color": "red"}, {"weight": 9, "color": "blue"}]}
    plain = client.post("/invocations", json=body).json()["predictions"]
    assert all(isinstance(v, int) and v in (0, 1) for v in plain)
    with_proba = client.post("/invocations", json={**body, "params": {"proba": True}}).json()
    first = with_proba["predictions"][0]
    assert list(first) == ["pet", "proba_0", "proba_1"]
    assert first["proba_0"] + first["proba_1"] == pytest.approx(1.0, abs=1e-6)
    unseen = client.post(
        "/invocations",
        json={"dataframe_records": [{"weight": 3, "color": "red"}, {"weight": 3, "color": "pink"}]},
    )
    assert unseen.status_code == 422
    assert unseen.json()["error_code"] == "INVALID_DATA"
    assert (
        "column 'color', row 2: category 'pink' was not in the training data"
        in unseen.json()["message"]
    )


def test_regression_answers_values_in_the_targets_units(serve_diabetes: Path, client_for):
    client = client_for(serve_diabetes)
    rows = pd.read_csv(DATASETS / "diabetes.csv").head(5)
    answer = client.post(
        "/invocations", json={"dataframe_records": _records(rows), "params": {"proba": True}}
    )
    values = answer.json()["predictions"]
    assert len(values) == 5 and all(isinstance(v, float) for v in values)
    assert 10 < np.mean(values) < 400  # the target's units, not standardized


def test_non_finite_values_are_null_never_bare_nan() -> None:
    assert json_value(np.float32("nan")) is None
    assert json_value(np.float64("inf")) is None
    assert json_value([np.float32(0.1), np.float32("-inf")]) == [0.1, None]
    assert json_value(np.int64(3)) == 3 and type(json_value(np.int64(3))) is int


# Finite once scaled (the iris model's divisors are near 1), but the network's sums overflow
# on some of them: a NaN output, which argmax would call the first class.
HUGE = [[1e38, -1e38, 1e38, -1e38], [-1e38, 1e38, -1e38, 1e38], [1e38] * 4, [-1e38] * 4]


def test_a_row_the_network_overflows_on_answers_null_never_a_class(serve_iris, client_for):
    model = load_model(serve_iris)
    output = model.network.predict(
        model.preprocessor.transform_features(pd.DataFrame(HUGE, columns=FEATURES), np.float32)
    )
    lost = ~np.isfinite(output).all(axis=1)
    assert lost.any() and not lost.all()  # both kinds of row, or the test says nothing
    answer = client_for(serve_iris).post(
        "/invocations", json={"instances": HUGE, "params": {"proba": True}}
    )
    assert answer.status_code == 200, answer.text
    assert "NaN" not in answer.text and "Infinity" not in answer.text
    predictions = answer.json()["predictions"]
    for row, gone in zip(predictions, lost, strict=True):
        labels = set(IRIS["species"])
        assert row["species"] is None if gone else row["species"] in labels
        assert all((row[f"proba_{c}"] is None) == gone for c in labels)


def test_a_value_its_scaling_overflows_is_422_naming_it(serve_diabetes: Path, client_for):
    rows = pd.read_csv(DATASETS / "diabetes.csv").head(2).astype(float)
    rows.loc[1, "sex"] = 3e38  # finite in float32, but (x - 1.5) / 0.5 is not
    answer = client_for(serve_diabetes).post(
        "/invocations", json={"dataframe_records": _records(rows)}
    )
    assert answer.status_code == 422, answer.text
    error = answer.json()
    assert error["error_code"] == "INVALID_DATA"
    assert error["message"].startswith(
        "request: column 'sex', row 2: 3e+38 scaled as the training rows were, (x - 1."
    )
    assert error["message"].endswith("is out of the float32 range (largest magnitude 3.4e+38)")


J, C = "application/json", "text/csv"
BAD, DATA = "MALFORMED_REQUEST", "INVALID_DATA"
ROWS = b"sepal_length,sepal_width,petal_length,petal_width\n1,2,3,4\n1,2,x,4\n"
BAD_BODIES = [
    (b"{not json", J, 400, BAD, "not valid JSON"),
    (b"[1, 2]", J, 400, BAD, "must be a JSON object"),
    (b'{"rows": []}', J, 400, BAD, "one of dataframe_split"),
    (b'{"instances": [], "dataframe_records": []}', J, 400, BAD, "one of"),
    (b'{"dataframe_split": [1]}', J, 400, BAD, "'columns' and 'data'"),
    (b'{"dataframe_records": [[1, 2, 3, 4]]}', J, 400, BAD, "list of objects"),
    (b'{"instances": [[1, 2]]}', J, 400, BAD, "row 1 must be a list of 4"),
    (b'{"instances": [{"sepal_length": [1]}]}', J, 400, BAD, "one value"),
    (b'{"instances": [[1, 2, 3, NaN]]}', J, 400, BAD, "NaN is not JSON"),
    (b'{"instances": [[1,2,3,4]], "params": {"probas": 1}}', J, 400, BAD, "parameter 'probas'"),
    (b'{"instances": [[1,2,3,4]], "params": {"proba": 2}}', J, 400, BAD, "true or false"),
    (b"\xff\xfe", C, 400, BAD, "not UTF-8"),
    (b"", C, 400, BAD, "empty"),
    (b"a,a\n1,2\n", C, 400, BAD, "repeats"),
    (b"sepal_length\n1\n", "text/plain", 415, "UNSUPPORTED_CONTENT_TYPE", "'text/plain'"),
    (b"{}", "", 415, "UNSUPPORTED_CONTENT_TYPE", "(none)"),
    (b'{"instances": [[1, 2, 3, "wide"]]}', J, 422, DATA, "row 1: 'wide' is not a number"),
    (b'{"dataframe_split": {"columns": ["sepal_length"], "data": [[1]]}}', J, 422, DATA,
     "request: no feature columns 'sepal_width'"),
    (ROWS, C, 422, DATA, "request: column 'petal_length', row 2: 'x' is not a number"),
    (b'{"instances": [[1, 2, 3, null]]}', J, 422, DATA, "missing or infinite"),
]  # fmt: skip


@pytest.mark.parametrize(("body", "kind", "status", "code", "message"), BAD_BODIES)
def test_a_bad_request_is_one_json_error(serve_iris, client_for, body, kind, status, code, message):
    answer = client_for(serve_iris).post(
        "/invocations", content=body, headers={"Content-Type": kind}
    )
    assert answer.status_code == status, answer.text
    error = answer.json()
    assert error["error_code"] == code
    assert message in error["message"]
    assert "Traceback" not in answer.text
    assert answer.headers["content-type"] == "application/json"


def test_a_missing_column_says_which_columns_were_found(serve_iris, client_for):
    body = {
        "dataframe_records": [
            {"sepal_length": 1, "sepal_width": 2, "petal_length": 3, "petal_widht": 4}
        ]
    }
    error = client_for(serve_iris).post("/invocations", json=body).json()
    assert (
        error["message"] == "request: no feature column 'petal_width'; did you mean 'petal_widht'?"
    )
    assert error["hint"].startswith("columns found: ")


def test_bodies_and_rows_over_the_limits_are_413(serve_iris, client_for):
    client = client_for(serve_iris, max_bytes=2000, max_rows=10)
    rows = IRIS.head(11)
    too_many = client.post("/invocations", json={"dataframe_records": _records(rows)})
    assert too_many.status_code == 413 and "11 rows" in too_many.json()["message"]
    assert (
        client.post("/invocations", json={"dataframe_records": _records(rows.head(10))}).status_code
        == 200
    )
    big = b'{"instances": [' + b"[1,2,3,4]," * 300 + b"[1,2,3,4]]}"
    answer = client.post("/invocations", content=big, headers={"Content-Type": "application/json"})
    assert answer.status_code == 413 and answer.json()["error_code"] == "REQUEST_TOO_LARGE"

    def chunks():  # no Content-Length: the limit holds as the body arrives
        yield from (big[i : i + 500] for i in range(0, len(big), 500))

    streamed = client.post(
        "/invocations", content=chunks(), headers={"Content-Type": "application/json"}
    )
    assert streamed.status_code == 413


def test_proba_in_the_query_string_for_json_too(serve_iris, client_for):
    client = client_for(serve_iris)
    body = {"instances": [[5.1, 3.5, 1.4, 0.2]]}
    [row] = client.post("/invocations?proba=true", json=body).json()["predictions"]
    assert row["species"] == "setosa" and "proba_setosa" in row
    assert client.post("/invocations?probas=1", json=body).status_code == 400


def test_no_rows_no_predictions(serve_iris, client_for):
    answer = client_for(serve_iris).post("/invocations", json={"dataframe_records": []})
    assert answer.json() == {"predictions": []}


def test_a_bug_is_a_500_without_traceback(serve_iris, client_for, monkeypatch, capsys):
    from nnctl.serve import app

    def broken(*args: object) -> None:
        raise ZeroDivisionError("secret internals")

    monkeypatch.setattr(app, "rows_to_features", broken)
    answer = client_for(serve_iris).post("/invocations", json={"instances": [[1, 2, 3, 4]]})
    assert answer.status_code == 500
    assert answer.json() == {
        "error_code": "INTERNAL_ERROR",
        "message": "internal error: ZeroDivisionError; this is a bug in nnctl",
    }
    assert "ZeroDivisionError" in capsys.readouterr().err


def test_ping_health_and_metadata(serve_pets, client_for):
    client = client_for(serve_pets)
    assert client.get("/ping").json() == {"status": "ok"}
    assert client.get("/health").status_code == 200
    described = client.get("/metadata").json()
    assert described["task"] == "binary"
    assert described["inputs"] == [
        {"name": "weight", "type": "number"},
        {"name": "color", "type": "string", "categories": ["blue", "green", "red"]},
    ]
    assert [o["name"] for o in described["outputs"]] == ["pet", "proba_0", "proba_1"]
    assert described["labels"] == [0, 1]
    assert set(described["versions"]) >= {"nnctl", "numpy", "python"}
    missing = client.get("/nowhere")
    assert missing.status_code == 404 and missing.json()["error_code"] == "NOT_FOUND"
    assert client.get("/invocations").status_code == 405
