"""Flush-to-zero: subnormal results become zero inside the block only."""

from __future__ import annotations

import numpy as np
import pytest

from nnctl.nn.fast import fpu

TINY = np.float32(1e-37)  # normal; TINY * 0.01 is subnormal


def test_flush_subnormals_zeroes_only_tiny_values():
    a = np.array([1e-39, -1e-39, 1e-20, -3.0, 0.0], dtype=np.float32)
    b = np.array([1e-310, 1e-200], dtype=np.float64)
    fpu.flush_subnormals([a, b])
    np.testing.assert_array_equal(a, np.array([0, 0, 1e-20, -3, 0], dtype=np.float32))
    np.testing.assert_array_equal(b, [0.0, 1e-200])


def test_disabled_block_changes_nothing():
    with fpu.flush_to_zero(enabled=False) as on:
        assert on is False
        assert np.multiply(TINY, np.float32(0.01)) > 0


@pytest.mark.skipif(not fpu.FTZ_AVAILABLE, reason="this CPU has no MXCSR (the fallback is tested)")
def test_subnormal_results_are_flushed_inside_the_block_and_the_mode_restored():
    before = fpu.get_mxcsr() & fpu.FTZ_DAZ_BITS
    x = np.full(8, TINY)
    assert (x * np.float32(0.01) > 0).all()  # IEEE: a subnormal result
    with fpu.flush_to_zero() as on:
        assert on is True
        assert fpu.get_mxcsr() & fpu.FTZ_DAZ_BITS == fpu.FTZ_DAZ_BITS
        np.testing.assert_array_equal(x * np.float32(0.01), 0.0)
    assert fpu.get_mxcsr() & fpu.FTZ_DAZ_BITS == before
    assert (x * np.float32(0.01) > 0).all()


@pytest.mark.skipif(not fpu.FTZ_AVAILABLE, reason="this CPU has no MXCSR (the fallback is tested)")
def test_mode_is_restored_after_an_exception():
    before = fpu.get_mxcsr()
    with pytest.raises(RuntimeError), fpu.flush_to_zero():
        raise RuntimeError
    assert fpu.get_mxcsr() & fpu.FTZ_DAZ_BITS == before & fpu.FTZ_DAZ_BITS
