"""The machine a benchmark ran on, printed beside its figures so they can be read elsewhere.

Figures from one machine do not hold on another: a benchmark prints this block first, then its
own table. What it reads (Linux; anything missing is said so rather than guessed):

- the CPU model (``/proc/cpuinfo``), logical CPUs, physical cores and SMT siblings
  (``/sys/devices/system/cpu/cpu*/topology``), the CPUs this process may run on (affinity);
- whether it is a virtual machine (the ``hypervisor`` CPU flag), and the load average;
- Python, NumPy and NumPy's BLAS as it configured itself at run time (OpenBLAS's core kernel).

Run it alone with ``python benchmarks/machine.py``.
"""

from __future__ import annotations

import ctypes
import os
import platform
from pathlib import Path

import numpy as np

from nnctl import _platform

_TOPOLOGY = Path("/sys/devices/system/cpu")


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text(encoding="utf-8").splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def cpu_flags() -> set[str]:
    try:
        for line in Path("/proc/cpuinfo").read_text(encoding="utf-8").splitlines():
            if line.startswith("flags"):
                return set(line.split(":", 1)[1].split())
    except OSError:
        pass
    return set()


def topology() -> tuple[int, int | None, list[str]]:
    """Logical CPUs, physical cores (None if unknown) and the SMT sibling groups, e.g. ['0,1']."""
    logical = os.cpu_count() or 1
    cores: set[tuple[str, str]] = set()
    siblings: set[str] = set()
    for cpu in sorted(_TOPOLOGY.glob("cpu[0-9]*")):
        top = cpu / "topology"
        try:
            package = (top / "physical_package_id").read_text().strip()
            core = (top / "core_id").read_text().strip()
            siblings.add((top / "thread_siblings_list").read_text().strip())
        except OSError:
            continue
        cores.add((package, core))
    return logical, (len(cores) or None), sorted(siblings)


def blas() -> str:
    """NumPy's BLAS as it runs: OpenBLAS's configuration string (its kernel), else NumPy's build."""
    for path in _platform._openblas_paths():
        try:
            lib = ctypes.CDLL(path)
        except OSError:
            continue
        for name in ("scipy_openblas_get_config64_", "scipy_openblas_get_config",
                     "openblas_get_config64_", "openblas_get_config"):  # fmt: skip
            getter = getattr(lib, name, None)
            if getter is not None:
                getter.restype = ctypes.c_char_p
                return " ".join(getter().decode().split())
    info = np.show_config(mode="dicts")["Build Dependencies"]["blas"]  # type: ignore[index]
    return f"{info.get('name')} {info.get('version')}"


def cpu_times() -> tuple[int, int] | None:
    """(stolen, all) CPU time of this machine since boot, in clock ticks (``/proc/stat``): the
    time its virtual CPUs were ready to run but the host ran something else."""
    try:
        fields = Path("/proc/stat").read_text(encoding="utf-8").splitlines()[0].split()[1:]
    except (OSError, IndexError):
        return None
    ticks = [int(f) for f in fields[:8]]
    return (ticks[7], sum(ticks)) if len(ticks) == 8 else None


def stolen_since(before: tuple[int, int] | None) -> str:
    """A line saying how much of the machine's CPU time the host took since ``before``."""
    after = cpu_times()
    if before is None or after is None or after[1] <= before[1]:
        return "stolen time: unknown (no /proc/stat)"
    share = (after[0] - before[0]) / (after[1] - before[1])
    return (f"stolen time during the run: {share:.1%} of the CPUs' time (the host ran something "
            "else while this machine's CPUs were ready; figures from a run above a few percent "
            "are slower than the machine is)")  # fmt: skip


def anchor() -> str:
    """How fast the machine is right now: one 64 x 784 x 256 float32 product on one BLAS thread
    and a pure-Python loop, best of 5 (the same work on every machine, to compare runs with)."""
    from time import perf_counter

    rng = np.random.default_rng(0)
    a, b = rng.random((64, 784), dtype=np.float32), rng.random((784, 256), dtype=np.float32)
    c = np.empty((64, 256), dtype=np.float32)
    with _platform.one_blas_thread():
        product = []
        for _ in range(5):
            start = perf_counter()
            for _ in range(100):
                np.matmul(a, b, out=c)
            product.append((perf_counter() - start) / 100 * 1e6)
    loop = []
    for _ in range(5):
        start, total = perf_counter(), 0
        for i in range(200_000):
            total += i
        loop.append((perf_counter() - start) * 1e3)
    return (f"speed now: a 64x784x256 product {min(product):.0f} us, a 200,000-step Python loop "
            f"{min(loop):.1f} ms")  # fmt: skip


def describe() -> str:
    """A few lines that identify the machine and its software, for a benchmark's output."""
    logical, physical, groups = topology()
    smt = "unknown"
    if physical is not None:
        per_core = logical // physical if physical else 1
        smt = f"on, {per_core} threads per core" if per_core > 1 else "off (1 thread per core)"
    affinity = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else []
    vm = "virtual machine" if "hypervisor" in cpu_flags() else "bare metal or unknown"
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    return "\n".join(
        [
            f"machine: {cpu_model()}; {logical} logical CPUs, {physical or '?'} physical cores, "
            f"SMT {smt}; sibling groups {groups or '?'}; {vm}",
            f"process: may run on CPUs {affinity}; load average {load}; "
            f"BLAS threads at start {_platform.BLAS_THREADS_AT_START}",
            f"software: Python {platform.python_version()}, NumPy {np.__version__}, {blas()}",
        ]
    )


if __name__ == "__main__":
    print(describe())
