"""``nnctl schema``: the JSON Schema of the config file."""

from __future__ import annotations

import json
import sys


def schema() -> None:
    """Print the JSON Schema of the config file, for editors that check YAML as you type.

    The example configs point at the committed copy, configs/nnctl.schema.json, with a first line
    `# yaml-language-server: $schema=nnctl.schema.json`.

    Example: nnctl schema > configs/nnctl.schema.json
    """
    from nnctl.config.loader import config_json_schema

    sys.stdout.write(json.dumps(config_json_schema(), indent=2, ensure_ascii=False) + "\n")
