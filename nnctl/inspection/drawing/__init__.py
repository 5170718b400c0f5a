"""``nnctl draw``: a network as columns of neurons joined by lines, TensorFlow Playground's way.

`layout` decides what is drawn where (plain NumPy, testable without matplotlib), `network`
reads a model into a layout, `figure` draws it with matplotlib's object API. `network_figure`
is the entry point for a picture of a model (``nnctl draw``, ``nnctl report``).
"""

from nnctl.inspection.drawing.figure import layout_figure, network_figure
from nnctl.inspection.drawing.network import network_layout

__all__ = ["layout_figure", "network_figure", "network_layout"]
