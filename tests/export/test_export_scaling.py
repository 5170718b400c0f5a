"""A model with a column its float32 graph would overflow on is refused, before any file."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from tests.helpers import run_nnctl, write_config


def test_a_column_nnctl_scales_in_float64_is_not_exported(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    a = rng.choice([-3e38, 3e38], size=60).tolist()
    lines = ["a,b,y"] + [f"{a[i]!r},{float(rng.normal())!r},{i % 2}" for i in range(60)]
    (tmp_path / "wide.csv").write_text("\n".join(lines) + "\n")
    cfg = write_config(tmp_path, f"""
version: 1
data: {{train: {tmp_path / "wide.csv"}, target: y, normalize: minmax}}
model:
  layers: [{{units: 4, activation: relu}}, {{units: 2, activation: softmax}}]
loss: categorical_crossentropy
training: {{epochs: 1}}
""")  # fmt: skip
    trained = run_nnctl("train", cfg, "--quiet", "--runs-dir", tmp_path / "runs")
    assert trained.returncode == 0, trained.stderr  # minmax's span 6e38: scaled in float64
    run = Path(trained.stdout.strip())
    out = tmp_path / "m.onnx"
    exported = run_nnctl("export", run, "-o", out)
    assert exported.returncode == 3
    error, hint = exported.stderr.splitlines()[-2:]
    assert (
        error.startswith("nnctl: error: ")
        and "column 'a' is scaled as (x + 3e+38) / 6e+38" in error
    )
    assert error.endswith("which nnctl computes in float64 and a float32 graph cannot")
    assert hint == "nnctl: hint: train the model with training.dtype: float64 to export it"
    assert "RuntimeWarning" not in exported.stderr
    assert not out.exists()
