"""Latency and throughput of ``nnctl serve``: a real server process, a client loop on one machine.

Trains a small iris model, starts ``nnctl serve RUN --port 0`` (waits for its listening line),
then over one keep-alive HTTP connection per client:

- one-row JSON requests (``dataframe_split``, with and without ``proba``): latency p50 and p99;
- 1,000-row requests (JSON, and CSV): rows per second and the latency of each request;
- the one-row requests from several clients at once: requests per second (the network is shared
  behind a lock; the parsing and the JSON run outside it).

Client and server share the machine's cores, so the figures include the client's own work.

Run: python benchmarks/bench_serve.py [--requests 2000] [--big 100] [--clients 4] [--workers 1]
"""

from __future__ import annotations

import argparse
import http.client
import json
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np
from machine import describe

ROOT = Path(__file__).resolve().parent.parent
COLUMNS = ["sepal_length", "sepal_width", "petal_length", "petal_width"]


def nnctl() -> list[str]:
    found = shutil.which("nnctl")
    return [found] if found else [sys.executable, "-m", "nnctl"]


def train(folder: Path) -> str:
    command = [*nnctl(), "train", str(ROOT / "configs/iris.yaml"), "--runs-dir", str(folder)]
    command += ["--quiet", "--set", "training.epochs=5"]
    return subprocess.run(command, check=True, capture_output=True, text=True).stdout.strip()


def start(run: str, workers: int) -> tuple[subprocess.Popen[str], int]:
    """The server process and its port, once it says it listens (60 s at most)."""
    command = [*nnctl(), "serve", run, "--port", "0", "--workers", str(workers)]
    process = subprocess.Popen(command, stderr=subprocess.PIPE, text=True)
    assert process.stderr is not None
    deadline = time.monotonic() + 60
    for line in process.stderr:
        if "listening on http://" in line:
            return process, int(line.strip().rsplit(":", 1)[1])
        if time.monotonic() > deadline:
            break
    process.kill()
    raise SystemExit(f"the server did not start: {line}")


def bodies(rows: int, count: int, proba: bool) -> list[bytes]:
    """``count`` JSON bodies of ``rows`` random iris-shaped rows each."""
    rng = np.random.default_rng(0)
    made = []
    for _ in range(count):
        data = rng.uniform(0, 8, size=(rows, len(COLUMNS))).round(1).tolist()
        split = {"columns": COLUMNS, "data": data}
        made.append(json.dumps({"dataframe_split": split, "params": {"proba": proba}}).encode())
    return made


def csv_bodies(rows: int, count: int) -> list[bytes]:
    rng = np.random.default_rng(1)
    made = []
    for _ in range(count):
        values = rng.uniform(0, 8, size=(rows, len(COLUMNS))).round(1)
        lines = [",".join(COLUMNS), *(",".join(f"{v:.1f}" for v in row) for row in values)]
        made.append(("\n".join(lines) + "\n").encode())
    return made


def send_all(port: int, payloads: list[bytes], kind: str) -> list[float]:
    """Seconds of each request, sent one after another over one connection."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    seconds = []
    for body in payloads:
        start = time.perf_counter()
        connection.request("POST", "/invocations", body, {"Content-Type": kind})
        answer = connection.getresponse()
        answer.read()
        seconds.append(time.perf_counter() - start)
        if answer.status != 200:
            raise SystemExit(f"status {answer.status}")
    connection.close()
    return seconds


def percentiles(seconds: list[float]) -> str:
    ms = np.array(seconds) * 1000
    return f"p50 {np.percentile(ms, 50):6.2f} ms  p99 {np.percentile(ms, 99):6.2f} ms"


def concurrent(port: int, payloads: list[bytes], clients: int) -> float:
    """Requests per second of ``clients`` threads sending ``payloads`` between them."""
    shares = [payloads[i::clients] for i in range(clients)]
    threads = [
        threading.Thread(target=send_all, args=(port, share, "application/json"))
        for share in shares
    ]
    start = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return len(payloads) / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--requests", type=int, default=2000, help="one-row requests")
    parser.add_argument("--big", type=int, default=100, help="1,000-row requests")
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--workers", type=int, default=1)
    args = parser.parse_args()
    print(describe(), flush=True)
    with tempfile.TemporaryDirectory() as tmp:
        run = train(Path(tmp) / "runs")
        process, port = start(run, args.workers)
        try:
            send_all(port, bodies(1, 50, False), "application/json")  # warm-up
            for proba in (False, True):
                seconds = send_all(port, bodies(1, args.requests, proba), "application/json")
                print(f"1 row, JSON, proba={proba!s:5}: {percentiles(seconds)}", flush=True)
            for kind, payloads in (
                ("application/json", bodies(1000, args.big, True)),
                ("text/csv", csv_bodies(1000, args.big)),
            ):
                seconds = send_all(port, payloads, kind)
                rate = 1000 * len(seconds) / sum(seconds)
                print(f"1,000 rows, {kind:16}: {rate:9,.0f} rows/s  {percentiles(seconds)}")
            rate = concurrent(port, bodies(1, args.requests, False), args.clients)
            print(f"1 row, {args.clients} clients at once: {rate:7,.0f} requests/s")
        finally:
            process.terminate()
            process.wait(60)


if __name__ == "__main__":
    main()
