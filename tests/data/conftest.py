"""Fixtures of the data-layer tests; the helpers are in datahelp.py."""

from __future__ import annotations

from pathlib import Path

import pytest
from datahelp import iris_like_file


@pytest.fixture
def iris_like(tmp_path: Path) -> Path:
    """40 rows: two numeric columns, a text column, a constant column, string labels."""
    return iris_like_file(tmp_path)
