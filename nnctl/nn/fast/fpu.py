"""Keep float arithmetic fast when values become subnormal.

Subnormal (denormal) floats are the numbers below the smallest normal float (about 1.2e-38 in
float32). Most x86 CPUs handle them in microcode, so one elementwise pass over an array full of them
runs tens of times slower. Training produces them: when a weight's gradient is zero for many steps
(a dead ReLU unit), Adam's moment estimates ``m`` and ``v`` decay geometrically into the subnormal
range, and every later optimizer step crawls.

Two remedies, used in this order:

1. The CPU's flush-to-zero (FTZ) and denormals-are-zero (DAZ) modes, bits 15 and 6 of the x86 MXCSR
   register: results that would be subnormal become zero, and subnormal inputs are read as zero.
   Python cannot reach MXCSR directly, so :func:`flush_to_zero` runs two tiny machine-code routines
   (``stmxcsr`` / ``ldmxcsr``, `nnctl.nn.fast.native`).
   The mode is per thread and is set only while the engine runs (a context manager restores the
   previous value), so code outside the engine keeps IEEE semantics. This is what
   ``torch.set_flush_denormal(True)`` does, but process-wide.
2. Where that is unavailable (another CPU architecture, another calling convention, or a system
   that forbids executable memory), :func:`flush_subnormals` zeroes tiny values in the arrays that
   decay (the optimizer's state) every few steps; see ``Optimizer``.

Both change only values below ``tiny`` (about 1e-38 in float32), far below anything that moves a
weight.
"""

from __future__ import annotations

import ctypes
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager

import numpy as np

from nnctl.nn.fast import native

FTZ_DAZ_BITS = (1 << 15) | (1 << 6)

# x86-64 System V ABI (Linux, macOS): the argument arrives in edi, the result leaves in eax; the
# 128-byte red zone below rsp is free scratch space for a leaf routine.
_GET_MXCSR = bytes.fromhex(
    "0fae5c24fc" + "8b4424fc" + "c3"
)  # stmxcsr [rsp-4]; mov eax,[rsp-4]; ret
_SET_MXCSR = bytes.fromhex(
    "897c24fc" + "0fae5424fc" + "c3"
)  # mov [rsp-4],edi; ldmxcsr [rsp-4]; ret


def _load_mxcsr_routines() -> tuple[Callable[[], int], Callable[[int], None]] | None:
    """The MXCSR getter and setter as ctypes functions, or None where they cannot run."""
    getter = native.routine(_GET_MXCSR, ctypes.c_uint32)
    setter = native.routine(_SET_MXCSR, None, ctypes.c_uint32)
    if getter is None or setter is None:
        return None
    try:
        before = getter()
        setter(before | FTZ_DAZ_BITS)
        works = getter() & FTZ_DAZ_BITS == FTZ_DAZ_BITS
        setter(before)
    except OSError:
        return None
    return (getter, setter) if works else None


_ROUTINES = _load_mxcsr_routines()

#: True when :func:`flush_to_zero` really switches the CPU mode on this machine.
FTZ_AVAILABLE = _ROUTINES is not None


def get_mxcsr() -> int:
    """The calling thread's MXCSR register (x86-64 only).

    Raises
    ------
    RuntimeError
        If the register cannot be read on this machine (``FTZ_AVAILABLE`` is False).
    """
    if _ROUTINES is None:
        raise RuntimeError("MXCSR is not accessible on this machine")
    return _ROUTINES[0]()


def set_mxcsr(value: int) -> None:
    """Set the calling thread's MXCSR register (x86-64 only), e.g. to another thread's value.

    Raises
    ------
    RuntimeError
        If the register cannot be set on this machine (``FTZ_AVAILABLE`` is False).
    """
    if _ROUTINES is None:
        raise RuntimeError("MXCSR is not accessible on this machine")
    _ROUTINES[1](value)


def quiet() -> np.errstate:
    """NumPy's float warnings off: an overflow gives infinity or NaN, and says nothing.

    The engine runs under it: a non-finite loss is the training step's error, a non-finite output
    is reported by the command that shows it (predict, evaluate, trace), and NumPy's warnings
    would name the engine's source lines instead (and a product of finite numbers was once seen to
    raise the invalid flag, in a test run on an AMD EPYC).
    """
    return np.errstate(over="ignore", invalid="ignore", divide="ignore")


@contextmanager
def flush_to_zero(enabled: bool = True) -> Iterator[bool]:
    """Run a block with the CPU's flush-to-zero and denormals-are-zero modes on.

    Parameters
    ----------
    enabled : bool
        False makes this a no-op, so callers can write one ``with`` for both cases.

    Yields
    ------
    bool
        Whether the mode is really on (False where ``FTZ_AVAILABLE`` is False).

    Notes
    -----
    Sets bits 15 (FTZ) and 6 (DAZ) of MXCSR for the calling thread and restores the previous value
    on exit. It costs two calls of a few instructions each.
    """
    if not enabled or _ROUTINES is None:
        yield False
        return
    getter, setter = _ROUTINES
    before = getter()
    setter(before | FTZ_DAZ_BITS)
    try:
        yield True
    finally:
        setter(before)


def ftz_enter() -> int | None:
    """Turn flush-to-zero on for the calling thread; returns what `ftz_exit` needs to undo it.

    The same as entering `flush_to_zero`, without a context manager's cost (for the hot path).
    """
    if _ROUTINES is None:
        return None
    before = _ROUTINES[0]()
    _ROUTINES[1](before | FTZ_DAZ_BITS)
    return before


def ftz_exit(before: int | None) -> None:
    """Restore the mode saved by `ftz_enter`."""
    if before is not None and _ROUTINES is not None:
        _ROUTINES[1](before)


def flush_subnormals(arrays: Iterable[np.ndarray]) -> None:
    """Set to zero, in place, the entries of each float array whose magnitude is below ``tiny``.

    Parameters
    ----------
    arrays : iterable of ndarray
        Floating-point arrays, changed in place.

    Notes
    -----
    ``tiny`` is ``1e-30`` for float32 and ``1e-300`` for float64: a little above the subnormal
    range, so a value that decays by a factor 0.9 per step needs more than 150 steps after a flush
    to become subnormal. Called every few steps, this keeps decaying state normal.
    """
    for a in arrays:
        tiny = 1e-30 if a.dtype == np.float32 else 1e-300
        np.copyto(a, 0, where=np.abs(a) < tiny)
