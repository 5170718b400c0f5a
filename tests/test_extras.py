"""A missing extra is a usage error that says what to install, never an ImportError."""

from __future__ import annotations

import sys

import pytest

from nnctl import extras
from nnctl.errors import EXIT_USAGE, UsageError


def test_a_present_library_is_imported() -> None:
    assert extras.load("json", "plot") is sys.modules["json"]


def test_a_missing_library_names_the_extra_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # what `import` gives when it is absent
    with pytest.raises(UsageError) as caught:
        extras.load("matplotlib", "plot")
    assert caught.value.exit_code == EXIT_USAGE
    assert caught.value.hint == "pip install 'nnctl[plot]'"
    assert caught.value.message.startswith("this needs the 'plot' extra (pictures")
    assert "matplotlib" in caught.value.message


def test_an_unknown_extra_is_a_bug_in_nnctl() -> None:
    with pytest.raises(ValueError, match="unknown extra"):
        extras.load("json", "plots")
