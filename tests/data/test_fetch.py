"""`nnctl data fetch` against a local HTTP server: no network."""

from __future__ import annotations

import hashlib
import http.server
import threading
from collections.abc import Iterator
from functools import partial
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from nnctl.cli import app
from nnctl.data import fetch as fetch_module
from nnctl.data.fetch import DatasetSource, fetch
from nnctl.data.formats.idx import encode_idx, read_images
from nnctl.errors import DataError, UsageError


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def server(tmp_path: Path) -> Iterator[tuple[str, dict[str, str]]]:
    """A local mirror serving two small IDX files; yields its URL and the files' MD5s."""
    root = tmp_path / "mirror"
    root.mkdir()
    files = {
        "train-images-idx3-ubyte": encode_idx(
            np.arange(2 * 3 * 3, dtype=np.uint8).reshape(2, 3, 3)
        ),
        "train-labels-idx1-ubyte": encode_idx(np.array([1, 0], dtype=np.uint8)),
    }
    for name, data in files.items():
        (root / name).write_bytes(data)
    handler = partial(_Quiet, directory=str(root))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    md5s = {name: hashlib.md5(data).hexdigest() for name, data in files.items()}
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}/", md5s
    finally:
        httpd.shutdown()
        httpd.server_close()


def test_downloads_verifies_and_skips(server: tuple[str, dict[str, str]], tmp_path: Path) -> None:
    url, md5s = server
    dest = tmp_path / "out"
    seen: list[tuple[str, int, int | None]] = []
    first = fetch("mnist", dest, mirrors=[url], checksums=md5s, progress=lambda *a: seen.append(a))
    assert [r.status for r in first] == ["downloaded", "downloaded"]
    assert read_images(dest / "train-images-idx3-ubyte").shape == (2, 9)
    assert seen and seen[-1][1] == seen[-1][2]
    assert not list(dest.glob(".*part"))
    second = fetch("mnist", dest, mirrors=[url], checksums=md5s)
    assert [r.status for r in second] == ["present", "present"]


def test_falls_back_to_the_next_mirror(server: tuple[str, dict[str, str]], tmp_path: Path) -> None:
    url, md5s = server
    results = fetch("mnist", tmp_path, mirrors=[url + "missing/", url], checksums=md5s)
    assert all(r.url is not None and r.url.startswith(url + "train") for r in results)


def test_bad_checksum_on_every_mirror(server: tuple[str, dict[str, str]], tmp_path: Path) -> None:
    url, md5s = server
    wrong = dict.fromkeys(md5s, "0" * 32)
    with pytest.raises(DataError, match=r"could not download train-images-idx3-ubyte: .*MD5"):
        fetch("mnist", tmp_path / "out", mirrors=[url], checksums=wrong)
    assert list((tmp_path / "out").iterdir()) == []  # no half-written or unverified file is left


def test_corrupt_existing_file_is_replaced(
    server: tuple[str, dict[str, str]], tmp_path: Path
) -> None:
    url, md5s = server
    (tmp_path / "train-labels-idx1-ubyte").write_bytes(b"junk")
    results = fetch("mnist", tmp_path, mirrors=[url], checksums=md5s)
    assert [r.status for r in results] == ["downloaded", "downloaded"]


def test_unknown_dataset_suggests() -> None:
    with pytest.raises(UsageError, match=r"unknown dataset 'mnsit'; did you mean 'mnist'\?"):
        fetch("mnsit")


def test_published_checksums_are_torchvisions() -> None:
    files = fetch_module.SOURCES["mnist"].files
    assert files["train-images-idx3-ubyte.gz"] == "f68b3c2dcbeaaa9fbdd348bbdeb94873"
    assert len(fetch_module.SOURCES["fashion-mnist"].files) == 4


def test_cli_fetch(
    server: tuple[str, dict[str, str]], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url, md5s = server
    monkeypatch.setitem(fetch_module.SOURCES, "mnist", DatasetSource(mirrors=(url,), files=md5s))
    result = CliRunner().invoke(app, ["data", "fetch", "mnist", "--dest", str(tmp_path / "m")])
    assert result.exit_code == 0, result.output
    assert result.stdout == f"{tmp_path / 'm'}\n"
    assert "downloaded" in result.stderr


def test_cli_fetch_failure_exit_3(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NNCTL_FETCH_MIRRORS", "http://127.0.0.1:9/")
    result = CliRunner().invoke(app, ["data", "fetch", "mnist", "--dest", str(tmp_path)])
    assert result.exit_code == 3
    assert "could not download train-images-idx3-ubyte.gz" in result.stderr
