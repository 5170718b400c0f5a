"""The two-thread training step: the same bytes as one thread, the FPU mode carried over, errors."""

from __future__ import annotations

import ctypes
import gc
import os
import subprocess
import sys
import threading
import time

import numpy as np
import pytest

from nnctl import _platform
from nnctl.nn.errors import NonFiniteError
from nnctl.nn.fast import fpu, native, threads, worker
from nnctl.nn.fast.buffers import ParameterBuffer
from nnctl.nn.fast.planner import ALL, AWAKE, NONE, PRODUCTS, UPDATE
from nnctl.nn.losses import get_loss
from nnctl.nn.network import Network
from nnctl.nn.optim.base import SPLIT_MIN_SIZE
from nnctl.nn.optim.optimizers import OPTIMIZERS, get_optimizer


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
            net.fast.helper = None
        net.fast.planner.fixed = ALL  # the helper at every site where it is there
        net.attach_optimizer(get_optimizer("adam"))
        for start in range(0, 96, 16):
            net.train_step(X[start : start + 16], y[start : start + 16])
        weights.append(net.params.data.tobytes())
    assert weights[0] == weights[1]


def test_blas_threads_are_restored_after_a_step():
    before = _platform.blas_threads()
    layers = [{"units": 256, "activation": "relu"}, {"units": 2, "activation": "softmax"}]
    net = Network.build(300, layers, "categorical_crossentropy", np.random.default_rng(0))
    net.attach_optimizer(get_optimizer("adam"))
    net.train_step(np.zeros((8, 300), np.float32), np.zeros(8, np.int64))
    assert _platform.blas_threads() == before


def test_a_small_network_leaves_the_blas_alone(monkeypatch):
    """Below SPLIT_MIN_SIZE parameters nothing is shared, so the BLAS is neither asked nor set."""
    calls = []
    monkeypatch.setattr("nnctl.nn.fast.step.blas_threads", lambda: calls.append("get") or 2)
    monkeypatch.setattr("nnctl.nn.fast.step.set_blas_threads", calls.append)
    for units in (64, 256):
        layers = [{"units": units, "activation": "relu"}, {"units": 10, "activation": "softmax"}]
        net = Network.build(300, layers, "categorical_crossentropy", np.random.default_rng(0))
        net.attach_optimizer(get_optimizer("adam"))
        for batch in (8, 100):
            net.train_step(np.zeros((batch, 300), np.float32), np.zeros(batch, np.int64))
        small = net.n_params() < SPLIT_MIN_SIZE
        assert (calls == []) == small, (units, calls)
        calls.clear()


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


def parallel_net(loss: str, activation: str, units: int, dtype: type, **layer: object) -> Network:
    layers = [{"units": 256, "activation": "relu", **layer}, {"units": 64, "activation": "tanh"},
              {"units": units, "activation": activation}]  # fmt: skip
    net = Network.build(300, layers, get_loss(loss), np.random.default_rng(0), dtype)
    assert net.n_params() >= SPLIT_MIN_SIZE
    return net


def batch(loss: str, units: int, n: int, dtype: type) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(1)
    X = rng.random((n, 300)).astype(dtype)
    if loss == "categorical_crossentropy":
        return X, rng.integers(0, units, n)
    return X, rng.random((n, units)).astype(dtype)


CASES = [("categorical_crossentropy", "softmax", 10), ("binary_crossentropy", "sigmoid", 3),
         ("mse", "linear", 2), ("huber", "tanh", 1)]  # fmt: skip


@pytest.mark.parametrize(("loss", "activation", "units"), CASES)
@pytest.mark.parametrize("n", [65, 128, 301])
def test_a_large_batch_step_on_two_threads_has_the_gradient_of_one_thread(
    loss, activation, units, n, monkeypatch
):
    """The halves' forward and backward passes, then the shared gradients, give the gradient
    that `loss_and_gradient` (checked against finite differences) gives on one thread."""
    X, y = batch(loss, units, n, np.float64)
    reference = parallel_net(loss, activation, units, np.float64)
    _platform.set_blas_threads(1)
    try:
        expected_loss = reference.loss_and_gradient(X, y)
    finally:
        _platform.set_blas_threads(2)
    expected = reference.params.grad.copy()

    net = parallel_net(loss, activation, units, np.float64)
    calls: list[int] = []
    assert net.fast is not None
    parallel_step = net.fast.parallel_step
    monkeypatch.setattr(net.fast, "parallel_step", lambda *a: calls.append(1) or parallel_step(*a))
    net.attach_optimizer(get_optimizer("sgd", learning_rate=0.5))
    before = net.params.data.copy()
    assert _platform.blas_threads() == 2  # a second core to use (as on CI and any dual-core)
    value, _ = net.train_step(X, y)
    assert calls == [1]
    np.testing.assert_allclose(net.params.grad, expected, rtol=1e-10, atol=1e-14)
    np.testing.assert_allclose(net.params.data, before - 0.5 * expected, rtol=1e-10, atol=1e-14)
    assert value == pytest.approx(expected_loss, rel=1e-12)


def test_a_large_batch_with_dropout_and_clipping_trains_like_one_thread():
    """Dropout masks are drawn before the halves split (in layer order, as on one thread), and
    clipping sees the whole gradient."""
    X, y = batch("categorical_crossentropy", 10, 200, np.float64)
    results = []
    for parallel in (False, True):
        net = parallel_net("categorical_crossentropy", "softmax", 10, np.float64, dropout=0.3)
        if not parallel:
            net.fast.helper = None
        net.fast.planner.fixed = ALL
        net.attach_optimizer(get_optimizer("adam"), clip_grad_norm=0.1)
        _platform.set_blas_threads(2 if parallel else 1)
        try:
            losses = [net.train_step(X[s : s + 100], y[s : s + 100])[0] for s in (0, 100, 0)]
        finally:
            _platform.set_blas_threads(2)
        results.append((net.params.data.copy(), losses))
    np.testing.assert_allclose(results[1][0], results[0][0], rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(results[1][1], results[0][1], rtol=1e-12)


def test_a_large_batch_step_on_two_threads_is_deterministic():
    runs = []
    for _ in range(2):
        net = parallel_net("categorical_crossentropy", "softmax", 10, np.float32, dropout=0.2)
        net.attach_optimizer(get_optimizer("adam"))
        X, y = batch("categorical_crossentropy", 10, 300, np.float32)
        for start in (0, 150, 0):
            net.train_step(X[start : start + 150], y[start : start + 150])
        runs.append(net.params.data.tobytes())
    assert runs[0] == runs[1]


def test_a_non_finite_loss_on_two_threads_stops_before_the_update():
    net = parallel_net("mse", "linear", 2, np.float32)
    net.attach_optimizer(get_optimizer("sgd"))
    X, y = batch("mse", 2, 128, np.float32)
    X[100, 5] = np.inf  # in the second half
    before = net.params.data.copy()
    with pytest.raises(NonFiniteError, match="step 1: the loss is not finite"):
        net.train_step(X, y)
    assert np.array_equal(net.params.data, before)


def test_large_batch_training_resumed_from_saved_state_gives_the_same_bytes():
    """What `nnctl train --resume` relies on, on the two-thread path: parameters, optimizer state
    and the dropout generator saved after two steps and loaded into a fresh network."""
    X, y = batch("categorical_crossentropy", 10, 400, np.float32)
    batches = [(X[s : s + 100], y[s : s + 100]) for s in range(0, 400, 100)]

    def fresh() -> Network:
        net = parallel_net("categorical_crossentropy", "softmax", 10, np.float32, dropout=0.2)
        net.attach_optimizer(get_optimizer("adam"))
        return net

    straight = fresh()
    for xb, yb in batches:
        straight.train_step(xb, yb)
    first = fresh()
    for xb, yb in batches[:2]:
        first.train_step(xb, yb)
    assert first.optimizer is not None
    saved = (first.state_dict(), first.optimizer.state_dict(), first.rng_state())
    resumed = fresh()
    assert resumed.optimizer is not None
    resumed.load_state_dict(saved[0])
    resumed.optimizer.load_state_dict(saved[1])
    resumed.set_rng_state(saved[2])
    for xb, yb in batches[2:]:
        resumed.train_step(xb, yb)
    assert resumed.params.data.tobytes() == straight.params.data.tobytes()


# Keeping the CPUs awake: spinners at idle priority, each on one CPU, outside the GIL.

DEADLINE = 60.0  # seconds for an event that takes microseconds; only a broken spinner waits it


def wait_for(event, what: str) -> None:
    end = time.monotonic() + DEADLINE
    while not event():
        assert time.monotonic() < end, f"no {what} within {DEADLINE} s"
        time.sleep(0.001)


needs_machine_code = pytest.mark.skipif(
    native.spin is None, reason="machine code runs on x86-64 Linux and macOS only"
)


@needs_machine_code
def test_the_spin_routine_counts_down_and_stops_when_another_thread_zeroes_the_count():
    count = ctypes.c_int64(1000)
    native.spin(ctypes.byref(count))
    assert count.value == 0
    count.value = 10**15  # days of spinning unless stopped
    spinner = threading.Thread(target=native.spin, args=(ctypes.byref(count),), daemon=True)
    spinner.start()
    wait_for(lambda: count.value < 10**15, "spinning")  # it spins, without the GIL: we run
    count.value = 0
    spinner.join(DEADLINE)
    assert not spinner.is_alive()


needs_spinners = pytest.mark.skipif(
    not native.spinners_run(), reason="spinner threads run on x86-64 Linux only"
)


def in_futex_wait(tid: int) -> bool:
    """Whether thread ``tid`` of this process sleeps in a futex wait (system call 202)."""
    return open(f"/proc/self/task/{tid}/syscall").read().split()[0] == "202"


@needs_spinners
def test_awake_runs_one_idle_priority_spinner_pinned_to_each_cpu_sleeping_between_spells():
    cpus = sorted(os.sched_getaffinity(0))[:2]
    awake = threads.Awake(cpus=cpus)
    awake.touch()
    states, spins = list(awake._states), awake._spins
    assert len(states) == len(cpus)
    wait_for(lambda: all(s.status == native.SPINNING for s in states), "spinners at idle priority")
    spinners = awake.spinners
    for tid, cpu in zip(spinners, cpus, strict=True):
        assert os.sched_getscheduler(tid) == os.SCHED_IDLE
        assert os.sched_getaffinity(tid) == {cpu}
    wait_for(lambda: all(s.count < spins for s in states), "spinning")
    awake.touch()  # a second step keeps the same spinners
    assert awake.spinners == spinners
    awake.stop()
    wait_for(lambda: all(in_futex_wait(tid) for tid in spinners), "spinners asleep")
    awake.touch()  # the next spell wakes them
    wait_for(lambda: all(s.count < spins for s in states), "spinning again")
    assert awake.spinners == spinners
    del awake
    gc.collect()  # a collected Awake ends its spinners
    wait_for(lambda: all(s.status == native.ENDED for s in states), "spinners ended")
    wait_for(lambda: not any(os.path.exists(f"/proc/self/task/{t}") for t in spinners), "exit")


@needs_spinners
def test_a_spinner_sleeps_when_no_step_comes_and_a_step_wakes_it():
    awake = threads.Awake(cpus=sorted(os.sched_getaffinity(0))[:1])
    awake._spins = 1000  # microseconds of spinning instead of AWAKE_SECONDS
    awake.touch()
    wait_for(lambda: len(awake.spinners) == 1, "a spinner")
    (state,), (tid,) = awake._states, awake.spinners
    wait_for(lambda: state.count <= 0 and in_futex_wait(tid), "the spinner asleep")
    awake._spins = 10**12
    awake.touch()
    wait_for(lambda: state.count < 10**12, "spinning again")
    assert awake.spinners == [tid]
    awake.stop()
    wait_for(lambda: in_futex_wait(tid), "the spinner asleep")
    # A touch whose store came just after the spinner saw its count run out, and before it
    # slept, woke no one (the spinner seemed to spin): the next touch sees the count unspun.
    state.count = awake._spins
    awake.touch()
    wait_for(lambda: state.count < 10**12, "the next touch waking it")
    awake.stop()


@needs_spinners
def test_a_spinner_that_cannot_pin_itself_ends_and_the_cpus_are_not_kept_awake(monkeypatch):
    started = []
    start = native.start_spinner
    monkeypatch.setattr(
        native, "start_spinner", lambda cpu: started.append(start(cpu)) or started[-1]
    )
    awake = threads.Awake(cpus=[1023])  # a CPU this machine does not have
    awake.touch()  # the spinner may fail before this touch looks at it, or after
    (state,) = started
    assert state is not None
    wait_for(lambda: state.status < 0, "the spinner's failure")
    awake.touch()
    assert awake._failed and awake.spinners == [] and awake._states == []


@needs_spinners
def test_spinners_told_to_end_as_their_count_runs_out_all_end():
    """The futex compares the count's low 32 bits: the count that ends a spinner differs there
    from those a spinner may have seen run out, so one that read 0 and then slept after the end
    was stored, and the wake sent, still sees a change and ends (seen: up to 2 in 400 slept for
    good)."""
    assert native.QUIT & 0xFFFFFFFF not in (0, 0xFFFFFFFF) and native.QUIT < -2
    cpu = sorted(os.sched_getaffinity(0))[0]
    states = []
    for i in range(300):
        state = native.start_spinner(cpu)
        assert state is not None
        state.count = 1 + i % 50  # runs out about now
        native.wake(state)
        native.retire(state)
        states.append(state)
    wait_for(lambda: all(s.status in (native.ENDED,) or s.status < 0 for s in states), "all ended")
    assert all(s.status == native.ENDED for s in states)


@needs_spinners
def test_a_process_with_spinners_can_change_its_group_id():
    """A spinner leaves the C library's own signals unblocked: ``setgid`` waits for every thread
    to take the new id by one of them (it hung with every signal blocked)."""
    code = (
        "import os\n"
        "from nnctl.nn.fast import threads\n"
        "awake = threads.Awake(cpus=sorted(os.sched_getaffinity(0))[:2])\n"
        "awake.touch()\n"
        "while len(awake.spinners) < len(awake.cpus): pass\n"
        "os.setgid(os.getgid())\n"  # the spinners spin
        "awake.stop()\n"
        "os.setgid(os.getgid())\n"  # and asleep
        "print('done')\n"
    )
    done = subprocess.run([sys.executable, "-c", code], timeout=DEADLINE, capture_output=True)
    assert done.returncode == 0 and done.stdout == b"done\n", done.stderr


@needs_spinners
def test_a_forked_child_starts_its_own_spinners():
    code = (
        "import os\n"
        "from nnctl.nn.fast import threads\n"
        "awake = threads.Awake(cpus=[sorted(os.sched_getaffinity(0))[0]])\n"
        "awake.touch()\n"
        "while not awake.spinners: pass\n"
        "parent = awake.spinners\n"
        "pid = os.fork()\n"
        "if pid == 0:\n"
        "    awake.touch()\n"
        "    while not awake.spinners: pass\n"
        "    assert awake.spinners != parent\n"
        "    assert os.path.exists(f'/proc/self/task/{awake.spinners[0]}')\n"
        "    os._exit(0)\n"
        "_, status = os.waitpid(pid, 0)\n"
        "assert status == 0, status\n"
        "assert awake.spinners == parent\n"
    )
    done = subprocess.run([sys.executable, "-c", code], timeout=DEADLINE, capture_output=True)
    assert done.returncode == 0, done.stderr


def test_the_cpus_are_kept_awake_only_where_spinners_can_run_beside_two_threads(monkeypatch):
    for cpus, possible in (([0], False), ([0, 1], True), (list(range(8)), False)):
        monkeypatch.setattr(threads, "_allowed_cpus", lambda cpus=cpus: cpus)
        expected = possible and native.spinners_run()
        assert threads.awake_possible() is expected
        assert threads.Awake().cpus == (cpus if expected else [])


def test_a_step_chooses_among_awake_plans_only_where_the_cpus_can_be_kept_awake(monkeypatch):
    """Without the worker, the helper's plans (kept awake where the CPUs can be); with it, the
    worker's only."""
    for runs, possible in ((False, False), (False, True), (True, True)):
        monkeypatch.setattr(threads, "awake_possible", lambda possible=possible: possible)
        monkeypatch.setattr(threads, "_allowed_cpus", lambda: [0, 1])
        monkeypatch.setattr(worker, "worker_runs", lambda runs=runs: runs)
        net = Network.build(300, [{"units": 256, "activation": "relu"},
                                  {"units": 10, "activation": "softmax"}],
                            get_loss("categorical_crossentropy"), np.random.default_rng(0),
                            np.float32)  # fmt: skip
        assert net.fast is not None
        small, halves = net.fast.plans
        awake = AWAKE if possible else NONE
        if runs:
            assert small == halves == (NONE, PRODUCTS)
        else:
            assert small == (NONE, UPDATE | awake)
            assert halves == (NONE, UPDATE | awake, ALL | awake)


@needs_spinners
def test_a_process_exits_cleanly_while_a_spinner_spins():
    """The pages that hold a spinner's code and state outlive the interpreter (freeing the code's
    crashed a process whose spinner was still in it: signal 11)."""
    code = (
        "from nnctl.nn.fast import threads\n"
        "awake = threads.Awake(cpus=[sorted(__import__('os').sched_getaffinity(0))[0]])\n"
        "awake._spins = 10**13\n"
        "awake.touch()\n"
        "while awake._states[0].count == 10**13: pass\n"  # it spins: now exit
    )
    done = subprocess.run([sys.executable, "-c", code], timeout=DEADLINE, capture_output=True)
    assert done.returncode == 0, done.stderr


@needs_spinners
def test_a_spinner_retired_while_the_pool_is_locked_does_not_hang_the_step():
    """A collected `Awake` retires its spinners from a finalizer, and the collector may run it in
    an allocation made while the pool is locked (seen: a step that hung in `start_spinner`)."""
    state = native.start_spinner(0)
    assert state is not None
    finished = threading.Event()

    def retire_under_the_lock() -> None:
        with native._pool_lock:
            native.retire(state)  # as a finalizer run by an allocation under the lock would
        finished.set()

    thread = threading.Thread(target=retire_under_the_lock, daemon=True)
    thread.start()
    assert finished.wait(DEADLINE)
