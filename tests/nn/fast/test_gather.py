"""Gathering a batch's rows in two halves, one on the worker: np.take's bytes, whoever copies."""

from __future__ import annotations

import shutil
import subprocess

import numpy as np
import pytest

from nnctl.nn.fast import gather, worker
from nnctl.nn.fast.planner import NONE, PRODUCTS
from nnctl.nn.fast.threads import two_threads_allowed
from nnctl.nn.losses import get_loss
from nnctl.nn.network import Network
from nnctl.nn.optim.optimizers import get_optimizer

needs_worker = pytest.mark.skipif(
    gather._ADDRESS is None or not worker.worker_runs(), reason="x86-64 Linux, machine code"
)

SOURCE = """
    .intel_syntax noprefix
    .text
gather:                     # (dst, src, index, rows, row_bytes, stride)
    mov r10, rcx
    mov r11, rsi
    test r10, r10
    jz 2f
1:  mov rax, [rdx]
    imul rax, r9
    lea rsi, [r11 + rax]
    mov rcx, r8
    rep movsb
    add rdx, 8
    dec r10
    jnz 1b
2:  ret
"""


@pytest.mark.skipif(gather._ADDRESS is None, reason="x86-64 Linux, machine code")
def test_the_routine_is_its_listing_assembled(tmp_path):
    assert shutil.which("as") and shutil.which("objcopy"), "binutils (as, objcopy) are needed"
    source, obj, binary = tmp_path / "g.s", tmp_path / "g.o", tmp_path / "g.bin"
    source.write_text(SOURCE)
    subprocess.run(["as", "-o", str(obj), str(source)], check=True)
    subprocess.run(["objcopy", "-O", "binary", "-j", ".text", str(obj), str(binary)], check=True)
    assert binary.read_bytes() == gather.GATHER_CODE


def expected(X, index):
    return np.take(X, index, axis=0, mode="clip")


@needs_worker
@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.int8])
@pytest.mark.parametrize("rows", [128, 129, 999])
def test_the_halves_give_np_takes_bytes_on_the_worker_and_on_one_thread(dtype, rows):
    rng = np.random.default_rng(rows)
    X = (rng.standard_normal((3000, 37)) * 100).astype(dtype)
    index = rng.permutation(3000)[:rows]
    for products in (worker.for_process(), None):
        out = np.full((rows, 37), 7, dtype)
        tasks = gather._tasks(X, index, out)
        assert tasks is not None and tasks[0].job is not None  # the routine copies, not np.take
        worker.pair(products, *tasks)
        assert out.tobytes() == expected(X, index).tobytes()
        out2 = np.empty_like(out)
        gather.take_rows(X, index, out2, products)
        assert out2.tobytes() == out.tobytes()


@needs_worker
def test_rows_of_a_wider_array_and_every_rows_own_bytes_are_copied():
    """Rows whose stride is more than their bytes (a view of some columns); repeated indices."""
    rng = np.random.default_rng(0)
    wide = rng.standard_normal((500, 50)).astype(np.float32)
    X = wide[:, 3:40]
    index = np.concatenate([rng.integers(0, 500, 300), [0, 499, 499]])
    out = np.empty((len(index), 37), np.float32)
    tasks = gather._tasks(X, index, out)
    assert tasks is not None
    gather.take_rows(X, index, out, worker.for_process())
    assert out.tobytes() == expected(X, index).tobytes()


@pytest.mark.parametrize(
    "case", ["few rows", "out of range", "negative", "int32 index", "strided out", "overlap",
             "columns strided", "other dtype", "objects", "out over index"],
)  # fmt: skip
def test_what_the_routine_cannot_copy_as_np_take_does_is_left_to_np_take(case):
    rng = np.random.default_rng(1)
    X = rng.standard_normal((1000, 20))
    index = rng.permutation(1000)[:400]
    out = np.empty((400, 20))
    if case == "few rows":
        index, out = index[: gather.MIN_ROWS - 1], out[: gather.MIN_ROWS - 1]
    elif case == "out of range":
        index = index.copy()
        index[5] = 1000  # clip takes the last row
    elif case == "negative":
        index = index.copy()
        index[7] = -3  # clip takes the first row
    elif case == "int32 index":
        index = index.astype(np.int32)
    elif case == "strided out":
        out = np.empty((400, 40))[:, ::2]
    elif case == "overlap":
        X = np.zeros((1000, 20))
        out = X[500:900]
        index = np.arange(400)
    elif case == "columns strided":
        X = np.asfortranarray(X)
    elif case == "other dtype":
        out = np.empty((400, 20), np.float32)
    elif case == "out over index":  # rows written there would be read as unchecked indices
        buffer = np.zeros(401, np.int64)
        buffer[:400] = np.arange(400)
        X, index, out = np.full((1000, 1), 999, np.int64), buffer[:400], buffer[1:].reshape(400, 1)
    elif case == "objects":  # pointers copied as bytes would skip their reference counts
        X, out = X.astype(object), np.empty((400, 20), object)
    assert gather._tasks(X, index, out) is None
    if case == "other dtype":
        return  # np.take refuses it too (it would cast)
    want = expected(X, index)
    gather.take_rows(X, index, out, worker.for_process())
    assert out.tobytes() == want.tobytes()


def build(seed=0):
    specs = [{"units": 256, "activation": "relu"}, {"units": 10, "activation": "softmax"}]
    net = Network.build(784, specs, get_loss("categorical_crossentropy"),
                        np.random.default_rng(seed), np.float32)  # fmt: skip
    net.attach_optimizer(get_optimizer("adam", learning_rate=1e-3))
    return net


@needs_worker
@pytest.mark.skipif(not two_threads_allowed(), reason="two cores, BLAS not told one thread")
def test_the_step_gathers_with_the_worker_only_where_its_plan_shares_the_products():
    net = build()
    assert net.fast is not None and net.fast.helper is not None
    rng = np.random.default_rng(2)
    X = rng.random((4000, 784), dtype=np.float32)
    index = rng.permutation(4000)[:512]
    state = worker.for_process().state
    for plan, shared in ((NONE, False), (PRODUCTS, True)):
        net.fast.planner.fixed = plan
        out = np.empty((512, 784), np.float32)
        posted = state.posted
        net.take_batch(X, index, out)
        assert (state.posted > posted) == shared
        assert out.tobytes() == expected(X, index).tobytes()


def test_training_takes_the_same_batches_whichever_plan_gathers_them():
    rng = np.random.default_rng(3)
    X, y = rng.random((2048, 784), dtype=np.float32), rng.integers(0, 10, 2048)
    results = []
    for plan in (NONE, PRODUCTS):
        net = build(seed=4)
        if net.fast is not None:
            net.fast.planner.fixed = plan
        xb = np.empty((512, 784), np.float32)
        for start in range(0, 2048, 512):
            index = np.random.default_rng(start).permutation(2048)[:512]
            net.take_batch(X, index, xb)
            net.train_step(xb, y[index])
        results.append(net.params.data.tobytes())
    assert results[0] == results[1]
