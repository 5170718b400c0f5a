"""A small machine-code kernel for elementwise rules, such as an optimizer's update.

An optimizer's rule (`nnctl.nn.optim.optimizers`) is a few NumPy passes over the flat arrays:
``m *= beta_1``, ``m += g``, ``np.sqrt(v, out=tmp)``, ... Each pass streams whole arrays through
the caches, and each holds the GIL, so two Python threads cannot share them well. Here the same
passes run as one *program* (`trace` records them from the rule's own code): the kernel
(`elementwise.s`, the source of `ELEMENTWISE_CODE`) runs every pass over a chunk of 128 elements,
then the next chunk, with the GIL released. Each pass is the same IEEE operation as NumPy's (no
fused multiply-add), in the same order for every element, so the numbers are NumPy's, bit for
bit, while a 235k-parameter Adam step takes 166 us instead of 370 (`benchmarks/README.md`); and
the worker thread (`nnctl.nn.fast.worker`) can take half of it.

A program is made of segments, each a range of the flat arrays and its ops: `Op`'s ``code`` is one
of `MUL_S` ... `SIGN` (float32; `FLOAT64` more for float64), its ``d``, ``a`` and ``b`` name
arrays, and ``s`` is a scalar. Where the kernel cannot run (not x86-64 Linux, no AVX: `runs`) or a
rule does something `trace` does not know, the caller runs the rule with NumPy instead.
"""

from __future__ import annotations

import ctypes
from collections.abc import Callable, Mapping, Sequence
from typing import Any, NamedTuple

import numpy as np

from nnctl._platform import cpu_flags
from nnctl.nn.fast import native
from nnctl.nn.fast.worker import Call, Job, JobArray, can_run_jobs

Array = np.ndarray

#: The kernel, assembled from ``elementwise.s`` in this folder (its comments are the listing).
ELEMENTWISE_CODE = bytes.fromhex(
    "535541544155415641574c8b274c8d6f084d85e40f84310100004d8b7500498b6d10486bed28498d6c2d184531ff4d39"
    "f70f83090100004d89f14d29f9b8800000004939c14c0f47c8498b4d084d89fa49d3e2498d5d184839eb0f83d8000000"
    "488b53084c01d2488b73104c01d6488b7b184c01d74d89c8488b034883f8010f84d40000004883f8020f842e01000048"
    "83f8030f84880100004883f8040f84ef0100004883f8050f84560200004883f8060f84bd0200004883f8070f84240300"
    "004883f8080f84620600004883f8090f845e0700004883f8110f84640300004883f8120f84be0300004883f8130f8418"
    "0400004883f8140f847f0400004883f8150f84e60400004883f8160f844d0500004883f8170f84b40500004883f8180f"
    "848b0600004883f8190f84d20700004883c328e91fffffff4d01cfe9eefeffff4989ed49ffcce9c6feffff415f415e41"
    "5d415c5d5bc5f877c34531dbc4e27d184b204c89c148c1e904742bc4a17c10041ec4a17c105c1e20c5fc59c1c5e459d9"
    "c4a17c11041ac4a17c115c1a204983c34048ffc975d54c89c14883e10f7419c4a17a10041ec5fa59c1c4a17a11041a49"
    "83c30448ffc975e7e972ffffff4531dbc4e27d184b204c89c148c1e904742bc4a17c10041ec4a17c105c1e20c5fc58c1"
    "c5e458d9c4a17c11041ac4a17c115c1a204983c34048ffc975d54c89c14883e10f7419c4a17a10041ec5fa58c1c4a17a"
    "11041a4983c30448ffc975e7e90effffff4531db4c89c148c1e9047438c4a17c10041ec4a17c105c1e20c4a17c100c1f"
    "c4a17c10641f20c5fc58c1c5e458dcc4a17c11041ac4a17c115c1a204983c34048ffc975c84c89c14883e10f741fc4a1"
    "7a10041ec4a17a100c1fc5fa58c1c4a17a11041a4983c30448ffc975e1e99dfeffff4531db4c89c148c1e9047438c4a1"
    "7c10041ec4a17c105c1e20c4a17c100c1fc4a17c10641f20c5fc5cc1c5e45cdcc4a17c11041ac4a17c115c1a204983c3"
    "4048ffc975c84c89c14883e10f741fc4a17a10041ec4a17a100c1fc5fa5cc1c4a17a11041a4983c30448ffc975e1e92c"
    "feffff4531db4c89c148c1e9047438c4a17c10041ec4a17c105c1e20c4a17c100c1fc4a17c10641f20c5fc59c1c5e459"
    "dcc4a17c11041ac4a17c115c1a204983c34048ffc975c84c89c14883e10f741fc4a17a10041ec4a17a100c1fc5fa59c1"
    "c4a17a11041a4983c30448ffc975e1e9bbfdffff4531db4c89c148c1e9047438c4a17c10041ec4a17c105c1e20c4a17c"
    "100c1fc4a17c10641f20c5fc5ec1c5e45edcc4a17c11041ac4a17c115c1a204983c34048ffc975c84c89c14883e10f74"
    "1fc4a17a10041ec4a17a100c1fc5fa5ec1c4a17a11041a4983c30448ffc975e1e94afdffff4531db4c89c148c1e90474"
    "2bc4a17c10041ec4a17c105c1e20c5fc51c0c5fc51dbc4a17c11041ac4a17c115c1a204983c34048ffc975d54c89c148"
    "83e10f7419c4a17a10041ec5fa51c0c4a17a11041a4983c30448ffc975e7e9ecfcffff4531dbc4e27d194b204c89c148"
    "c1e903742bc4a17c10041ec4a17c105c1e20c5fd59c1c5e559d9c4a17c11041ac4a17c115c1a204983c34048ffc975d5"
    "4c89c14883e1077419c4a17b10041ec5fb59c1c4a17b11041a4983c30848ffc975e7e988fcffff4531dbc4e27d194b20"
    "4c89c148c1e903742bc4a17c10041ec4a17c105c1e20c5fd58c1c5e558d9c4a17c11041ac4a17c115c1a204983c34048"
    "ffc975d54c89c14883e1077419c4a17b10041ec5fb58c1c4a17b11041a4983c30848ffc975e7e924fcffff4531db4c89"
    "c148c1e9037438c4a17c10041ec4a17c105c1e20c4a17c100c1fc4a17c10641f20c5fd58c1c5e558dcc4a17c11041ac4"
    "a17c115c1a204983c34048ffc975c84c89c14883e107741fc4a17b10041ec4a17b100c1fc5fb58c1c4a17b11041a4983"
    "c30848ffc975e1e9b3fbffff4531db4c89c148c1e9037438c4a17c10041ec4a17c105c1e20c4a17c100c1fc4a17c1064"
    "1f20c5fd5cc1c5e55cdcc4a17c11041ac4a17c115c1a204983c34048ffc975c84c89c14883e107741fc4a17b10041ec4"
    "a17b100c1fc5fb5cc1c4a17b11041a4983c30848ffc975e1e942fbffff4531db4c89c148c1e9037438c4a17c10041ec4"
    "a17c105c1e20c4a17c100c1fc4a17c10641f20c5fd59c1c5e559dcc4a17c11041ac4a17c115c1a204983c34048ffc975"
    "c84c89c14883e107741fc4a17b10041ec4a17b100c1fc5fb59c1c4a17b11041a4983c30848ffc975e1e9d1faffff4531"
    "db4c89c148c1e9037438c4a17c10041ec4a17c105c1e20c4a17c100c1fc4a17c10641f20c5fd5ec1c5e55edcc4a17c11"
    "041ac4a17c115c1a204983c34048ffc975c84c89c14883e107741fc4a17b10041ec4a17b100c1fc5fb5ec1c4a17b1104"
    "1a4983c30848ffc975e1e960faffff4531db4c89c148c1e903742bc4a17c10041ec4a17c105c1e20c5fd51c0c5fd51db"
    "c4a17c11041ac4a17c115c1a204983c34048ffc975d54c89c14883e1077419c4a17b10041ec5fb51c0c4a17b11041a49"
    "83c30848ffc975e7e902faffff4531dbc5d457ed4c89c148c1e9047441c4a17c10041ec4a17c105c1e20c5fc5fcdc5e4"
    "5fe5c5fcc2d003c5e4c2f303c4e3754ac020c4e35d4adb60c4a17c11041ac4a17c115c1a204983c34048ffc975bf4c89"
    "c14883e10f7424c4a17a10041ec5fa5fcdc5fac2d003c4e3714ac020c4a17a11041a4983c30448ffc975dce97ff9ffff"
    "4531dbc5d457ed4c89c148c1e9037441c4a17c10041ec4a17c105c1e20c5fd5fcdc5e55fe5c5fdc2d003c5e5c2f303c4"
    "e3754bc020c4e35d4bdb60c4a17c11041ac4a17c115c1a204983c34048ffc975bf4c89c14883e1077424c4a17b10041e"
    "c5fb5fcdc5fbc2d003c4e3714bc020c4a17b11041a4983c30848ffc975dce9fcf8ffff4531dbc5d457edc5d4c2f500c5"
    "fc5bf6c5d45cfe4c89c148c1e904746bc4a17c10041ec4a17c105c1e20c5fcc2cd1ec5fcc2d511c5fcc2e003c5f454cf"
    "c5ec54d6c5dc54e0c5f456c2c5fc56c4c564c2c51ec564c2cd11c564c2d303c53c54c7c53454cec52c54d3c4c13c56d9"
    "c4c16456dac4a17c11041ac4a17c115c1a204983c34048ffc975954c89c14883e10f7438c4a17a10041ec5f8c2cd1ec5"
    "f8c2d511c5f8c2e003c5f054cfc5e854d6c5d854e0c5f056c2c5f856c4c4a17a11041a4983c30448ffc975c8e92ef8ff"
    "ff4531dbc5d457edc5d5c2f500c5fee6f6c5d55cfe4c89c148c1e903746bc4a17c10041ec4a17c105c1e20c5fdc2cd1e"
    "c5fdc2d511c5fdc2e003c5f554cfc5ed54d6c5dd54e0c5f556c2c5fd56c4c565c2c51ec565c2cd11c565c2d303c53d54"
    "c7c53554cec52d54d3c4c13d56d9c4c16556dac4a17c11041ac4a17c115c1a204983c34048ffc975954c89c14883e107"
    "7438c4a17b10041ec5f9c2cd1ec5f9c2d511c5f9c2e003c5f154cfc5e954d6c5d954e0c5f156c2c5f956c4c4a17b1104"
    "1a4983c30848ffc975c8e960f7ffff"
)

#: The ops' codes for float32 (``d = a * s``, ``d = a + s``, ``d = a + b``, ``d = a - b``,
#: ``d = a * b``, ``d = a / b``, ``d = sqrt(a)``, ``d = np.maximum(a, 0)``, ``d = np.sign(a)``);
#: plus `FLOAT64` for float64.
MUL_S, ADD_S, ADD, SUB, MUL, DIV, SQRT, RELU, SIGN = range(1, 10)
FLOAT64 = 16
#: The arrays' types: log2 of an element's bytes, and what their codes add.
_SHIFTS = {np.dtype(np.float32): (2, 0), np.dtype(np.float64): (3, FLOAT64)}


class Untraceable(Exception):
    """The rule did something `trace` cannot record as ops."""


class Op(NamedTuple):
    """``d = a <code> b`` (or with the scalar ``s``): ``d``, ``a`` and ``b`` are array names."""

    code: int
    d: str
    a: str
    b: str | None = None
    s: float = 0.0


def runs() -> bool:
    """Whether the kernel can run here (x86-64 Linux with AVX, machine code allowed)."""
    return _ADDRESS is not None


def _address() -> int | None:
    if not can_run_jobs() or "avx" not in cpu_flags():
        return None
    return native.code_address(ELEMENTWISE_CODE)


_ADDRESS = _address()


class _Slot:
    """An array's stand-in while `trace` runs a rule: each operation on it is recorded."""

    def __init__(self, name: str, ops: list[Op]) -> None:
        self.name, self._ops = name, ops

    def _record(self, code: int, d: _Slot, a: object, b: object = None) -> _Slot:
        if type(a) is not _Slot:
            if code != MUL or type(b) is not _Slot:  # s * b is b * s; s - b, s / b are not
                raise Untraceable(f"an operation with a scalar first ({code})")
            a, b = b, a
        assert isinstance(a, _Slot)
        if type(b) is _Slot:
            if code == SQRT:
                raise Untraceable("a square root of two operands")
            op: tuple[int, str, str, str | None, float] = (code, d.name, a.name, b.name, 0.0)
        elif b is None:
            if code != SQRT:
                raise Untraceable(f"an operation with one operand ({code})")
            op = (code, d.name, a.name, None, 0.0)
        elif type(b) in (float, int) and code in (MUL, ADD, SUB):
            # A Python number is NumPy's "weak" scalar: cast to the arrays' type (`Trace.bits`).
            # a - s is a + (-s), exactly.
            s = float(b)  # type: ignore[arg-type]
            op = (ADD_S, d.name, a.name, None, -s) if code == SUB else \
                (MUL_S if code == MUL else ADD_S, d.name, a.name, None, s)  # fmt: skip
        else:
            raise Untraceable(f"an operand of type {type(b).__name__} ({code})")
        self._ops.append(tuple.__new__(Op, op))
        return d

    def __imul__(self, other: object) -> _Slot:
        return self._record(MUL, self, self, other)

    def __iadd__(self, other: object) -> _Slot:
        return self._record(ADD, self, self, other)

    def __isub__(self, other: object) -> _Slot:
        return self._record(SUB, self, self, other)

    def __itruediv__(self, other: object) -> _Slot:
        return self._record(DIV, self, self, other)

    def __array_ufunc__(self, ufunc: Any, method: str, *inputs: Any, **kwargs: Any) -> _Slot:
        out = kwargs.pop("out", None)
        code = _UFUNCS.get(ufunc)
        if method != "__call__" or kwargs or code is None or out is None or len(out) != 1:
            raise Untraceable(f"{ufunc}.{method} with {sorted(kwargs)}")
        if not isinstance(out[0], _Slot):
            raise Untraceable("an output that is not one of the rule's arrays")
        return self._record(code, out[0], *inputs)


_UFUNCS = {np.multiply: MUL, np.add: ADD, np.subtract: SUB, np.divide: DIV, np.sqrt: SQRT}


def trace(rule: Callable[..., None], *names: str | Sequence[str]) -> Trace:
    """The ops ``rule`` applies to its arrays, called with a stand-in for each name (a sequence
    of names is passed as a dict of stand-ins); raises `Untraceable`."""
    ops: list[Op] = []
    arguments = [
        _Slot(name, ops) if isinstance(name, str) else {n: _Slot(n, ops) for n in name}
        for name in names
    ]
    rule(*arguments)
    return Trace(ops)


class Trace:
    """A rule's ops as `trace` recorded them, with what a program needs of them at once: their
    ``structure`` (all but the scalars: programs of the same structure share their words) and
    the scalars' bits in each float type."""

    __slots__ = ("_bits", "ops", "structure")

    def __init__(self, ops: Sequence[Op]) -> None:
        self.ops = tuple(ops)
        self.structure = tuple(op[:4] for op in self.ops)
        self._bits: dict[np.dtype[Any], list[int]] = {}

    def __add__(self, other: Trace) -> Trace:
        return Trace(self.ops + other.ops)

    def __len__(self) -> int:
        return len(self.ops)

    def bits(self, dtype: np.dtype[Any]) -> list[int]:
        """The scalars of the ops that have one, as words of a program for ``dtype`` arrays: a
        Python float is cast to the arrays' type, as NumPy casts it."""
        bits = self._bits.get(dtype)
        if bits is None:
            scalars = np.array([op.s for op in self.ops if op.code in (MUL_S, ADD_S)], np.float64)
            as_words = scalars.astype(dtype).view(np.uint32 if dtype.itemsize == 4 else np.int64)
            bits = self._bits[dtype] = [int(word) for word in as_words]
        return bits


Segment = tuple[int, int, Trace]


class _Program(NamedTuple):
    words: Any  # a ctypes array of int64
    scalars: list[int]  # the words that hold scalars, in order
    job: JobArray | None  # None: NumPy's passes run the segments
    arrays: tuple[Array, ...]  # held while the words point to them


class Programs:
    """Programs over one set of arrays, kept between calls: the same ranges and ops (all but the
    scalars, which change from step to step) reuse their words."""

    #: Programs kept; beyond that, all are dropped (a step makes two or three).
    KEEP = 16

    def __init__(self) -> None:
        self._kept: dict[Any, _Program] = {}

    def call(
        self, arrays: Mapping[str, Array], segments: Sequence[Segment], fallback: Callable[[], None]
    ) -> Call:
        """A `Call` of the kernel running ``segments`` (``start``, ``stop``, `Trace`: its ops over
        elements ``start:stop`` of the 1-D ``arrays``), or of ``fallback`` where it cannot."""
        dtype = next(iter(arrays.values())).dtype
        if _ADDRESS is None or dtype not in _SHIFTS:
            return Call(None, 0, fallback)
        segments = [segment for segment in segments if segment[1] > segment[0]]
        key = (tuple((start, stop, ops.structure) for start, stop, ops in segments),
               tuple(map(id, arrays.values())), dtype)  # fmt: skip
        program = self._kept.get(key)
        if program is None:
            if len(self._kept) >= self.KEEP:
                self._kept.clear()
            program = self._kept[key] = _program(arrays, segments, dtype)
        if program.job is None:
            return Call(None, 0, fallback)
        words = program.words
        values = [bits for _, _, ops in segments for bits in ops.bits(dtype)]
        for index, value in zip(program.scalars, values, strict=True):
            words[index] = value
        return Call(program.job, ctypes.addressof(program.job), fallback, program)


def _program(arrays: Mapping[str, Array], segments: Sequence[Segment], dtype: Any) -> _Program:
    shift, offset = _SHIFTS[dtype]
    itemsize = 1 << shift
    size = min(len(a) for a in arrays.values())
    if any(a.dtype != dtype or a.ndim != 1 or not a.flags.c_contiguous or not a.flags.writeable
           for a in arrays.values()) or any(not 0 <= start < stop <= size
                                            for start, stop, _ in segments):  # fmt: skip
        return _Program(None, [], None, ())  # not arrays the kernel may read and write
    bases = {name: int(a.ctypes.data) for name, a in arrays.items()}
    words: list[int] = [len(segments)]
    scalars: list[int] = []
    for start, stop, ops in segments:
        words += [stop - start, shift, len(ops)]
        at = start * itemsize
        for op in ops.ops:
            if op.code in (MUL_S, ADD_S):
                scalars.append(len(words) + 4)
            b = bases[op.b] + at if op.b is not None else 0
            words += [op.code + offset, bases[op.d] + at, bases[op.a] + at, b, 0]
    program = (ctypes.c_int64 * len(words))(*words)
    assert _ADDRESS is not None
    return _Program(program, scalars, Job(_ADDRESS, ctypes.addressof(program)),
                    tuple(arrays.values()))  # fmt: skip


#: An op of `kernel_call`: its float32 code, and the addresses of ``d``, ``a`` and ``b`` (0: none).
RawOp = tuple[int, int, int, int]


def kernel_call(
    dtype: Any,
    segments: Sequence[tuple[int, Sequence[RawOp]]],
    keeps: object,
    fallback: Callable[[], None],
) -> Call:
    """A `Call` of the kernel over ``segments`` (each its elements and its ops without scalars, on
    arrays of ``dtype`` at the ops' addresses, which ``keeps`` holds), or of ``fallback`` where
    the kernel cannot run. A segment's addresses are those of its first elements, so a segment
    per row lets an op read the same row of ``b`` in every row (a bias)."""
    dtype = np.dtype(dtype)
    if _ADDRESS is None or dtype not in _SHIFTS:
        return Call(None, 0, fallback)
    shift, offset = _SHIFTS[dtype]
    words: list[int] = [len(segments)]
    for n, ops in segments:
        words += [n, shift, len(ops)]
        for code, d, a, b in ops:
            words += [code + offset, d, a, b, 0]
    program = (ctypes.c_int64 * len(words))(*words)
    job = Job(_ADDRESS, ctypes.addressof(program))
    return Call(job, ctypes.addressof(job), fallback, (program, keeps))
