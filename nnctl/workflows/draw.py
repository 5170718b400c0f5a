"""``nnctl draw MODEL``: a picture of the network, written to a file or (SVG) to stdout.

The picture is `nnctl.inspection.drawing.network_figure`'s; the format comes from the output's
suffix (``.svg``, ``.png``, ``.pdf``), so no checkpoint, config or data file (``.npz``,
``.yaml``, ``.csv``, IDX) can be overwritten by it. ``-`` is stdout, as SVG.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from nnctl.errors import UsageError
from nnctl.inspection import pictures
from nnctl.inspection.drawing import network_layout
from nnctl.inspection.drawing.figure import layout_figure
from nnctl.inspection.sources import open_model

#: The output when ``-o`` is not given (as Keras' ``plot_model`` writes ``model.png``).
DEFAULT_OUTPUT = Path("net.svg")
#: ``-o -``: the SVG on stdout.
STDOUT = Path("-")


@dataclass
class Drawn:
    """What ``nnctl draw`` made: the file written (None for stdout), its bytes, what it shows."""

    path: Path | None
    data: bytes
    neurons: int
    connections: int
    hidden: int


def draw(
    model: Path,
    output: Path = DEFAULT_OUTPUT,
    *,
    row: int | None = None,
    max_units: int = 12,
    split: str | None = None,
    input_path: Path | None = None,
    runs_dir: Path | None = None,
) -> Drawn:
    """Draw ``model``'s network to ``output`` (``-``: return the SVG to write on stdout)."""
    if row is None and (split is not None or input_path is not None):
        given = f"--split {split}" if split is not None else f"--input {input_path}"
        raise UsageError(f"{given}: only with --row N (the row whose activations fill the "
                         "neurons); add --row 0 for the first row")  # fmt: skip
    to_stdout = output == STDOUT
    fmt = "svg" if to_stdout else pictures.format_of(output)
    if not to_stdout and output.is_dir():
        raise UsageError(f"-o {output}: is a directory; expected a picture file such as "
                         f"{output / DEFAULT_OUTPUT}")  # fmt: skip
    if not to_stdout and not output.absolute().parent.is_dir():
        raise UsageError(f"-o {output}: the folder {output.absolute().parent} does not exist")
    opened = open_model(model, runs_dir)
    layout = network_layout(opened, row, max_units, split=split, input_path=input_path)
    data = pictures.figure_bytes(layout_figure(layout), fmt)
    if not to_stdout:
        from nnctl.store import files

        with files.atomic_writer(output, "wb") as out:
            out.write(data)
    neurons = sum(len(c.units) for c in layout.columns)
    hidden = sum(c.hidden for c in layout.columns)
    return Drawn(None if to_stdout else output, data, neurons, len(layout.connections), hidden)
