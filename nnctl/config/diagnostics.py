"""The ``diagnostics`` section: what a run records about its network besides its metrics."""

from __future__ import annotations

from pydantic import Field

from nnctl.config.section import Section


class DiagnosticsConfig(Section):
    """What a run records about its network as it trains."""

    layer_stats: bool = Field(
        default=True,
        description="Write layer_stats.csv: per epoch and layer, the weights' statistics, the "
        "gradient norm on a fixed probe of rows, the update ratio, and the activations on the "
        "validation pass (dead and saturated units). false: no file.",
    )
