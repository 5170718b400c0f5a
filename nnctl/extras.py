"""The optional features' libraries, imported when a command needs them and not before.

``nnctl plot`` needs matplotlib, ``nnctl export`` needs onnx, and so on; the core install has none
of them. `load` imports one, or says which extra to install (exit 2), so that no command shows an
``ImportError``'s traceback for a missing extra.
"""

from __future__ import annotations

import importlib
from types import ModuleType

from nnctl.errors import UsageError

#: Each extra and what it is for, as ``pip install 'nnctl[EXTRA]'`` installs it.
EXTRAS: dict[str, str] = {
    "plot": "pictures: plot -o, draw, report, sweep plot",
    "onnx": "ONNX export",
    "serve": "the HTTP server",
    "sweep": "hyperparameter sweeps",
}


def load(module: str, extra: str) -> ModuleType:
    """Import ``module`` (a library of the extra ``extra``), or raise `UsageError` (exit 2).

    Examples
    --------
    >>> mpl = load("matplotlib", "plot")  # doctest: +SKIP
    """
    if extra not in EXTRAS:
        raise ValueError(f"unknown extra {extra!r}")
    try:
        return importlib.import_module(module)
    except ImportError as error:
        raise UsageError(
            f"this needs the {extra!r} extra ({EXTRAS[extra]}), and {module} cannot be "
            f"imported ({error})",
            hint=f"pip install 'nnctl[{extra}]'",
        ) from None
