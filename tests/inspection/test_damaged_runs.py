"""What a user can get wrong, and runs that went wrong: damaged run files, diverged, empty and
interrupted runs, empty or misnamed data, narrow terminals. Each is one message and its exit
code (never a traceback, never exit 1), or a finding that says what happened."""

from __future__ import annotations

import io
import json
import shutil
from pathlib import Path

import pytest
from rich.console import Console
from typer.testing import CliRunner

from nnctl.cli import app
from nnctl.cli.render.diagnostics import _say
from nnctl.cli.render.inspect import print_inspection
from nnctl.inspection.doctor import diagnose
from nnctl.inspection.inspect import inspect_model
from tests.helpers import CONFIGS, DATASETS


def copy_run(run: Path, folder: Path) -> Path:
    """A copy of ``run`` to damage."""
    return Path(shutil.copytree(run, folder / "copy"))


def lines(path: Path) -> list[str]:
    return path.read_text().splitlines()


def by_rule(run: Path) -> dict[str, list[dict]]:  # type: ignore[type-arg]
    found: dict[str, list[dict]] = {}  # type: ignore[type-arg]
    for finding in diagnose(run)["findings"]:
        found.setdefault(finding["rule"]["name"], []).append(finding)
    return found


@pytest.mark.parametrize(
    ("name", "damage", "words"),
    [
        ("metrics.csv", lambda t: t.replace(t.splitlines()[2].split(",")[1], "abc", 1),
         "line 3, column 'train_loss': expected a number, found 'abc'"),
        ("layer_stats.csv", lambda t: "\n".join(",".join(r.split(",")[:5]) for r in t.splitlines()),
         "no column 'b_norm'"),
        ("layer_stats.csv", lambda t: t.replace(t.splitlines()[1].split(",")[2], "x1", 1),
         "line 2, column 'w_mean': expected a number, found 'x1'"),
        ("metrics.csv", lambda t: "epoch,val_loss\n1,0.5\n", "no column 'train_loss'"),
        ("layer_stats.csv", lambda t: t[: len(t) // 2 + 3], "does not match the header"),
    ],
)  # fmt: skip
def test_a_damaged_run_file_is_exit_3_naming_file_line_and_column(
    runner: CliRunner, iris_run: Path, tmp_path: Path, name: str, damage: object, words: str
) -> None:
    run = copy_run(iris_run, tmp_path)
    (run / name).write_text(damage((run / name).read_text()))  # type: ignore[operator]
    result = runner.invoke(app, ["doctor", str(run)])
    assert result.exit_code == 3, (result.stdout, result.stderr)
    assert f"{run / name}: damaged" in result.stderr and words in result.stderr
    assert "Traceback" not in result.stderr
    shown = runner.invoke(app, ["runs", "show", str(run)])  # runs show still shows the run
    assert shown.exit_code == 0, shown.stderr


def test_a_diverged_run_warns_and_its_json_has_no_nan(
    runner: CliRunner, iris_run: Path, tmp_path: Path
) -> None:
    run = copy_run(iris_run, tmp_path)
    rows = lines(run / "metrics.csv")
    cells = rows[2].split(",")
    cells[1] = "nan"
    (run / "metrics.csv").write_text("\n".join([*rows[:2], ",".join(cells)]) + "\n")
    [found] = by_rule(run)["learning_rate"]
    assert found["severity"] == "warn" and "diverged" in found["message"]
    assert found["evidence"] == {"epoch": 2, "column": "train_loss", "value": "nan"}
    result = runner.invoke(app, ["doctor", str(run), "--json"])
    assert result.exit_code == 0 and "NaN" not in result.stdout
    json.loads(result.stdout)


def test_a_run_that_diverged_before_its_first_epoch(iris_run: Path, tmp_path: Path) -> None:
    run = copy_run(iris_run, tmp_path)
    (run / "metrics.csv").unlink()
    record = json.loads((run / "run.json").read_text())
    (run / "run.json").write_text(json.dumps({**record, "status": "diverged"}))
    [found] = by_rule(run)["learning_rate"]
    assert found["severity"] == "warn" and "diverged after 0 complete epochs" in found["message"]


def test_a_run_with_no_epoch_logged_says_so(iris_run: Path, tmp_path: Path) -> None:
    run = copy_run(iris_run, tmp_path)
    for name in ("metrics.csv", "layer_stats.csv"):
        (run / name).write_text(lines(run / name)[0] + "\n")
    found = by_rule(run)
    assert all(f["severity"] == "info" for fs in found.values() for f in fs)
    assert "no rows yet" in found["dead_units"][0]["message"]
    assert "no rows yet" in found["gradient_flow"][0]["message"]  # not "a single layer"


def test_layer_stats_turned_off_is_named_as_the_reason(iris_run: Path, tmp_path: Path) -> None:
    run = copy_run(iris_run, tmp_path)
    (run / "layer_stats.csv").unlink()
    with (run / "config.yaml").open("a") as handle:
        handle.write("diagnostics: {layer_stats: false}\n")
    [found] = by_rule(run)["layer_stats"]
    assert "diagnostics.layer_stats: false" in found["message"]
    assert "from before" not in found["message"]


def test_empty_or_misnamed_data_is_exit_3(
    runner: CliRunner, iris_run: Path, tmp_path: Path
) -> None:
    header = tmp_path / "header.csv"
    header.write_text((DATASETS / "iris.csv").read_text().splitlines()[0] + "\n")
    for args in (["inspect", str(iris_run), "--data", str(header)],
                 ["trace", str(iris_run), "--row", "0", "--input", str(header)]):  # fmt: skip
        result = runner.invoke(app, args)
        assert result.exit_code == 3, result.stderr
        assert "expected at least one row of data, found none" in result.stderr
    bogus = runner.invoke(app, ["inspect", str(iris_run), "--data", "tset"])
    assert bogus.exit_code == 3
    assert "--data tset: expected a split of the run (train, validation, test)" in bogus.stderr


def test_narrow_terminal_transposes_the_weights_table(iris_run: Path) -> None:
    report = inspect_model(iris_run, "test", None, None)
    for width in (60, 200):
        out = io.StringIO()
        print_inspection(report, Console(file=out, width=width))
        text = out.getvalue()
        assert "…" not in text
        shown = [line for line in text.splitlines() if not line.startswith(("model:", "data:"))]
        assert max(len(line.rstrip()) for line in shown) <= width
        assert ("layer 0" in text.split("weights W")[1].splitlines()[2]) == (width == 60)
        assert f"{report['layers'][1]['weights']['norm']:.4g}"[:4] in text


def test_doctor_text_wraps_at_words_on_a_terminal() -> None:
    out = io.StringIO()
    console = Console(file=out, width=30, force_terminal=True)
    _say(console, "      evidence: a bb ccc dddd eeeee ffffff ggggggg")
    assert out.getvalue().splitlines() == [
        "      evidence: a bb ccc dddd",
        "            eeeee ffffff",
        "            ggggggg",
    ]


def test_validate_shows_the_diagnostics_section(runner: CliRunner) -> None:
    on = runner.invoke(app, ["validate", str(CONFIGS / "iris.yaml")])
    assert on.exit_code == 0 and "diagnostics: layer_stats.csv each epoch" in on.stdout
    off = runner.invoke(
        app, ["validate", str(CONFIGS / "iris.yaml"), "--set", "diagnostics.layer_stats=false"]
    )
    assert "diagnostics: no layer_stats.csv (diagnostics.layer_stats: false)" in off.stdout
