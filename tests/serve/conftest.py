"""Small trained models for the serve tests (trained once per session, in-process), and clients."""

from __future__ import annotations

import contextlib
import os
import queue
import signal
import subprocess
import threading
import time
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

with warnings.catch_warnings():  # Starlette 1.10 suggests httpx2; the [dev] extra has httpx
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient

from nnctl.config.loader import load_config
from nnctl.serve.app import Limits, create_app
from nnctl.store.model import load_model
from nnctl.workflows.train import train_run
from tests.helpers import CONFIGS, DATASETS, iris_config, nnctl_executable, write_config

READY_SECONDS = 60


def _trained(folder: Path, config: Path) -> Path:
    return train_run(load_config(config), runs_dir=folder / "runs").path


@pytest.fixture(scope="session")
def serve_iris(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An iris run (3 classes, softmax, 20 epochs)."""
    folder = tmp_path_factory.mktemp("serve-iris")
    return _trained(folder, iris_config(folder, epochs=20))


@pytest.fixture(scope="session")
def serve_pets(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A binary model (sigmoid), a text column ``color`` (red, green, blue), integer labels."""
    folder = tmp_path_factory.mktemp("serve-pets")
    lines = ["weight,color,pet"]
    for i in range(40):
        lines.append(f"{3 + i % 7},{['red', 'green', 'blue'][i % 3]},{i % 2}")
    (folder / "pets.csv").write_text("\n".join(lines) + "\n")
    config = write_config(
        folder,
        """
version: 1
data: {train: pets.csv, target: pet, categorical: [color]}
model:
  layers:
    - {units: 4, activation: relu}
    - {units: 1, activation: sigmoid}
loss: binary_crossentropy
training: {epochs: 3, batch_size: 8}
""",
    )
    return _trained(folder, config)


@pytest.fixture(scope="session")
def serve_diabetes(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A regression model (diabetes, 2 epochs)."""
    folder = tmp_path_factory.mktemp("serve-diabetes")
    text = (CONFIGS / "diabetes.yaml").read_text().replace("../datasets/", f"{DATASETS}/")
    config = write_config(folder, text.replace("epochs: 200", "epochs: 2"))
    return _trained(folder, config)


ClientFor = Callable[..., TestClient]


@pytest.fixture
def client_for() -> Iterator[ClientFor]:
    """``client_for(run, max_bytes=..., max_rows=...)``: an in-process client of the app."""
    made: list[TestClient] = []

    def make(run: Path, **limits: int) -> TestClient:
        client = TestClient(create_app(load_model(run), Limits(**limits)))
        made.append(client)
        return client

    yield make
    for client in made:
        client.close()


@dataclass
class Server:
    """A real ``nnctl serve`` process and what it wrote on stderr."""

    process: subprocess.Popen[str]
    url: str
    lines: queue.Queue[str]

    @property
    def port(self) -> int:
        return int(self.url.rsplit(":", 1)[1])

    def stderr_until_exit(self, timeout: float) -> str:
        """Wait for the process to end; return the rest of its stderr."""
        self.process.wait(timeout)
        text: list[str] = []
        with contextlib.suppress(queue.Empty):
            while True:
                text.append(self.lines.get(timeout=5))
                if text[-1] == "":
                    break
        return "".join(text)


def start_server(run: Path, *args: str) -> Server:
    """Start ``nnctl serve RUN --port 0 ARGS`` and wait (60 s at most) for its listening line."""
    env = {**os.environ, "NNCTL_DEBUG": ""}
    process = subprocess.Popen(
        [*nnctl_executable(), "serve", str(run), "--port", "0", *args],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    lines: queue.Queue[str] = queue.Queue()

    def read() -> None:
        assert process.stderr is not None
        for line in process.stderr:
            lines.put(line)
        lines.put("")  # the end

    threading.Thread(target=read, daemon=True).start()
    deadline = time.monotonic() + READY_SECONDS
    seen = []
    while time.monotonic() < deadline:
        try:
            line = lines.get(timeout=max(0.0, deadline - time.monotonic()))
        except queue.Empty:
            break
        seen.append(line)
        if "listening on http://" in line:
            return Server(process, line.split("listening on ", 1)[1].strip(), lines)
        if line == "":
            break
    process.kill()
    process.wait()
    raise AssertionError(f"no listening line within {READY_SECONDS} s; stderr: {''.join(seen)}")


@pytest.fixture(scope="module")
def iris_server(serve_iris: Path) -> Iterator[Server]:
    """One real server of the iris run for a test module."""
    server = start_server(serve_iris)
    yield server
    if server.process.poll() is None:
        server.process.send_signal(signal.SIGTERM)
        server.process.wait(30)


@pytest.fixture(scope="session")
def serve_idx(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A model of 24 IDX images of 4 x 4 pixels, two classes."""
    import struct

    folder = tmp_path_factory.mktemp("serve-idx")
    n = 24
    pixels = bytes((7 * i) % 256 for i in range(n * 4 * 4))
    (folder / "images").write_bytes(struct.pack(">IIII", 0x803, n, 4, 4) + pixels)
    (folder / "labels").write_bytes(struct.pack(">II", 0x801, n) + bytes(i % 2 for i in range(n)))
    config = write_config(
        folder,
        """
version: 1
data: {train: images, train_labels: labels}
model:
  layers:
    - {units: 2, activation: softmax}
loss: categorical_crossentropy
training: {epochs: 2, batch_size: 8}
""",
    )
    return _trained(folder, config)
