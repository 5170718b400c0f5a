"""A weight matrix made small enough to see: block averages, and the inputs that weigh most."""

from __future__ import annotations

from typing import Any

import numpy as np


def edges(n: int, parts: int) -> np.ndarray:
    """``parts + 1`` cut points that split ``range(n)`` into ``min(n, parts)`` near-equal blocks."""
    k = max(1, min(n, parts))
    return np.linspace(0, n, k + 1).round().astype(np.intp)


def block_average(W: np.ndarray, max_rows: int, max_cols: int) -> dict[str, Any]:
    """``W`` (``n_in x units``) averaged over blocks so it has at most ``max_rows x max_cols``.

    Cell ``[r, c]`` is ``mean(W[row_edges[r]:row_edges[r+1], col_edges[c]:col_edges[c+1]])``;
    a matrix that fits is returned as it is (blocks of one). Returns ``values`` (nested lists),
    ``row_edges`` and ``col_edges`` (the first input and unit of each block, and the end),
    and ``limit``, the largest ``|cell|``, the scale of the colours.
    """
    rows, cols = edges(W.shape[0], max_rows), edges(W.shape[1], max_cols)
    values = np.asarray(W, dtype=np.float64)
    by_rows = np.add.reduceat(values, rows[:-1], axis=0) / np.diff(rows)[:, None]
    blocks = np.add.reduceat(by_rows, cols[:-1], axis=1) / np.diff(cols)[None, :]
    return {
        "values": blocks.tolist(),
        "row_edges": rows.tolist(),
        "col_edges": cols.tolist(),
        "limit": float(np.abs(blocks).max()),
    }


def top_inputs(W: np.ndarray, names: list[str], k: int = 10) -> list[dict[str, Any]]:
    """The ``k`` inputs ``i`` with the largest total ``sum_j |W[i, j]|``, largest first."""
    totals = np.abs(np.asarray(W, dtype=np.float64)).sum(axis=1)
    order = np.argsort(-totals, kind="stable")[:k]
    return [
        {
            "index": int(i),
            "name": names[i] if i < len(names) else None,
            "total_abs_w": float(totals[i]),
        }
        for i in order
    ]
