"""The two-thread training step: the same bytes as one thread, the FPU mode carried over, errors."""

from __future__ import annotations

import numpy as np
import pytest

from nnctl.nn import fpu, threads
from nnctl.nn.losses import get_loss
from nnctl.nn.network import Network
from nnctl.nn.optimizer_base import SPLIT_MIN_SIZE
from nnctl.nn.optimizers import OPTIMIZERS, get_optimizer
from nnctl.nn.parameters import ParameterBuffer


def buffer(seed: int) -> ParameterBuffer:
    rng = np.random.default_rng(seed)
    arrays = {"layers.0.W": rng.standard_normal((300, 250), dtype=np.float32),
              "layers.0.b": rng.standard_normal(250, dtype=np.float32)}  # fmt: skip
    return ParameterBuffer.from_arrays(arrays, decayed={"layers.0.W"})


@pytest.mark.parametrize("name", list(OPTIMIZERS))
def test_a_split_update_gives_the_same_bytes(name):
    helper = threads.Helper()
    results = []
    for split in (False, True):
        params = buffer(0)
        assert params.size >= SPLIT_MIN_SIZE
        opt = get_optimizer(name, weight_decay=0.01)
        opt.bind(params)
        rng = np.random.default_rng(1)
        for _ in range(3):
            params.grad[...] = rng.standard_normal(params.size, dtype=np.float32)
            opt.step(helper=helper if split else None)
        results.append((params.data.tobytes(), [s.tobytes() for s in opt.state.values()]))
    assert results[0] == results[1]


def test_a_small_batch_network_trains_to_the_same_bytes_on_one_or_two_threads():
    rng = np.random.default_rng(0)
    X, y = rng.random((96, 300), dtype=np.float32), rng.integers(0, 10, 96)
    weights = []
    for helper in (False, True):
        layers = [{"units": 256, "activation": "relu"}, {"units": 10, "activation": "softmax"}]
        net = Network.build(300, layers, get_loss("categorical_crossentropy"),
                            np.random.default_rng(0), np.float32)  # fmt: skip
        assert net.n_params() >= SPLIT_MIN_SIZE
        if not helper:
            net._helper = None
        net.attach_optimizer(get_optimizer("adam"))
        for start in range(0, 96, 16):
            net.train_step(X[start : start + 16], y[start : start + 16])
        weights.append(net.params.data.tobytes())
    assert weights[0] == weights[1]


def test_blas_threads_are_restored_after_a_step():
    before = threads.blas_threads()
    layers = [{"units": 256, "activation": "relu"}, {"units": 2, "activation": "softmax"}]
    net = Network.build(300, layers, "categorical_crossentropy", np.random.default_rng(0))
    net.attach_optimizer(get_optimizer("adam"))
    net.train_step(np.zeros((8, 300), np.float32), np.zeros(8, np.int64))
    assert threads.blas_threads() == before


@pytest.mark.skipif(not fpu.FTZ_AVAILABLE, reason="MXCSR is not accessible here")
def test_the_helper_runs_with_the_callers_floating_point_mode():
    seen: list[int] = []
    helper = threads.Helper()
    with fpu.flush_to_zero():
        expected = fpu.get_mxcsr()
        helper.run_split(lambda: seen.append(fpu.get_mxcsr()), lambda: None)
    assert seen == [expected]


def test_an_error_on_the_helper_reaches_the_caller_after_both_halves():
    ran: list[str] = []

    def fail() -> None:
        raise ValueError("boom")

    helper = threads.Helper()
    with pytest.raises(ValueError, match="boom"):
        helper.run_split(fail, lambda: ran.append("second"))
    assert ran == ["second"]
    helper.run_split(lambda: ran.append("again"), lambda: None)  # the helper survives
    assert ran == ["second", "again"]
