"""Picture files through matplotlib: a figure made without pyplot, saved as the same bytes.

Every picture nnctl writes (``plot``, ``draw``, ``report``, ``sweep plot``) is a
`matplotlib.figure.Figure` built with the object API, never pyplot's global state, and saved
here: PNG, SVG or PDF by the file's suffix, with no timestamp, no software version and no random
ids, so that the same run gives the same bytes. matplotlib is the ``plot`` extra, imported only
when a picture is made.
"""

from __future__ import annotations

import io
import re
import warnings
from contextlib import AbstractContextManager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from nnctl import extras
from nnctl.errors import NnctlWarning, UsageError
from nnctl.store import files

if TYPE_CHECKING:
    from matplotlib.figure import Figure

#: File suffix -> matplotlib's format name.
FORMATS = {".png": "png", ".svg": "svg", ".pdf": "pdf"}

#: Metadata matplotlib would otherwise fill with the date and its version, per format.
_METADATA: dict[str, dict[str, None]] = {
    "png": {"Software": None},
    "svg": {"Date": None, "Creator": None},
    "pdf": {"CreationDate": None, "ModDate": None, "Creator": None, "Producer": None},
}

#: Settings that keep the bytes the same: fixed ids in SVG, glyphs drawn as paths (no font
#: needed to view the file), matplotlib's own font whatever the machine has.
_RC = {
    "svg.hashsalt": "nnctl",
    "svg.fonttype": "path",
    "pdf.fonttype": 42,
    "font.family": "DejaVu Sans",
    "path.simplify": False,
}


def new_figure(width: float, height: float, dpi: int = 100) -> Figure:
    """A blank figure of ``width`` x ``height`` inches, owned by no global state."""
    figure_module = extras.load("matplotlib.figure", "plot")
    with _settings():
        figure: Figure = figure_module.Figure(
            figsize=(width, height), dpi=dpi, layout="constrained"
        )
    return figure


def format_of(path: Path) -> str:
    """The picture format of ``path`` by its suffix, or a `UsageError` naming the ones there are."""
    fmt = FORMATS.get(path.suffix.lower())
    if fmt is None:
        raise UsageError(
            f"{path}: cannot tell the picture format from {path.suffix or 'no suffix'!r}; "
            f"expected one of {', '.join(FORMATS)}"
        )
    return fmt


def figure_bytes(figure: Figure, fmt: str) -> bytes:
    """``figure`` as a ``fmt`` file (png, svg, pdf), the same bytes every time."""
    buffer = io.BytesIO()
    with _settings(), warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        figure.savefig(buffer, format=fmt, metadata=_METADATA[fmt])
    _say_missing_glyphs(caught)
    return buffer.getvalue()


_GLYPH = re.compile(r"Glyph \d+ \((.*)\) missing from font")


def _say_missing_glyphs(caught: list[warnings.WarningMessage]) -> None:
    """One nnctl warning for the characters the font lacks (matplotlib warns once per glyph,
    with its own source line); any other warning is raised again as it was."""
    missing: list[str] = []
    for warning in caught:
        found = _GLYPH.search(str(warning.message))
        if found and found.group(1) not in missing:
            missing.append(found.group(1))
        elif not found:
            warnings.warn_explicit(
                warning.message, warning.category, warning.filename, warning.lineno
            )
    if missing:
        shown = ", ".join(missing[:5]) + (
            f" and {len(missing) - 5} more" if len(missing) > 5 else ""
        )
        warnings.warn(
            f"the picture's font (DejaVu Sans) has no glyph for {shown}: drawn as boxes",
            NnctlWarning,
            stacklevel=2,
        )


def save_figure(figure: Figure, path: Path) -> None:
    """Write ``figure`` to ``path`` in the format of its suffix, atomically."""
    data = figure_bytes(figure, format_of(path))
    with files.atomic_writer(path, "wb") as out:
        out.write(data)


def _settings() -> AbstractContextManager[Any]:
    """matplotlib's settings for nnctl's pictures, for the duration of a ``with`` block."""
    matplotlib = extras.load("matplotlib", "plot")
    context: AbstractContextManager[Any] = matplotlib.rc_context(_RC)
    return context
