"""Picture files: the same figure gives the same bytes, in the format its suffix names."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from nnctl.errors import UsageError
from nnctl.inspection import pictures


def _figure():  # type: ignore[no-untyped-def]
    figure = pictures.new_figure(3, 2)
    axes = figure.add_subplot()
    axes.plot([0, 1, 2], [3, 1, 2], label="loss")
    axes.legend()
    return figure


@pytest.mark.parametrize("fmt", ["png", "svg", "pdf"])
def test_the_same_figure_twice_gives_the_same_bytes(fmt: str) -> None:
    first = pictures.figure_bytes(_figure(), fmt)
    second = pictures.figure_bytes(_figure(), fmt)
    assert first == second
    assert len(first) > 1000


def test_no_date_or_version_is_written() -> None:
    import matplotlib

    for fmt in ("png", "svg", "pdf"):
        data = pictures.figure_bytes(_figure(), fmt)
        assert matplotlib.__version__.encode() not in data, fmt
        assert b"CreationDate" not in data and b"<dc:date>" not in data, fmt


def test_save_figure_writes_the_suffixs_format(tmp_path: Path) -> None:
    pictures.save_figure(_figure(), tmp_path / "a.png")
    pictures.save_figure(_figure(), tmp_path / "a.svg")
    assert (tmp_path / "a.png").read_bytes().startswith(b"\x89PNG\r\n\x1a\n")
    assert b"<svg" in (tmp_path / "a.svg").read_bytes()[:500]


def test_an_unknown_suffix_is_a_usage_error(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match=r"\.png, \.svg, \.pdf"):
        pictures.save_figure(_figure(), tmp_path / "a.jpg")
    assert not (tmp_path / "a.jpg").exists()


def test_no_pyplot(tmp_path: Path) -> None:
    pictures.save_figure(_figure(), tmp_path / "a.png")
    assert "matplotlib.pyplot" not in sys.modules


def test_without_matplotlib_the_extra_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "matplotlib.figure", None)
    with pytest.raises(UsageError) as caught:
        pictures.new_figure(3, 2)
    assert caught.value.hint == "pip install 'nnctl[plot]'"


def test_characters_the_font_lacks_are_one_nnctl_warning() -> None:
    import warnings

    from nnctl.errors import NnctlWarning

    figure = pictures.new_figure(3, 2)
    figure.add_subplot().set_title("猫 犬 cat")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        pictures.figure_bytes(figure, "png")
    assert [w.category for w in caught] == [NnctlWarning]
    assert "has no glyph for" in str(caught[0].message)
    assert "CJK UNIFIED IDEOGRAPH-732B" in str(caught[0].message)
