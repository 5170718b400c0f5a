"""The report's sections made of text and tables: the run, its config, its scores, its layers,
the doctor's findings and the rows the model got most wrong."""

from __future__ import annotations

from typing import Any

from nnctl.inspection.report.html import esc, paragraph, table
from nnctl.inspection.report.inputs import ReportInputs, Wrong


def overview(inputs: ReportInputs) -> str:
    """The run: status, epochs, best epoch, seed, versions, data files with their sha256."""
    record = inputs.record
    best = record.get("best_epoch")
    monitor = record.get("monitor")
    rows: list[tuple[str, Any]] = [
        ("run directory", str(inputs.run)),
        ("status", f"{record.get('status')} ({record.get('stop_reason') or ''})"),
        ("epochs", f"{record.get('epochs_done')} of {record.get('epochs_planned')}"),
        ("best epoch", _best(best, monitor, record.get("best_value"))),
        ("seed", str(record.get("seed"))),
        ("command", " ".join(record.get("command") or [])),
        ("versions", ", ".join(f"{k} {v}" for k, v in (record.get("versions") or {}).items())),
        ("started / ended", f"{record.get('started')} / {record.get('ended') or ''}"),
    ]
    files = [(f["path"], f["sha256"]) for f in record.get("data_files") or []]
    return table(["", ""], rows) + "<h3>Data files</h3>" + table(["path", "sha256"], files)


def _best(epoch: Any, monitor: Any, value: Any) -> str:
    """``3 (by val_loss: 0.4579)``; a run.json without the value still names the epoch."""
    if epoch is None:
        return ""
    if not isinstance(value, int | float) or isinstance(value, bool):
        return f"{epoch} (by {monitor})"
    return f"{epoch} (by {monitor}: {value:.4g})"


def config(inputs: ReportInputs) -> str:
    """``config.yaml`` as written: defaults filled in, overrides applied."""
    note = paragraph("The resolved config: defaults filled in, --set overrides applied.", "muted")
    return note + f"<pre>{esc(inputs.config_text)}</pre>"


def scores(inputs: ReportInputs) -> str:
    """The last epoch's and the best epoch's row of ``metrics.csv``, and the test split's scores."""
    rows = inputs.metrics
    parts = []
    if rows:
        columns = [c for c in rows[0] if c != "seconds"]
        best = inputs.record.get("best_epoch")
        chosen = [r for r in rows if r.get("epoch") == best and r is not rows[-1]] + [rows[-1]]
        body = [[_which(r, best, rows[-1]), *(r.get(c) for c in columns)] for r in chosen]
        parts.append("<h3>Training (metrics.csv)</h3>" + table(["", *columns], body))
    evaluation = inputs.evaluation
    if evaluation is None:
        parts.append(paragraph("The run has no test split: no test scores.", "muted"))
        return "".join(parts)
    flat = [
        (key, value)
        for key, value in evaluation.items()
        if isinstance(value, int | float) and not isinstance(value, bool)
    ]
    parts.append(f"<h3>Test ({esc(evaluation['data'])})</h3>" + table(["metric", "value"], flat))
    return "".join(parts)


def _which(row: dict[str, Any], best: Any, last: dict[str, Any]) -> str:
    """``best``, ``last`` or ``best and last``: why the row is in the table."""
    names = [
        name for name, yes in (("best", row.get("epoch") == best), ("last", row is last)) if yes
    ]
    return " and ".join(names)


def per_class(evaluation: dict[str, Any]) -> str:
    """Precision, recall, F1 and support per class, and their macro averages."""
    rows: list[list[Any]] = [
        [name, s["precision"], s["recall"], s["f1"], s["support"]]
        for name, s in evaluation["per_class"].items()
    ]
    macro = evaluation["macro"]
    total = sum(s["support"] for s in evaluation["per_class"].values())
    rows.append(["macro average", macro["precision"], macro["recall"], macro["f1"], total])
    return table(["class", "precision", "recall", "f1", "support"], rows, digits=3)


def layers(inspection: dict[str, Any]) -> str:
    """``nnctl inspect``'s layer table, with the activations on the test split."""
    rows = []
    for layer in inspection["layers"]:
        acts = layer.get("activations") or {}
        rows.append(
            [
                layer["index"],
                f"{layer['n_in']} -> {layer['units']}",
                layer["activation"],
                layer["params"],
                f"{100 * layer['share']:.1f}%",
                layer["weights"]["mean"],
                layer["weights"]["std"],
                layer["init_std"],
                layer["bias"]["norm"],
                acts.get("mean"),
                acts.get("std"),
                layer.get("dead_fraction"),
                layer.get("saturated_fraction"),
            ]
        )
    headers = ["layer", "shape", "activation", "params", "share", "W mean", "W std",
               "init std", "|b|", "a mean", "a std", "dead", "saturated"]  # fmt: skip
    data = inspection.get("data")
    acts = (
        f"activations on the {data}. Dead: relu units never positive on these rows; saturated: "
        "sigmoid/tanh units within 0.01 of a bound on 99% of them."
        if data
        else "no activations: the run has no test split to run through the network."
    )
    foot = (
        f"{inspection['total_params']} parameters ({inspection['bytes']} bytes, "
        f"{inspection['dtype']}); {acts}"
    )
    return table(headers, rows, digits=3) + paragraph(foot, "muted")


def findings(doctor: dict[str, Any]) -> str:
    """``nnctl doctor``'s findings: severity, rule, message, threshold and source."""
    items = []
    for found in doctor["findings"]:
        rule = found["rule"]
        severity = found["severity"]
        items.append(
            f'<li><span class="{esc(severity)}">{esc(severity)}</span> '
            f"<b>{esc(rule['name'])}</b>: {esc(found['message'])}"
            f'<br><span class="muted">rule: {esc(rule["threshold"])}; '
            f"source: {esc(rule['source'])}</span></li>"
        )
    if not items:
        return paragraph("The doctor has nothing to say about this run.")
    return f"<ul>{''.join(items)}</ul>"


def wrong_rows(wrong: list[Wrong], regression: bool) -> str:
    """The CSV rows the model got most wrong, worst first, with their cells as read."""
    if not wrong:
        return paragraph("No test rows to show.", "muted")
    columns = list(wrong[0].values or {})
    score = "|error|" if regression else "p(true)"
    rows = [
        [w.row, w.true, w.predicted, w.score, *((w.values or {}).get(c) for c in columns)]
        for w in wrong
    ]
    return table(["row", "true", "predicted", score, *columns], rows)
