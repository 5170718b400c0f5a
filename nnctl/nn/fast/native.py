"""Tiny machine-code routines for what Python cannot reach, called with `ctypes`.

Each routine is a few x86-64 instructions placed in an executable page with `mmap`: reading and
setting the MXCSR register (`nnctl.nn.fast.fpu`), and a spin loop that keeps a CPU busy without
holding the GIL (`nnctl.nn.fast.threads.Awake`). A `ctypes.CFUNCTYPE` call releases the GIL, so
a thread inside `spin` lets every other thread run Python.

Where machine code cannot run (another architecture, Windows' calling convention, a system that
forbids executable memory), `routine` gives None and the callers do without.
"""

from __future__ import annotations

import ctypes
import mmap
import platform
import sys
from typing import Any

#: ``spin(count)``: ``do { pause } while (--*count > 0)``, with ``count`` an int64 in memory that
#: another thread may set at any time (to zero to stop the loop): the decrement is atomic
#: (``lock``), so no store of the other thread is lost. ``pause`` tells the CPU this is a wait (it
#: saves power and leaves a hyperthread sibling its share).
SPIN_CODE = bytes.fromhex(
    "f390" + "f048ff0f" + "7ff8" + "c3"
)  # loop: pause; lock dec qword [rdi]; jg loop; ret


def machine_code_runs() -> bool:
    """Whether this platform's calling convention is the one the routines are written for
    (x86-64 System V: Linux, macOS)."""
    return platform.machine().lower() in ("x86_64", "amd64") and sys.platform != "win32"


def routine(code: bytes, restype: Any, *argtypes: Any) -> Any:
    """``code`` in an executable page, as a `ctypes` function, or None where it cannot run."""
    if not machine_code_runs():
        return None
    try:
        page = mmap.mmap(-1, mmap.PAGESIZE, prot=mmap.PROT_READ | mmap.PROT_WRITE | mmap.PROT_EXEC)
    except (OSError, ValueError, AttributeError):
        return None
    page.write(code)
    # Never freed, not even when the interpreter exits: a thread may still be spinning in it.
    ctypes.pythonapi.Py_IncRef(ctypes.py_object(page))
    address = ctypes.addressof(ctypes.c_char.from_buffer(page))
    return ctypes.CFUNCTYPE(restype, *argtypes)(address)


#: The spin loop, or None where machine code cannot run.
spin = routine(SPIN_CODE, None, ctypes.POINTER(ctypes.c_int64))
