"""Downloading public IDX datasets (MNIST, Fashion-MNIST), verified against their published MD5s.

Each file is streamed to a temporary name in the destination folder, checked, then renamed, so an
interrupted download never leaves a file that looks complete. A file already present with the
right checksum is skipped. When a mirror fails (network error, HTTP error, wrong checksum) the
next one is tried. Only ``urllib`` is used. The checksums are the ones torchvision lists.
"""

from __future__ import annotations

import difflib
import hashlib
import os
import tempfile
import urllib.error
import urllib.request
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from nnctl.errors import DataError, UsageError

#: Called as a download proceeds: (file name, bytes so far, total bytes or None when unknown).
Progress = Callable[[str, int, int | None], None]

BLOCK = 1 << 16
MIRRORS_ENV = "NNCTL_FETCH_MIRRORS"  # comma-separated base URLs that replace the built-in mirrors


@dataclass(frozen=True)
class DatasetSource:
    """A downloadable dataset: its mirrors (base URLs) and files with their MD5s."""

    mirrors: tuple[str, ...]
    files: dict[str, str]  # file name -> md5


SOURCES: dict[str, DatasetSource] = {
    "mnist": DatasetSource(
        mirrors=(
            "https://ossci-datasets.s3.amazonaws.com/mnist/",
            "http://yann.lecun.com/exdb/mnist/",
        ),
        files={
            "train-images-idx3-ubyte.gz": "f68b3c2dcbeaaa9fbdd348bbdeb94873",
            "train-labels-idx1-ubyte.gz": "d53e105ee54ea40749a09fcbcd1e9432",
            "t10k-images-idx3-ubyte.gz": "9fb629c4189551a2d022fa330f9573f3",
            "t10k-labels-idx1-ubyte.gz": "ec29112dd5afa0611ce80d1b7f02629c",
        },
    ),
    "fashion-mnist": DatasetSource(
        mirrors=("http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",),
        files={
            "train-images-idx3-ubyte.gz": "8d4fb7e6c68d591d4c3dfef9ec88bf0d",
            "train-labels-idx1-ubyte.gz": "25c81989df183df01b3e8a0aad5dffbe",
            "t10k-images-idx3-ubyte.gz": "bef4ecab320f06d8554ea6380940ec79",
            "t10k-labels-idx1-ubyte.gz": "bb300cfdad3c16e7a12a480ee83cd310",
        },
    ),
}


@dataclass(frozen=True)
class Fetched:
    """What happened to one file: ``downloaded`` (from ``url``) or ``present`` (already valid)."""

    path: Path
    status: str
    url: str | None = None


def get_source(name: str) -> DatasetSource:
    """The registered dataset ``name``, or a `UsageError` suggesting the closest name."""
    if name in SOURCES:
        return SOURCES[name]
    close = difflib.get_close_matches(name, list(SOURCES), n=1)
    guess = f"did you mean '{close[0]}'? " if close else ""
    raise UsageError(f"unknown dataset '{name}'; {guess}expected one of: {', '.join(SOURCES)}")


def md5_of(path: Path) -> str:
    """The hex MD5 of a file, read in blocks."""
    digest = hashlib.md5(usedforsecurity=False)
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(BLOCK), b""):
            digest.update(block)
    return digest.hexdigest()


def mirror_list(source: DatasetSource, mirrors: Sequence[str] | None) -> list[str]:
    """The mirrors to try: the argument, else ``$NNCTL_FETCH_MIRRORS``, else the built-in ones."""
    if mirrors is None and os.environ.get(MIRRORS_ENV):
        mirrors = [m.strip() for m in os.environ[MIRRORS_ENV].split(",") if m.strip()]
    chosen = list(mirrors) if mirrors is not None else list(source.mirrors)
    return [m if m.endswith("/") else m + "/" for m in chosen]


def _stream(url: str, out: BinaryIO, name: str, progress: Progress | None, timeout: float) -> str:
    """Copy ``url`` into ``out``, reporting progress; return the MD5 of what was read."""
    digest = hashlib.md5(usedforsecurity=False)
    with urllib.request.urlopen(url, timeout=timeout) as response:
        length = response.headers.get("Content-Length")
        total = int(length) if length and length.isdigit() else None
        done = 0
        for block in iter(lambda: response.read(BLOCK), b""):
            out.write(block)
            digest.update(block)
            done += len(block)
            if progress is not None:
                progress(name, done, total)
    return digest.hexdigest()


def download(url: str, target: Path, md5: str, progress: Progress | None, timeout: float) -> None:
    """Stream ``url`` to a temporary file beside ``target``; rename it there if the MD5 matches."""
    handle, name = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".part")
    temp = Path(name)
    try:
        with os.fdopen(handle, "wb") as out:
            found = _stream(url, out, target.name, progress, timeout)
        if found != md5:
            raise ValueError(f"MD5 {found} does not match the expected {md5}")
        os.replace(temp, target)
    finally:
        temp.unlink(missing_ok=True)


def fetch_file(
    name: str, md5: str, dest: Path, mirrors: list[str], progress: Progress | None, timeout: float
) -> Fetched:
    """Make ``dest/name`` a valid copy: keep it if its MD5 matches, else try each mirror."""
    target = dest / name
    try:
        if target.is_file() and md5_of(target) == md5:
            return Fetched(target, "present")
    except PermissionError:
        raise DataError(
            f"{target}: permission denied: cannot read the file to check its MD5",
            hint="fix its permissions or remove it, then fetch again",
        ) from None
    failures = []
    for mirror in mirrors:
        url = mirror + name
        try:
            download(url, target, md5, progress, timeout)
            return Fetched(target, "downloaded", url)
        except (urllib.error.URLError, OSError, ValueError) as error:
            failures.append(f"{url}: {getattr(error, 'reason', None) or error}")
    raise DataError(
        f"could not download {name}: " + "; ".join(failures),
        hint=f"check the network connection, or put the file in {dest} by hand",
    )


def fetch(
    name: str,
    dest: Path | None = None,
    *,
    mirrors: Sequence[str] | None = None,
    checksums: dict[str, str] | None = None,
    progress: Progress | None = None,
    timeout: float = 60.0,
) -> list[Fetched]:
    """Download dataset ``name``'s files into ``dest`` (default ``datasets/<name>``).

    Parameters
    ----------
    name
        ``mnist`` or ``fashion-mnist``.
    dest
        The folder to write into; created if needed.
    mirrors
        Base URLs to try in order, replacing the built-in ones (also ``$NNCTL_FETCH_MIRRORS``).
    checksums
        File name -> MD5, replacing the published files and checksums (for tests and mirrors of
        other files).
    progress
        Called with (file name, bytes so far, total or None) as each file downloads.
    timeout
        Seconds to wait on a stalled connection.
    """
    source = get_source(name)
    folder = dest if dest is not None else Path("datasets") / name
    if folder.exists() and not folder.is_dir():
        raise DataError(f"{folder}: exists and is not a directory")
    try:
        folder.mkdir(parents=True, exist_ok=True)
        tempfile.TemporaryFile(dir=folder).close()  # can we write there? (before downloading)
    except OSError as error:
        raise UsageError(
            f"--dest {folder}: cannot write into it: {error.strerror or error}"
        ) from None
    files = checksums if checksums is not None else source.files
    chosen = mirror_list(source, mirrors)
    return [fetch_file(f, md5, folder, chosen, progress, timeout) for f, md5 in files.items()]
