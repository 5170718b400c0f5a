"""The exported graph run in onnxruntime against nnctl's own predictions, before it is written.

The rows are drawn like the training data (each numeric column around its fitted shift, spread
by its divisor; each text column from its vocabulary; IDX pixels 0-255) plus edge rows: values
50 divisors away (large logits), and where the model accepts them, NaN and infinities (imputed),
empty text (filled) and an unseen category (zeros). Answers agree when within float32 rounding:
``|onnx - nnctl| <= atol + rtol * |nnctl|`` (a regression prediction's ``atol`` in the target's
units: times its std); a label is compared where the probabilities do not leave it in doubt.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from nnctl.errors import CheckFailed
from nnctl.export.network import class_table
from nnctl.export.preprocess import MISSING_TEXT
from nnctl.store.model import Model
from nnctl.training.metrics import predicted_classes

RTOL, ATOL = 1e-5, 1e-6
UNSEEN = "nnctl-unseen-category"
Feeds = dict[str, NDArray[Any]]


@dataclass(frozen=True)
class Verified:
    """How the check went: rows compared, and the largest difference of each output."""

    rows: int
    differences: dict[str, float]  # the largest |onnx - nnctl| of each numeric output
    test_rows: int = 0


def check_rows(model: Model, n: int = 64, seed: int = 0) -> Feeds:
    """The graph's inputs for ``n`` rows like the training data, then the edge rows."""
    pre, dtype = model.preprocessor, model.network.dtype
    rng = np.random.default_rng(seed)
    if pre.input == "idx":
        pixels = rng.integers(0, 256, size=(n, len(pre.numeric.shift))).astype(dtype)
        edges = np.stack([np.zeros(pixels.shape[1]), np.full(pixels.shape[1], 255.0)])
        return {"pixels": np.vstack([pixels, edges.astype(dtype)])}
    shift, divide = pre.numeric.shift, pre.numeric.divide
    numeric = [shift + divide * rng.normal(size=(n, len(shift)))]
    numeric += [shift + 50 * divide, shift - 50 * divide]
    imputes = np.isfinite(pre.numeric.fill).all()
    if imputes:
        numeric += [np.full(len(shift), value) for value in (np.nan, np.inf, -np.inf)]
    vocab = [c.vocabulary for c in pre.categories]
    draws = rng.integers(0, 1 << 30, size=(n, len(vocab)))
    words = [[v[k % len(v)] for v, k in zip(vocab, row, strict=True)] for row in draws]
    words += [[v[0] for v in vocab], [v[-1] for v in vocab]]
    if imputes:
        words += [[v[i % len(v)] for v in vocab] for i in range(3)]
    extra = []
    if all(c.fill is not None for c in pre.categories) and pre.categories:
        extra.append(MISSING_TEXT)
    if pre.unseen_categories == "ignore" and pre.categories:
        extra.append(UNSEEN + "-" * max(len(v) for c in pre.categories for v in c.vocabulary))
    for value in extra:
        numeric.append(shift.copy())
        words.append([value] * len(vocab))
    feeds: Feeds = {}
    if pre.numeric_columns:
        rows, largest = np.vstack(numeric), float(np.finfo(dtype).max)
        out = np.isfinite(rows) & (np.abs(rows) > largest)  # 50 divisors out may be beyond it
        rows[out] = np.copysign(largest, rows[out])  # (infinity stays: it tests imputation)
        feeds["numeric"] = rows.astype(dtype)
    if pre.categories:
        feeds["text"] = np.asarray(words, dtype=object).reshape(-1, len(vocab))
    return feeds


def nnctl_answers(model: Model, feeds: Feeds) -> dict[str, NDArray[Any]]:
    """What ``nnctl predict`` answers for the graph's inputs ``feeds``."""
    pre, dtype = model.preprocessor, model.network.dtype
    if pre.input == "idx":
        X = pre.transform_images(np.divide(feeds["pixels"], dtype.type(255), dtype=dtype))
    else:
        n = len(next(iter(feeds.values())))
        numeric = feeds.get("numeric", np.empty((n, 0)))
        frame = pd.DataFrame({c: numeric[:, j] for j, c in enumerate(pre.numeric_columns)})
        frame.index = pd.RangeIndex(n)
        for j, category in enumerate(pre.categories):
            column = feeds["text"][:, j]
            frame[category.column] = [None if v == MISSING_TEXT else v for v in column]
        X = pre.transform_features(frame, dtype.type, "<export check rows>")
    output = model.network.predict(X.astype(dtype, copy=False))
    if model.task == "regression":
        return {"prediction": pre.inverse_target(output)[:, 0]}
    probabilities = np.hstack([1 - output, output]) if model.task == "binary" else output
    label = class_table(pre)[predicted_classes(model.task, output)]
    return {"label": label, "probabilities": probabilities}


def verify(model: Model, session: Any, feeds: Feeds) -> Verified:
    """Run ``session`` (an onnxruntime InferenceSession) on ``feeds``; `CheckFailed` if it
    disagrees with nnctl beyond float32 rounding."""
    # A model whose values overflow on the edge rows answers NaN or infinity: no warnings.
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        expected = nnctl_answers(model, feeds)
    names = [o.name for o in session.get_outputs()]
    got = dict(zip(names, session.run(names, feeds), strict=True))
    differences: dict[str, float] = {}
    for name, want in expected.items():
        have = got[name]
        if name == "label":
            decided = _decided(model, expected["probabilities"])
            bad = np.flatnonzero(decided & (have != want))
        else:
            atol = ATOL * (model.preprocessor.target.std if name == "prediction" else 1.0)
            ok, gap = _agree(have.astype(np.float64), want, atol)
            bad = np.flatnonzero(~ok.reshape(len(ok), -1).all(axis=1))
            differences[name] = float(gap.max()) if gap.size else 0.0
        if len(bad):
            raise CheckFailed(
                f"the ONNX graph disagrees with nnctl on {len(bad)} of {len(want)} check rows: "
                f"output {name!r}, row {bad[0]}: onnxruntime gives {have[bad[0]]}, nnctl "
                f"{want[bad[0]]} (rtol {RTOL:g}, atol {ATOL:g}); nothing was written",
                hint="this is a bug in nnctl's export; please report it with the model",
            )
    return Verified(rows=len(next(iter(feeds.values()))), differences=differences)


def _agree(
    have: NDArray[np.float64], want: NDArray[np.float64], atol: float
) -> tuple[NDArray[np.bool_], NDArray[np.float64]]:
    """Where two answers agree, and the differences between the finite values.

    They agree within the tolerance, where both are NaN or infinite, and where nnctl answers NaN:
    a model whose values overflow sums infinities, and whether that gives NaN or one of them
    (which a sigmoid then turns into 0 or 1) depends on the order of the terms.
    """
    with np.errstate(invalid="ignore"):
        gap = np.abs(have - want)
        ok = gap <= atol + RTOL * np.abs(want)
    ok |= (~np.isfinite(have) & ~np.isfinite(want)) | np.isnan(want)
    return ok, gap[np.isfinite(gap)]


def _decided(model: Model, probabilities: NDArray[Any]) -> NDArray[np.bool_]:
    """Rows whose label rounding cannot flip: the top two probabilities apart by more than tol."""
    top = np.sort(probabilities, axis=1)
    return np.asarray(top[:, -1] - top[:, -2] > 10 * (ATOL + RTOL * top[:, -1]))
