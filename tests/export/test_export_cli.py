"""``nnctl export`` on the command line: what it writes, what it refuses, and its exit codes."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from typer.testing import CliRunner

from nnctl import __version__
from nnctl.cli import app
from nnctl.export import network as export_network
from nnctl.export.verify import nnctl_answers
from nnctl.store.model import Model

MakeModel = Callable[..., Model]


def test_export_writes_a_checked_onnx_file_and_prints_its_path(
    runner: CliRunner, make_model: MakeModel, tmp_path: Path
) -> None:
    model = make_model(text=True, unseen="error")
    out = tmp_path / "m.onnx"
    result = runner.invoke(app, ["export", str(model.path), "--format", "onnx", "-o", str(out)])
    assert result.exit_code == 0, result.stderr
    assert result.stdout == f"{out}\n"
    assert "input  numeric: float32 [N, 4]  x0, x1, x2, x3" in result.stderr
    assert "input  text: string [N, 2]  colour, size" in result.stderr
    assert "unseen_categories: error, which a graph cannot enforce" in result.stderr
    assert "data.missing: error" in result.stderr
    proto = onnx.load(str(out))
    onnx.checker.check_model(proto, full_check=True)
    assert proto.ir_version == 9
    assert [(o.domain, o.version) for o in proto.opset_import] == [("", 20)]
    meta = {p.key: p.value for p in proto.metadata_props}
    assert json.loads(meta["nnctl.inputs"]) == [
        {"name": "numeric", "columns": ["x0", "x1", "x2", "x3"], "dtype": "float32"},
        {"name": "text", "columns": ["colour", "size"], "dtype": "string"},
    ]
    assert meta["nnctl.version"] == __version__
    assert meta["nnctl.run"] == model.path.name
    batch = proto.graph.input[0].type.tensor_type.shape.dim[0]
    assert batch.dim_param == "N"


def test_the_same_model_gives_the_same_bytes(
    runner: CliRunner, make_model: MakeModel, tmp_path: Path
) -> None:
    model = make_model(task="regression", missing="median")
    for name in ("a.onnx", "b.onnx"):
        result = runner.invoke(app, ["export", str(model.path), "-o", str(tmp_path / name)])
        assert result.exit_code == 0, result.stderr
        assert "warning" not in result.stderr  # median imputation: nothing left unenforced
    assert (tmp_path / "a.onnx").read_bytes() == (tmp_path / "b.onnx").read_bytes()


def test_json_summary(runner: CliRunner, make_model: MakeModel, tmp_path: Path) -> None:
    model = make_model(idx=True, normalize="none")
    result = runner.invoke(
        app, ["export", str(model.path), "-o", str(tmp_path / "m.onnx"), "--json"]
    )
    assert result.exit_code == 0, result.stderr
    summary = json.loads(result.stdout)
    assert summary["inputs"] == [
        {"name": "pixels", "columns": [f"pixel{i}" for i in range(16)], "dtype": "float32"}
    ]
    assert summary["outputs"] == ["label", "probabilities"]
    assert list(summary["max_difference"]) == ["probabilities"]
    assert summary["max_difference"]["probabilities"] < 1e-6


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["-o", "{tmp}/m.onx"], "an onnx file's name ends in .onnx, got .onx"),
        (["-o", "{tmp}/m"], "got no suffix"),
        (["--format", "tflite", "-o", "{tmp}/m.onnx"], "--format tflite: unknown format"),
        (["-o", "{tmp}/nowhere/m.onnx"], "the folder"),
    ],
)
def test_bad_format_or_file_name_is_exit_2_and_writes_nothing(
    runner: CliRunner, make_model: MakeModel, tmp_path: Path, args: list[str], message: str
) -> None:
    model = make_model()
    before = sorted(tmp_path.iterdir())
    argv = ["export", str(model.path), *[a.format(tmp=tmp_path) for a in args]]
    result = runner.invoke(app, argv)
    assert result.exit_code == 2
    assert message in result.stderr
    assert "Traceback" not in result.stderr
    assert sorted(tmp_path.iterdir()) == before


def test_an_unreadable_model_is_exit_3(runner: CliRunner, tmp_path: Path) -> None:
    bad = tmp_path / "best.npz"
    bad.write_bytes(b"not a zip")
    result = runner.invoke(app, ["export", str(bad), "-o", str(tmp_path / "m.onnx")])
    assert result.exit_code == 3
    assert str(bad) in result.stderr
    assert not (tmp_path / "m.onnx").exists()


def test_a_graph_that_disagrees_with_nnctl_is_exit_5_and_nothing_is_written(
    runner: CliRunner, make_model: MakeModel, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    model = make_model(activation="tanh")
    out = tmp_path / "m.onnx"
    out.write_bytes(b"previous")
    monkeypatch.setitem(export_network.ACTIVATIONS, "tanh", export_network.ACTIVATIONS["relu"])
    result = runner.invoke(app, ["export", str(model.path), "-o", str(out)])
    assert result.exit_code == 5
    assert "the ONNX graph disagrees with nnctl" in result.stderr
    assert "nothing was written" in result.stderr
    assert out.read_bytes() == b"previous"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.onnx", model.path.name]


def test_a_missing_extra_says_what_to_install(
    runner: CliRunner, make_model: MakeModel, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    model = make_model()
    monkeypatch.setitem(sys.modules, "onnx", None)
    result = runner.invoke(app, ["export", str(model.path), "-o", str(tmp_path / "m.onnx")])
    assert result.exit_code == 2
    assert "pip install 'nnctl[onnx]'" in result.stderr


def test_what_the_graph_cannot_enforce_is_what_the_warning_says(
    make_model: MakeModel, tmp_path: Path
) -> None:
    """missing: error gives NaN answers; unseen_categories: error encodes zeros (no error)."""
    from nnctl.export.onnx import export_onnx

    model = make_model(text=True, unseen="error")
    with pytest.warns(UserWarning):
        export_onnx(model.path, tmp_path / "m.onnx")
    session = ort.InferenceSession(str(tmp_path / "m.onnx"), providers=["CPUExecutionProvider"])
    numeric = np.array([[np.nan, 0, 0, 0], [0, 0, 0, 0]], dtype=np.float32)
    text = np.array([["red", "S"], ["purple", "XXL"]], dtype=object)
    _, probabilities = session.run(["label", "probabilities"], {"numeric": numeric, "text": text})
    assert np.isnan(probabilities[0]).all()
    ignoring = replace(model, preprocessor=replace(model.preprocessor, unseen_categories="ignore"))
    zeros = nnctl_answers(ignoring, {"numeric": numeric[1:], "text": text[1:]})
    np.testing.assert_allclose(probabilities[1:], zeros["probabilities"], rtol=1e-5, atol=1e-6)


def test_a_run_is_checked_on_its_test_split_and_a_lone_checkpoint_without(
    runner: CliRunner, tmp_path: Path
) -> None:
    import shutil

    from nnctl.config.loader import load_config
    from nnctl.workflows.train import train_run
    from tests.helpers import iris_config

    run = train_run(load_config(iris_config(tmp_path, epochs=2)), runs_dir=tmp_path / "runs").path
    result = runner.invoke(app, ["export", str(run), "-o", str(tmp_path / "a.onnx"), "--json"])
    assert result.exit_code == 0, result.stderr
    summary = json.loads(result.stdout)
    assert summary["test_rows_checked"] == 22  # 15% of iris's 150 rows
    assert summary["rows_checked"] == 22 + 66
    alone = tmp_path / "alone.npz"
    shutil.copy(run / "checkpoints" / "best.npz", alone)
    result = runner.invoke(app, ["export", str(alone), "-o", str(tmp_path / "b.onnx"), "--json"])
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["test_rows_checked"] == 0
    meta = {p.key: p.value for p in onnx.load(str(tmp_path / "a.onnx")).metadata_props}
    assert meta["nnctl.run"] == f"{run.name}/checkpoints/best.npz"
