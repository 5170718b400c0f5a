"""``nnctl schema``: the JSON Schema of the config file."""

from __future__ import annotations

from nnctl.errors import NotBuiltYet


def schema() -> None:
    """Print the JSON Schema of the config file.

    Example: nnctl schema > nnctl.schema.json
    """
    raise NotBuiltYet("'nnctl schema' is not built yet")
