"""A trained model: the network and the preprocessing that prepares its inputs, saved as one bundle.

`bundle_contents` gives what every checkpoint holds (architecture, weights, fitted preprocessing,
class names); `load_model` reads it back from a checkpoint file or a run directory, so that
``nnctl predict checkpoints/best.npz`` works on a machine that has only that file.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import numpy as np

from nnctl.data import Preprocessor
from nnctl.errors import CheckpointError, NnctlError
from nnctl.nn.network import Network
from nnctl.store.bundle import Bundle, load_bundle, model_file
from nnctl.training.metrics import Task


@dataclass
class Model:
    """A network ready to predict, its preprocessing, and the bundle it came from."""

    network: Network
    preprocessor: Preprocessor
    task: Task
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


TASKS = ("classification", "binary", "regression")


def load_model(model: Path) -> Model:
    """Load the model a MODEL argument names (a checkpoint file, or a run's best/last one).

    Anything in the bundle that does not hold together -- a malformed architecture, weights of
    other shapes, a preprocessor whose width or classes do not match the network -- is a
    `CheckpointError` naming the file, never a crash later in predict or evaluate.
    """
    bundle = load_bundle(model_file(model))
    _check_finite(bundle)
    part = "the architecture ('spec' in __nnctl__)"
    try:
        network = Network.from_spec(bundle.meta["spec"])
        part = "the weights (weights/...)"
        network.load_state_dict(bundle.group("weights"))
        part = "the preprocessor ('preprocessor' in __nnctl__, preprocessor/...)"
        preprocessor = Preprocessor.from_bundle(
            bundle.meta["preprocessor"], bundle.group("preprocessor")
        )
        part = "'task' in __nnctl__"
        task = str(bundle.meta["task"])
        part = "the network and the preprocessor together"
        _check_fit(bundle.meta["spec"], preprocessor, task)
    except (NnctlError, KeyError, TypeError, ValueError, AttributeError, IndexError) as error:
        shown = error.message if isinstance(error, NnctlError) else f"{error}"
        if isinstance(error, KeyError):
            shown = f"no {error}"
        raise CheckpointError(
            f"{bundle.path}: an incomplete or inconsistent nnctl checkpoint: {part}: {shown}"
        ) from None
    _check_scaling(bundle.path, preprocessor)
    # _check_fit made sure the task is one of TASKS.
    return Model(network=network, preprocessor=preprocessor, task=cast(Task, task), bundle=bundle)


def _check_finite(bundle: Bundle) -> None:
    """Refuse weights or scalings holding NaN or infinity: they would predict garbage with exit 0.

    (The preprocessor's fill values may hold NaN on purpose: the fill of a column never filled.)
    """
    check_finite(bundle, ("weights",))
    scaling = bundle.group("preprocessor")
    check_arrays(bundle, "preprocessor", {k: v for k, v in scaling.items() if k != "data.fill"})


def _check_scaling(path: Path, pre: Preprocessor) -> None:
    """Refuse a zero divisor, or a target mean or std that is not finite (or a zero std)."""
    target = (pre.target.mean, pre.target.std)
    if np.any(pre.numeric.divide == 0) or not np.all(np.isfinite(target)) or target[1] == 0:
        raise CheckpointError(
            f"{path}: the preprocessor's scaling (preprocessor/data.divide or the target's "
            "mean and std) is zero, NaN or infinite; a model with it predicts garbage",
            hint="use another checkpoint of the run, or train again",
        )


def check_finite(bundle: Bundle, groups: tuple[str, ...]) -> None:
    """Raise a `CheckpointError` naming the first array of ``groups`` that holds NaN or inf."""
    for group in groups:
        check_arrays(bundle, group, bundle.group(group))


def check_arrays(bundle: Bundle, group: str, arrays: dict[str, np.ndarray]) -> None:
    """Raise a `CheckpointError` naming the first of ``arrays`` that holds NaN or infinity."""
    for name, array in arrays.items():
        if np.issubdtype(array.dtype, np.inexact):
            bad = int(array.size - np.count_nonzero(np.isfinite(array)))
            if bad:
                raise CheckpointError(
                    f"{bundle.path}: {group}/{name} holds {bad} non-finite value"
                    f"{'s' if bad != 1 else ''} (NaN or infinite) of {array.size}; "
                    "a model with them predicts garbage",
                    hint="use another checkpoint of the run, or train again",
                )


def _check_fit(spec: dict[str, Any], pre: Preprocessor, task: str) -> None:
    """Raise a `ValueError` unless the task, the input width and the outputs agree."""
    if task not in TASKS or task != pre.task:
        raise ValueError(f"task {task!r}, preprocessor task {pre.task!r}")
    if int(spec["n_inputs"]) != pre.n_features:
        raise ValueError(
            f"the network takes {spec['n_inputs']} inputs, the preprocessor makes {pre.n_features}"
        )
    units = int(spec["layers"][-1]["units"])
    if units != pre.n_outputs:
        raise ValueError(f"the network has {units} outputs, the task needs {pre.n_outputs}")
