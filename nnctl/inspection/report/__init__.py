"""``nnctl report``: one self-contained HTML page about a run (no network, no script).

`nnctl.workflows.report` gathers a run's facts into `ReportInputs`; `render_report` turns them
into the page: the config, the learning curves, the test split's scores and confusion matrix, the
layer table, the layer statistics over epochs, the doctor's findings, the drawn network, the
first layer's weights and the test rows the model got most wrong. Pictures are PNG files inline
as ``data:`` URIs; every text taken from the run is HTML-escaped.
"""

from nnctl.inspection.report.inputs import ReportInputs, Wrong
from nnctl.inspection.report.page import render_report

__all__ = ["ReportInputs", "Wrong", "render_report"]
