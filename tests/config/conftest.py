"""The `write` fixture of the config tests."""

from __future__ import annotations

from pathlib import Path

import pytest
from config_helpers import Writer


@pytest.fixture
def write(tmp_path: Path) -> Writer:
    """Write text to ``tmp_path/name`` (default ``c.yaml``) and return the path."""

    def writer(text: str, name: str = "c.yaml") -> Path:
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        return path

    return writer
