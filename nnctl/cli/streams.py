"""The standard streams as nnctl uses them: results on stdout, diagnostics on stderr, stdin.

`install` puts nnctl's own objects in ``sys.stdout``, ``sys.stderr`` and (when it is closed)
``sys.stdin``, one policy per stream:

- stdout carries results. When its reader goes away (a closed pipe, ``nnctl runs list | head -1``)
  the command stops quietly with exit 0 (`OutputClosed`); when it cannot be written (closed with
  ``>&-``, a full disk, an I/O error) that is a `StreamError` (exit 3, as any unwritable file).
- stderr carries progress and messages. When it cannot be written, nnctl stops writing to it and
  carries on: a training whose progress goes to ``| head -3`` completes.
- stdin, when it is closed (``<&-``), is a `StreamError` once something reads it.

The library prints nothing; what it warns of (an `NnctlWarning`) `install` has written on stderr
as ``nnctl: warning: MESSAGE`` when it is raised, every time (`show_warnings`).

A descriptor 0, 1 or 2 that is closed is reopened on ``/dev/null`` first, so that no file nnctl
opens later takes its number (and receives what a library prints to "stderr"). Only the
interpreter's own streams are replaced, so a test runner's capture is left alone.
"""

from __future__ import annotations

import contextlib
import io
import os
import sys
import warnings
from typing import Any, TextIO

from nnctl.errors import DataError, NnctlWarning

STDIN, STDOUT, STDERR = 0, 1, 2


class OutputClosed(Exception):
    """The reader of stdout went away (a closed pipe): not an error; the command stops, exit 0."""


class StreamError(DataError):
    """A standard stream that nnctl needs cannot be read or written (exit 3)."""


class Descriptor(io.RawIOBase):
    """An output descriptor (1 or 2) whose write errors follow the stream's policy.

    ``results``: True for stdout (errors are raised), False for stderr (errors end its output).
    ``closed_at_start``: the descriptor was closed when nnctl started. Once a write has failed,
    or the output was abandoned, every write is dropped, so that the flush at the interpreter's
    exit neither fails nor blocks.
    """

    def __init__(self, fd: int, name: str, *, results: bool, closed_at_start: bool) -> None:
        super().__init__()
        self.fd, self.name, self.results = fd, name, results
        self.closed_at_start = closed_at_start
        self.gone = False

    def writable(self) -> bool:
        return True

    def fileno(self) -> int:
        return self.fd

    def isatty(self) -> bool:
        return not self.closed_at_start and os.isatty(self.fd)

    def abandon(self) -> None:
        """Drop whatever is still to be written (after Ctrl-C, or once the reader is gone)."""
        self.gone = True

    def write(self, data: Any) -> int:
        size = len(memoryview(data))
        if self.gone:
            return size
        if self.closed_at_start:
            self.gone = True
            if self.results:
                raise StreamError(
                    f"cannot write the results to {self.name}: it is closed; "
                    "redirect it (> FILE, > /dev/null) instead of closing it"
                )
            return size
        try:
            return os.write(self.fd, data)
        except BlockingIOError:
            raise  # a non-blocking descriptor that is full: the buffer retries
        except OSError as error:
            self.gone = True
            if not self.results:
                return size
            if isinstance(error, BrokenPipeError):
                raise OutputClosed from None
            raise StreamError(
                f"cannot write the results to {self.name}: {error.strerror or error}"
            ) from None

    def close(self) -> None:
        """Mark the stream closed; the descriptor itself stays open (it is the process's)."""
        super().close()


class ClosedInput(io.TextIOBase):
    """``sys.stdin`` when descriptor 0 was closed at start: reading it is a `StreamError`."""

    def readable(self) -> bool:
        return True

    def isatty(self) -> bool:
        return False

    @property
    def buffer(self) -> ClosedInput:
        """The binary stream: this same object, which raises as well."""
        return self

    def read(self, size: int | None = -1) -> str:
        raise StreamError(
            "<stdin>: cannot read the input: standard input is closed; "
            "give the input file as an argument, or pipe it in"
        )

    def readline(self, size: int | None = -1) -> str:  # type: ignore[override]
        return self.read(size)


def _reopen_closed(fd: int) -> bool:
    """Open ``/dev/null`` on ``fd`` if it is closed; return whether it was."""
    try:
        os.fstat(fd)
        return False
    except OSError:
        pass
    with contextlib.suppress(OSError):
        null = os.open(os.devnull, os.O_RDONLY if fd == STDIN else os.O_WRONLY)
        if null != fd:
            os.dup2(null, fd)
            os.close(null)
    return True


class WriteThrough(io.BufferedIOBase):
    """A buffered stream without a buffer, for stderr: each write goes out at once, and only once.

    A `io.BufferedWriter` keeps the bytes of a write that raised, to write them again; when the
    exception is the ``KeyboardInterrupt`` of a Ctrl-C that came just after the bytes went out,
    the message would be written twice.
    """

    def __init__(self, raw: Descriptor) -> None:
        super().__init__()
        self.raw = raw

    def writable(self) -> bool:
        return True

    def fileno(self) -> int:
        return self.raw.fileno()

    def isatty(self) -> bool:
        return self.raw.isatty()

    def write(self, data: Any) -> int:
        view = memoryview(data).cast("B")
        while view:
            view = view[self.raw.write(view) :]
        return len(memoryview(data).cast("B"))


def _output(fd: int, name: str, original: Any) -> io.TextIOWrapper:
    raw = Descriptor(fd, name, results=fd == STDOUT, closed_at_start=original is None)
    binary: Any = io.BufferedWriter(raw) if fd == STDOUT else WriteThrough(raw)
    return io.TextIOWrapper(
        binary,
        encoding=getattr(original, "encoding", None) or "utf-8",
        errors=getattr(original, "errors", None) or "strict",
        newline="\n",
        line_buffering=fd == STDERR or bool(getattr(original, "line_buffering", False)),
        write_through=fd == STDERR,
    )


def install() -> None:
    """Give the interpreter's standard streams nnctl's policies (see the module docstring)."""
    show_warnings()
    for fd in (STDIN, STDOUT, STDERR):
        _reopen_closed(fd)
    if sys.stdin is None and sys.__stdin__ is None:
        sys.stdin = ClosedInput()
    for fd, name in ((STDOUT, "stdout"), (STDERR, "stderr")):
        current, original = getattr(sys, name), getattr(sys, f"__{name}__")
        if current is original:
            with contextlib.suppress(OSError, ValueError):
                if current is not None:
                    current.flush()
            setattr(sys, name, _output(fd, name, original))


def show_warnings() -> None:
    """Write each `NnctlWarning` on stderr as ``nnctl: warning: MESSAGE``, at once, every time.

    Other warnings are shown as Python shows them. Installing twice changes nothing.
    """
    warnings.simplefilter("always", NnctlWarning)
    if getattr(warnings.showwarning, "shows_nnctl_warnings", False):
        return
    shown_by_python = warnings.showwarning

    def show(
        message: Warning | str,
        category: type[Warning],
        filename: str,
        lineno: int,
        file: TextIO | None = None,
        line: str | None = None,
    ) -> None:
        if issubclass(category, NnctlWarning):
            sys.stderr.write(f"nnctl: warning: {message}\n")
        else:
            shown_by_python(message, category, filename, lineno, file, line)

    show.shows_nnctl_warnings = True  # type: ignore[attr-defined]
    warnings.showwarning = show


def _descriptor(stream: Any) -> Descriptor | None:
    raw = getattr(getattr(stream, "buffer", None), "raw", None)
    return raw if isinstance(raw, Descriptor) else None


def abandon_stdout() -> None:
    """Write nothing more to stdout: what is buffered is dropped (after Ctrl-C)."""
    raw = _descriptor(sys.stdout)
    if raw is not None:
        raw.abandon()


def flush_stdout() -> None:
    """Write out what stdout holds; raises `OutputClosed` or `StreamError` as a write does."""
    if sys.stdout is not None:
        sys.stdout.flush()
