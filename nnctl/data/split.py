"""Train / validation / test splits of one file, seeded and (for class labels) stratified.

The split draws from its own stream of the config's seed,
``np.random.default_rng(SeedSequence(seed, spawn_key=(SPLIT_STREAM,)))``, so it depends on the seed
and the data only -- not on how many random numbers anything else has drawn.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from nnctl.errors import DataError

SPLIT_STREAM = 0x5B1  # the spawn key of the split's random stream

IntArray = NDArray[np.intp]


@dataclass(frozen=True)
class SplitIndices:
    """Row positions of each split, in the order the rows are served."""

    train: IntArray
    validation: IntArray
    test: IntArray

    def order(self) -> IntArray:
        """All rows, train first, then validation, then test."""
        return np.concatenate([self.train, self.validation, self.test])


def split_rng(seed: int) -> np.random.Generator:
    """The generator the split draws from: a stream derived from ``seed`` for splitting only."""
    return np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(SPLIT_STREAM,)))


def _counts(n: int, validation: float, test: float) -> tuple[int, int]:
    """Rows for validation and test: the rounded fractions, at least one when a fraction is > 0."""
    n_test = max(1, round(n * test)) if test > 0 else 0
    n_val = max(1, round(n * validation)) if validation > 0 else 0
    return n_val, n_test


def split_rows(
    n: int, validation: float, test: float, seed: int, strata: NDArray[np.int64] | None = None
) -> SplitIndices:
    """Split ``n`` rows into train, validation and test.

    Parameters
    ----------
    n
        Number of rows.
    validation, test
        Fractions of the rows for validation and test (each in [0, 1), sum below 1).
    seed
        The config's seed.
    strata
        Class index of each row, shape (n,), to keep class proportions in each split; every class
        keeps at least one training row. ``None`` for a plain random split.
    """
    rng = split_rng(seed)
    n_val, n_test = _counts(n, validation, test)
    if n - n_val - n_test < 1:
        raise DataError(f"{n} rows leave no training rows after the validation and test splits")
    if strata is None:
        perm = rng.permutation(n)
        return SplitIndices(
            train=perm[n_val + n_test :],
            validation=perm[n_test : n_test + n_val],
            test=perm[:n_test],
        )
    return _stratified(strata, n_val, n_test, rng)


def _stratified(
    strata: NDArray[np.int64], n_val: int, n_test: int, rng: np.random.Generator
) -> SplitIndices:
    """Allocate each split's rows across classes in proportion (largest remainders)."""
    classes, counts = np.unique(strata, return_counts=True)
    test_per = _allocate(counts, n_test, np.maximum(counts - 1, 0))
    val_per = _allocate(counts, n_val, np.maximum(counts - 1 - test_per, 0))
    parts: dict[str, list[IntArray]] = {"train": [], "validation": [], "test": []}
    for cls, k_test, k_val in zip(classes, test_per, val_per, strict=True):
        rows = rng.permutation(np.flatnonzero(strata == cls))
        parts["test"].append(rows[:k_test])
        parts["validation"].append(rows[k_test : k_test + k_val])
        parts["train"].append(rows[k_test + k_val :])
    return SplitIndices(
        **{name: rng.permutation(np.concatenate(p)).astype(np.intp) for name, p in parts.items()}
    )


def _allocate(counts: NDArray[np.int64], total: int, limit: NDArray[np.int64]) -> NDArray[np.int64]:
    """Split ``total`` across classes in proportion to ``counts``, each at most ``limit``."""
    total = min(total, int(limit.sum()))
    if total == 0:
        return np.zeros_like(counts)
    exact = counts * (total / counts.sum())
    share = np.minimum(np.floor(exact).astype(np.int64), limit)
    remainder = exact - share
    while share.sum() < total:
        room = share < limit
        best = int(np.argmax(np.where(room, remainder, -np.inf)))
        share[best] += 1
        remainder[best] -= 1.0
    return np.asarray(share, dtype=np.int64)
