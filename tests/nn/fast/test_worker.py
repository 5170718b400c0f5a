"""The worker thread of machine code that shares a step's matrix products (`nnctl.nn.fast.worker`).

Every block is one BLAS call with the same arguments whichever thread makes it, so a product cut
in two gives the same bytes on the worker, on the caller alone, and with NumPy's fallback; where
the worker does not run (never started, asleep, ended, a forked child's parent's) the caller
computes both blocks itself.
"""

from __future__ import annotations

import ctypes
import subprocess
import sys
import threading
import time

import numpy as np
import pytest

from nnctl import _platform
from nnctl.nn.fast import elementwise, native, worker
from nnctl.nn.fast.dense import FastDense
from nnctl.nn.fast.elementwise import RELU, Op, Programs, Trace

DEADLINE = 60.0  # seconds for an event that takes microseconds; only a broken worker waits it
needs_worker = pytest.mark.skipif(not worker.worker_runs(), reason="x86-64 Linux with OpenBLAS")


def wait_for(condition, what: str) -> None:
    deadline = time.monotonic() + DEADLINE
    while not condition():
        assert time.monotonic() < deadline, what
        time.sleep(0.001)


def layouts(dtype):
    """(A, B, C) of every layout a step uses: plain, A transposed (dW), B transposed (dX)."""
    rng = np.random.default_rng(0)
    X, W = rng.standard_normal((70, 33)).astype(dtype), rng.standard_normal((33, 20)).astype(dtype)
    dZ = rng.standard_normal((70, 20)).astype(dtype)
    return [(X, W, np.empty((70, 20), dtype)), (X.T, dZ, np.empty((33, 20), dtype)),
            (dZ, W.T, np.empty((70, 33), dtype))]  # fmt: skip


@needs_worker
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_a_product_cut_in_two_gives_the_same_bytes_on_the_worker_and_on_one_thread(dtype):
    products = worker.for_process()
    assert products is not None
    with _platform.one_blas_thread():
        for A, B, C in layouts(dtype):
            cut = A.shape[0] // 2
            first = worker.product(A[:cut], B, C[:cut])
            second = worker.product(A[cut:], B, C[cut:])
            assert first.job is not None and second.job is not None
            worker.pair(products, first, second)
            shared = C.copy()
            C[...] = 0
            worker.pair(None, first, second)
            np.testing.assert_array_equal(shared, C)
            np.testing.assert_allclose(C, A @ B, rtol=1e-5 if dtype == np.float32 else 1e-12)


def test_a_layout_one_blas_call_cannot_take_falls_back_to_numpy():
    A = np.arange(40.0).reshape(4, 10)[:, ::2]  # columns two elements apart
    B, C = np.ones((5, 3)), np.empty((4, 3))
    p = worker.product(A, B, C)
    assert p.job is None
    worker.pair(worker.for_process(), p, worker.product(A, B, np.empty((4, 3))))
    np.testing.assert_array_equal(C, A @ B)


def test_outputs_blas_would_write_wrongly_are_left_to_numpy(tmp_path):
    """A read-only output, one that overlaps an operand (NumPy copies first; a BLAS does not),
    and numbers in the other byte order get no job: NumPy computes them, or refuses."""
    rng = np.random.default_rng(0)
    A = rng.standard_normal((4, 4))
    frozen = np.frombuffer(bytes(128), dtype=np.float64).reshape(4, 4)
    path = tmp_path / "C.bin"
    path.write_bytes(bytes(128))
    mapped = np.memmap(path, dtype=np.float64, mode="r", shape=(4, 4))
    for C in (frozen, mapped):
        p = worker.product(A, A, C)
        assert p.job is None
        with pytest.raises(ValueError, match="read-only"):
            worker.compute(p)
    assert path.read_bytes() == bytes(128)
    buffer = rng.standard_normal(8)
    square = A.copy()
    for left, right, out in ((A, square, square), (buffer[:4].reshape(2, 2), np.eye(2),
                                                   buffer[2:6].reshape(2, 2))):  # fmt: skip
        expected = left @ right
        p = worker.product(left, right, out)
        assert p.job is None
        worker.compute(p)
        np.testing.assert_allclose(out, expected, rtol=1e-12)
    big = [np.asarray(M, dtype=">f8") for M in (A, A, np.empty_like(A))]
    p = worker.product(*big)
    assert p.job is None
    worker.compute(p)
    np.testing.assert_allclose(big[2], A @ A, rtol=1e-12)


@needs_worker
def test_an_ended_worker_stays_ended_and_the_next_asks_start_another():
    products = worker.for_process()
    assert products is not None
    products.end()
    wait_for(lambda: products.state.status == worker.ENDED, "the worker ended")
    A, B, C = layouts(np.float32)[0]
    first, second = worker.product(A[:35], B, C[:35]), worker.product(A[35:], B, C[35:])
    assert not products.split(first, second)  # nothing posted to it: its count stays QUIT
    # (a worker that was spinning counts its last spin down once more before it reads QUIT)
    assert products.state.count in (native.QUIT, native.QUIT - 1) and not products.running
    again = worker.for_process()
    assert again is not None and again is not products
    worker.pair(again, first, second)
    np.testing.assert_allclose(C, A @ B, rtol=1e-5)
    wait_for(lambda: again.running, "the next worker runs")


def test_the_blas_is_found_when_nnctl_is_imported_before_numpy():
    code = "from nnctl import _platform; print(_platform.blas_gemm('float32') is not None)"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=DEADLINE, check=True)  # fmt: skip
    assert done.stdout.strip() == str(worker.worker_runs())


@needs_worker
def test_the_caller_computes_both_blocks_when_no_worker_takes_one():
    """A state no thread serves (as a parent's in a forked child, or a worker on a busy CPU):
    `split` takes its posted job back and runs it."""
    page = native.immortal_page(executable=False)
    assert page is not None
    state = worker.WorkerState.from_buffer(page)
    lonely = worker.Worker(state)
    A, B, C = layouts(np.float64)[0]
    first, second = worker.product(A[:35], B, C[:35]), worker.product(A[35:], B, C[35:])
    done = threading.Event()

    def split() -> None:
        worker.pair(lonely, first, second)
        done.set()

    threading.Thread(target=split, daemon=True).start()
    assert done.wait(DEADLINE)
    assert state.posted == state.claimed == 1 and state.done == 0  # taken back, not by a worker
    np.testing.assert_allclose(C, A @ B, rtol=1e-12)


@needs_worker
def test_a_worker_ends_when_told():
    page = native.immortal_page(executable=False)
    assert page is not None
    state = worker.WorkerState.from_buffer(page)
    state.signals = native.BLOCKED_SIGNALS
    assert native.start_thread(worker._ROUTINES[2], ctypes.addressof(state), worker.STACK_BYTES)
    ended = worker.Worker(state)
    wait_for(lambda: state.status == worker.RUNNING, "the worker started")
    A, B, C = layouts(np.float32)[0]
    worker.pair(ended, worker.product(A[:35], B, C[:35]), worker.product(A[35:], B, C[35:]))
    ended.end()
    wait_for(lambda: state.status == worker.ENDED, "the worker ended")
    assert not ended.running


CHILD = """
import os, time, numpy as np
from nnctl.nn.fast import worker
A, B = np.random.default_rng(0).random((64, 50)), np.random.default_rng(1).random((50, 30))
def shared(products):
    C = np.empty((64, 30))
    worker.pair(products, worker.product(A[:32], B, C[:32]), worker.product(A[32:], B, C[32:]))
    return C
parent = worker.for_process()
expected = shared(parent)
pid = os.fork()
if pid == 0:
    child = worker.for_process()
    ok = child is not None and child is not parent and np.array_equal(shared(child), expected)
    deadline = time.monotonic() + 60
    while ok and child.state.status != worker.RUNNING and time.monotonic() < deadline:
        time.sleep(0.001)  # its own thread runs (it started with the child's first product)
    os._exit(0 if ok and child.state.status == worker.RUNNING else 3)
_, status = os.waitpid(pid, 0)
assert os.waitstatus_to_exitcode(status) == 0, status
shared(parent)  # the process exits while its worker spins
"""


@needs_worker
def test_a_forked_child_gets_its_own_worker_and_a_process_exits_while_its_worker_spins():
    done = subprocess.run([sys.executable, "-c", CHILD], timeout=DEADLINE, capture_output=True)
    assert done.returncode == 0, done.stderr


def test_a_new_batch_moves_the_kept_products_pointers():
    """The first layer's input is a new array every batch: its kept job is moved to it."""
    layer = FastDense(12, 8, activation="relu", rng=np.random.default_rng(0), dtype=np.float64)
    rng = np.random.default_rng(1)
    for _ in range(3):
        X = rng.standard_normal((10, 12))
        layer.prepare(X)
        for start, stop in ((0, 5), (5, 10)):
            layer.forward_rows(start, stop)
        assert layer.Z is not None
        np.testing.assert_allclose(layer.Z, X @ layer.W, rtol=1e-12)


@needs_worker
def test_a_chain_runs_its_second_task_after_its_first_on_either_thread():
    """``chain(product, call)``: the kernel's call reads what the product wrote, on the worker,
    on this thread, and through the fallbacks when a task has no job."""
    rng = np.random.default_rng(4)
    A, B = rng.standard_normal((40, 9)), rng.standard_normal((9, 20))
    products = worker.for_process()
    assert products is not None and elementwise.runs()
    with _platform.one_blas_thread():
        expected = np.maximum(A @ B, 0)
        for ways in ("worker", "here", "fallback"):
            C, H = np.zeros((40, 20)), np.full((40, 20), 7.0)
            tasks = []
            for rows in (slice(0, 20), slice(20, 40)):
                made = worker.product(A[rows], B, C[rows])
                if ways == "fallback":
                    made = made._replace(job=None, address=0)
                relu = Op(RELU, "h", "c")
                call = Programs().call({"c": C.ravel(), "h": H.ravel()},
                                       [(rows.start * 20, rows.stop * 20, Trace([relu]))],
                                       lambda: None)  # fmt: skip
                tasks.append(worker.chain(made, call))
            assert all((task.job is None) == (ways == "fallback") for task in tasks)
            posted = products.state.posted
            worker.pair(products if ways == "worker" else None, *tasks)
            assert (products.state.posted > posted) == (ways == "worker")
            np.testing.assert_allclose(H, expected, rtol=1e-12)
