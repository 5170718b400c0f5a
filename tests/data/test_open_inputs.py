"""Opening inputs safely: one opener for files, pipes and stdin; sizes checked before allocating.

Permission errors are simulated (tests run as root, where modes are not enforced); the real case
is in tests/e2e/test_hostile_files.py, run without the capabilities that bypass modes.
"""

from __future__ import annotations

import contextlib
import errno
import gzip
import io
import json
import os
import struct
import sys
import threading
import zipfile
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from nnctl.config import yaml_source
from nnctl.data import checked, inputs, limits
from nnctl.data.formats.csv import read_chunks, read_header
from nnctl.data.formats.idx import read_idx
from nnctl.data.inputs import input_sha256, open_input
from nnctl.errors import CheckpointError, ConfigError, DataError, UsageError
from nnctl.store.bundle import META_KEY, load_bundle, save_bundle
from nnctl.workflows.predict import write_predictions

CSV = b"a,b,y\n1,2,yes\n3,4,no\n5,6,yes\n"


@pytest.fixture(autouse=True)
def _fresh_spool(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(inputs, "_spooled", {})


def _fifo(tmp_path: Path, data: bytes | None, name: str = "fifo") -> Path:
    """A FIFO and a thread writing ``data`` into it (none when ``data`` is None)."""
    path = tmp_path / name
    os.mkfifo(path)
    if data is not None:

        def write() -> None:
            with contextlib.suppress(BrokenPipeError), path.open("wb") as out:
                out.write(data)  # the reader may stop early (a limit): a broken pipe then

        threading.Thread(target=write, daemon=True).start()
    return path


def _read(source: str | Path, **options: object) -> bytes:
    with open_input(source, "CSV file", text=True, **options) as opened:  # type: ignore[arg-type]
        return opened.stream.read()


def test_a_fifo_is_read_by_its_bytes_not_refused_as_empty(tmp_path: Path) -> None:
    fifo = _fifo(tmp_path, gzip.compress(CSV, mtime=0))
    assert read_header(fifo, ",") == ["a", "b", "y"]
    assert _read(fifo) == CSV  # the copy of the pipe, read again; gzip found by its magic
    assert input_sha256(fifo) == input_sha256(
        _write(tmp_path / "same.gz", gzip.compress(CSV, mtime=0))
    )


def test_an_empty_fifo_is_empty_after_reading(tmp_path: Path) -> None:
    fifo = _fifo(tmp_path, b"")
    with pytest.raises(DataError, match=r"fifo: the input is empty"):
        _read(fifo)


def test_a_pipe_read_once_is_streamed(tmp_path: Path) -> None:
    read_end, write_end = os.pipe()
    os.write(write_end, gzip.compress(CSV, mtime=0))
    os.close(write_end)
    try:
        chunks = list(read_chunks(f"/dev/fd/{read_end}", ",", 2, []))
    finally:
        os.close(read_end)
    assert sum(len(c) for c in chunks) == 3 and list(chunks[0].columns) == ["a", "b", "y"]


class _Stdin:
    def __init__(self, data: bytes) -> None:
        self.buffer = io.BytesIO(data)


def test_stdin_with_gzip_bytes_is_inflated(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "stdin", _Stdin(gzip.compress(CSV, mtime=0)))
    frame = pd.concat(read_chunks("-", ",", 10, []))
    assert frame["y"].tolist() == ["yes", "no", "yes"]


def test_stdin_with_latin1_bytes_names_line_and_offset(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "stdin", _Stdin(b"a,b\n1,2\n3,caf\xe9\n"))
    with pytest.raises(DataError, match=r"<stdin>: not UTF-8 text \(line 3, byte offset 13\)"):
        list(read_chunks("-", ",", 10, []))


def test_nul_bytes_and_endless_lines_are_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with pytest.raises(DataError, match=r"NUL byte \(line 2, byte offset 6\)"):
        _read(_write(tmp_path / "nul.csv", b"a,b,c\n\0\0\0"))
    monkeypatch.setattr(checked, "MAX_LINE_BYTES", 1000)
    with pytest.raises(DataError, match=r"line 2 \(from byte offset 2\) is longer than 1000 bytes"):
        _read(_write(tmp_path / "long.csv", b"a\n" + b"x" * 5000))


def test_a_csv_gzip_bomb_stops_at_the_cap(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    bomb = _write(tmp_path / "bomb.csv.gz", gzip.compress(b"a,b\n" + b"1,2\n" * 2_000_000))
    monkeypatch.setenv(limits.LIMIT_ENV, str(1 << 20))
    with pytest.raises(DataError, match="inflates to more than 1 MiB"):
        _read(bomb, max_inflated=limits.inflate_limit())


def test_an_unreadable_file_is_permission_denied(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = _write(tmp_path / "d.csv", CSV)
    real = io.FileIO

    def denied(name: object, *args: object, **kwargs: object) -> io.FileIO:
        if str(name) == str(data):
            raise PermissionError(errno.EACCES, "Permission denied", str(name))
        return real(name, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(inputs.io, "FileIO", denied)
    with pytest.raises(DataError, match=rf"{data}: permission denied"):
        _read(data)


def test_an_empty_header_cell_names_its_position(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="the header's column 2 has no name"):
        read_header(_write(tmp_path / "d.csv", b"a,,c\n1,2,3\n"), ",")
    with pytest.raises(DataError, match="column 2 has no name"):
        list(read_chunks(tmp_path / "d.csv", ",", 10, []))


# IDX sizes


def _idx_header(*shape: int) -> bytes:
    return struct.pack(f">HBB{len(shape)}I", 0, 0x08, len(shape), *shape)


def test_a_small_gzip_claiming_96_gib_is_refused_before_inflating(tmp_path: Path) -> None:
    path = _write(tmp_path / "i.gz", gzip.compress(_idx_header(96 << 20, 32, 32) + bytes(50)))
    assert path.stat().st_size < 120
    with pytest.raises(DataError, match=r"truncated IDX file.*inflates to at most"):
        read_idx(path, ndim=3)


def test_a_header_claiming_more_than_memory_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(limits.LIMIT_ENV, "1000")
    path = _write(tmp_path / "i.idx", _idx_header(10, 10, 11) + bytes(1100))
    with pytest.raises(DataError, match=r"claims 1.074 KiB of data.*more than"):
        read_idx(path, ndim=3)


def test_an_idx_gzip_bomb_inflates_no_further_than_the_header(tmp_path: Path) -> None:
    payload = _idx_header(2, 2, 2) + bytes(8) + bytes(64 << 20)
    path = _write(tmp_path / "i.gz", gzip.compress(payload, compresslevel=1))
    with pytest.raises(DataError, match=r"more than 1048576 unexpected bytes .* byte offset 24"):
        read_idx(path, ndim=3)


# Checkpoints


def _bundle(tmp_path: Path) -> Path:
    path = tmp_path / "b.npz"
    save_bundle(path, {"spec": {}}, {"weights": {"w": np.ones(4)}})
    return path


def _replace_member(path: Path, member: str, data: bytes) -> None:
    with zipfile.ZipFile(path) as old:
        entries = {n: old.read(n) for n in old.namelist()}
    entries[member] = data
    with zipfile.ZipFile(path, "w") as new:
        for name, content in entries.items():
            new.writestr(name, content)


def test_an_npy_header_claiming_10_12_elements_is_refused(tmp_path: Path) -> None:
    path = _bundle(tmp_path)
    header = io.BytesIO()
    np.lib.format.write_array_header_1_0(
        header, {"descr": "<f8", "fortran_order": False, "shape": (10**12,)}
    )
    _replace_member(path, "weights/w.npy", header.getvalue() + bytes(32))
    with pytest.raises(CheckpointError, match=r"weights/w.npy claims shape \[1000000000000\]"):
        load_bundle(path)


def test_a_zip_directory_claiming_huge_sizes_is_refused(tmp_path: Path) -> None:
    path = _bundle(tmp_path)
    data = bytearray(path.read_bytes())
    central = data.rfind(b"PK\x01\x02")  # the last entry of the central directory
    data[central + 24 : central + 28] = struct.pack("<I", 0xFFFFFFF0)  # uncompressed size
    path.write_bytes(bytes(data))
    with pytest.raises(CheckpointError, match=r"claims .* more than the file"):
        load_bundle(path)


def test_deeply_nested_metadata_is_a_checkpoint_error(tmp_path: Path) -> None:
    path = _bundle(tmp_path)
    deep = ("[" * 100_000 + "]" * 100_000).encode()
    npy = io.BytesIO()
    np.save(npy, np.frombuffer(deep, dtype=np.uint8))
    _replace_member(path, f"{META_KEY}.npy", npy.getvalue())
    with pytest.raises(CheckpointError, match="nested too deeply"):
        load_bundle(path)
    assert json.loads(json.dumps({"ok": 1}))  # the interpreter is still fine


# Configs


def test_configs_over_1_mib_and_dev_zero_are_refused(tmp_path: Path) -> None:
    big = _write(tmp_path / "big.yaml", b"# x\n" * 300_000)
    with pytest.raises(ConfigError, match="larger than 1 MiB"):
        yaml_source.read_text(big, str(big))
    with pytest.raises(ConfigError, match="larger than 1 MiB"):
        yaml_source.read_text(Path("/dev/zero"), "/dev/zero")


def test_a_config_fifo_is_read_and_one_without_writer_never_hangs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fed = _fifo(tmp_path, b"version: 1\n", "fed")
    assert yaml_source.read_text(fed, str(fed)) == "version: 1\n"
    monkeypatch.setattr(yaml_source, "PIPE_WAIT_SECONDS", 0.2)
    lonely = _fifo(tmp_path, None, "lonely")
    with pytest.raises(ConfigError, match=r"lonely: no data in 0.2 s"):
        yaml_source.read_text(lonely, str(lonely))


def test_an_unreadable_config_is_permission_denied(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = _write(tmp_path / "c.yaml", b"version: 1\n")

    def denied(*args: object, **kwargs: object) -> int:
        raise PermissionError(errno.EACCES, "Permission denied")

    monkeypatch.setattr(yaml_source.os, "open", denied)
    with pytest.raises(ConfigError, match=r"c.yaml: permission denied"):
        yaml_source.read_text(path, str(path))


# predict --output


def _frames() -> Iterator[pd.DataFrame]:
    yield pd.DataFrame({"y": ["yes", "no"]})


def test_output_refusals_leave_every_file_as_it_was(tmp_path: Path) -> None:
    data = _write(tmp_path / "x.csv", CSV)
    model = _write(tmp_path / "run" / "checkpoints" / "best.npz", b"PK")
    _write(tmp_path / "run" / "run.json", b"{}")
    read_only = _write(tmp_path / "ro.csv", b"old\n")
    read_only.chmod(0o444)
    cases = {
        str(data): "is the input",
        str(model): "is the model file",
        str(tmp_path / "run" / "checkpoints" / "other.csv"): "is a checkpoint",
        str(tmp_path / "elsewhere.npz"): "is a checkpoint",
        str(tmp_path / "run" / "run.json"): "record of the run",
        str(read_only): "permission denied: the file is read-only",
    }
    before = {p: p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()}
    for output, message in cases.items():
        with pytest.raises(UsageError, match=message):
            write_predictions(_frames(), output, inputs={"input": data, "model file": model})
    assert {p: p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()} == before


def test_a_full_disk_is_exit_3_and_leaves_the_old_output_and_no_temp_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = _write(tmp_path / "out.csv", b"previous\n")

    def full(fd: int) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "fsync", full)
    with pytest.raises(DataError, match=r"out.csv: cannot write: No space left") as error:
        write_predictions(_frames(), str(out))
    assert error.value.exit_code == 3
    assert out.read_bytes() == b"previous\n" and sorted(tmp_path.iterdir()) == [out]
    with pytest.raises(DataError, match="/dev/full: cannot write: No space left"):
        write_predictions(_frames(), "/dev/full")
    assert Path("/dev/full").is_char_device()


def _write(path: Path, data: bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def test_fetch_into_a_folder_it_cannot_write_is_a_usage_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from nnctl.data import fetch

    def denied(*args: object, **kwargs: object) -> object:
        raise PermissionError(errno.EACCES, "Permission denied")

    monkeypatch.setattr(fetch.tempfile, "TemporaryFile", denied)
    with pytest.raises(UsageError, match=r"--dest .*dest: cannot write into it: Permission denied"):
        fetch.fetch("mnist", tmp_path / "dest", mirrors=["http://127.0.0.1:9/"])


def test_a_deeply_nested_run_json_is_exit_3(tmp_path: Path) -> None:
    from nnctl.store.files import read_json

    path = _write(tmp_path / "run.json", b"[" * 100_000 + b"]" * 100_000)
    with pytest.raises(CheckpointError, match=r"run.json: damaged: not readable JSON"):
        read_json(path)


def test_a_fifo_or_device_as_checkpoint_is_refused_unopened(tmp_path: Path) -> None:
    lonely = _fifo(tmp_path, None, "model.npz")  # opening it would wait for a writer forever
    with pytest.raises(CheckpointError, match="not a regular file"):
        load_bundle(lonely)
    with pytest.raises(CheckpointError, match="not a regular file"):
        load_bundle(Path("/dev/zero"))


def test_a_pipe_copied_for_reading_again_stops_at_the_limit(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(limits.LIMIT_ENV, str(1 << 20))
    fifo = _fifo(tmp_path, b"a,b\n" + b"1,2\n" * 600_000)
    with pytest.raises(DataError, match=r"fifo: more than 1 MiB from a pipe or device"):
        read_header(fifo, ",")


def test_a_failed_read_is_reported_even_when_the_reader_reports_another_error(
    tmp_path: Path,
) -> None:
    """pandas may turn a read that raised (Ctrl-C during it) into "Calling read() failed"."""
    path = _write(tmp_path / "nul.csv", b"a\n\0")
    with pytest.raises(DataError, match="NUL byte"), open_input(path, text=True) as opened:
        try:
            opened.stream.read()
        except DataError:
            raise ValueError("Calling read(nbytes) on source failed") from None
