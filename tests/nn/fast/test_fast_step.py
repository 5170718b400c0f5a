"""`FastStep.train_step` gives what the reference step gives: the loss, every gradient, the update.

The reference is `Network.train_step` on reference `Dense` layers: forward, loss, backward, check,
clip, update, each over the whole batch. Compared in float64, with BLAS on one thread for both:

- a network under ``SPLIT_MIN_SIZE`` parameters: the fast step runs the same operations over the
  whole batch, so it agrees exactly;
- a larger network and a batch of at most ``SMALL_BATCH`` rows: every matrix product runs in two
  blocks of its columns (``dW`` in blocks of its rows), each its own BLAS call (a BLAS may pick
  other kernels for a block than for the whole), and the optimizer's elementwise update is
  split: they agree to 1e-12 relative, not bit for bit;
- a batch of more than ``SMALL_BATCH`` rows: the forward and backward passes run in the batch's
  two halves, each its own matrix product, and the loss is summed in two parts, ``a/n + b/n``
  against ``(a + b)/n``: to 1e-12 relative too.

Both with a helper thread and without one (the same pieces one after the other).
"""

from __future__ import annotations

import numpy as np
import pytest

from nnctl import _platform
from nnctl.nn.fast import worker
from nnctl.nn.fast.dense import FastDense
from nnctl.nn.fast.planner import ALL, AWAKE, BLOCK, NONE, PRODUCTS, ROWS, UPDATE
from nnctl.nn.fast.step import SMALL_BATCH, step_kind
from nnctl.nn.fast.threads import Awake, Helper
from nnctl.nn.layers.dense import Dense
from nnctl.nn.losses import get_loss
from nnctl.nn.network import Network
from nnctl.nn.optim.base import SPLIT_MIN_SIZE
from nnctl.nn.optim.optimizers import get_optimizer

BATCHES = [1, SMALL_BATCH - 1, SMALL_BATCH, SMALL_BATCH + 1, 2 * SMALL_BATCH + 3]
CASES = [("categorical_crossentropy", "softmax", 4), ("mse", "tanh", 2)]


def layers(width: int, units: int, activation: str, dropout: float) -> list[dict[str, object]]:
    return [
        {"units": width, "activation": "relu", "dropout": dropout},
        {"units": 16, "activation": "tanh"},
        {"units": units, "activation": activation},
    ]


def networks(
    n_in: int,
    width: int,
    loss: str,
    activation: str,
    units: int,
    clip: float | None,
    dropout: float = 0.25,
) -> tuple[Network, Network]:
    """A fast network (`Network.build`) and a reference one with its weights and generator.

    Its first layer is ReLU: with ``dropout`` the fast one runs NumPy's passes after its
    products, without it the elementwise kernel's (`FastDense.finish_call`)."""
    specs = layers(width, units, activation, dropout)
    fast = Network.build(n_in, specs, loss, np.random.default_rng(0), np.float64)
    rng = np.random.default_rng(0)
    ref_layers, n = [], n_in
    for spec in specs:
        ref_layers.append(Dense(n, **spec, rng=rng, dtype=np.float64))  # type: ignore[arg-type]
        n = int(spec["units"])  # type: ignore[call-overload]
    reference = Network(n_in, ref_layers, fast.loss, np.random.default_rng(1), np.float64)
    assert fast.fast is not None and reference.fast is None
    reference.load_state_dict(fast.state_dict())
    reference.set_rng_state(fast.rng_state())
    for net in (fast, reference):
        net.attach_optimizer(get_optimizer("adam", learning_rate=0.01), clip_grad_norm=clip)
    return fast, reference


def data(n_in: int, n: int, loss: str, units: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(5)
    X = rng.standard_normal((n, n_in))
    if loss == "categorical_crossentropy":
        return X, rng.integers(0, units, n)
    return X, rng.standard_normal((n, units))


def steps(fast: Network, reference: Network, X: np.ndarray, y: np.ndarray, **tol: float) -> None:
    """Two steps on both; after each the losses, outputs, gradients and weights agree."""
    compare = np.testing.assert_array_equal if not tol else (
        lambda a, b: np.testing.assert_allclose(a, b, **tol))  # fmt: skip
    with _platform.one_blas_thread():
        for _ in range(2):
            value, output = fast.train_step(X, y, learning_rate=0.02)
            expected_value, expected_output = reference.train_step(X, y, learning_rate=0.02)
            compare(value, expected_value)
            compare(output, expected_output)
            compare(fast.params.grad, reference.params.grad)
            compare(fast.params.data, reference.params.data)


@pytest.mark.parametrize(("loss", "activation", "units"), CASES)
@pytest.mark.parametrize("n", BATCHES)
@pytest.mark.parametrize("clip", [None, 0.5])
@pytest.mark.parametrize("dropout", [0.25, 0.0])
def test_a_small_network_steps_exactly_like_the_reference(
    loss, activation, units, n, clip, dropout
):
    fast, reference = networks(10, 32, loss, activation, units, clip, dropout)
    assert fast.n_params() < SPLIT_MIN_SIZE
    steps(fast, reference, *data(10, n, loss, units))


@pytest.mark.parametrize(("loss", "activation", "units"), CASES)
@pytest.mark.parametrize("n", BATCHES)
@pytest.mark.parametrize("clip", [None, 0.5])
@pytest.mark.parametrize("helper", ["python", "worker", None])
@pytest.mark.parametrize("dropout", [0.25, 0.0])
def test_a_shared_step_gives_the_references_numbers(
    loss, activation, units, n, clip, helper, dropout
):
    fast, reference = networks(300, 256, loss, activation, units, clip, dropout)
    assert fast.n_params() >= SPLIT_MIN_SIZE and fast.fast is not None
    fast.fast.helper = Helper() if helper else None
    fast.fast.planner.fixed = PRODUCTS if helper == "worker" else ALL
    steps(fast, reference, *data(300, n, loss, units), rtol=1e-12, atol=1e-14)


class _Recording(Helper):
    """A helper that notes every piece it is handed (and runs it)."""

    def __init__(self) -> None:
        super().__init__()
        self.pieces = 0

    def run_split(self, first, second):
        self.pieces += 1
        super().run_split(first, second)


@pytest.mark.parametrize("n", [1, SMALL_BATCH, SMALL_BATCH + 1, 2 * SMALL_BATCH + 3])
@pytest.mark.parametrize("clip", [None, 0.5])
def test_every_plan_gives_the_same_bytes_and_uses_the_helper_only_where_it_says(n, clip):
    """Where the helper is used changes which thread runs a piece, never a piece: each plan gives
    the bytes of the step without a helper, and a plan without a site hands it nothing."""
    rng = np.random.default_rng(0)
    X, y = rng.random((n, 300)), rng.integers(0, 10, n)
    results = {}
    for plan in (None, NONE, ROWS, UPDATE, ALL, UPDATE | AWAKE, ALL | AWAKE, PRODUCTS,
                 PRODUCTS | UPDATE, PRODUCTS | ALL | AWAKE):  # fmt: skip
        net = Network.build(300, [{"units": 256, "activation": "relu", "dropout": 0.2},
                                  {"units": 10, "activation": "softmax"}],
                            get_loss("categorical_crossentropy"), np.random.default_rng(1),
                            np.float64)  # fmt: skip
        assert net.params.size >= SPLIT_MIN_SIZE  # a network whose step is shared
        net.attach_optimizer(get_optimizer("adam", learning_rate=1e-3), clip_grad_norm=clip)
        helper, awake = _Recording(), _Touches()
        net.fast.helper = helper if plan is not None else None
        net.fast.planner.fixed, net.fast.awake = plan, awake
        jobs = _worker_jobs()
        with _platform.one_blas_thread():  # as training without a helper runs
            for _ in range(3):
                net.train_step(X, y)
        results[plan] = net.params.data.tobytes()
        if worker.worker_runs():  # the worker gets jobs under PRODUCTS only
            assert (_worker_jobs() > jobs) == bool(plan and plan & PRODUCTS)
        if plan is not None:
            assert helper.pieces == 3 * handoffs(plan, n, clip)
            kept_awake = plan & AWAKE and net.fast.sites & AWAKE
            assert awake.touches == (3 if kept_awake else 0)
    assert len(set(results.values())) == 1


def _worker_jobs() -> int:
    """Jobs posted to this process's worker so far (0 where none runs)."""
    products = worker.for_process()
    return 0 if products is None else int(products.state.posted)


class _Touches(Awake):
    """Counts the steps that kept the CPUs awake, and keeps none awake."""

    def __init__(self) -> None:
        super().__init__(cpus=[])
        self.touches = 0

    def touch(self) -> None:
        self.touches += 1


def handoffs(plan: int, n: int, clip: float | None) -> int:
    """Pieces a step hands the helper under ``plan``: the row halves (a batch over SMALL_BATCH,
    unless the worker shares its products),
    and the update (with clipping after the halves: the first ``dW``, then the update)."""
    rows = 1 if plan & ROWS and not plan & PRODUCTS and n > SMALL_BATCH else 0  # worker first
    update = (2 if clip is not None and n > SMALL_BATCH else 1) if plan & UPDATE else 0
    return rows + update


@pytest.mark.parametrize("clip", [None, 0.5])
def test_a_plan_changing_at_every_step_gives_the_bytes_of_no_helper(clip):
    """As the planner changes plans while training: any plan at any step, batches of any size."""
    rng = np.random.default_rng(0)
    X, y = rng.random((200, 300)), rng.integers(0, 10, 200)
    sizes = [1, 200, 64, 65, 200, 32, 129, 200, 200, 7] * 3
    plans = np.random.default_rng(3).integers(0, 2 * PRODUCTS, len(sizes))
    results = []
    for helper in (None, Helper()):
        net = Network.build(300, [{"units": 256, "activation": "relu", "dropout": 0.2},
                                  {"units": 10, "activation": "softmax"}],
                            get_loss("categorical_crossentropy"), np.random.default_rng(1),
                            np.float64)  # fmt: skip
        net.attach_optimizer(get_optimizer("adam", learning_rate=1e-3), clip_grad_norm=clip)
        net.fast.helper = helper
        with _platform.one_blas_thread():
            for size, plan in zip(sizes, plans, strict=True):
                net.fast.planner.fixed = int(plan)
                net.train_step(X[:size], y[:size])
        results.append(net.params.data.tobytes())
    assert results[0] == results[1]


@pytest.mark.parametrize("n", [32, 2 * SMALL_BATCH])
def test_the_planner_times_the_steps_of_both_paths_and_chooses(n):
    """Each step of a shared kind is timed, whichever plan ran (a small batch's too), so the
    planner's first round ends within a few blocks of steps."""
    rng = np.random.default_rng(0)
    X, y = rng.random((n, 300)), rng.integers(0, 10, n)
    net = Network.build(300, [{"units": 256, "activation": "relu"},
                              {"units": 10, "activation": "softmax"}],
                        get_loss("categorical_crossentropy"), np.random.default_rng(1),
                        np.float32)  # fmt: skip
    net.attach_optimizer(get_optimizer("adam", learning_rate=1e-3))
    assert net.fast is not None
    net.fast.helper = Helper()
    candidates = net.fast.plans[n > SMALL_BATCH]
    steps = 2 * len(candidates) * (BLOCK + 1) + 2
    for _ in range(steps):
        net.train_step(X, y)
    assert net.fast.planner.chosen(step_kind(n)) in candidates


@pytest.mark.parametrize("n", [SMALL_BATCH, 2 * SMALL_BATCH + 3])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_relu_layers_in_the_kernel_give_numpys_bytes_under_every_plan(n, dtype, monkeypatch):
    """ReLU layers without dropout run their elementwise passes in the kernel, chained after
    their products under `PRODUCTS` (`Passes.forward_backward_halves`): every plan gives the
    bytes of NumPy's passes."""
    rng = np.random.default_rng(0)
    X, y = rng.random((n, 300)).astype(dtype), rng.integers(0, 10, n)
    results = {}
    for plan in (None, NONE, ALL, PRODUCTS, "numpy"):
        if plan == "numpy":  # the same step, with NumPy's passes after each product
            monkeypatch.setattr(FastDense, "finish_call", lambda self, start, stop: None)
            monkeypatch.setattr(FastDense, "activation_gradient_call",
                                lambda self, dY, start, stop: None)  # fmt: skip
        net = Network.build(300, [{"units": 256, "activation": "relu"},
                                  {"units": 48, "activation": "relu"},
                                  {"units": 10, "activation": "softmax"}],
                            get_loss("categorical_crossentropy"), np.random.default_rng(1),
                            dtype)  # fmt: skip
        assert net.fast is not None and net.params.size >= SPLIT_MIN_SIZE
        net.attach_optimizer(get_optimizer("adam", learning_rate=1e-3))
        net.fast.helper = None if plan is None else Helper()
        net.fast.planner.fixed = plan if isinstance(plan, int) else NONE
        with _platform.one_blas_thread():
            for _ in range(3):
                net.train_step(X, y)
        results[plan] = net.params.data.tobytes()
    assert len(set(results.values())) == 1
