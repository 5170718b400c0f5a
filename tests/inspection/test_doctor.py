"""`nnctl doctor`: each rule on a constructed run, shipped runs give no warning, runs show."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
from typer.testing import CliRunner

from nnctl.cli import app
from nnctl.inspection.doctor import RULES, diagnose, warnings
from tests.helpers import CONFIGS, run_nnctl

STATS = ("epoch,layer,w_mean,w_std,w_norm,b_norm,grad_norm,update_ratio,a_mean,a_std,"
         "dead_fraction,saturated_fraction,lr")  # fmt: skip


def make_run(folder: Path, train: list[float], val: list[float] | None = None,
             stats: list[str] | None = None, units: int = 3,
             loss: str = "categorical_crossentropy") -> Path:  # fmt: skip
    """A run directory by hand: run.json, config.yaml (relu then softmax), metrics.csv and,
    with ``stats``, layer_stats.csv (rows after the header)."""
    run = folder / "run"
    run.mkdir()
    (run / "run.json").write_text("{}")
    out = "softmax" if loss == "categorical_crossentropy" else "sigmoid"
    (run / "config.yaml").write_text(
        f"loss: {loss}\nmodel:\n  layers:\n  - {{units: 8, activation: relu}}\n"
        f"  - {{units: {units}, activation: {out}}}\n"
    )
    header = "epoch,train_loss" + (",val_loss" if val else "")
    lines = [header] + [f"{e},{t}" + (f",{val[e - 1]}" if val else "")
                        for e, t in enumerate(train, start=1)]  # fmt: skip
    (run / "metrics.csv").write_text("\n".join(lines) + "\n")
    if stats is not None:
        (run / "layer_stats.csv").write_text("\n".join([STATS, *stats]) + "\n")
    return run


def by_rule(run: Path) -> dict[str, list[dict]]:  # type: ignore[type-arg]
    found: dict[str, list[dict]] = {}  # type: ignore[type-arg]
    for finding in diagnose(run)["findings"]:
        found.setdefault(finding["rule"]["name"], []).append(finding)
    return found


FALLING = [1.2 * 0.8**e for e in range(20)]


def layer_rows(epochs: int, dead: float = 0.1, ratio: float = 1e-3,
               grads: tuple[float, float] = (0.5, 1.0)) -> list[str]:  # fmt: skip
    rows = []
    for e in range(epochs + 1):
        r = "" if e == 0 else f"{ratio}"
        lr = "" if e == 0 else "0.01"
        rows.append(f"{e},0,0,0.5,5,0,{grads[0]},{r},0.3,0.5,{dead},,{lr}")
        rows.append(f"{e},1,0,0.3,2,0,{grads[1]},{r},0.3,0.2,,,{lr}")
    return rows


def test_a_healthy_run_gives_only_info(tmp_path: Path) -> None:
    run = make_run(tmp_path, FALLING, [t * 1.1 for t in FALLING], layer_rows(20))
    found = by_rule(run)
    assert set(found) == {rule.name for rule in RULES}
    assert all(f["severity"] == "info" for fs in found.values() for f in fs)
    assert warnings(diagnose(run)) == []


def test_initial_loss_far_above_ln_k(tmp_path: Path) -> None:
    run = make_run(tmp_path, [3.4, *FALLING[1:]], units=3)  # ln 3 = 1.0986; 3.4 / 1.0986 = 3.09
    [finding] = by_rule(run)["initial_loss"]
    assert finding["severity"] == "warn"
    assert finding["evidence"]["chance"] == pytest.approx(math.log(3))
    assert finding["evidence"]["ratio"] == pytest.approx(3.4 / math.log(3))
    assert "ln 3" in finding["message"] and "3.4" in finding["message"]
    assert finding["rule"]["source"].startswith("CS231n")
    (tmp_path / "b").mkdir()
    ok = make_run(tmp_path / "b", [3.2, 1.0] * 3)
    assert by_rule(ok)["initial_loss"][0]["severity"] == "info"  # 3.2 / ln 3 = 2.91


def test_binary_chance_is_ln_2(tmp_path: Path) -> None:
    run = make_run(tmp_path, [2.5, 2.0, 1.0, 0.5, 0.4], units=1, loss="binary_crossentropy")
    [finding] = by_rule(run)["initial_loss"]
    assert finding["evidence"]["chance"] == pytest.approx(math.log(2))
    assert finding["severity"] == "warn"  # 2.5 / 0.693 = 3.6


def test_an_oscillating_and_a_flat_loss(tmp_path: Path) -> None:
    # falls 1.0 -> 0.5 (0.5 in all), rises 0.1 + 0.1 = 0.2: 40% of the fall
    run = make_run(tmp_path, [1.0, 0.6, 0.7, 0.5, 0.6, 0.5])
    [finding] = by_rule(run)["learning_rate"]
    assert finding["severity"] == "warn" and "oscillates" in finding["message"]
    assert finding["evidence"]["total_rise"] == pytest.approx(0.2)
    assert finding["evidence"]["total_fall"] == pytest.approx(0.5)
    (tmp_path / "flat").mkdir()
    flat = make_run(tmp_path / "flat", [1.0, 0.99, 0.98, 0.97, 0.99, 0.98])
    [finding] = by_rule(flat)["learning_rate"]
    assert finding["severity"] == "warn" and "did not fall" in finding["message"]


def test_a_growing_gap_is_overfitting(tmp_path: Path) -> None:
    train = [1.0 - 0.04 * e for e in range(20)]  # keeps falling
    val = [1.0 - 0.05 * e for e in range(10)] + [0.55 + 0.05 * e for e in range(10)]
    run = make_run(tmp_path, train, val)
    [finding] = by_rule(run)["overfitting"]
    assert finding["severity"] == "warn" and "overfits" in finding["message"]
    assert finding["evidence"]["window"] == 3
    assert finding["evidence"]["gap_last"] > finding["evidence"]["gap_at_best"]
    assert finding["evidence"]["best_epoch"] in (10, 11)


def test_dead_units_above_40_percent(tmp_path: Path) -> None:
    rows = layer_rows(5, dead=0.1)[:-2] + layer_rows(5, dead=0.45)[-2:]  # last epoch: 45% dead
    run = make_run(tmp_path, FALLING, None, rows)
    [finding] = by_rule(run)["dead_units"]
    assert finding["severity"] == "warn"
    assert finding["evidence"] == {"layer": 0, "epoch": 5, "dead_fraction": 0.45,
                                   "dead_fraction_at_init": 0.1}  # fmt: skip
    assert "45%" in finding["message"]


@pytest.mark.parametrize(("ratio", "words"), [(5e-5, "raise"), (0.05, "lower")])
def test_update_ratio_outside_1e4_1e2(tmp_path: Path, ratio: float, words: str) -> None:
    run = make_run(tmp_path, FALLING, None, layer_rows(5, ratio=ratio))
    found = by_rule(run)["update_ratio"]
    assert [f["evidence"]["layer"] for f in found] == [0, 1]
    assert all(f["severity"] == "warn" and words in f["message"] for f in found)
    assert found[0]["evidence"]["median"] == pytest.approx(ratio)


@pytest.mark.parametrize(("grads", "what"), [((1e-3, 1.0), "vanishes"), ((200.0, 1.0), "explodes")])
def test_gradient_flow(tmp_path: Path, grads: tuple[float, float], what: str) -> None:
    run = make_run(tmp_path, FALLING, None, layer_rows(5, grads=grads))
    [finding] = by_rule(run)["gradient_flow"]
    assert finding["severity"] == "warn" and what in finding["message"]
    assert finding["evidence"]["median_ratio"] == pytest.approx(grads[0] / grads[1])


def test_without_layer_stats_those_rules_are_skipped_with_an_info(tmp_path: Path) -> None:
    found = by_rule(make_run(tmp_path, FALLING))
    assert "dead_units" not in found and "update_ratio" not in found
    [skipped] = found["layer_stats"]
    assert skipped["severity"] == "info"
    assert skipped["evidence"]["skipped"] == ["dead_units", "update_ratio", "gradient_flow"]


def test_cli_json_text_and_errors(runner: CliRunner, tmp_path: Path) -> None:
    run = make_run(tmp_path, [1.0, 0.6, 0.7, 0.5, 0.6, 0.5])
    result = runner.invoke(app, ["doctor", str(run), "--json"])
    assert result.exit_code == 0, result.stderr
    report = json.loads(result.stdout)
    assert all(set(f) == {"severity", "rule", "message", "evidence"} for f in report["findings"])
    assert all(set(f["rule"]) == {"name", "threshold", "source"} for f in report["findings"])
    text = runner.invoke(app, ["doctor", str(run)])
    assert (
        text.exit_code == 0 and "warn  learning_rate: The training loss oscillates" in text.stdout
    )
    missing = runner.invoke(app, ["doctor", str(tmp_path / "nowhere")])
    assert missing.exit_code == 2 and "nowhere" in missing.stderr


def test_shipped_examples_give_no_warning(tmp_path: Path) -> None:
    for config in ("iris.yaml", "digits.yaml"):
        trained = run_nnctl("train", CONFIGS / config, "--runs-dir", tmp_path, "--quiet",
                            timeout=300)  # fmt: skip
        assert trained.returncode == 0, trained.stderr
        run = Path(trained.stdout.strip())
        assert warnings(diagnose(run)) == [], diagnose(run)
        done = run_nnctl("runs", "show", run)
        assert done.returncode == 0 and "doctor's warnings" not in done.stdout


def test_a_far_too_high_learning_rate_warns(tmp_path: Path) -> None:
    high = ["--set", "optimizer.learning_rate=3", "--set", "training.epochs=30"]
    trained = run_nnctl("train", CONFIGS / "iris.yaml", "--runs-dir", tmp_path, "--quiet", *high)
    run = Path(trained.stdout.strip())
    assert warnings(diagnose(run)), diagnose(run)
    done = run_nnctl("runs", "show", run)
    assert "doctor's warnings" in done.stdout and "warn  " in done.stdout
    shown = json.loads(run_nnctl("runs", "show", run, "--json").stdout)
    assert shown["warnings"] == warnings(diagnose(run))


def test_tiny_updates_of_weights_blown_up_advise_a_lower_rate(tmp_path: Path) -> None:
    """Weights grown 20x from their start barely move because the outputs saturate: the advice
    is a lower learning rate, not the higher one tiny updates alone would suggest."""
    rows = [row.replace(",0.5,5,", ",10.0,5,", 1) if not row.startswith("0,") else row
            for row in layer_rows(5, ratio=5e-6)]  # fmt: skip
    found = by_rule(make_run(tmp_path, FALLING, None, rows))["update_ratio"]
    first = found[0]
    assert first["evidence"]["layer"] == 0
    assert "lower the learning rate" in first["message"] and "20 times" in first["message"]
    assert "raise" in found[1]["message"]  # layer 1's weights kept their spread
