"""Shared fixtures: a CLI runner that keeps stdout and stderr apart."""

from __future__ import annotations

import signal

import pytest
from typer.testing import CliRunner

# A test run started in the background by a script (`pytest &`) inherits SIGINT ignored, and so
# would every nnctl it starts, which then rightly keeps ignoring it (as `nohup` asks). The tests
# send SIGINT on purpose: give it back its default, which the processes they start inherit.
signal.signal(signal.SIGINT, signal.default_int_handler)


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()
