"""Shared fixtures: a CLI runner that keeps stdout and stderr apart."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()
