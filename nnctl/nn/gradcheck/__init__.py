"""Backpropagation against central finite differences, in float64: what the tests and
``nnctl gradcheck`` run.

- `nnctl.nn.gradcheck.central`: whole arrays of an activation, a loss, a layer or a network, each
  with ``||a - n|| / (||a|| + ||n||)``;
- `nnctl.nn.gradcheck.entries`: sampled entries of a network's parameters, each with CS231n's
  ``|a - n| / max(|a|, |n|)``, kinks noted, and weight decay apart from the data loss.
"""

from nnctl.nn.gradcheck.central import (
    Check,
    GradCheck,
    H,
    as_float64,
    check_activation,
    check_layer,
    check_loss,
    check_network,
    numerical_gradient,
    relative_error,
)
from nnctl.nn.gradcheck.entries import (
    KINKED_ACTIVATIONS,
    KINKED_LOSSES,
    MARGIN,
    SMOOTH_ACTIVATIONS,
    SMOOTH_LOSSES,
    Entry,
    TensorCheck,
    check_entries,
    check_network_entries,
    check_weight_decay,
    entry_error,
    network_evaluation,
    resolution,
    sample_indices,
)

__all__ = [
    "KINKED_ACTIVATIONS",
    "KINKED_LOSSES",
    "MARGIN",
    "SMOOTH_ACTIVATIONS",
    "SMOOTH_LOSSES",
    "Check",
    "Entry",
    "GradCheck",
    "H",
    "TensorCheck",
    "as_float64",
    "check_activation",
    "check_entries",
    "check_layer",
    "check_loss",
    "check_network",
    "check_network_entries",
    "check_weight_decay",
    "entry_error",
    "network_evaluation",
    "numerical_gradient",
    "relative_error",
    "resolution",
    "sample_indices",
]
