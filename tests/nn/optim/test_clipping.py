"""Gradient clipping by global norm: the one clipper."""

from __future__ import annotations

import math

import numpy as np
import pytest

from nnctl.nn.optim.clipping import clip_grad_norm


def test_clip_grad_norm_scales_to_the_maximum():
    grads = {"a": np.array([3.0, 0.0]), "b": np.array([[4.0]])}
    assert clip_grad_norm(grads, 1.0) == pytest.approx(5.0)
    total = math.sqrt(sum(float((g**2).sum()) for g in grads.values()))
    assert total == pytest.approx(1.0)
    np.testing.assert_allclose(grads["a"], [0.6, 0.0])
    small = np.array([0.3, 0.4])
    assert clip_grad_norm(small, 1.0) == pytest.approx(0.5)
    np.testing.assert_array_equal(small, [0.3, 0.4])  # under the maximum: untouched


def test_a_non_finite_norm_is_returned_and_nothing_is_scaled():
    grads = np.array([np.inf, 1.0])
    assert clip_grad_norm(grads, 1.0) == math.inf
    np.testing.assert_array_equal(grads, [np.inf, 1.0])
    nan = np.array([np.nan, 1.0])
    assert math.isnan(clip_grad_norm(nan, 1.0))
    assert nan[1] == 1.0
