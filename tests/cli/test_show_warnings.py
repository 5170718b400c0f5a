"""The library warns with `NnctlWarning`; the command line writes each on stderr as it comes."""

from __future__ import annotations

import warnings

import pytest

from nnctl.cli.streams import show_warnings
from nnctl.errors import NnctlWarning


def test_each_nnctl_warning_is_one_line_on_stderr_every_time(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with warnings.catch_warnings(record=True) as others:
        show_warnings()
        show_warnings()  # a second install changes nothing: still one line per warning
        for _ in range(2):
            warnings.warn("data.csv: column 'id' is odd", NnctlWarning, stacklevel=1)
        warnings.warn("something else", UserWarning, stacklevel=1)
    line = "nnctl: warning: data.csv: column 'id' is odd\n"
    assert capsys.readouterr().err == line * 2
    assert [str(w.message) for w in others] == ["something else"]  # shown as Python shows it
