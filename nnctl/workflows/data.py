"""``nnctl data fetch``: a public dataset's files downloaded, verified and put in one folder."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from nnctl.data.fetch import Fetched, Progress, fetch


@dataclass(frozen=True)
class FetchedDataset:
    """The folder the dataset is in, and what happened to each of its files."""

    folder: Path
    files: list[Fetched]


def fetch_dataset(
    name: str, dest: Path | None = None, progress: Progress | None = None
) -> FetchedDataset:
    """Fetch dataset ``name`` into ``dest`` (default ``datasets/<name>``), see `nnctl.data.fetch`.

    Files already present with the right MD5 are kept; ``progress`` is called as each downloads.
    """
    files = fetch(name, dest, progress=progress)
    return FetchedDataset(folder=files[0].path.parent, files=files)
