"""The policy of each stream, in process: results raise, diagnostics go quiet, nothing exits 1."""

from __future__ import annotations

import io
import os
from pathlib import Path

import pytest

from nnctl.cli import render
from nnctl.cli.streams import ClosedInput, Descriptor, OutputClosed, StreamError


class GonePipe(io.StringIO):
    """A text stream whose reader went away: every write raises BrokenPipeError."""

    writes = 0

    def write(self, text: str) -> int:
        self.writes += 1
        raise BrokenPipeError(32, "Broken pipe")


def test_a_results_console_on_a_closed_pipe_raises_output_closed() -> None:
    console = render.NnctlConsole(file=GonePipe(), results=True)
    with pytest.raises(OutputClosed):
        console.print("a table")


def test_a_diagnostics_console_on_a_closed_pipe_goes_quiet() -> None:
    stream = GonePipe()
    console = render.NnctlConsole(file=stream, results=False)
    console.print("a row")  # neither SystemExit(1), as Rich's own console, nor an error
    console.print("another row")
    assert console.quiet and stream.writes == 1


def test_training_progress_stops_writing_when_its_stream_is_gone() -> None:
    stream = GonePipe()
    progress = render.TrainingProgress(
        3, [], console=render.NnctlConsole(file=stream, results=False)
    )
    for epoch in (1, 2, 3):
        progress.on_epoch_end(epoch, {"loss": 0.5, "lr": 0.01, "seconds": 0.1})
    assert stream.writes == 1


def _descriptor(path_or_fd: int, *, results: bool = True, closed: bool = False) -> Descriptor:
    return Descriptor(path_or_fd, "stdout", results=results, closed_at_start=closed)


def test_stdout_whose_reader_left_raises_output_closed_then_drops() -> None:
    read_end, write_end = os.pipe()
    os.close(read_end)
    try:
        out = _descriptor(write_end)
        with pytest.raises(OutputClosed):
            out.write(b"line\n")
        assert out.write(b"more\n") == 5  # dropped: the exit-time flush cannot fail
    finally:
        os.close(write_end)


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs /dev/full")
def test_stdout_on_a_full_disk_is_a_stream_error_with_exit_3() -> None:
    fd = os.open("/dev/full", os.O_WRONLY)
    try:
        with pytest.raises(StreamError, match="No space left on device") as raised:
            _descriptor(fd).write(b"line\n")
        assert raised.value.exit_code == 3
        assert _descriptor(fd, results=False).write(b"progress\n") == 9  # stderr: dropped
    finally:
        os.close(fd)


def test_closed_stdout_and_stdin_are_stream_errors() -> None:
    with pytest.raises(StreamError, match="it is closed"):
        _descriptor(1, closed=True).write(b"results\n")
    assert _descriptor(2, results=False, closed=True).write(b"progress\n") == 9
    with pytest.raises(StreamError, match="standard input is closed"):
        ClosedInput().read()
    with pytest.raises(StreamError):
        ClosedInput().buffer.read()


def test_after_a_signal_any_error_is_an_interruption(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """pandas can make a ParserError (then a DataError, exit 3) of a Ctrl-C; it is still 130."""
    from nnctl.cli import main as cli
    from nnctl.errors import DataError, Interrupted

    monkeypatch.setattr(cli, "SIGNALS_RECEIVED", {2})
    assert cli._exit_code(DataError("<stdin>: not a valid CSV file")) == 130
    assert cli._exit_code(ValueError("anything")) == 130
    assert capsys.readouterr().err == "nnctl: interrupted\n" * 2
    assert cli._exit_code(Interrupted("training interrupted; runs/x holds 3 epochs")) == 130
    assert "training interrupted" in capsys.readouterr().err
    monkeypatch.setattr(cli, "SIGNALS_RECEIVED", set())
    assert cli._exit_code(DataError("bad")) == 3
