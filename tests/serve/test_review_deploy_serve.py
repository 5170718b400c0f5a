"""Review of ``nnctl serve``: bodies a careless client sends, answered 400, never 500."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.serve.conftest import ClientFor

JSON = {"Content-Type": "application/json"}
ROW = [5.1, 3.5, 1.4, 0.2]


@pytest.mark.parametrize(
    "body",
    [
        '{"instances": ' + "[" * 100_000 + "]" * 100_000 + "}",
        '{"instances": [[' + "[" * 5000 + "1" + "]" * 5000 + ", 1, 1, 1]]}",
    ],
    ids=["deep-instances", "deep-value"],
)
def test_json_nested_too_deeply_is_400_not_an_internal_error(
    serve_iris: Path, client_for: ClientFor, body: str
) -> None:
    answer = client_for(serve_iris).post("/invocations", content=body, headers=JSON)
    assert answer.status_code == 400, answer.text
    assert answer.json()["error_code"] == "MALFORMED_REQUEST"
    assert "nested too deeply" in answer.json()["message"]


@pytest.mark.parametrize("key", ["instances", "dataframe_split"])
@pytest.mark.parametrize("value", [["red"], {"name": "red"}])
def test_a_list_or_object_in_a_text_column_is_refused(
    serve_pets: Path, client_for: ClientFor, key: str, value: object
) -> None:
    # It became the text "['red']", an unseen category: a prediction from all zeros, silently.
    rows = [[3, "red"], [3, value]]
    body = {key: {"columns": ["weight", "color"], "data": rows} if key != "instances" else rows}
    answer = client_for(serve_pets).post("/invocations", json=body)
    assert answer.status_code == 400, answer.text
    assert answer.json()["message"] == f"{key}: row 2, column 'color': expected one value"


def test_a_key_given_twice_is_refused(serve_iris: Path, client_for: ClientFor) -> None:
    # json keeps the last of the two silently: the client's first value was never used.
    record = '{"sepal_length": 5.1, "sepal_width": 3.5, "petal_length": 1.4, '
    body = '{"dataframe_records": [' + record + '"petal_width": 0.2, "petal_width": 9}]}'
    answer = client_for(serve_iris).post("/invocations", content=body, headers=JSON)
    assert answer.status_code == 400, answer.text
    assert "repeats the key 'petal_width'" in answer.json()["message"]
    twice = '{"instances": [[5.1, 3.5, 1.4, 0.2]], "instances": [[1, 1, 1, 1]]}'
    answer = client_for(serve_iris).post("/invocations", content=twice, headers=JSON)
    assert answer.status_code == 400
    assert "repeats the key 'instances'" in answer.json()["message"]
    good = client_for(serve_iris).post("/invocations", json={"instances": [ROW]})
    assert good.status_code == 200


def test_no_images_no_predictions(serve_idx: Path, client_for: ClientFor) -> None:
    # A CSV model answers [] for no rows; an image model said "must be images of 16 pixels".
    client = client_for(serve_idx)
    answer = client.post("/invocations", json={"instances": []})
    assert answer.status_code == 200, answer.text
    assert answer.json() == {"predictions": []}
    assert client.post("/invocations", json={"instances": [[]]}).status_code == 400


def test_a_csv_body_with_a_nul_byte_is_refused_as_predict_refuses_the_file(
    serve_iris: Path, client_for: ClientFor
) -> None:
    body = b"sepal_length,sepal_width,petal_length,petal_width\n5.1,3.5,1.4,0.2\x00\n"
    answer = client_for(serve_iris).post(
        "/invocations", content=body, headers={"Content-Type": "text/csv"}
    )
    assert answer.status_code == 400, answer.text
    assert "NUL byte" in answer.json()["message"]
    crlf = body.replace(b"\x00", b"").replace(b"\n", b"\r\n")
    answer = client_for(serve_iris).post(
        "/invocations", content=crlf, headers={"Content-Type": "text/csv"}
    )
    assert answer.json() == {"predictions": ["setosa"]}


@pytest.mark.parametrize(
    "rows", ["5.1,3.5,1.4,0.2,9,9\n", "5.1,3.5,1.4,0.2,\n", "9,9,9,9\n5.1,3.5,1.4,0.2,7\n"]
)
def test_csv_rows_longer_than_the_header_are_refused(
    serve_iris: Path, client_for: ClientFor, rows: str
) -> None:
    # pandas took the first values as an index and the rest shifted left under the header:
    # 5.1,3.5,1.4,0.2,9,9 was answered as petal_length 9, petal_width 9 (virginica).
    body = "sepal_length,sepal_width,petal_length,petal_width\n" + rows
    answer = client_for(serve_iris).post(
        "/invocations", content=body, headers={"Content-Type": "text/csv"}
    )
    assert answer.status_code == 400, answer.text
    message = answer.json()["message"]
    assert "more values than the header has columns (4)" in message or "saw 5" in message
