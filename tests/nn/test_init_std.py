"""`init_std`: the std each initializer's draw starts from, against a large draw."""

from __future__ import annotations

import numpy as np
import pytest

from nnctl.nn.errors import EngineConfigError
from nnctl.nn.initializers import INITIALIZERS, init_std


@pytest.mark.parametrize("name", sorted(INITIALIZERS))
def test_init_std_is_the_draws_std(name: str) -> None:
    n_in, units = 300, 200
    W = INITIALIZERS[name]((n_in, units), np.random.default_rng(0), np.dtype(np.float64))
    assert W.std() == pytest.approx(init_std(name, n_in, units), rel=0.01, abs=1e-12)


def test_an_unknown_initializer_is_named() -> None:
    with pytest.raises(EngineConfigError, match="did you mean 'he_normal'"):
        init_std("he_normall", 3, 3)
