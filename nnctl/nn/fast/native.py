"""Tiny machine-code routines for what Python cannot reach, called with `ctypes`.

Each routine is a few x86-64 instructions placed in an executable page with `mmap`: reading and
setting the MXCSR register (`nnctl.nn.fast.fpu`), a spin loop, and the spinner threads that keep
the CPUs awake (`nnctl.nn.fast.threads.Awake`). A `ctypes.CFUNCTYPE` call releases the GIL, so a
thread inside `spin` lets every other thread run Python.

A spinner (`start_spinner`) is a thread of the C library's (``pthread_create``) that runs machine
code only: it never takes the GIL. It could not be a Python thread: at idle priority, a thread
that held the GIL for the few lines between its system calls, or to end, was left waiting for a
CPU beside a busy process while every other thread of the process waited for it (and starting
one cost 0.6 ms on an idle two-vCPU machine, up to 16 ms beside a busy process). A spinner blocks
every signal but the C library's own, pins itself to its CPU and takes Linux's ``SCHED_IDLE``
policy, then spins while its count lasts and sleeps on a futex when it runs out, until `wake`; it
ends when told (`retire`).

Where machine code cannot run (another architecture, Windows' calling convention, a system that
forbids executable memory), `routine` gives None and the callers do without; spinners need Linux
too (the system-call numbers are x86-64 Linux's).
"""

from __future__ import annotations

import ctypes
import mmap
import platform
import sys
import threading
from typing import Any

#: ``spin(count)``: ``do { pause } while (--*count > 0)``, with ``count`` an int64 in memory that
#: another thread may set at any time (to zero to stop the loop): the decrement is atomic
#: (``lock``), so no store of the other thread is lost. ``pause`` tells the CPU this is a wait (it
#: saves power and leaves a hyperthread sibling its share).
SPIN_CODE = bytes.fromhex(
    "f390" + "f048ff0f" + "7ff8" + "c3"
)  # loop: pause; lock dec qword [rdi]; jg loop; ret


class SpinnerState(ctypes.Structure):
    """What a spinner thread and its owner share (the offsets are the machine code's)."""

    _fields_ = [
        ("count", ctypes.c_int64),  # 0: spins left; <= 0: sleep on the futex; < -2: end
        ("priority", ctypes.c_int32),  # 8: the sched_param of SCHED_IDLE (0)
        ("status", ctypes.c_int32),  # 12: STARTING, SPINNING, ENDED, or -errno of a failed call
        ("tid", ctypes.c_int32),  # 16: the thread's id, set first
        ("_pad", ctypes.c_int32),
        ("signals", ctypes.c_uint64),  # 24: the signal set it blocks (`BLOCKED_SIGNALS`)
        ("cpus", ctypes.c_uint64 * 16),  # 32: its affinity, a cpu_set_t of 1024 CPUs
    ]


#: A spinner's status: not yet pinned; pinned at idle priority (spinning or asleep); ended.
STARTING, SPINNING, ENDED = 0, 1, 2
#: The count that ends a spinner. The futex compares the count's low 32 bits, so they differ
#: from those of every count a spinner may have seen run out (0 and -1): else a spinner that saw
#: 0, then QUIT stored and the wake sent before it slept, would sleep for good.
QUIT = -(1 << 62) - 2
#: Every signal but the C library's own two (32 and 33: thread cancellation, and the one that
#: makes every thread take a new user or group id, for which ``setuid`` waits on each thread).
BLOCKED_SIGNALS = ((1 << 64) - 1) & ~(1 << 31 | 1 << 32)

#: The spinner thread's start routine: ``void *spinner(SpinnerState *s)`` (x86-64 Linux).
SPINNER_CODE = bytes.fromhex(
    "53 4889fb"  # push rbx; mov rbx, rdi (the state)
    "b80e000000 31ff 488d7318 31d2 41ba08000000 0f05"  # rt_sigprocmask(BLOCK, &signals, 0, 8)
    "b8ba000000 0f05 894310"  # tid = gettid()
    "b8cb000000 31ff be80000000 488d5320 0f05"  # sched_setaffinity(0, 128, &cpus)
    "85c0 754b"  # failed: jump to fail
    "b890000000 31ff be05000000 488d5308 0f05"  # sched_setscheduler(0, SCHED_IDLE, &priority)
    "85c0 7535"  # failed: jump to fail
    "c7430c01000000"  # status = SPINNING
    "488b03 4883f8fe 7c2c 4885c0 7e0a"  # check: count < -2: jump to done; <= 0: to park
    "f390 f048ff0b 7ff8 ebe8"  # spin: pause; lock dec count; jg spin; jmp check
    "4889df be80000000 89c2 4531d2 b8ca000000 0f05"  # park: futex(&count, WAIT_PRIVATE, count)
    "ebd2"  # jmp check
    "89430c 5b 31c0 c3"  # fail: status = -errno; pop rbx; return 0
    "c7430c02000000 5b 31c0 c3"  # done: status = ENDED; pop rbx; return 0
)
#: ``wake(SpinnerState *s)``: futex(&s->count, FUTEX_WAKE_PRIVATE, 1).
WAKE_CODE = bytes.fromhex("be81000000 ba01000000 b8ca000000 0f05 c3")


def machine_code_runs() -> bool:
    """Whether this platform's calling convention is the one the routines are written for
    (x86-64 System V: Linux, macOS)."""
    return platform.machine().lower() in ("x86_64", "amd64") and sys.platform != "win32"


def immortal_page(executable: bool) -> mmap.mmap | None:
    """A private page that is never freed, not even when the interpreter exits: a thread may
    still be running in it or writing to it."""
    prot = mmap.PROT_READ | mmap.PROT_WRITE | (mmap.PROT_EXEC if executable else 0)
    try:
        page = mmap.mmap(-1, mmap.PAGESIZE, flags=mmap.MAP_PRIVATE, prot=prot)
    except (OSError, ValueError, AttributeError):
        return None
    ctypes.pythonapi.Py_IncRef(ctypes.py_object(page))
    return page


def code_address(code: bytes) -> int | None:
    """The address of ``code`` placed in an executable page, or None where it cannot run."""
    if not machine_code_runs() or len(code) > mmap.PAGESIZE:
        return None
    page = immortal_page(executable=True)
    if page is None:
        return None
    page.write(code)
    return ctypes.addressof(ctypes.c_char.from_buffer(page))


def routine(code: bytes, restype: Any, *argtypes: Any) -> Any:
    """``code`` in an executable page, as a `ctypes` function, or None where it cannot run."""
    address = code_address(code)
    return None if address is None else ctypes.CFUNCTYPE(restype, *argtypes)(address)


#: The spin loop, or None where machine code cannot run.
spin = routine(SPIN_CODE, None, ctypes.POINTER(ctypes.c_int64))


def _spinner_routines() -> tuple[ctypes.CDLL, Any, Any] | None:
    """The C library (its ``pthread_*`` functions), the spinner's start routine and `wake`, or
    None where spinners cannot run."""
    if not sys.platform.startswith("linux") or spin is None:
        return None
    try:
        libc = ctypes.CDLL(None)
        create = libc.pthread_create
        for name in ("pthread_attr_init", "pthread_attr_setdetachstate",
                     "pthread_attr_setstacksize", "pthread_attr_destroy"):  # fmt: skip
            getattr(libc, name).restype = ctypes.c_int
    except (OSError, AttributeError):
        return None
    create.restype = ctypes.c_int
    create.argtypes = [ctypes.POINTER(ctypes.c_ulong), ctypes.c_void_p, ctypes.c_void_p,
                       ctypes.c_void_p]  # fmt: skip
    start = routine(SPINNER_CODE, ctypes.c_void_p, ctypes.POINTER(SpinnerState))
    wake = routine(WAKE_CODE, None, ctypes.POINTER(SpinnerState))
    return None if start is None or wake is None else (libc, start, wake)


_SPINNERS = _spinner_routines()
_WAKE_AT = routine(WAKE_CODE, None, ctypes.c_void_p) if _SPINNERS is not None else None
_ATTRIBUTES = ctypes.c_char * 64  # a pthread_attr_t (56 bytes in glibc on x86-64)
#: A spinner thread's stack.
STACK_BYTES = 256 * 1024
#: Reentrant: a collected `Awake` retires its spinners from a finalizer, which the garbage
#: collector may run in any allocation, including one made while this lock is held.
_pool_lock = threading.RLock()
_free: list[SpinnerState] = []  # states no thread uses
_retired: list[SpinnerState] = []  # states whose thread was told to end


def spinners_run() -> bool:
    """Whether `start_spinner` can start a spinner here."""
    return _SPINNERS is not None


def start_spinner(cpu: int) -> SpinnerState | None:
    """A new spinner thread on ``cpu``, asleep until its count is set and it is woken (`wake`);
    None where it could not be started. Its status says whether it got to idle priority."""
    if _SPINNERS is None or not 0 <= cpu < 1024:
        return None
    start = _SPINNERS[1]
    state = _new_state()
    if state is None:
        return None
    state.cpus[cpu // 64] = 1 << (cpu % 64)
    if not start_thread(ctypes.cast(start, ctypes.c_void_p).value, ctypes.addressof(state)):
        _give_back(state)
        return None
    return state


def start_thread(entry: int | None, argument: int, stack_bytes: int = STACK_BYTES) -> bool:
    """Start a detached thread of the C library's running the machine code at ``entry`` with
    ``argument``; whether it started (spinners run here, `spinners_run`)."""
    if _SPINNERS is None or entry is None:
        return False
    libc = _SPINNERS[0]
    attributes = _ATTRIBUTES()
    if libc.pthread_attr_init(attributes) != 0:
        return False
    try:
        # Detached: it ends by itself, joined by no one. It needs a few bytes of stack (the
        # C library puts the threads' static storage there too).
        libc.pthread_attr_setdetachstate(attributes, 1)  # PTHREAD_CREATE_DETACHED
        libc.pthread_attr_setstacksize(attributes, ctypes.c_size_t(stack_bytes))
        thread = ctypes.c_ulong()
        return bool(libc.pthread_create(ctypes.byref(thread), attributes, entry, argument) == 0)
    finally:
        libc.pthread_attr_destroy(attributes)


def wake_at(address: int) -> None:
    """Wake one thread asleep on the futex at ``address`` (an int64 count)."""
    assert _WAKE_AT is not None
    _WAKE_AT(address)


def wake(state: SpinnerState) -> None:
    """Wake ``state``'s spinner if it sleeps (to see a new count)."""
    assert _SPINNERS is not None
    _SPINNERS[2](ctypes.byref(state))


def retire(state: SpinnerState) -> None:
    """Tell ``state``'s spinner to end; its state is used again once it has."""
    state.count = QUIT
    wake(state)
    with _pool_lock:
        _retired.append(state)


def _give_back(state: SpinnerState) -> None:
    """``state``, whose thread never started, to the pool."""
    with _pool_lock:
        _free.append(state)


def _new_state() -> SpinnerState | None:
    with _pool_lock:
        for state in list(_retired):
            if state.status == ENDED or state.status < 0:
                _retired.remove(state)
                _free.append(state)
            elif state.status == SPINNING:
                wake(state)  # told to end and not yet ended: wake it again, should it sleep
        if not _free:
            page = immortal_page(executable=False)
            if page is None:
                return None
            size = ctypes.sizeof(SpinnerState)
            _free.extend(SpinnerState.from_buffer(page, offset)
                         for offset in range(0, mmap.PAGESIZE - size + 1, size))  # fmt: skip
        state = _free.pop()
    ctypes.memset(ctypes.addressof(state), 0, ctypes.sizeof(state))
    state.signals = BLOCKED_SIGNALS
    return state
