"""Gathering a batch's rows, ``np.take(X, index, axis=0, out=out)``, in two halves at once.

A training epoch gathers each shuffled batch from the training set before its step: at batch 512
of 784 inputs that is 512 rows from all over a 188 MB array, 180-240 us beside a step of 2.7 ms
(`benchmarks/README.md`). Where the step shares its products with the worker thread (the planner's
`PRODUCTS`, `nnctl.nn.fast.worker`), the worker copies the first half of the rows while the caller
copies the second: ``GATHER_CODE`` below, a loop of ``rep movsb``, one row at a time. A copy is a
copy: the bytes are ``np.take``'s whichever thread makes them, and ``np.take`` makes them where
the rows or the worker do not suit (`take_rows`).
"""

from __future__ import annotations

import ctypes

import numpy as np

from nnctl.nn.fast import native
from nnctl.nn.fast.worker import Call, Job, Worker, can_run_jobs, pair

Array = np.ndarray

#: ``gather(dst, src, index, rows, row_bytes, stride)`` (x86-64 System V): for each ``i`` below
#: ``rows``, copies ``row_bytes`` bytes from ``src + index[i] * stride`` to the next ``row_bytes``
#: of ``dst`` (``index`` of int64).
GATHER_CODE = bytes.fromhex(
    "4989ca 4989f3 4d85d2 7419"  # r10 = rows; r11 = src; no rows: jump to the end
    "488b02 490fafc1 498d3403"  # loop: rax = index[i] * stride; rsi = src + rax
    "4c89c1 f3a4"  # rcx = row_bytes; rep movsb (rdi, the destination, moves on by itself)
    "4883c208 49ffca 75e7"  # the next index; rows -= 1; more: loop
    "c3"  # return
)

#: Batches of fewer rows are gathered by ``np.take`` alone (784 float32 inputs, microseconds
#: per batch: 64 rows 20 by np.take, 22 in halves; 128 rows 38 and 30; 512 rows 177 and 96; the
#: routine alone is about 10% slower than np.take, so a hand-off must pay for it).
MIN_ROWS = 128


def _address() -> int | None:
    return native.code_address(GATHER_CODE) if can_run_jobs() else None


_ADDRESS = _address()


def take_rows(X: Array, index: Array, out: Array, worker: Worker | None) -> None:
    """``np.take(X, index, axis=0, out=out, mode="clip")``: the first half of the rows on the
    ``worker`` (where it runs and the arrays suit) while this thread copies the second half."""
    task = _tasks(X, index, out) if worker is not None else None
    if task is None:
        np.take(X, index, axis=0, out=out, mode="clip")
    else:
        pair(worker, *task)


def _tasks(X: Array, index: Array, out: Array) -> tuple[Call, Call] | None:
    """The two halves' calls, or None where ``np.take`` should copy: too few rows, no machine
    code, or arrays the routine cannot read as ``np.take`` would (another type or shape,
    rows not contiguous, objects, an index out of range (``clip`` clips it), overlapping arrays)."""
    if not (isinstance(X, np.ndarray) and isinstance(index, np.ndarray)):
        return None
    rows = len(index) if index.ndim == 1 else 0
    if _ADDRESS is None or rows < MIN_ROWS or X.ndim != 2 or out.shape != (rows, X.shape[1]):
        return None
    if X.dtype != out.dtype or X.dtype.hasobject:  # references are not copied as bytes
        return None
    if not out.flags.c_contiguous or not out.flags.writeable:
        return None
    if index.dtype != np.int64 or not index.flags.c_contiguous:  # (rows is 0 unless 1-D)
        return None
    if X.strides[1] != X.itemsize or X.strides[0] < X.shape[1] * X.itemsize:
        return None
    if (
        int(index.min()) < 0
        or int(index.max()) >= len(X)
        or np.may_share_memory(X, out)
        or np.may_share_memory(index, out)
    ):  # out written over the index would be read
        return None
    row_bytes = X.shape[1] * X.itemsize
    half = rows // 2
    return _call(X, index, out, 0, half, row_bytes), _call(X, index, out, half, rows, row_bytes)


def _call(X: Array, index: Array, out: Array, start: int, stop: int, row_bytes: int) -> Call:
    assert _ADDRESS is not None
    part, to = index[start:stop], out[start:stop]
    job = Job(_ADDRESS, to.ctypes.data, X.ctypes.data, part.ctypes.data, stop - start,
              row_bytes, X.strides[0])  # fmt: skip

    def fallback() -> None:
        np.take(X, part, axis=0, out=to, mode="clip")

    return Call(job, ctypes.addressof(job), fallback, (X, part, to))
