"""A row longer than the header is refused: pandas would shift every value one column over.

pandas reads a CSV whose first row has more values than the header has names with the extra
leading values as an index, and no error: ``5.1,3.5,1.4,0.2,9,9`` under a 4-name header gave the
values ``1.4, 0.2, 9, 9``, and ``nnctl predict`` answered ``virginica`` for a setosa.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from datahelp import make_config, write_text

from nnctl.data import load_training_data
from nnctl.data.formats.csv.read import read_chunks
from nnctl.errors import DataError

HEADER = "a,b,y\n"


@pytest.mark.parametrize(
    "rows",
    [
        "1,2,0,7,7\n3,4,1,7,7\n5,6,0,7,7\n7,8,1,7,7\n",  # two extra values on every row
        "1,2,0,\n3,4,1,\n5,6,0,\n7,8,1,\n",  # a delimiter at the end of each line
    ],
    ids=["extra-values", "trailing-delimiter"],
)
def test_training_data_with_long_rows_is_refused(tmp_path: Path, rows: str) -> None:
    path = write_text(tmp_path / "long.csv", HEADER + rows)
    config = make_config({"train": path, "target": "y"}, units=2)
    with pytest.raises(DataError, match=r"long.csv: the first row has \d values but the header"):
        load_training_data(config)


def test_predicted_rows_with_long_rows_are_refused(tmp_path: Path) -> None:
    path = write_text(tmp_path / "long.csv", "a,b\n1,2,9\n3,4,9\n")
    with pytest.raises(DataError, match=r"first row has 3 values but the header has 2 columns"):
        list(read_chunks(path, ",", 1000, []))


def test_rows_as_long_as_the_header_are_read(tmp_path: Path) -> None:
    path = write_text(tmp_path / "ok.csv", "a,b\n1,2\n3,4\n")
    (chunk,) = list(read_chunks(path, ",", 1000, []))
    assert chunk.to_numpy().tolist() == [[1, 2], [3, 4]]


def test_predict_says_so_and_exits_3(tmp_path: Path) -> None:
    train = write_text(
        tmp_path / "t.csv", HEADER + "".join(f"{i % 5},{i % 3},{i % 2}\n" for i in range(40))
    )
    config = write_text(
        tmp_path / "c.yaml",
        f"data: {{train: {train.name}, target: y}}\n"
        "model: {layers: [{units: 2, activation: softmax}]}\n"
        "loss: categorical_crossentropy\ntraining: {epochs: 1}\n",
    )
    nnctl = [sys.executable, "-m", "nnctl"]
    run = subprocess.run(
        [*nnctl, "train", str(config), "--runs-dir", str(tmp_path / "runs"), "--quiet"],
        capture_output=True, text=True, check=True,
    ).stdout.strip()  # fmt: skip
    out = subprocess.run(
        [*nnctl, "predict", run, "-"], input="a,b\n1,2,9\n", capture_output=True, text=True
    )
    assert out.returncode == 3, out.stderr
    assert out.stdout == ""
    assert "<stdin>: the first row has 3 values but the header has 2 columns" in out.stderr
    assert "Traceback" not in out.stderr
