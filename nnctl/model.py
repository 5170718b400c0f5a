"""A trained model: the network and the preprocessing that prepares its inputs, saved as one bundle.

`bundle_contents` gives what every checkpoint holds (architecture, weights, fitted preprocessing,
class names); `load_model` reads it back from a checkpoint file or a run directory, so that
``nnctl predict checkpoints/best.npz`` works on a machine that has only that file.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from nnctl.checkpoint import Bundle, load_bundle, model_file
from nnctl.data import Preprocessor
from nnctl.errors import CheckpointError
from nnctl.nn.network import Network


@dataclass
class Model:
    """A network ready to predict, its preprocessing, and the bundle it came from."""

    network: Network
    preprocessor: Preprocessor
    task: str
    bundle: Bundle

    @property
    def path(self) -> Path:
        return self.bundle.path


def bundle_contents(
    network: Network, preprocessor: Preprocessor, task: str
) -> tuple[dict[str, Any], dict[str, dict[str, np.ndarray]]]:
    """The metadata and array groups that make a checkpoint a self-describing model."""
    pre_meta, pre_arrays = preprocessor.to_bundle()
    meta = {"task": task, "spec": network.spec(), "preprocessor": pre_meta}
    return meta, {"weights": network.state_dict(), "preprocessor": pre_arrays}


def load_model(model: Path) -> Model:
    """Load the model a MODEL argument names (a checkpoint file, or a run's best/last one)."""
    bundle = load_bundle(model_file(model))
    try:
        network = Network.from_spec(bundle.meta["spec"])
        network.load_state_dict(bundle.group("weights"))
        preprocessor = Preprocessor.from_bundle(
            bundle.meta["preprocessor"], bundle.group("preprocessor")
        )
        task = str(bundle.meta["task"])
    except (KeyError, TypeError, ValueError) as error:
        raise CheckpointError(
            f"{bundle.path}: an incomplete or inconsistent nnctl checkpoint ({error})"
        ) from None
    return Model(network=network, preprocessor=preprocessor, task=task, bundle=bundle)
