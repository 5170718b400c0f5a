"""A real ``nnctl serve`` on 127.0.0.1: predict's answers, status codes, concurrency, SIGTERM."""

from __future__ import annotations

import csv
import http.client
import io
import json
import signal
import socket
import threading
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from nnctl.serve.app import Limits, Predictor
from nnctl.store.model import load_model
from tests.helpers import DATASETS, run_nnctl
from tests.serve.conftest import Server, start_server

IRIS_CSV = DATASETS / "iris.csv"


def _post(server: Server, body: bytes, kind: str, path: str = "/invocations") -> tuple[int, Any]:
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=60)
    try:
        connection.request("POST", path, body=body, headers={"Content-Type": kind})
        answer = connection.getresponse()
        return answer.status, json.loads(answer.read())
    finally:
        connection.close()


def _get(server: Server, path: str) -> tuple[int, Any]:
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=60)
    try:
        connection.request("GET", path)
        answer = connection.getresponse()
        return answer.status, json.loads(answer.read())
    finally:
        connection.close()


def _response(sock: socket.socket) -> tuple[bytes, bytes]:
    """A response's head and body (by its Content-Length) read from a raw socket."""
    data = b""
    while b"\r\n\r\n" not in data and (chunk := sock.recv(4096)):
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    length = int(head.lower().split(b"content-length:")[1].split(b"\r\n")[0])
    while len(body) < length and (chunk := sock.recv(4096)):
        body += chunk
    return head, body


def _predict_csv(run: Path, data: Path, *flags: str) -> list[dict[str, str]]:
    result = run_nnctl("predict", run, data, *flags)
    assert result.returncode == 0, result.stderr
    return list(csv.DictReader(io.StringIO(result.stdout)))


def _same(answer: Any, row: dict[str, str]) -> bool:
    """A JSON value equals predict's CSV cell: the same text, or the same number."""
    if isinstance(answer, float):
        return answer == float(row)  # type: ignore[arg-type]
    return str(answer) == row  # type: ignore[comparison-overlap]


def test_the_answers_are_predicts_for_the_same_csv(serve_iris: Path, iris_server: Server):
    assert iris_server.url.startswith("http://127.0.0.1:")
    body = IRIS_CSV.read_bytes()
    for flags, query in (((), ""), (("--proba",), "?proba=true")):
        expected = _predict_csv(serve_iris, IRIS_CSV, *flags)
        status, answer = _post(iris_server, body, "text/csv", f"/invocations{query}")
        assert status == 200
        predictions = answer["predictions"]
        assert len(predictions) == len(expected) == 150
        for got, row in zip(predictions, expected, strict=True):
            if flags:
                assert list(got) == list(row)
                assert all(_same(got[k], row[k]) for k in row), (got, row)
            else:
                assert got == row["species"]
    frame = pd.read_csv(IRIS_CSV)
    split = {"columns": list(frame.columns), "data": frame.to_numpy().tolist()}
    body = json.dumps({"dataframe_split": split, "params": {"proba": True}}).encode()
    status, answer = _post(iris_server, body, "application/json")
    assert status == 200
    expected = _predict_csv(serve_iris, IRIS_CSV, "--proba")
    assert all(
        all(_same(got[k], row[k]) for k in row)
        for got, row in zip(answer["predictions"], expected, strict=True)
    )


def test_every_status_code(iris_server: Server):
    assert _get(iris_server, "/ping") == (200, {"status": "ok"})
    assert _get(iris_server, "/health")[0] == 200
    status, described = _get(iris_server, "/metadata")
    assert status == 200 and described["labels"] == ["setosa", "versicolor", "virginica"]
    assert _post(iris_server, b"{", "application/json")[0] == 400
    assert _post(iris_server, b"x", "text/plain")[0] == 415
    status, error = _post(iris_server, b'{"instances": [[1, 2, 3, "x"]]}', "application/json")
    assert status == 422 and "'x' is not a number" in error["message"]
    # A body declared over 10 MiB is refused before it is sent (no reset while the client sends).
    with socket.create_connection(("127.0.0.1", iris_server.port), timeout=60) as sock:
        sock.sendall(
            b"POST /invocations HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            b"Content-Length: %d\r\n\r\n" % ((10 << 20) + 1)
        )
        head, body = _response(sock)
    assert head.startswith(b"HTTP/1.1 413 ")
    assert json.loads(body)["error_code"] == "REQUEST_TOO_LARGE"
    many = b'{"instances": [' + b"[1,2,3,4]," * 100_000 + b"[1,2,3,4]]}"  # 100,001 rows
    status, error = _post(iris_server, many, "application/json")
    assert status == 413 and "100001 rows" in error["message"]
    assert _get(iris_server, "/nowhere")[0] == 404


def test_eight_clients_of_25_requests_each_get_their_own_answers(serve_iris, iris_server):
    """Requests of different sizes at once: shared layer buffers would mix their rows."""
    frame = pd.read_csv(IRIS_CSV)
    local = Predictor(load_model(serve_iris))
    bodies, expected = [], []
    for k in range(8 * 25):
        rows = frame.iloc[(k * 13) % 150 :].head(1 + k % 40)
        records = json.loads(rows.to_json(orient="records"))
        body = json.dumps({"dataframe_records": records, "params": {"proba": k % 2 == 0}})
        bodies.append(body.encode())
        expected.append(local.predictions("application/json", bodies[-1], {}, Limits()))
    wrong: list[int] = []
    failures: list[BaseException] = []

    def client(first: int) -> None:
        try:
            for k in range(first, len(bodies), 8):
                status, answer = _post(iris_server, bodies[k], "application/json")
                if status != 200 or answer["predictions"] != expected[k]:
                    wrong.append(k)
        except BaseException as error:
            failures.append(error)

    threads = [threading.Thread(target=client, args=(i,)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert not failures and not any(t.is_alive() for t in threads)
    assert wrong == []


def test_sigterm_lets_the_request_in_flight_finish_then_exits_0(serve_iris: Path):
    server = start_server(serve_iris)
    body = IRIS_CSV.read_bytes()
    with socket.create_connection(("127.0.0.1", server.port), timeout=60) as sock:
        head = (
            "POST /invocations HTTP/1.1\r\nHost: x\r\nContent-Type: text/csv\r\n"
            f"Content-Length: {len(body)}\r\nExpect: 100-continue\r\n\r\n"
        )
        sock.sendall(head.encode())
        # "100 Continue" comes when the application reads the body: the request is in flight.
        interim = b""
        while b"\r\n\r\n" not in interim and (chunk := sock.recv(1)):
            interim += chunk
        assert interim.startswith(b"HTTP/1.1 100 Continue")
        server.process.send_signal(signal.SIGTERM)
        sock.sendall(body)
        reply = b""
        while chunk := sock.recv(1 << 16):
            reply += chunk
    status, _, rest = reply.partition(b"\r\n")
    assert status == b"HTTP/1.1 200 OK"
    answer = json.loads(rest.partition(b"\r\n\r\n")[2])
    assert len(answer["predictions"]) == 150
    assert server.process.wait(30) == 0
    assert "nnctl: stopped" in server.stderr_until_exit(5)


def test_a_port_in_use_is_a_usage_error(serve_iris: Path, iris_server: Server):
    result = run_nnctl("serve", serve_iris, "--port", str(iris_server.port), timeout=60)
    assert result.returncode == 2
    assert f"--port {iris_server.port}: cannot listen there" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_missing_model_is_exit_2_before_listening(tmp_path: Path):
    result = run_nnctl("serve", tmp_path / "nothing", "--port", "0", timeout=60)
    assert result.returncode == 2 and "listening" not in result.stderr


@pytest.mark.parametrize("workers", [2])
def test_workers_serve_the_same_answers(serve_iris: Path, workers: int):
    server = start_server(serve_iris, "--workers", str(workers))
    try:
        expected = _predict_csv(serve_iris, IRIS_CSV)
        for _ in range(4):
            status, answer = _post(server, IRIS_CSV.read_bytes(), "text/csv")
            assert status == 200 and answer["predictions"] == [r["species"] for r in expected]
    finally:
        server.process.send_signal(signal.SIGTERM)
    assert server.process.wait(60) == 0
