"""Model bundles: a checkpoint is configuration plus named arrays in one ``.npz``, never a pickle.

A bundle holds one JSON metadata entry (``__nnctl__``, stored as UTF-8 bytes in a uint8 array) and
groups of named arrays, stored under ``<group>/<name>``:

- ``weights/layers.0.W`` ... : the network's parameters;
- ``preprocessor/...``: the fitted preprocessing (scalers, category and label maps);
- ``optimizer/...``, ``early_stopping/...``: training state, in ``last.npz`` only.

The metadata says ``format: nnctl-bundle``, the ``format_version``, the architecture (``spec``),
the preprocessor's JSON half and, in ``last.npz``, everything else needed to resume (epoch, RNG
states, schedule and early-stopping state, the metrics history). Loading uses
``np.load(..., allow_pickle=False)``, so a hostile file with object arrays is refused, not run.
"""

from __future__ import annotations

import json
import math
import os
import stat
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import numpy as np
import numpy.lib.format as npformat

from nnctl import __version__
from nnctl.data.limits import memory_limit, size_text
from nnctl.errors import CheckpointError, UsageError
from nnctl.store.files import atomic_writer
from nnctl.store.runs import CHECKPOINTS, RUN_FILE, locate_run, no_such_run

FORMAT = "nnctl-bundle"
FORMAT_VERSION = 1
META_KEY = "__nnctl__"


@dataclass
class Bundle:
    """A loaded checkpoint: its metadata and its groups of named arrays."""

    path: Path
    meta: dict[str, Any]
    groups: dict[str, dict[str, np.ndarray]] = field(default_factory=dict)

    def group(self, name: str) -> dict[str, np.ndarray]:
        """The arrays of one group (empty when the bundle has none)."""
        return self.groups.get(name, {})


def save_bundle(
    path: Path, meta: Mapping[str, Any], groups: Mapping[str, Mapping[str, np.ndarray]]
) -> None:
    """Write a bundle to ``path`` atomically (temporary file, fsync, rename)."""
    header = {"format": FORMAT, "format_version": FORMAT_VERSION, "nnctl_version": __version__}
    text = json.dumps({**header, **meta}, default=_json_default)
    arrays: dict[str, np.ndarray] = {META_KEY: np.frombuffer(text.encode("utf-8"), dtype=np.uint8)}
    for group, named in groups.items():
        for name, array in named.items():
            arrays[f"{group}/{name}"] = np.asarray(array)
    with atomic_writer(path, "wb") as handle:
        np.savez(handle, **arrays)  # type: ignore[arg-type]


def _json_default(value: object) -> object:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"not JSON serializable: {type(value).__name__}")


def load_bundle(path: Path) -> Bundle:
    """Read a bundle; anything that is not a complete nnctl bundle is a `CheckpointError`."""
    if path.is_dir():
        raise CheckpointError(f"{path}: is a directory, not a checkpoint file")
    _check_zip(path)
    try:
        # Opened here: np.load leaves a file it opened itself open when the zip is corrupt.
        with path.open("rb") as handle:
            check_members(path, handle)
            handle.seek(0)
            npz = np.load(handle, allow_pickle=False)
            with npz:
                if META_KEY not in npz.files:
                    raise CheckpointError(f"{path}: not an nnctl checkpoint (no {META_KEY} entry)")
                meta = _read_meta(path, npz[META_KEY])
                groups: dict[str, dict[str, np.ndarray]] = {}
                for key in npz.files:
                    if key == META_KEY:
                        continue
                    group, _, name = key.partition("/")
                    groups.setdefault(group, {})[name] = npz[key]
    except FileNotFoundError:
        raise CheckpointError(f"{path}: no such checkpoint file") from None
    except PermissionError:
        raise _permission_denied(path) from None
    except CheckpointError:
        raise
    except (zipfile.BadZipFile, EOFError, OSError, KeyError) as error:
        raise CheckpointError(
            f"{path}: not a readable checkpoint (truncated or corrupt: {error})"
        ) from None
    except ValueError as error:
        if "pickle" in str(error):
            raise CheckpointError(
                f"{path}: holds pickled Python objects; nnctl never unpickles checkpoints"
            ) from None
        raise CheckpointError(f"{path}: not a readable checkpoint ({error})") from None
    return Bundle(path=path, meta=meta, groups=groups)


ZIP_MAGIC = b"PK\x03\x04"


def _check_zip(path: Path) -> None:
    """Refuse a file that is not a zip archive before NumPy guesses at it.

    ``np.load`` takes anything that is neither a zip nor a ``.npy`` for a pickle, and with
    ``allow_pickle=False`` says so: a config file passed as MODEL would be reported as "pickled
    data". The first bytes tell what it really is. A FIFO or a device is refused unopened: a zip
    needs random access, and opening a FIFO nobody writes to would wait forever.
    """
    try:
        if not stat.S_ISREG(path.stat().st_mode):
            raise CheckpointError(
                f"{path}: not a regular file; a checkpoint is read from a file on disk "
                "(a zip archive needs random access, a pipe or device cannot give it)"
            )
        with path.open("rb") as handle:
            head = handle.read(len(ZIP_MAGIC))
    except FileNotFoundError:
        raise CheckpointError(f"{path}: no such checkpoint file") from None
    except PermissionError:
        raise _permission_denied(path) from None
    except OSError as error:
        raise CheckpointError(f"{path}: cannot read: {error.strerror or error}") from None
    if not head:
        raise CheckpointError(f"{path}: the checkpoint file is empty")
    if head != ZIP_MAGIC:
        raise CheckpointError(
            f"{path}: not an nnctl checkpoint: it does not start with a zip header "
            f"(byte offset 0: {head.hex(' ')}, expected {ZIP_MAGIC.hex(' ')})",
            hint="give a run directory or its checkpoints/best.npz",
        )


def _permission_denied(path: Path) -> CheckpointError:
    return CheckpointError(
        f"{path}: permission denied: cannot read the checkpoint",
        hint=f"check the permissions of the file and its folder (ls -ld {path.parent} {path})",
    )


def check_members(path: Path, handle: IO[bytes]) -> None:
    """Refuse a bundle whose zip directory or ``.npy`` headers claim more than the file holds.

    ``np.load`` allocates what a member's header says (``shape`` times the item size) before
    reading it, and inflates a compressed member whole. So, before it runs: every member must fit
    in the file, its uncompressed size must be believable (at most the memory available, and for
    a stored member its size in the file), and the array its header describes must be exactly
    the bytes after that header, of a dtype that holds no Python objects.
    """
    try:
        archive = zipfile.ZipFile(handle)
    except (zipfile.BadZipFile, OSError, ValueError, EOFError) as error:
        raise CheckpointError(
            f"{path}: not a readable checkpoint (truncated or corrupt: {error})"
        ) from None
    stored_size = os.fstat(handle.fileno()).st_size
    limit = memory_limit()
    with archive:
        for info in archive.infolist():
            name = info.filename
            if info.compress_size > stored_size or info.header_offset > stored_size:
                raise _claims(path, name, f"{info.compress_size} bytes", f"{stored_size} bytes")
            stored = info.compress_type == zipfile.ZIP_STORED
            if info.file_size > limit or (stored and info.file_size != info.compress_size):
                raise _claims(path, name, size_text(info.file_size), size_text(stored_size))
            if name.endswith(".npy"):
                _check_npy(path, archive, info)


def _claims(path: Path, member: str, claimed: str, holds: str) -> CheckpointError:
    return CheckpointError(
        f"{path}: not a readable checkpoint: its entry {member} claims {claimed}, "
        f"more than the file ({holds}) or memory can hold"
    )


def _check_npy(path: Path, archive: zipfile.ZipFile, info: zipfile.ZipInfo) -> None:
    """Check one ``.npy`` member's header against the member's size (see `check_members`)."""
    with archive.open(info) as member:
        try:
            version = npformat.read_magic(member)
            reader = (
                npformat.read_array_header_1_0
                if version == (1, 0)
                else npformat.read_array_header_2_0
            )
            shape, _, dtype = reader(member)
        except (ValueError, EOFError, SyntaxError, TypeError) as error:
            raise CheckpointError(
                f"{path}: not a readable checkpoint: entry {info.filename} has a bad .npy "
                f"header ({error})"
            ) from None
        if dtype.hasobject:
            raise CheckpointError(
                f"{path}: holds pickled Python objects; nnctl never unpickles checkpoints"
            )
        claimed = math.prod(shape) * dtype.itemsize
        holds = info.file_size - member.tell()
    if claimed != holds:
        raise CheckpointError(
            f"{path}: not a readable checkpoint: entry {info.filename} claims shape "
            f"{list(shape)} of {dtype} ({size_text(claimed)}), its data is "
            f"{size_text(max(holds, 0))}"
        )


def _read_meta(path: Path, raw: np.ndarray) -> dict[str, Any]:
    try:
        meta = json.loads(raw.tobytes().decode("utf-8"))
    except RecursionError:
        raise CheckpointError(
            f"{path}: its {META_KEY} entry is JSON nested too deeply to be an nnctl checkpoint"
        ) from None
    except (UnicodeDecodeError, ValueError):
        raise CheckpointError(f"{path}: its {META_KEY} entry is not JSON") from None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise CheckpointError(f"{path}: not an nnctl checkpoint (format is not {FORMAT!r})")
    version = meta.get("format_version")
    if version != FORMAT_VERSION:
        raise CheckpointError(
            f"{path}: checkpoint format version {version!r} is not supported; "
            f"this nnctl reads version {FORMAT_VERSION}",
            hint="use the nnctl version that wrote it, or retrain",
        )
    return meta


def is_checkpoint_file(path: Path) -> bool:
    """``path.is_file()``, except that a folder the user may not read is a `CheckpointError`."""
    try:
        return stat.S_ISREG(path.stat().st_mode)
    except FileNotFoundError:
        return False
    except PermissionError:
        raise _permission_denied(path) from None


def locate_model(model: Path, runs_dir: Path | None) -> Path:
    """The existing path a MODEL argument names, looked up in ``runs_dir`` (``--runs-dir``).

    Naming nothing is a `UsageError` (exit 2) that says where it was looked for.
    """
    located = locate_run(model, runs_dir)
    if not located.exists():
        raise no_such_run(model, runs_dir, what="run directory or checkpoint file")
    return located


def model_file(model: Path) -> Path:
    """The checkpoint a MODEL argument names: a file, or a run's best (else last) checkpoint.

    MODEL is a path, or a run's name in the runs directory (`locate_run`). Naming nothing is a
    `UsageError` (exit 2); a run directory without a checkpoint is a `CheckpointError` (exit 3).
    """
    located = locate_run(model)
    is_run = (located / CHECKPOINTS).is_dir() or (located / RUN_FILE).is_file()
    if located.is_dir() and not is_run:
        raise UsageError(f"{located}: not a run directory (no {RUN_FILE}, no {CHECKPOINTS}/)")
    if located.is_dir():
        for name in ("best.npz", "last.npz"):
            candidate = located / CHECKPOINTS / name
            if is_checkpoint_file(candidate):
                return candidate
        raise CheckpointError(f"{located}: no checkpoints/best.npz or checkpoints/last.npz in it")
    if not located.exists():
        raise no_such_run(model, what="run directory or checkpoint file")
    return located
