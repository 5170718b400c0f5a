"""Training speed of the NumPy engine against PyTorch on an MNIST-sized workload.

Workload: 60,000 x 784 float32 inputs uniform in [0, 1), random labels of 10 classes; network
784-256-128-10 relu/softmax, categorical cross-entropy, Adam (lr 1e-3); shuffled mini-batches;
one epoch timed after a warm-up epoch; batch sizes 32, 128 and 512; 2 threads. When PyTorch is
installed, the same run times an equivalent ``nn.Sequential`` with manual index batching, with both
``Adam()`` and ``Adam(fused=True)`` and ``torch.set_flush_denormal(True)``, and prints the ratio of
nnctl's time to PyTorch's best. The contenders take turns: each timed round runs one epoch of
each (in alternating order, with a short pause between), so that a burst of other work on a shared
machine falls on all of them alike; the best and the median epoch of each are shown. PyTorch's
flush-to-zero is switched off during nnctl's epochs (nnctl sets its own). The last column is the
median over rounds of each round's ratio (nnctl's epoch over PyTorch's faster one in that round)
and how many rounds nnctl was at or below PyTorch. It also reports the per-step time of a tiny
network (64-64-10, batch 32), which measures the engine's fixed overhead per step.

Run (OPENBLAS_CORETYPE, if set in the environment, slows OpenBLAS; unset it for this command)::

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python benchmarks/bench_engine.py

Options: ``--batch-sizes 32 128 512``, ``--samples 60000``, ``--no-torch``, ``--no-ftz`` (engine
without flush-to-zero or its fallback, to see the cost of subnormals), ``--threads 2``,
``--repeat N`` (timed rounds after the warm-up; default 5), ``--products`` (only the step's matrix
products on one thread, NumPy's BLAS against PyTorch's), ``--scaling ROUNDS`` (one core against
two), ``--against REV`` (this tree's nnctl against a git revision's, to measure a change),
``--busy`` (with another process busy beside it); ``--help`` lists the rest.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from collections.abc import Callable
from functools import partial
from typing import Any


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--batch-sizes", type=int, nargs="+", default=[32, 128, 512])
    parser.add_argument("--samples", type=int, default=60_000)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--no-torch", action="store_true", help="time nnctl only")
    parser.add_argument("--no-ftz", action="store_true", help="no flush-to-zero in nnctl")
    parser.add_argument("--tiny-steps", type=int, default=20_000)
    parser.add_argument(
        "--products",
        action="store_true",
        help="only time the step's matrix products on one thread, NumPy's BLAS against PyTorch's",
    )
    parser.add_argument(
        "--repeat", type=int, default=5, help="timed rounds after the warm-up (best and median)"
    )
    parser.add_argument(
        "--scaling",
        type=int,
        metavar="ROUNDS",
        help="run the benchmark on one core and on two, alternating, ROUNDS times each, and print "
        "both with each contender's 1 -> 2 core gain",
    )
    parser.add_argument(
        "--layouts",
        action="store_true",
        help="nnctl's step alone, in one process: the helper at each site, the planner, one "
        "thread, OpenBLAS's threads",
    )
    parser.add_argument(
        "--handoffs",
        action="store_true",
        help="time each hand-off to the helper from both threads, against one thread",
    )
    parser.add_argument(
        "--against",
        metavar="REV",
        help="nnctl of this tree against nnctl of git revision REV, in child processes taking "
        "turns (--repeat rounds each, no PyTorch): per batch, each round's ratio",
    )
    parser.add_argument(
        "--busy",
        action="store_true",
        help="keep one busy process (a pure-Python loop) running beside the benchmark",
    )
    parser.add_argument("--cpus", type=int, nargs="+", help=argparse.SUPPRESS)  # child: affinity
    parser.add_argument("--json", type=str, help=argparse.SUPPRESS)  # child: write times here
    return parser.parse_args()


ARGS = parse_args()
if ARGS.cpus:
    os.sched_setaffinity(0, ARGS.cpus)  # before any thread pool starts
for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = str(ARGS.threads)  # before NumPy (and PyTorch) start their thread pools

import numpy as np  # noqa: E402
from machine import anchor, cpu_times, describe, stolen_since  # noqa: E402

from nnctl.nn.fast.planner import ALL, AWAKE, NONE, PRODUCTS, ROWS, UPDATE  # noqa: E402
from nnctl.nn.fast.step import step_kind  # noqa: E402
from nnctl.nn.losses import get_loss  # noqa: E402
from nnctl.nn.network import Network  # noqa: E402
from nnctl.nn.optim.optimizers import get_optimizer  # noqa: E402

LAYERS = [(256, "relu"), (128, "relu"), (10, "softmax")]
PAUSE = 0.2  # seconds between two contenders' epochs


def make_data(n: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    return rng.random((n, 784), dtype=np.float32), rng.integers(0, 10, n)


def build_nnctl(n_inputs: int, layers: list[tuple[int, str]], ftz: bool) -> Network:
    specs = [{"units": u, "activation": a} for u, a in layers]
    net = Network.build(n_inputs, specs, get_loss("categorical_crossentropy"),
                        np.random.default_rng(0), np.float32)  # fmt: skip
    optimizer = get_optimizer("adam", learning_rate=1e-3)
    if not ftz:
        net.flush_denormals, optimizer.flush_every = False, 0
    net.attach_optimizer(optimizer)
    return net


def nnctl_epoch(net: Network, X: np.ndarray, y: np.ndarray, batch: int, rng) -> float:
    """One shuffled epoch; batches are gathered into reused buffers. Returns seconds."""
    n = len(X)
    x_buffers: dict[int, np.ndarray] = {}
    y_buffers: dict[int, np.ndarray] = {}
    start_time = time.perf_counter()
    order = rng.permutation(n)
    for start in range(0, n, batch):
        idx = order[start : start + batch]
        m = len(idx)
        if m not in x_buffers:
            x_buffers[m] = np.empty((m, X.shape[1]), dtype=X.dtype)
            y_buffers[m] = np.empty(m, dtype=y.dtype)
        xb = x_buffers[m]
        net.take_batch(X, idx, xb)  # as nnctl's trainer does
        yb = np.take(y, idx, out=y_buffers[m], mode="clip")
        net.train_step(xb, yb)
    return time.perf_counter() - start_time


PLAN_NAMES = {NONE: "none", ROWS: "rows", UPDATE: "update", ALL: "both"}
PLAN_NAMES |= {plan | AWAKE: f"{name} + awake" for plan, name in PLAN_NAMES.items() if plan}
PLAN_NAMES |= {PRODUCTS: "products", PRODUCTS | UPDATE | AWAKE: "products + update + awake"}


def nnctl_contender(
    X: np.ndarray, y: np.ndarray, batch: int, ftz: bool
) -> tuple[Callable[[], float], Callable[[], str]]:
    """One epoch of nnctl, and where its planner put the helper for full batches."""
    net = build_nnctl(X.shape[1], LAYERS, ftz)
    rng = np.random.default_rng(1)
    fast = net.fast
    assert fast is not None

    def plan() -> str:
        if fast.helper is None:
            return "no helper"
        chosen = fast.planner.chosen(step_kind(batch))
        return "not chosen yet" if chosen is None else PLAN_NAMES[chosen]

    return (lambda: nnctl_epoch(net, X, y, batch, rng)), plan


def time_tiny_step(steps: int, ftz: bool) -> float:
    """Seconds per train_step of a 64-64-10 network on batches of 32."""
    net = build_nnctl(64, [(64, "relu"), (10, "softmax")], ftz)
    rng = np.random.default_rng(0)
    X, y = rng.random((32, 64), dtype=np.float32), rng.integers(0, 10, 32)
    for _ in range(200):
        net.train_step(X, y)
    start = time.perf_counter()
    for _ in range(steps):
        net.train_step(X, y)
    return (time.perf_counter() - start) / steps


def torch_contender(X: np.ndarray, y: np.ndarray, batch: int, fused: bool) -> Callable[[], float]:
    import torch
    from torch import nn

    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 128), nn.ReLU(),
                          nn.Linear(128, 10))  # fmt: skip
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3, fused=fused or None)
    criterion = nn.CrossEntropyLoss()
    Xt, yt = torch.from_numpy(X), torch.from_numpy(y)

    def epoch() -> float:
        torch.set_flush_denormal(True)
        start_time = time.perf_counter()
        order = torch.randperm(len(Xt))
        for start in range(0, len(Xt), batch):
            idx = order[start : start + batch]
            optimizer.zero_grad(set_to_none=True)
            loss = criterion(model(Xt[idx]), yt[idx])
            loss.backward()
            optimizer.step()
        seconds = time.perf_counter() - start_time
        torch.set_flush_denormal(False)
        return seconds

    return epoch


def race(contenders: dict[str, Callable[[], float]], rounds: int) -> dict[str, list[float]]:
    """Warm each contender up, then time ``rounds`` rounds of one epoch each, taking turns."""
    names = list(contenders)
    for name in names:
        contenders[name]()
    times: dict[str, list[float]] = {name: [] for name in names}
    for r in range(rounds):
        for name in names if r % 2 == 0 else names[::-1]:
            time.sleep(PAUSE)  # let the last contender's spinning threads go idle
            times[name].append(contenders[name]())
    return times


def torch_available() -> bool:
    try:
        import torch
    except ImportError:
        return False
    torch.set_num_threads(ARGS.threads)
    return True


def best_us(product: Callable[[], object]) -> float:
    """Microseconds per call of ``product``: the best of 7 runs of 200 calls."""
    runs = []
    for _ in range(7):
        start = time.perf_counter()
        for _ in range(200):
            product()
        runs.append((time.perf_counter() - start) / 200 * 1e6)
    return min(runs)


def time_products() -> None:
    """Microseconds per product of the benchmark's step, one thread, NumPy against PyTorch.

    The shapes are those of a batch of 128 cut in halves of 64 rows: each layer's forward product
    on a half, and the first layer's weight gradient ``X.T @ dZ`` on the whole batch.
    """
    import torch

    torch.set_num_threads(1)
    from nnctl._platform import set_blas_threads

    set_blas_threads(1)
    rng = np.random.default_rng(0)
    shapes = [("forward 784->256, 64 rows", 64, 784, 256),
              ("forward 256->128, 64 rows", 64, 256, 128),
              ("dW of 784->256, 128 rows", 784, 128, 256)]  # fmt: skip
    print("| product (m x k x n) | NumPy us | PyTorch us | NumPy / PyTorch |")
    print("|---|---:|---:|---:|")
    for name, m, k, n in shapes:
        a, b = rng.random((m, k), dtype=np.float32), rng.random((k, n), dtype=np.float32)
        c = np.empty((m, n), dtype=np.float32)
        ta, tb, tc = torch.from_numpy(a), torch.from_numpy(b), torch.from_numpy(c)
        us = [best_us(partial(np.matmul, a, b, out=c)), best_us(partial(torch.mm, ta, tb, out=tc))]
        print(f"| {name} ({m} x {k} x {n}) | {us[0]:.0f} | {us[1]:.0f} | {us[0] / us[1]:.2f} |")


def scaling(rounds: int) -> None:
    """The benchmark on one core (affinity CPU 0, one thread) and on two, in alternating child
    processes; per batch, each contender's median epoch and its gain from the second core."""
    import json
    import subprocess
    import tempfile

    passed = child_arguments("--scaling", "--busy")
    runs: dict[int, list[dict[str, dict[str, Any]]]] = {1: [], 2: []}
    with tempfile.TemporaryDirectory() as tmp:
        for r in range(rounds):
            for cores in (1, 2) if r % 2 == 0 else (2, 1):
                out = f"{tmp}/{r}-{cores}.json"
                extra = ["--threads", "1", "--cpus", "0"] if cores == 1 else ["--threads", "2"]
                command = [sys.executable, __file__, *passed, *extra, "--json", out]
                subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
                with open(out, encoding="utf-8") as f:
                    runs[cores].append(json.load(f))
    print_scaling(runs)


def child_arguments(*dropped: str) -> list[str]:
    """This run's command-line arguments without the options ``dropped`` and their values."""
    passed, skip = [], False
    for arg in sys.argv[1:]:
        if skip:
            skip = False
        elif arg in dropped:
            skip = arg != "--busy"  # the flag without a value
        elif not any(arg.startswith(f"{name}=") for name in dropped):
            passed.append(arg)
    return passed


def against(rev: str, rounds: int) -> None:
    """nnctl of this tree against nnctl of git revision ``rev`` (its files, `git archive`), in
    child processes taking turns (each its warm-up and one timed epoch per batch size); per batch,
    each round's epoch of this tree over the revision's."""
    import json
    import subprocess
    import tempfile

    here = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    passed = [*child_arguments("--against", "--repeat", "--busy"), "--no-torch", "--repeat", "1"]
    times: dict[str, dict[str, list[float]]] = {"this tree": {}, rev: {}}
    with tempfile.TemporaryDirectory() as tmp:
        old = os.path.join(tmp, "tree")
        os.mkdir(old)
        archive = subprocess.run(["git", "-C", here, "archive", rev], capture_output=True)
        if archive.returncode != 0:
            sys.exit(f"git archive {rev}: {archive.stderr.decode().strip()}")
        subprocess.run(["tar", "-x", "-C", old], input=archive.stdout, check=True)
        trees = {"this tree": here, rev: old}
        for r in range(rounds):
            for name in list(trees) if r % 2 == 0 else list(trees)[::-1]:
                out = os.path.join(tmp, f"{r}.json")
                script = os.path.join(trees[name], "benchmarks", "bench_engine.py")
                env = dict(os.environ, PYTHONPATH=trees[name])
                command = [sys.executable, script, *passed, "--json", out]
                subprocess.run(command, check=True, stdout=subprocess.DEVNULL, env=env)
                with open(out, encoding="utf-8") as f:
                    for batch, run in json.load(f).items():
                        times[name].setdefault(batch, []).extend(run["nnctl"])
    print(f"Seconds per epoch of nnctl, {rounds} rounds taking turns; ratio = this tree / {rev}:\n")
    print(f"| batch | this tree, median | {rev}, median | ratio per round | median ratio | "
          "this tree faster |")  # fmt: skip
    print("|---:|---:|---:|---|---:|---:|")
    for batch, new in times["this tree"].items():
        old_times = times[rev][batch]
        ratios = [a / b for a, b in zip(new, old_times, strict=True)]
        print(f"| {batch} | {statistics.median(new):.3f} | {statistics.median(old_times):.3f} "
              f"| {' '.join(f'{x:.2f}' for x in ratios)} | {statistics.median(ratios):.3f} "
              f"| {sum(x < 1 for x in ratios)} of {len(ratios)} |")  # fmt: skip


def busy_beside() -> None:
    """Start a process that keeps one CPU busy (a pure-Python loop) until this one ends."""
    import atexit
    import subprocess

    busy = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    atexit.register(busy.kill)
    print(f"a busy process (pid {busy.pid}) runs beside this benchmark", flush=True)


def print_scaling(runs: dict[int, list[dict[str, dict[str, Any]]]]) -> None:
    def median(cores: int, batch: str, name: str) -> float | None:
        times = [t for run in runs[cores] for t in run[batch].get(name, [])]
        return statistics.median(times) if times else None

    print("Seconds per epoch, median over all rounds; gain = 1 core / 2 cores:\n")
    print("| batch | nnctl 1 core | torch 1 core | nnctl 2 cores | torch 2 cores | nnctl gain "
          "| torch gain | nnctl / torch, 2 cores | nnctl's plan, 2 cores |")  # fmt: skip
    print("|---:|---:|---:|---:|---:|---:|---:|---:|---|")
    for batch in runs[1][0]:
        n1, n2 = median(1, batch, "nnctl"), median(2, batch, "nnctl")
        t1 = [m for name in ("torch", "torch fused") if (m := median(1, batch, name)) is not None]
        t2 = [m for name in ("torch", "torch fused") if (m := median(2, batch, name)) is not None]
        assert n1 is not None and n2 is not None
        seen = [str(run[batch].get("plan", "?")) for run in runs[2]]
        plans = ", ".join(f"{p} x{seen.count(p)}" for p in dict.fromkeys(seen))
        if not t1:
            print(f"| {batch} | {n1:.3f} | - | {n2:.3f} | - | {n1 / n2:.2f} | - | - | {plans} |")
            continue
        best1, best2 = min(t1), min(t2)
        print(f"| {batch} | {n1:.3f} | {best1:.3f} | {n2:.3f} | {best2:.3f} | {n1 / n2:.2f} "
              f"| {best1 / best2:.2f} | {n2 / best2:.2f} | {plans} |")  # fmt: skip
    print(
        "\ntorch: the faster of Adam() and Adam(fused=True) at that core count. nnctl's plan: "
        "where its planner used the helper thread at the end of each 2-core run."
    )


def layouts() -> None:
    """Microseconds per nnctl step in one process, layouts alternated: the helper thread at both
    of the step's sites and at the update's alone (BLAS on one thread), each with the CPUs kept
    awake (where they can be: `nnctl.nn.fast.threads.awake_possible`), the planner's choice,
    everything on one thread, and no helper with OpenBLAS's own two threads."""
    from nnctl import _platform
    from nnctl.nn.fast.threads import Helper

    helper, rng = Helper(), np.random.default_rng(0)
    kinds = {"helper, both sites": (helper, ALL, 1), "helper, update only": (helper, UPDATE, 1),
             "both sites + awake": (helper, ALL | AWAKE, 1),
             "update + awake": (helper, UPDATE | AWAKE, 1),
             "products (worker)": (helper, PRODUCTS, 1),
             "products + update + awake": (helper, PRODUCTS | UPDATE | AWAKE, 1),
             "planner": (helper, None, 1), "one thread": (None, NONE, 1),
             "OpenBLAS 2 threads": (None, NONE, 2)}  # fmt: skip
    print(f"| batch | {' | '.join(kinds)} | planner's choice |")
    print(f"|---:|{'---:|' * (len(kinds) + 1)}")
    for batch in ARGS.batch_sizes:
        X, y = rng.random((batch, 784), dtype=np.float32), rng.integers(0, 10, batch)
        net, steps = build_nnctl(784, LAYERS, True), max(20, 20_000 // batch)
        fast = net.fast
        assert fast is not None
        us: dict[str, list[float]] = {k: [] for k in kinds}
        for r in range(2 * ARGS.repeat):
            for kind in list(kinds) if r % 2 == 0 else list(kinds)[::-1]:
                fast.helper, fast.planner.fixed, blas = kinds[kind]
                _platform.set_blas_threads(blas)
                start = time.perf_counter()
                for _ in range(steps):
                    net.train_step(X, y)
                us[kind].append((time.perf_counter() - start) / steps * 1e6)
        one = statistics.median(us["one thread"])
        cells = [f"{statistics.median(v):.0f} us (x{one / statistics.median(v):.2f})"
                 for v in us.values()]  # fmt: skip
        fast.planner.fixed = None
        chosen = fast.planner.chosen(step_kind(batch))
        print(f"| {batch} | {' | '.join(cells)} | {PLAN_NAMES.get(chosen, chosen)} |")
    _platform.set_blas_threads(1)
    start, n = time.perf_counter(), 20_000
    for _ in range(n):
        helper.run_split(lambda: None, lambda: None)
    print(f"\nhelper hand-off, empty tasks: {(time.perf_counter() - start) / n * 1e6:.1f} us")


def handoffs() -> None:
    """Where the second core goes: each hand-off of a step to the helper, timed from both threads
    (helper at both sites), against the same two pieces run one after the other on one thread."""
    from nnctl import _platform
    from nnctl.nn.fast.threads import Helper

    clock = time.perf_counter_ns
    records: list[dict[str, int]] = []

    class Timed(Helper):
        def run_split(self, first: Callable[[], None], second: Callable[[], None]) -> None:
            r: dict[str, int] = {}

            def timed_first() -> None:
                r["h0"] = clock()
                first()
                r["h1"] = clock()

            def timed_second() -> None:
                r["c0"] = clock()
                second()
                r["c1"] = clock()

            r["t0"] = clock()
            super().run_split(timed_first, timed_second)
            r["t1"] = clock()
            records.append(r)

    class OneThread:
        def run_split(self, first: Callable[[], None], second: Callable[[], None]) -> None:
            t0 = clock()
            first()
            t1 = clock()
            second()
            records.append({"first": t1 - t0, "second": clock() - t1})

    _platform.set_blas_threads(1)
    rng = np.random.default_rng(0)
    print("Microseconds, median over steps; rounds of the two ways alternate.\n")
    print(
        "| batch | hand-off | helper starts after | helper's piece | caller's piece "
        "| caller waits | helper done to caller on | whole | one thread: first + second |"
    )
    print("|---:|---|---:|---:|---:|---:|---:|---:|---:|")
    for batch in ARGS.batch_sizes:
        X, y = rng.random((batch, 784), dtype=np.float32), rng.integers(0, 10, batch)
        net, steps = build_nnctl(784, LAYERS, True), max(20, 10_000 // batch)
        fast = net.fast
        assert fast is not None
        fast.planner.fixed = ALL
        got: dict[str, list[dict[str, int]]] = {"two": [], "one": []}
        for r in range(2 * ARGS.repeat):
            for way in ("two", "one") if r % 2 == 0 else ("one", "two"):
                fast.helper = Timed() if way == "two" else OneThread()  # type: ignore[assignment]
                net.train_step(X, y)
                records.clear()
                for _ in range(steps):
                    net.train_step(X, y)
                got[way].extend(records)
        per_step = len(got["two"]) // (steps * 2 * ARGS.repeat)
        names = ["rows", "gradients and update"] if per_step == 2 else ["gradients and update"]
        for k, name in enumerate(names):
            two, one = got["two"][k::per_step], got["one"][k::per_step]

            def med(f: Callable[[dict[str, int]], int], rs: list[dict[str, int]] = two) -> str:
                return f"{statistics.median(f(r) for r in rs) / 1e3:.0f}"

            alone = f"{med(lambda r: r['first'], one)} + {med(lambda r: r['second'], one)}"
            print(f"| {batch} | {name} | {med(lambda r: r['h0'] - r['t0'])} "
                  f"| {med(lambda r: r['h1'] - r['h0'])} | {med(lambda r: r['c1'] - r['c0'])} "
                  f"| {med(lambda r: max(0, r['t1'] - r['c1']))} "
                  f"| {med(lambda r: r['t1'] - r['h1'])} | {med(lambda r: r['t1'] - r['t0'])} "
                  f"| {alone} |")  # fmt: skip


def main() -> None:
    if not ARGS.json:
        import atexit

        print(describe(), flush=True)
        before = cpu_times()
        print(anchor(), flush=True)
        atexit.register(lambda: print(f"{stolen_since(before)}\nat the end, {anchor()}"))
        if ARGS.busy:
            busy_beside()
    if ARGS.against:
        against(ARGS.against, ARGS.repeat)
        return
    if ARGS.scaling:
        scaling(ARGS.scaling)
        return
    if ARGS.products:
        time_products()
        return
    if ARGS.layouts:
        layouts()
        return
    if ARGS.handoffs:
        handoffs()
        return
    X, y = make_data(ARGS.samples)
    ftz = not ARGS.no_ftz
    use_torch = not ARGS.no_torch and torch_available()
    flush = "on" if ftz else "off"
    print(f"numpy {np.__version__}, {ARGS.threads} threads, {ARGS.samples} samples, "
          f"flush-to-zero {flush}, {ARGS.repeat} rounds", file=sys.stderr)  # fmt: skip
    if use_torch:
        import torch

        print(f"torch {torch.__version__}", file=sys.stderr)
    results: dict[int, dict[str, list[float]]] = {}
    plans: dict[int, str] = {}
    for b in ARGS.batch_sizes:
        epoch, plan = nnctl_contender(X, y, b, ftz)
        contenders = {"nnctl": epoch}
        if use_torch:
            contenders["torch"] = torch_contender(X, y, b, fused=False)
            contenders["torch fused"] = torch_contender(X, y, b, fused=True)
        results[b] = race(contenders, ARGS.repeat)
        plans[b] = plan()
    if ARGS.json:
        import json

        with open(ARGS.json, "w", encoding="utf-8") as f:
            json.dump({str(b): {**times, "plan": plans[b]} for b, times in results.items()}, f)
        return
    tiny = time_tiny_step(ARGS.tiny_steps, ftz)
    print("Seconds per epoch, best of the rounds (median in brackets):\n")
    print("| batch | nnctl | torch Adam | torch Adam fused | nnctl / best torch | round by round |")
    print("|---:|---:|---:|---:|---:|---:|")
    for b, times in results.items():
        cells = [f"{min(t):.3f} ({statistics.median(t):.3f})" for t in times.values()]
        if len(times) == 1:
            print(f"| {b} | {cells[0]} | - | - | - | - |")
            continue
        best = {name: min(t) for name, t in times.items()}
        median = {name: statistics.median(t) for name, t in times.items()}
        ratio = best["nnctl"] / min(best["torch"], best["torch fused"])
        ratio_median = median["nnctl"] / min(median["torch"], median["torch fused"])
        # Each round's epochs ran back to back, so their ratio cancels a slow spell of the machine.
        rounds = [n / min(a, f) for n, a, f in zip(*times.values(), strict=True)]
        at_most = sum(r <= 1.0 for r in rounds)
        paired = f"{statistics.median(rounds):.2f}, {at_most} of {len(rounds)} at or below"
        print(f"| {b} | {' | '.join(cells)} | {ratio:.2f} ({ratio_median:.2f}) | {paired} |")
    chosen = ", ".join(f"batch {b} {p}" for b, p in plans.items())
    print(f"\nnnctl's planner, where the helper thread was used at the end: {chosen}")
    print(f"tiny network 64-64-10, batch 32: {tiny * 1e3:.4f} ms per train_step")


if __name__ == "__main__":
    main()
