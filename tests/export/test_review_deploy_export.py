"""Review of ``nnctl export``: models whose values overflow, and what a disagreement counts."""

from __future__ import annotations

import re
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from nnctl.errors import CheckFailed, NnctlWarning
from nnctl.export.onnx import export_onnx
from nnctl.export.verify import check_rows, verify
from nnctl.store.bundle import save_bundle
from nnctl.store.model import Model, bundle_contents, load_model

MakeModel = Callable[..., Model]


def scaled(model: Model, factor: float, folder: Path) -> Model:
    """``model`` with every weight times ``factor``, saved and loaded back."""
    state = {name: w * factor for name, w in model.network.state_dict().items()}
    model.network.load_state_dict(state)
    meta, groups = bundle_contents(model.network, model.preprocessor, model.task)
    path = folder / f"scaled-{model.task}-{factor:g}.npz"
    save_bundle(path, meta, groups)
    return load_model(path)


@pytest.mark.parametrize("task", ["classification", "binary", "regression"])
@pytest.mark.parametrize("factor", [1e8, 1e15])
def test_a_model_that_overflows_on_the_edge_rows_exports(
    make_model: MakeModel, tmp_path: Path, task: str, factor: float
) -> None:
    # Huge (finite) weights, as a run that nearly diverged leaves: the edge rows (50 std away)
    # overflow float32 in both nnctl and onnxruntime; NaN against NaN, or -inf against the NaN
    # of inf - inf, is not "the graph disagrees with nnctl ... this is a bug" (exit 5).
    model = scaled(make_model(task=task, activation="relu", seed=5), factor, tmp_path)
    out = tmp_path / "m.onnx"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", NnctlWarning)
        warnings.simplefilter("error", RuntimeWarning)  # no numpy overflow lines on stderr
        done = export_onnx(model.path, out)
    assert out.is_file()
    assert all(np.isfinite(v) for v in done.verified.differences.values())


class Shifted:
    """An onnxruntime session stand-in whose probabilities are all off by 0.1."""

    def __init__(self, answers: dict[str, Any]) -> None:
        self.answers = answers

    def get_outputs(self) -> list[Any]:
        return [type("Output", (), {"name": name}) for name in self.answers]

    def run(self, names: list[str], feeds: Any) -> list[Any]:
        return [self.answers[name] for name in names]


def test_a_disagreement_counts_rows_not_values(make_model: MakeModel) -> None:
    from nnctl.export.verify import nnctl_answers

    model = make_model(task="classification")
    feeds = check_rows(model)
    answers = nnctl_answers(model, feeds)
    answers["probabilities"] = answers["probabilities"] + 0.1  # every value of every row
    n = len(answers["label"])
    with pytest.raises(CheckFailed) as raised:
        verify(model, Shifted(answers), feeds)
    found = re.search(r"on (\d+) of (\d+) check rows", raised.value.message)
    assert found is not None, raised.value.message
    assert (int(found[1]), int(found[2])) == (n, n)
