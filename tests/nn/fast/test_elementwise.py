"""The elementwise kernel that runs an optimizer's update (`nnctl.nn.fast.elementwise`).

Each op is the same IEEE operation as NumPy's, so a program gives NumPy's bytes: for every op and
length (chunks of 128, the tails of a register), both float types, with flush-to-zero on and off,
and for every optimizer's update, weight decay included, over any ranges, on the worker too.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from nnctl.nn.fast import elementwise, fpu, worker
from nnctl.nn.fast.buffers import ParameterBuffer
from nnctl.nn.fast.elementwise import (
    ADD,
    ADD_S,
    DIV,
    MUL,
    MUL_S,
    RELU,
    SIGN,
    SQRT,
    SUB,
    Op,
    Programs,
    Trace,
)
from nnctl.nn.optim.base import KERNEL_MIN_SIZE
from nnctl.nn.optim.optimizers import Adam, get_optimizer

needs_kernel = pytest.mark.skipif(not elementwise.runs(), reason="x86-64 Linux with AVX")
SOURCE = Path(elementwise.__file__).with_name("elementwise.s")
LENGTHS = [1, 3, 15, 16, 17, 127, 128, 129, 300, 1000]
DTYPES = [np.float32, np.float64]


def special_values(n: int, dtype, seed: int) -> np.ndarray:
    """Random numbers over many magnitudes, with zeros, subnormals, infinities and NaN."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(n) * 10.0 ** rng.integers(-40, 40, n)
    tiny = np.finfo(dtype).smallest_subnormal
    specials = np.array([0.0, -0.0, tiny, -3 * tiny, np.inf, -np.inf, np.nan, 1e300, -1e-300])
    x[rng.integers(0, n, max(1, n // 8))] = rng.choice(specials, max(1, n // 8))
    with np.errstate(over="ignore"):
        x = x.astype(dtype)
    # NaNs of other bits: negative, with a payload, signalling (passed on as they are by some ops)
    bits = x.view(np.uint32 if dtype == np.float32 else np.uint64)
    nans = [0xFFC00000, 0x7FC00123, 0x7F800001, 0xFF800005]
    if dtype == np.float64:
        nans = [0xFFF8000000000000, 0x7FF8000000000123, 0x7FF0000000000001, 0xFFF0000000000005]
    at = rng.integers(0, n, max(1, n // 16))
    bits[at] = rng.choice(np.array(nans, bits.dtype), len(at))
    return x


def test_the_bytes_are_those_assembled_from_the_source(tmp_path):
    """``ELEMENTWISE_CODE`` is ``elementwise.s`` assembled by GNU as (binutils)."""
    assert shutil.which("as") and shutil.which("objcopy"), "binutils (as, objcopy) are needed"
    obj, binary = tmp_path / "elementwise.o", tmp_path / "elementwise.bin"
    subprocess.run(["as", "-o", str(obj), str(SOURCE)], check=True)
    subprocess.run(["objcopy", "-O", "binary", "-j", ".text", str(obj), str(binary)], check=True)
    assert binary.read_bytes() == elementwise.ELEMENTWISE_CODE


def run_numpy(ops, arrays) -> None:
    """``ops`` over ``arrays`` with NumPy's passes, one op after another: the kernel's numbers."""
    binary = {ADD: np.add, SUB: np.subtract, MUL: np.multiply, DIV: np.divide}
    for op in ops:
        d, a = arrays[op.d], arrays[op.a]
        if op.code == SQRT:
            np.sqrt(a, out=d)
        elif op.code == RELU:
            np.maximum(a, 0, out=d)
        elif op.code == SIGN:
            np.sign(a, out=d)
        elif op.code in (MUL_S, ADD_S):
            (np.multiply if op.code == MUL_S else np.add)(a, op.s, out=d)
        else:
            binary[op.code](a, arrays[op.b], out=d)


def ops_cases():
    return [Op(MUL_S, "d", "a", s=0.3), Op(ADD_S, "d", "a", s=-1e-7), Op(ADD, "d", "a", "b"),
            Op(SUB, "d", "a", "b"), Op(MUL, "d", "a", "b"), Op(DIV, "d", "a", "b"),
            Op(SQRT, "d", "a"), Op(RELU, "d", "a"), Op(SIGN, "d", "a")]  # fmt: skip


@needs_kernel
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("ftz", [False, True])
def test_each_op_gives_numpys_bytes(dtype, ftz):
    for n in LENGTHS:
        for op in ops_cases():
            arrays = {"a": special_values(n + 2, dtype, 1), "b": special_values(n + 2, dtype, 2),
                      "d": np.zeros(n + 2, dtype)}  # fmt: skip
            expected = {k: v.copy() for k, v in arrays.items()}
            start = 1  # not on a register's boundary
            mode = fpu.ftz_enter() if ftz else None
            try:
                with np.errstate(all="ignore"):
                    views = {k: v[start : start + n] for k, v in expected.items()}
                    run_numpy([op], views)
                    call = Programs().call(arrays, [(start, start + n, Trace([op]))], lambda: None)
                    assert call.job is not None
                    worker.compute(call)
            finally:
                fpu.ftz_exit(mode)
            for name in arrays:
                assert arrays[name].tobytes() == expected[name].tobytes(), (op, n, name)


@needs_kernel
def test_the_scalar_is_cast_to_the_arrays_type_as_numpy_casts_a_python_float():
    rng = np.random.default_rng(3)
    a = rng.standard_normal(64).astype(np.float32)
    for s in rng.standard_normal(200) * 10.0 ** rng.integers(-30, 30, 200):
        d = np.empty_like(a)
        ops = Trace([Op(MUL_S, "d", "a", s=float(s))])
        worker.compute(Programs().call({"a": a, "d": d}, [(0, 64, ops)], lambda: None))
        assert d.tobytes() == np.multiply(a, float(s)).tobytes(), s


def test_trace_records_a_rule_written_with_numpy():
    def rule(p, g, state, tmp):
        m = state["m"]
        m *= 0.9
        m += g
        np.sqrt(m, out=tmp)
        tmp += 1e-7
        np.divide(g, tmp, out=tmp)
        p -= np.multiply(0.5, tmp, out=tmp)
        p -= 2

    assert elementwise.trace(rule, "p", "g", ["m"], "tmp").ops == (
        Op(MUL_S, "m", "m", s=0.9), Op(ADD, "m", "m", "g"), Op(SQRT, "tmp", "m"),
        Op(ADD_S, "tmp", "tmp", s=1e-7), Op(DIV, "tmp", "g", "tmp"),
        Op(MUL_S, "tmp", "tmp", s=0.5), Op(SUB, "p", "p", "tmp"), Op(ADD_S, "p", "p", s=-2.0),
    )  # fmt: skip


@pytest.mark.parametrize(
    "rule",
    [
        lambda p, g: np.exp(g, out=p),  # an op the kernel lacks
        lambda p, g: np.divide(p, 3.0, out=p),  # a scalar divisor
        lambda p, g: np.subtract(1.0, g, out=p),  # a scalar first
        lambda p, g: p.__imul__(np.float64(0.5)),  # a NumPy scalar (not cast as a Python float)
        lambda p, g: np.add(p, g),  # no out
    ],
)
def test_what_the_kernel_cannot_run_is_not_traced(rule):
    with pytest.raises(elementwise.Untraceable):
        elementwise.trace(rule, "p", "g")


CASES = [("sgd", {}), ("sgd", {"momentum": 0.9}), ("sgd", {"momentum": 0.8, "nesterov": True}),
         ("rmsprop", {}), ("adagrad", {}), ("adam", {}), ("adamw", {})]  # fmt: skip


def bound(name, h, wd, dtype, size=1000, n_decay=700):
    sizes = {"W": (n_decay,), "b": (size - n_decay,)}
    params = ParameterBuffer(sizes, {"W"}, dtype)
    params.data[...] = special_values(size, dtype, 5)
    optimizer = get_optimizer(name, learning_rate=0.01, weight_decay=wd, **h)
    optimizer.kernel_min_size = 0  # the kernel, for this small buffer too
    optimizer.bind(params)
    return optimizer, params


def steps(optimizer, params, ranges, n_steps=3):
    rng = np.random.default_rng(7)
    for t in range(n_steps):
        params.grad[...] = special_values(params.size, params.data.dtype, 10 + t)
        if t == 0:
            params.grad[:5] = rng.standard_normal(5)  # some ordinary numbers at least
        lr = optimizer.begin_step(0.01 / (t + 1))
        with np.errstate(all="ignore"):
            worker.compute(optimizer.update_task(ranges, lr))
        optimizer.end_step()
    return params.data.tobytes(), {k: v.tobytes() for k, v in optimizer.state.items()}


@needs_kernel
@pytest.mark.parametrize(("name", "h"), CASES)
@pytest.mark.parametrize("wd", [0.0, 0.01])
@pytest.mark.parametrize("dtype", DTYPES)
def test_every_optimizers_update_gives_numpys_bytes(name, h, wd, dtype, monkeypatch):
    ranges = [(0, 333), (333, 1000)]
    kernel = steps(*bound(name, h, wd, dtype), ranges)
    optimizer, params = bound(name, h, wd, dtype)
    optimizer.begin_step()
    assert optimizer.update_task(ranges, 0.01).job is not None  # the kernel's
    monkeypatch.setattr(elementwise, "_ADDRESS", None)
    optimizer, params = bound(name, h, wd, dtype)
    optimizer.begin_step()
    assert optimizer.update_task(ranges, 0.01).job is None  # NumPy's passes
    optimizer.iterations = 0
    assert steps(optimizer, params, ranges) == kernel


@needs_kernel
def test_ranges_in_any_order_and_split_give_the_same_bytes():
    whole = steps(*bound("adamw", {}, 0.01, np.float32), [(0, 1000)])
    assert steps(*bound("adamw", {}, 0.01, np.float32), [(650, 1000), (0, 650)]) == whole
    assert steps(*bound("adamw", {}, 0.01, np.float32), [(0, 701), (701, 1000)]) == whole
    optimizer, params = bound("adamw", {}, 0.01, np.float32)
    products = worker.for_process()
    for t in range(3):
        params.grad[...] = special_values(params.size, params.data.dtype, 10 + t)
        if t == 0:
            params.grad[:5] = np.random.default_rng(7).standard_normal(5)
        lr = optimizer.begin_step(0.01 / (t + 1))
        with np.errstate(all="ignore"):
            worker.pair(products, optimizer.update_task([(0, 512)], lr),
                        optimizer.update_task([(512, 1000)], lr))  # fmt: skip
        optimizer.end_step()
    assert (params.data.tobytes(), {k: v.tobytes() for k, v in optimizer.state.items()}) == whole


class Odd(Adam):
    """An Adam whose rule the kernel cannot run: NumPy's passes update it instead."""

    def _update(self, p, g, state, tmp, lr):
        super()._update(p, g, state, tmp, lr)
        np.tanh(p, out=p)


@needs_kernel
def test_a_rule_the_kernel_cannot_run_is_run_by_numpy():
    updated = []
    for optimizer in (Adam(), Odd()):
        optimizer.kernel_min_size = 0
        params = ParameterBuffer({"W": (40,)}, {"W"}, np.float32)
        params.data[...] = np.linspace(-1, 1, 40)
        params.grad[...] = np.linspace(1, -2, 40)
        optimizer.bind(params)
        optimizer.step()
        updated.append(params.data.copy())
        assert (optimizer.update_task([(0, 40)], 0.001).job is None) == isinstance(optimizer, Odd)
    assert updated[1].tobytes() == np.tanh(updated[0]).tobytes()


@needs_kernel
def test_a_small_network_is_updated_by_numpy_and_a_large_one_by_the_kernel():
    for size, kernel in ((KERNEL_MIN_SIZE - 1, False), (KERNEL_MIN_SIZE, True)):
        optimizer = get_optimizer("adam")
        optimizer.bind(ParameterBuffer({"W": (size,)}, {"W"}, np.float32))
        optimizer.begin_step()
        assert (optimizer.update_task([(0, size)], 0.001).job is not None) == kernel
