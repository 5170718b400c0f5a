"""Matrix products shared with a worker thread that runs machine code only (the `PRODUCTS` site).

Two Python threads cannot share a training step's small pieces well: they pass the GIL back and
forth at every NumPy call, and on a quiet two-vCPU machine a step of batch 128 gained 4% from the
second core that way (`benchmarks/README.md`). The worker here never takes the GIL. It is a thread
of the C library's (`nnctl.nn.fast.native.start_thread`) running three small routines:

- ``run(job)`` calls the BLAS's ``cblas_?gemm`` (NumPy's own OpenBLAS, `nnctl._platform.blas_gemm`)
  with the arguments in a `Job`: ``C = A @ B`` for one block of rows;
- ``worker(state)`` blocks every signal but the C library's own, then waits for a job: it spins
  while its count lasts (each `Worker.split` gives it `SPIN_SECONDS` more), then sleeps on a
  futex. It claims a posted job (``lock cmpxchg``), takes the poster's MXCSR (flush-to-zero,
  rounding), runs it and marks it done; it ends when its count is `native.QUIT`;
- ``split(state, a, b, spins)``, called from Python (which releases the GIL): posts ``a``, wakes
  the worker if it sleeps, runs ``b`` on the calling thread, then runs ``a`` too if the worker has
  not claimed it yet, else waits until the worker is done with it;
- ``chain(a, b)`` runs job ``a``, then job ``b``: one hand-off for a product and what follows it
  in the same rows (`chain`).

So a product cut in two takes the time of one half when the worker is there, and of both halves
one after the other when it is not (asleep, on a busy CPU, in a forked child): never a wait for a
thread that is not running. Each block of rows is one BLAS call with the same arguments whichever
thread makes it, so the bytes are those of the same blocks on one thread (`pair`).

Where machine code or the BLAS cannot be reached (`nnctl.nn.fast.native`), `product` gives None
and `compute` falls back to ``np.matmul`` for that block; the bytes then are NumPy's for the same
blocks.
"""

from __future__ import annotations

import ctypes
import os
import threading
from collections.abc import Callable
from typing import Any, NamedTuple

import numpy as np

from nnctl._platform import blas_gemm
from nnctl.nn.fast import native
from nnctl.nn.fast.threads import spins_in

Array = np.ndarray

#: ``run`` at 0, ``worker`` at ``WORKER_ENTRY``, ``split`` at ``SPLIT_ENTRY`` (x86-64 System V).
#: State: 0 posted, 8 claimed, 16 done (job counts), 24 count (spins left; <= 0: sleep; < -2:
#: end), 32 status, 36 thread id, 40 the signals it blocks, 48 the posted job, 56 the MXCSR.
#: Job: 0 the function, 8-48 its integer arguments (rdi, rsi, rdx, rcx, r8, r9), 56 and 64 its
#: floating-point ones (xmm0, xmm1), 72-112 six more on the stack.
WORKER_CODE = bytes.fromhex(
    # run(job): copy the six stack arguments, load the registers, call job->fn
    "53 4889fb 4883ec30"  # push rbx; mov rbx, rdi; sub rsp, 48
    "488b4348 48890424 488b4350 4889442408 488b4358 4889442410"  # rsp[0..2] = job[9..11]
    "488b4360 4889442418 488b4368 4889442420 488b4370 4889442428"  # rsp[3..5] = job[12..14]
    "f30f7e4338 f30f7e4b40"  # movq xmm0, job[7]; movq xmm1, job[8]
    "488b7b08 488b7310 488b5318 488b4b20 4c8b4328 4c8b4b30"  # rdi..r9 = job[1..6]
    "b802000000 ff13 4883c430 5b c3"  # mov eax, 2 (vector registers used); call [rbx]; return
    # worker(state), at 0x6c
    "53 4889fb"  # push rbx; mov rbx, rdi
    "b80e000000 31ff 488d7328 31d2 41ba08000000 0f05"  # rt_sigprocmask(BLOCK, &signals, 0, 8)
    "b8ba000000 0f05 894324 c7432001000000"  # tid = gettid(); status = RUNNING
    "488b0b 483b4b08 7423"  # loop: rcx = posted; posted == claimed: jump to idle
    "488d41ff f0480fb14b08 75eb"  # claim: lock cmpxchg claimed, posted-1 -> posted; lost: loop
    "0fae5338 488b7b30 e848ffffff"  # ldmxcsr state.mxcsr; run(state.job)
    "488b4308 48894310 ebd4"  # done = claimed; jmp loop
    "488b4318 4883f8fe 7c25 4885c0 7e09"  # idle: count < -2: jump to end; <= 0: to park
    "f390 f048ff4b18 ebbc"  # pause; lock dec count; jmp loop
    "488d7b18 be80000000 89c2 4531d2 b8ca000000 0f05 eba5"  # park: futex(&count, WAIT, count)
    "c7432002000000 5b 31c0 c3"  # end: status = ENDED; pop rbx; return 0
    # split(state, a, b, spins), at 0xfc
    "53 4154 4155 4889fb 4989f4 4989d5"  # push rbx, r12, r13; rbx = state, r12 = a, r13 = b
    "0fae5b38 4c896330 f048ff03"  # stmxcsr state.mxcsr; state.job = a; lock inc posted
    "48874b18 4885c9 7f15"  # xchg count, spins; the old count > 0: it is awake, jump to own
    "488d7b18 be81000000 ba01000000 b8ca000000 0f05"  # futex(&count, WAKE, 1)
    "4c89ef e8c4feffff"  # own: run(b)
    "488b0b 488d41ff f0480fb14b08 750a"  # take a back if unclaimed (cmpxchg); claimed: wait
    "4c89e7 e8adfeffff eb0a"  # run(a); jmp out
    "48394b10 7404 f390 ebf6"  # wait: until done == posted, pause
    "415d 415c 5b c3"  # out: pop r13, r12, rbx; return
    # chain(a, b), at 0x165: run(a), then run(b)
    "53 4889f3 e892feffff"  # push rbx; rbx = b; call run (rdi = a)
    "4889df e88afeffff 5b c3"  # rdi = b; call run; pop rbx; return
)
WORKER_ENTRY, SPLIT_ENTRY, CHAIN_ENTRY = 0x6C, 0xFC, 0x165

#: A worker's status: starting, running (spinning, asleep, or in a job), ended.
STARTING, RUNNING, ENDED = 0, 1, 2
#: How long the worker spins after a `Worker.split` before it sleeps: a training step's products
#: come within a millisecond of each other, and between steps the data loader takes less.
SPIN_SECONDS = 0.002
#: The worker's stack: the BLAS's calls need more than a spinner's few bytes.
STACK_BYTES = 4 * 1024 * 1024

_CBLAS_ROW_MAJOR, _NO_TRANS, _TRANS = 101, 111, 112


class WorkerState(ctypes.Structure):
    """What the worker thread and its owner share (the offsets are the machine code's)."""

    _fields_ = [
        ("posted", ctypes.c_int64),  # 0: jobs posted
        ("claimed", ctypes.c_int64),  # 8: jobs claimed (by the worker, or taken back)
        ("done", ctypes.c_int64),  # 16: the last job the worker finished
        ("count", ctypes.c_int64),  # 24: spins left
        ("status", ctypes.c_int32),  # 32: STARTING, RUNNING, ENDED
        ("tid", ctypes.c_int32),  # 36: the thread's id, set when it runs
        ("signals", ctypes.c_uint64),  # 40: the signal set it blocks
        ("job", ctypes.c_void_p),  # 48: the posted job
        ("mxcsr", ctypes.c_uint32),  # 56: the poster's MXCSR
        ("_pad", ctypes.c_uint32),
    ]


Job = ctypes.c_int64 * 16
JobArray = ctypes.Array[ctypes.c_int64]


def _routines() -> tuple[Any, Any, int, int] | None:
    """``run``, ``split``, the worker's entry address and ``chain``'s, or None where they cannot
    run."""
    if not native.spinners_run():
        return None
    base = native.code_address(WORKER_CODE)
    if base is None:
        return None
    run = ctypes.CFUNCTYPE(None, ctypes.c_void_p)(base)
    split = ctypes.CFUNCTYPE(None, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_void_p,
                             ctypes.c_int64)(base + SPLIT_ENTRY)  # fmt: skip
    return run, split, base + WORKER_ENTRY, base + CHAIN_ENTRY


_ROUTINES = _routines()
_RUN = _ROUTINES[0] if _ROUTINES is not None else None
_ALPHA_ONE = {  # the bits of 1.0 in the element type, as alpha is passed
    "float32": int(np.array(1.0, np.float32).view(np.uint32)),
    "float64": int(np.array(1.0, np.float64).view(np.int64)),
}


class Product(NamedTuple):
    """``C = A @ B`` into ``C``, and its BLAS call as a job (None: ``np.matmul`` computes it)."""

    A: Array
    B: Array
    C: Array
    job: JobArray | None
    address: int


class Call(NamedTuple):
    """A job that calls some routine of machine code (None: ``fallback`` computes the same), and
    what it points to (``keeps``: held while the call is)."""

    job: JobArray | None
    address: int
    fallback: Callable[[], None]
    keeps: object = None


Task = Product | Call


def can_run_jobs() -> bool:
    """Whether jobs can run here (machine code, on this thread or the worker)."""
    return _RUN is not None


def _operand(M: Array, itemsize: int) -> tuple[int, int] | None:
    """The CBLAS transpose flag and leading dimension of a row-major 2-D operand, or None."""
    rows, cols = M.shape
    row_stride, col_stride = M.strides
    if col_stride == itemsize and row_stride % itemsize == 0 and row_stride >= itemsize * cols:
        return _NO_TRANS, row_stride // itemsize
    if row_stride == itemsize and col_stride % itemsize == 0 and col_stride >= itemsize * rows:
        return _TRANS, col_stride // itemsize
    return None


def product(A: Array, B: Array, C: Array) -> Product:
    """The product ``C = A @ B`` of 2-D arrays, with a BLAS job where one BLAS call computes it."""
    return Product(A, B, C, *_job(A, B, C))


def _job(A: Array, B: Array, C: Array) -> tuple[JobArray | None, int]:
    if _RUN is None or not A.dtype == B.dtype == C.dtype or A.ndim != 2 or B.ndim != 2:
        return None, 0
    gemm = _gemm(C.dtype.name)
    (m, k), (k2, n) = A.shape, B.shape
    itemsize = C.dtype.itemsize
    if gemm is None or k != k2 or C.shape != (m, n) or min(m, n, k) < 1:
        return None, 0
    if not (C.flags.writeable and C.dtype.isnative):  # BLAS writes native numbers, read-only or not
        return None, 0
    if np.may_share_memory(C, A) or np.may_share_memory(C, B):  # np.matmul copies; BLAS does not
        return None, 0
    a, b = _operand(A, itemsize), _operand(B, itemsize)
    c = _operand(C, itemsize)
    if a is None or b is None or c is None or c[0] != _NO_TRANS:
        return None, 0
    job = Job(gemm, _CBLAS_ROW_MAJOR, a[0], b[0], m, n, k, _ALPHA_ONE[C.dtype.name], 0,
              A.ctypes.data, a[1], B.ctypes.data, b[1], C.ctypes.data, c[1])  # fmt: skip
    return job, ctypes.addressof(job)


def moved(p: Product, views: tuple[Array, Array, Array], shifts: list[int]) -> Product:
    """``p`` for ``views`` laid out as its arrays but ``shifts`` bytes away (``A``, ``B``, ``C``):
    its job, with the pointers moved (in place)."""
    assert p.job is not None
    for field, shift in zip((9, 11, 13), shifts, strict=True):
        p.job[field] += shift
    return Product(*views, p.job, p.address)


_GEMMS: dict[str, int | None] = {}


def _gemm(dtype_name: str) -> int | None:
    if dtype_name not in _GEMMS:
        _GEMMS[dtype_name] = blas_gemm(dtype_name)
    return _GEMMS[dtype_name]


def compute(p: Task) -> None:
    """Compute ``p`` on this thread (releasing the GIL)."""
    if p.job is not None and _RUN is not None:
        _RUN(p.address)
    elif isinstance(p, Call):
        p.fallback()
    else:
        np.matmul(p.A, p.B, out=p.C)


def chain(first: Task, second: Task) -> Task:
    """One task that computes ``first``, then ``second`` (a job where both have one)."""

    def one_then_other() -> None:
        compute(first)
        compute(second)

    if _ROUTINES is None or first.job is None or second.job is None:
        return Call(None, 0, one_then_other, (first, second))
    job = Job(_ROUTINES[3], first.address, second.address)
    return Call(job, ctypes.addressof(job), one_then_other, (first, second))


def pair(worker: Worker | None, first: Task, second: Task) -> None:
    """Compute two tasks: ``first`` on the ``worker`` (when it is free) while this thread
    computes ``second``, else both here. Either way each is the same call."""
    if worker is None or first.job is None or second.job is None or not worker.split(first, second):
        compute(first)
        compute(second)


class Worker:
    """This process's worker thread (`for_process`)."""

    def __init__(self, state: WorkerState) -> None:
        self.state = state
        self._address = ctypes.addressof(state)
        self._lock = threading.Lock()  # one split at a time: the state holds one posted job
        self._spins = 0
        self.ended = False

    @property
    def running(self) -> bool:
        """Whether the thread runs (it started and was not told to end)."""
        return bool(self.state.status == RUNNING and self.state.count > native.QUIT)

    def split(self, first: Task, second: Task) -> bool:
        """Run ``first`` on the worker and ``second`` here; False (nothing run) when another
        thread is splitting already, or the worker was ended."""
        if _ROUTINES is None or self.ended:
            return False
        locked = False
        try:
            locked = self._lock.acquire(blocking=False)
            if not locked or self.ended:  # (a split would give an ended worker spins again)
                return False
            if not self._spins:
                self._spins = spins_in(SPIN_SECONDS)
            split = _ROUTINES[1]
            split(self._address, first.address, second.address, self._spins)
        finally:
            if locked:
                self._lock.release()
        return True

    def end(self) -> None:
        """Tell the thread to end (it does within a spin, or at once if asleep); `for_process`
        starts another when asked again."""
        with self._lock:
            self.ended = True
            self.state.count = native.QUIT
            native.wake_at(self._address + WorkerState.count.offset)


def worker_runs() -> bool:
    """Whether a worker can run here (`for_process` starts it)."""
    return _ROUTINES is not None and blas_gemm("float32") is not None


_process_worker: tuple[int, Worker | None] = (-1, None)
_start_lock = threading.Lock()


def for_process() -> Worker | None:
    """This process's worker, started on first use (and again in a forked child, which has none
    of its parent's threads); None where it cannot run."""
    global _process_worker
    pid, worker = _process_worker
    if pid == os.getpid() and (worker is None or not worker.ended):
        return worker
    with _start_lock:
        pid, worker = _process_worker
        if pid != os.getpid() or (worker is not None and worker.ended):
            _process_worker = (os.getpid(), _start())
    return _process_worker[1]


def _forget_after_fork() -> None:
    # A forked child has none of its parent's threads: neither the worker nor the one that may
    # have held the lock while another thread forked.
    global _process_worker, _start_lock
    _process_worker, _start_lock = (-1, None), threading.Lock()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_after_fork)


def _start() -> Worker | None:
    if _ROUTINES is None or not worker_runs():
        return None
    page = native.immortal_page(executable=False)
    if page is None:
        return None
    state = WorkerState.from_buffer(page)
    state.signals = native.BLOCKED_SIGNALS
    if not native.start_thread(_ROUTINES[2], ctypes.addressof(state), STACK_BYTES):
        return None
    return Worker(state)
