"""Gradient clipping by global norm: the one clipper, used by the network's training step."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping

import numpy as np

Array = np.ndarray


def clip_grad_norm(grads: Array | Iterable[Array] | Mapping[str, Array], max_norm: float) -> float:
    """Scale gradients in place so that their global L2 norm is at most ``max_norm``.

    Parameters
    ----------
    grads : ndarray, iterable of ndarray, or mapping of name to ndarray
        The gradient arrays (one flat array in the network's case).
    max_norm : float
        The largest norm allowed.

    Returns
    -------
    float
        The global norm before clipping, ``norm = sqrt(sum_i sum(g_i**2))``.

    Notes
    -----
    If ``norm**2 > max_norm**2`` every gradient is multiplied by ``max_norm / norm``; the
    direction of the update is kept. A non-finite norm is returned unchanged and nothing is
    scaled (the caller decides what divergence means).

    References
    ----------
    Pascanu, Mikolov & Bengio, "On the difficulty of training recurrent neural networks",
    ICML 2013.
    """
    arrays = (
        list(grads.values())
        if isinstance(grads, Mapping)
        else ([grads] if isinstance(grads, np.ndarray) else list(grads))
    )
    sq_norm = sum(float(np.dot(a.ravel(), a.ravel())) for a in arrays)
    norm = math.sqrt(sq_norm)  # nan and inf stay so
    if math.isfinite(sq_norm) and sq_norm > max_norm * max_norm:
        scale = max_norm / norm
        for a in arrays:
            a *= scale
    return norm
