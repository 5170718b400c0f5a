"""``nnctl report``'s page: its sections, its bytes, its escaping, and what it never writes."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import pytest

from nnctl.config.loader import load_config
from nnctl.errors import UsageError
from nnctl.workflows.report import report
from nnctl.workflows.train import train_run
from tests.helpers import DATASETS, write_config

HOSTILE_COLUMN = "<img src=x.png>&amp"
HOSTILE_LABEL = "<script>alert(1)</script>"


@pytest.fixture(scope="module")
def hostile_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A CSV whose column name and class labels are HTML, in a folder whose name is too."""
    folder = tmp_path_factory.mktemp("report") / "<b>&runs"
    folder.mkdir()
    lines = [f"{HOSTILE_COLUMN},b,label"]
    for i in range(60):
        label = HOSTILE_LABEL if i % 2 else "plain"
        lines.append(f"{i % 7},{(i * 3) % 5},{label}")
    (folder / "hostile.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    config = write_config(
        folder,
        f"""
version: 1
name: hostile
data: {{train: {folder / "hostile.csv"}, target: label, test_split: 0.3}}
model: {{layers: [{{units: 4, activation: tanh}}, {{units: 2, activation: softmax}}]}}
loss: categorical_crossentropy
metrics: [accuracy]
training: {{epochs: 3, batch_size: 8}}
""",
    )
    return train_run(load_config(config), runs_dir=folder / "runs").path


@pytest.fixture(scope="module")
def diabetes_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("report-diabetes")
    config = write_config(
        folder,
        f"""
version: 1
data: {{train: {DATASETS / "diabetes.csv"}, target: target, test_split: 0.2}}
model: {{layers: [{{units: 8, activation: relu}}, {{units: 1, activation: linear}}]}}
loss: mse
metrics: [rmse]
training: {{epochs: 3}}
""",
    )
    return train_run(load_config(config), runs_dir=folder / "runs").path


def _digests(run: Path) -> dict[str, str]:
    return {
        str(p.relative_to(run)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(run.rglob("*"))
        if p.is_file()
    }


def test_same_run_same_bytes_and_records_untouched(iris_run: Path, tmp_path: Path) -> None:
    before = _digests(iris_run)
    first = report(iris_run, tmp_path / "a.html").read_bytes()
    second = report(iris_run, tmp_path / "b.html").read_bytes()
    assert first == second
    assert _digests(iris_run) == before


def test_default_output_is_inside_the_run(iris_run: Path) -> None:
    before = _digests(iris_run)
    path = report(iris_run)
    assert path == iris_run / "report.html"
    after = _digests(iris_run)
    assert set(after) - set(before) == {"report.html"}
    assert {k: v for k, v in after.items() if k != "report.html"} == before


def test_page_references_nothing_outside_itself(iris_run: Path, tmp_path: Path) -> None:
    text = report(iris_run, tmp_path / "r.html").read_text(encoding="utf-8")
    sources = re.findall(r'(?:src|href)="([^"]*)"', text)
    assert sources
    assert all(s.startswith(("data:image/png;base64,", "#")) for s in sources)
    assert "<script" not in text and "<link" not in text and "@import" not in text


def test_classification_sections(iris_run: Path, tmp_path: Path) -> None:
    text = report(iris_run, tmp_path / "r.html").read_text(encoding="utf-8")
    for anchor in ("run", "config", "curves", "scores", "classes", "layers", "stats", "doctor",
                   "network", "wrong"):  # fmt: skip
        assert f'<section id="{anchor}">' in text
    for word in ("precision", "recall", "f1", "support", "setosa", "1e-3", "dead", "saturated"):
        assert word in text
    assert text.count("<figcaption>") == text.count("<img ")
    assert 'id="weights"' not in text  # CSV data: no image tiles


def test_everything_from_the_data_is_escaped(hostile_run: Path, tmp_path: Path) -> None:
    text = report(hostile_run, tmp_path / "r.html").read_text(encoding="utf-8")
    assert "<script>" not in text and "<b>&" not in text and "<img src=x" not in text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in text  # a label, in the per-class table
    assert "&lt;img src=x.png&gt;&amp;amp" in text  # the column, in the most-wrong rows
    assert "&lt;b&gt;&amp;runs" in text  # the path


def test_regression_shows_the_rows_with_the_largest_errors(
    diabetes_run: Path, tmp_path: Path
) -> None:
    text = report(diabetes_run, tmp_path / "r.html").read_text(encoding="utf-8")
    assert 'id="classes"' not in text and '<section id="fit">' in text
    wrong = text.split('<section id="wrong">')[1].split("</section>")[0]
    assert "|error|" in wrong and "bmi" in wrong
    numbers = re.findall(r'<td class="num">([-0-9.e+]+)</td>', wrong)  # row, |error| per row
    errors = [float(e) for e in numbers[1::2]]
    assert len(errors) == 16
    assert errors == sorted(errors, reverse=True) and errors[-1] > 0


def test_output_that_is_not_html_is_refused(iris_run: Path) -> None:
    with pytest.raises(UsageError, match=r"expected a file ending in \.html"):
        report(iris_run, iris_run / "metrics.csv")


def test_binary_run_without_test_split(tmp_path: Path) -> None:
    lines = ["x,y,label"] + [
        f"{i % 9},{(i * 7) % 11},{'yes' if i % 3 else 'no'}" for i in range(80)
    ]
    (tmp_path / "b.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    common = f"""
version: 1
data: {{train: {tmp_path / "b.csv"}, target: label, test_split: TEST}}
model: {{layers: [{{units: 4, activation: sigmoid}}, {{units: 1, activation: sigmoid}}]}}
loss: binary_crossentropy
training: {{epochs: 2, batch_size: 16}}
"""
    with_test = write_config(tmp_path, common.replace("TEST", "0.25"), "with.yaml")
    run = train_run(load_config(with_test), runs_dir=tmp_path / "runs").path
    text = report(run, tmp_path / "with.html").read_text(encoding="utf-8")
    wrong = text.split('<section id="wrong">')[1].split("</section>")[0]
    probabilities = [
        float(p) for p in re.findall(r'<td class="num">([0-9.e+-]+)</td>', wrong)[1::2]
    ]
    assert len(probabilities) == 16 and probabilities == sorted(probabilities)
    assert all(0 <= p <= 1 for p in probabilities)
    without = write_config(tmp_path, common.replace("TEST", "0"), "without.yaml")
    run = train_run(load_config(without), runs_dir=tmp_path / "runs").path
    text = report(run, tmp_path / "without.html").read_text(encoding="utf-8")
    assert "The run has no test split: no test scores." in text
    assert "The run has no test split: no rows to show." in text
