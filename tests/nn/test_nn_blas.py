"""``axpby``: BLAS's ``y = a * x + b * y`` through ctypes, and its NumPy fallback."""

from __future__ import annotations

import numpy as np
import pytest

from nnctl.nn import blas


@pytest.fixture(params=["blas", "numpy"])
def routine(request, monkeypatch):
    if request.param == "numpy":
        monkeypatch.setattr(blas, "_routine", lambda char: None)
    return request.param


def test_numpys_openblas_is_found_and_used():
    """NumPy's wheels bundle OpenBLAS: it is found (the other tests check both routes)."""
    assert blas.openblas()
    assert blas.has_blas_axpby(np.float32) and blas.has_blas_axpby(np.float64)
    assert not blas.has_blas_axpby(np.float16)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize(("a", "b"), [(1.0, 0.9), (-0.25, 1.0), (2.0, 0.0), (0.0, 1.0)])
def test_axpby_is_a_x_plus_b_y(routine, dtype, a, b):
    rng = np.random.default_rng(0)
    x, y = rng.standard_normal(1001).astype(dtype), rng.standard_normal(1001).astype(dtype)
    expected = a * x.astype(np.float64) + b * y.astype(np.float64)
    x_before = x.copy()
    result = blas.axpby(a, x, b, y, scratch=np.empty_like(x))
    assert result is y
    rtol = 1e-6 if dtype == np.float32 else 1e-14
    np.testing.assert_allclose(y, expected, rtol=rtol, atol=rtol)
    np.testing.assert_array_equal(x, x_before)  # x is read, not written (scratch is separate)


def test_axpby_works_on_contiguous_slices_and_leaves_the_rest(routine):
    y = np.zeros(10, dtype=np.float32)
    x = np.arange(10, dtype=np.float32)
    blas.axpby(2.0, x[3:7], 1.0, y[3:7])
    np.testing.assert_array_equal(y, [0, 0, 0, 6, 8, 10, 12, 0, 0, 0])


def test_axpby_takes_strided_arrays_through_numpy():
    y = np.zeros(10)
    blas.axpby(1.0, np.ones(10)[::2], 1.0, y[::2])
    np.testing.assert_array_equal(y, [1, 0] * 5)


def test_the_numpy_fallback_may_use_x_as_scratch():
    blas_free = np.array([1.0, 2.0])
    y = np.array([10.0, 20.0])
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(blas, "_routine", lambda char: None)
        blas.axpby(-0.5, blas_free, 1.0, y, scratch=blas_free)
    np.testing.assert_array_equal(y, [9.5, 19.0])


@pytest.mark.parametrize(
    ("x", "y"),
    [
        (np.ones(3), np.ones(4)),
        (np.ones(3, np.float32), np.ones(3)),
        (np.ones((2, 2)), np.ones((2, 2))),
    ],
)
def test_axpby_refuses_arrays_that_differ(x, y):
    with pytest.raises(ValueError, match="axpby needs two 1-d arrays alike"):
        blas.axpby(1.0, x, 1.0, y)
