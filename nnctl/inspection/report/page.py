"""The report page: each section in order, each picture with a sentence on what to look for."""

from __future__ import annotations

from typing import Any

from nnctl.inspection import figures
from nnctl.inspection.report import tables
from nnctl.inspection.report.html import page, paragraph, picture
from nnctl.inspection.report.inputs import ReportInputs
from nnctl.inspection.report.pictures import (
    activity_figure,
    fit_figure,
    png,
    weight_tiles_figure,
    wrong_images_figure,
)

Section = tuple[str, str, str]


def render_report(inputs: ReportInputs) -> str:
    """The whole HTML page about a run, as text (the same text for the same inputs)."""
    sections: list[Section] = [
        ("run", "Run", tables.overview(inputs)),
        ("curves", "Learning curves", _curves(inputs)),
        ("scores", "Scores", tables.scores(inputs)),
    ]
    evaluation = inputs.evaluation
    if evaluation is not None and "per_class" in evaluation:
        sections.append(("classes", "Per class", _classes(evaluation)))
    if inputs.regression is not None:
        sections.append(("fit", "Predicted against true", _fit(inputs.regression)))
    sections.append(("layers", "Layers", tables.layers(inputs.inspection)))
    sections.append(("stats", "Layer statistics", _layer_stats(inputs)))
    sections.append(("doctor", "Doctor", tables.findings(inputs.doctor)))
    if inputs.network_png is not None:
        sections.append(("network", "Network", _network(inputs.network_png)))
    if inputs.image_shape is not None:
        sections.append(("weights", "First layer's weights", _tiles(inputs)))
    sections.append(("wrong", "Most wrong", _wrong(inputs)))
    sections.append(("config", "Config", tables.config(inputs)))
    record = inputs.record
    subtitle = f"{record.get('status')}, {record.get('epochs_done')} epochs, {inputs.run}"
    return page(f"nnctl report: {record.get('name')}", subtitle, sections)


def _curves(inputs: ReportInputs) -> str:
    runs = [inputs.curves]
    if not inputs.curves.loss:  # an empty chart from -1 to 1 would say nothing
        return paragraph("metrics.csv has no epoch: no learning curves.", "muted")
    parts = [
        picture(
            png(figures.loss_figure(runs)),
            "loss per epoch",
            "The training and validation loss per epoch; the dotted line is the best epoch. "
            "Look for both falling together: validation rising while training falls is "
            "overfitting, a flat or jagged training loss a learning rate to change.",
        )
    ]
    if figures.metric_names(runs):
        parts.append(
            picture(
                png(figures.metrics_figure(runs)),
                "metrics per epoch",
                "Each metric on the training and validation splits per epoch. Look for the gap "
                "between the two: a wide, growing gap means the model learns the training rows "
                "rather than the task.",
            )
        )
    lr = inputs.curves.lr
    if lr is not None and not lr.is_constant():
        parts.append(
            picture(
                png(figures.lr_figure(runs)),
                "learning rate per epoch",
                "The learning rate the schedule gave each epoch. Look for the loss's bends at the "
                "same epochs: a drop in the rate often unlocks a lower loss.",
            )
        )
    return "".join(parts)


def _classes(evaluation: dict[str, Any]) -> str:
    matrix = evaluation["confusion_matrix"]
    figure = figures.confusion_figure(matrix["matrix"], matrix["labels"], "test split")
    return tables.per_class(evaluation) + picture(
        png(figure),
        "confusion matrix",
        "Test rows by true class (rows) and predicted class (columns); the diagonal is right. "
        "Look for dark cells off the diagonal: the pairs of classes the model confuses.",
    )


def _fit(points: tuple[Any, Any]) -> str:
    return picture(
        png(fit_figure(*points)),
        "predicted against true on the test split",
        "Each test row's prediction against its true value, in the target's units; on the "
        "dashed line they are equal. Look for rows far from the line and for a tilt: "
        "predictions flatter than the line mean the model shrinks towards the mean.",
    )


def _layer_stats(inputs: ReportInputs) -> str:
    if inputs.layer_stats is None:
        return paragraph("The run has no layer_stats.csv: no layer statistics.", "muted")
    ratio = picture(
        png(figures.update_ratio_figure([inputs.curves])),
        "update ratio per epoch",
        "Each layer's update ratio ||dW|| / ||W|| per epoch, log scale, against the dashed "
        "1e-3 line. Look for curves near the line: far below, the layer barely learns (raise the "
        "learning rate); far above, its weights are thrown about (lower it).",
    )
    activity = picture(
        png(activity_figure(inputs.layer_stats)),
        "dead and saturated fractions per epoch",
        "The fraction of each layer's units that are dead (relu never positive) or saturated "
        "(sigmoid, tanh stuck at a bound) per epoch. Look for fractions that climb: those units "
        "no longer pass a gradient, so the layer has fewer units than it seems.",
    )
    return ratio + activity


def _network(network_png: bytes) -> str:
    return picture(
        network_png,
        "the network drawn",
        "The network as nnctl draw draws it: a column of neurons per layer, one line per "
        "weight, blue positive and orange negative, as wide as the weight is large (a big layer "
        "shows its strongest units; an image input is each pixel's total |W|). Look for "
        "thick lines that carry the model and for units with hardly any: those contribute "
        "little.",
    )


def _tiles(inputs: ReportInputs) -> str:
    shape = inputs.image_shape or (inputs.first_weights.shape[0], 1)
    return picture(
        png(weight_tiles_figure(inputs.first_weights, shape)),
        "first layer weights as images",
        "Each first-layer unit's weights over the image's pixels (red positive, blue negative). "
        "Look for strokes and blobs: smooth, shaped tiles mean units that learned features; "
        "tiles that are still noise learned little.",
    )


def _wrong(inputs: ReportInputs) -> str:
    if inputs.evaluation is None:
        return paragraph("The run has no test split: no rows to show.", "muted")
    regression = "per_class" not in inputs.evaluation
    return _mistakes(inputs, regression) + _wrong_body(inputs, regression)


def _mistakes(inputs: ReportInputs, regression: bool) -> str:
    """How many of the rows shown are mistakes (classification): all right is worth saying."""
    if regression or not inputs.wrong:
        return ""
    mistakes = sum(w.true != w.predicted for w in inputs.wrong)
    if mistakes == 0:
        return paragraph(
            "The model classified every test row right; these are the ones it was least sure of."
        )
    return paragraph(f"{mistakes} of the {len(inputs.wrong)} rows shown are misclassified.")


def _wrong_body(inputs: ReportInputs, regression: bool) -> str:
    if inputs.image_shape is not None and inputs.wrong:
        return picture(
            png(wrong_images_figure(inputs.wrong)),
            "test images the model got most wrong",
            "The test images whose true class got the lowest probability, worst first, titled "
            "with their number, true -> predicted class and that probability. Look for a "
            "pattern: badly written digits are forgivable, clear ones point at the model.",
        )
    what = (
        "largest absolute error, in the target's units"
        if regression
        else "lowest probability given to their true class"
    )
    note = paragraph(
        f"The test rows with the {what}, worst first, with their cells as read from the file "
        "(row: the row's number in the file, 1 = the first row after the header). "
        "Look for what they share: a range of a column, a category, a label that may be wrong.",
        "muted",
    )
    return note + tables.wrong_rows(inputs.wrong, regression)
