"""A value the model's type holds but its scaling takes out of range is named, never NaN.

Column ``b`` below has a standard deviation near 0.1, so standardizing 3e38, which float32 holds,
gives 3e39, which it does not: before, that row became infinity, then NaN, and predict wrote an
empty prediction (or, for a class, the first class) after two NumPy warnings.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pytest

from nnctl.config.loader import load_config
from nnctl.data.fit import split_targets
from nnctl.data.numeric import NumericTransform
from nnctl.data.scaled import ScaledOutOfRange
from nnctl.errors import DataError
from tests.helpers import CONFIGS, run_nnctl, write_config

N = 120


def small_b(folder: Path, name: str = "train.csv", huge_row: int | None = None) -> Path:
    """a ~ N(0, 1), b ~ N(0, 0.1), y = a + 10 b; b = 3e38 in row ``huge_row`` (from 0)."""
    rng = np.random.default_rng(1)
    a, b = rng.normal(size=N).tolist(), (0.1 * rng.normal(size=N)).tolist()
    lines = ["a,b,y"] + [f"{a[i]!r},{b[i]!r},{a[i] + 10 * b[i]!r}" for i in range(N)]
    if huge_row is not None:
        lines[huge_row + 1] = f"{a[huge_row]!r},3e38,1.0"
    path = folder / name
    path.write_text("\n".join(lines) + "\n")
    return path


def config(folder: Path, train: Path, dtype: str = "float32", extra: str = "") -> Path:
    return write_config(folder, f"""
version: 1
seed: 3
data: {{train: {train}, target: y, test_split: 0{extra}}}
model:
  layers: [{{units: 4, activation: relu}}, {{units: 1, activation: linear}}]
loss: mse
training: {{epochs: 2, batch_size: 32, dtype: {dtype}}}
""")  # fmt: skip


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A float32 and a float64 model of the same data."""
    folder = tmp_path_factory.mktemp("scaled-range")
    trained = {}
    for dtype in ("float32", "float64"):
        cfg = config(folder, small_b(folder), dtype)
        result = run_nnctl("train", cfg, "--quiet", "--runs-dir", folder / dtype)
        assert result.returncode == 0, result.stderr
        trained[dtype] = Path(result.stdout.strip())
    return trained


def test_predict_and_evaluate_name_the_value_and_write_nothing(runs, tmp_path: Path) -> None:
    new = small_b(tmp_path, "new.csv", huge_row=4)
    out = tmp_path / "out.csv"
    predicted = run_nnctl("predict", runs["float32"], new, "--output", out)
    assert predicted.returncode == 3
    error, hint = predicted.stderr.splitlines()
    assert error.startswith(
        f"nnctl: error: {new}: column 'b', row 5: 3e+38 scaled as the training rows were, (x "
    )
    assert error.endswith(", is out of the float32 range (largest magnitude 3.4e+38)")
    assert "RuntimeWarning" not in predicted.stderr and "Traceback" not in predicted.stderr
    assert hint == (
        "nnctl: hint: a value this far from the training rows is likely a mistake; check it, "
        "or train with training.dtype: float64"
    )
    assert not out.exists() and predicted.stdout == ""
    evaluated = run_nnctl("evaluate", runs["float32"], "--data", new)
    assert evaluated.returncode == 3
    assert evaluated.stderr.splitlines()[0] == error


def test_a_float64_model_holds_the_same_value(runs, tmp_path: Path) -> None:
    new = small_b(tmp_path, "new.csv", huge_row=4)
    predicted = run_nnctl("predict", runs["float64"], new)
    assert predicted.returncode == 0, predicted.stderr
    assert len(predicted.stdout.splitlines()) == N + 1
    assert predicted.stderr == ""


def test_a_validation_row_out_of_range_stops_training_naming_its_file_row(tmp_path: Path) -> None:
    cfg = config(tmp_path, small_b(tmp_path), extra=", validation_split: 0.25")
    loaded = load_config(cfg)
    values = np.loadtxt(loaded.data.train, delimiter=",", skiprows=1)[:, 2]
    row = int(split_targets(values, loaded, "").validation[0])  # as nnctl splits the rows
    small_b(tmp_path, huge_row=row)
    result = run_nnctl("train", cfg, "--quiet", "--runs-dir", tmp_path / "runs")
    assert result.returncode == 3
    message = result.stderr.splitlines()[0]
    assert message.startswith(
        f"nnctl: error: {loaded.data.train}: column 'b', row {row + 1}: its value scaled as the "
        "training rows were, (x "
    )
    assert message.endswith("is out of the float32 range (largest magnitude 3.4e+38)")
    assert result.stdout == ""


def test_the_first_value_out_of_range_is_found_in_a_later_chunk() -> None:
    block = np.ones((50_000, 3), dtype=np.float32)
    block[40_001, 2] = 3e38
    block[40_002, 1] = 3e38
    scaling = NumericTransform(fill=np.zeros(3), shift=np.zeros(3), divide=np.full(3, 0.5))
    with pytest.raises(ScaledOutOfRange) as info:
        scaling.scale(block)
    assert (info.value.row, info.value.column) == (40_001, 2)
    assert info.value.formula() == "x / 0.5"
    source = np.ones((50_000, 3), dtype=np.uint8)
    tiny = NumericTransform(fill=np.zeros(3), shift=np.full(3, -9.0), divide=np.full(3, 1e-38))
    rows = np.arange(50_000)[::-1]
    with pytest.raises(ScaledOutOfRange) as info:
        tiny.apply_to_bytes(source, rows, np.float32)  # (1 + 9) / 1e-38: every row, from 0
    assert (info.value.row, info.value.column) == (0, 0)
    assert info.value.formula() == "(x + 9) / 1e-38"


def test_a_column_whose_span_float32_cannot_hold_is_scaled_in_float64() -> None:
    block = np.array([[-3e38, 1.0], [3e38, 2.0], [0.0, 3.0]], dtype=np.float32)
    low = block.min(axis=0).astype(np.float64)  # as minmax fits them
    wide = NumericTransform(fill=np.zeros(2), shift=low, divide=block.max(axis=0) - low)
    assert wide.divide[0] > np.finfo(np.float32).max > wide.divide[1]
    expected = ((block.astype(np.float64) - wide.shift) / wide.divide).astype(np.float32)
    wide.scale(block)
    assert block.tobytes() == expected.tobytes()
    assert block[:, 0].tolist() == [0.0, 1.0, 0.5]


def test_the_data_error_says_what_it_can() -> None:
    error = ScaledOutOfRange(6, 1, 48.52, 13.11)
    found = error.data_error("a.csv", "column 'age'", "row 7", np.float64(np.float32(3e38)),
                             np.float32)  # fmt: skip
    assert isinstance(found, DataError)
    assert found.message == (
        "a.csv: column 'age', row 7: 3e+38 scaled as the training rows were, (x - 48.52) / 13.11, "
        "is out of the float32 range (largest magnitude 3.4e+38)"
    )
    wider = ScaledOutOfRange(0, 0, 0.0, 1e-300).data_error("<images>", "pixel 0", "image 1",
                                                            None, np.float64)  # fmt: skip
    assert wider.message.startswith("<images>: pixel 0, image 1: its value scaled as the training")
    assert wider.hint == "a value this far from the training rows is likely a mistake; check it"


def test_x_minus_shift_may_overflow_where_the_result_does_not() -> None:
    # 52 values near 3e38 and 8 near -3e38: the mean is 2.1e38, and -3e38 - 2.1e38 overflows
    # float32, though the standardized value is -2.5. The other column keeps float32's bytes.
    a = np.array([3e38] * 52 + [-3e38] * 8, dtype=np.float32)
    b = np.linspace(-1, 1, 60, dtype=np.float32)
    block = np.stack([a, b], axis=1)
    fitted = NumericTransform.fit_apply(block, 60, "standard", None, "error")
    wide = (a.astype(np.float64) - fitted.shift[0]) / fitted.divide[0]
    assert block[:, 0].tobytes() == wide.astype(np.float32).tobytes()
    assert block[-1, 0] == pytest.approx(-2.55, abs=0.01)
    narrow = (b - np.float32(fitted.shift[1])) / np.float32(fitted.divide[1])
    assert block[:, 1].tobytes() == narrow.tobytes()


def test_values_near_the_float64_limit_are_standardized() -> None:
    block = np.array([[-1.7e308], [1.7e308], [1.7e308], [1.7e308]])
    fitted = NumericTransform.fit_apply(block, 4, "standard", None, "error")
    assert np.isfinite(block).all()
    assert block[:, 0] == pytest.approx(
        [-np.sqrt(3), 1 / np.sqrt(3), 1 / np.sqrt(3), 1 / np.sqrt(3)]
    )
    assert np.isfinite(fitted.shift).all() and np.isfinite(fitted.divide).all()


def test_a_span_float64_cannot_hold_is_an_error_that_says_so() -> None:
    block = np.array([[-1.7e308], [1.7e308], [0.0]])
    with pytest.raises(ScaledOutOfRange) as info:
        NumericTransform.fit_apply(block, 3, "minmax", None, "error")
    error = info.value.data_error("w.csv", "column 'a'", "row 2", None, np.float64, "minmax")
    assert (
        error.hint
        == "the column's range (max - min) is beyond float64: set data.normalize: standard"
    )


def test_a_divisor_that_rounds_to_zero_is_an_error_not_a_division_by_zero() -> None:
    scaling = NumericTransform(fill=np.zeros(1), shift=np.zeros(1), divide=np.full(1, 1e-50))
    with pytest.raises(ScaledOutOfRange) as info:
        scaling.scale(np.array([[0.0], [1.0]], dtype=np.float32))
    assert (info.value.row, info.value.column) == (1, 0)  # 0 / 1e-50 is 0, and in range
    error = info.value.data_error("d.csv", "column 'x'", "row 2", None, np.float32, "scale")
    assert error.hint == "data.scale is too small for this column in float32: give a larger divisor"


def test_validate_finds_what_train_finds(tmp_path: Path) -> None:
    validation = small_b(tmp_path, "validation.csv", huge_row=7)
    cfg = config(tmp_path, small_b(tmp_path), extra=f", validation: {validation}")
    validated = run_nnctl("validate", cfg)
    trained = run_nnctl("train", cfg, "--quiet", "--runs-dir", tmp_path / "runs")
    assert validated.returncode == trained.returncode == 3
    assert validated.stderr == trained.stderr
    assert validated.stderr.startswith(f"nnctl: error: {validation}: column 'b', row 8: 3e+38 ")


def test_a_shift_that_rounds_up_to_the_threshold_in_float32_is_computed_in_float64() -> None:
    shift = 2.0**103 - 2.0**78  # float32 rounds it to 2**103, half an ulp of its largest value
    assert float(np.float32(shift)) == 2.0**103
    largest = float(np.finfo(np.float32).max)
    scaling = NumericTransform(fill=np.zeros(1), shift=np.full(1, shift), divide=np.full(1, 3e23))
    block = np.array([[-largest], [largest]], dtype=np.float32)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        scaling.scale(block)
    expected = ((np.array([-largest, largest]) - shift) / 3e23).astype(np.float32)
    assert block[:, 0].tobytes() == expected.tobytes()


def test_a_subnormal_divisor_is_computed_in_float64() -> None:
    scaling = NumericTransform(fill=np.zeros(1), shift=np.zeros(1), divide=np.full(1, 1e-44))
    block = np.array([[1e-10], [3e-7]], dtype=np.float32)
    expected = (block[:, 0].astype(np.float64) / 1e-44).astype(np.float32)
    scaling.scale(block)
    assert block[:, 0].tobytes() == expected.tobytes()  # float32 rounds 1e-44 to 9.8e-45


@pytest.mark.parametrize("missing", ["mean", "median"])
def test_a_fill_near_the_float64_limit_is_finite_and_says_nothing(missing: str) -> None:
    column = np.array([[1e308], [1e308], [-1e308], [1e308], [np.nan]])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        fitted = NumericTransform.fit_apply(column, 5, "standard", None, missing)  # type: ignore[arg-type]
    assert fitted.fill[0] == pytest.approx(5e307 if missing == "mean" else 1e308)
    assert np.isfinite(column).all()


def test_validate_refuses_a_pixel_scale_that_overflows(tmp_path: Path) -> None:
    digits = CONFIGS / "digits.yaml"
    tiny = ("--set", "data.normalize=scale", "--set", "data.scale=1e-39")
    validated = run_nnctl("validate", digits, *tiny)
    assert validated.returncode == 3
    assert "data.scale: 1e-39 takes a pixel of 1 to 1e+39, out of the float32 range" in (
        validated.stderr
    )
    trained = run_nnctl("train", digits, *tiny, "--quiet", "--runs-dir", tmp_path / "runs")
    assert trained.returncode == 3 and "x / 1e-39, is out of the float32 range" in trained.stderr
    assert run_nnctl("validate", digits, "--set", "data.normalize=scale", "--set",
                     "data.scale=255").returncode == 0  # fmt: skip
