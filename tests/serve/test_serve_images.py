"""A model of IDX images: ``instances`` are images of bytes, answered as predict answers a file."""

from __future__ import annotations

import struct
from pathlib import Path

import numpy as np

from nnctl.serve.app import json_value
from nnctl.store.model import load_model
from nnctl.workflows.predict import prediction_frames
from tests.serve.conftest import ClientFor


def test_images_as_instances_answer_what_predict_gives(serve_idx: Path, client_for: ClientFor,
                                                       tmp_path: Path) -> None:  # fmt: skip
    images = np.random.default_rng(0).integers(0, 256, size=(5, 4, 4), dtype=np.uint8)
    path = tmp_path / "images"
    path.write_bytes(struct.pack(">IIII", 0x803, 5, 4, 4) + images.tobytes())
    [frame] = list(prediction_frames(load_model(serve_idx), path, proba=True))
    expected = [{c: json_value(frame[c].to_numpy()[i]) for c in frame.columns} for i in range(5)]
    client = client_for(serve_idx)
    for instances in (images.tolist(), images.reshape(5, 16).tolist()):
        body = {"instances": instances, "params": {"proba": True}}
        answer = client.post("/invocations", json=body)
        assert answer.status_code == 200, answer.text
        assert answer.json() == {"predictions": expected}
    assert client.get("/metadata").json()["inputs"] == [
        {"name": "image", "type": "bytes", "shape": [4, 4]}
    ]


def test_images_that_are_not_bytes_are_refused(serve_idx: Path, client_for: ClientFor) -> None:
    client = client_for(serve_idx)
    wrong_size = client.post("/invocations", json={"instances": [[1, 2, 3]]})
    assert wrong_size.status_code == 400 and "16 pixels" in wrong_size.json()["message"]
    not_bytes = client.post("/invocations", json={"instances": [[300] * 16]})
    assert not_bytes.status_code == 422 and "0-255" in not_bytes.json()["message"]
    as_csv = client.post("/invocations", content=b"a\n1\n", headers={"Content-Type": "text/csv"})
    assert as_csv.status_code == 415
    records = client.post("/invocations", json={"dataframe_records": [{"a": 1}]})
    assert records.status_code == 400 and "instances" in records.json()["message"]
