"""The doctor's rules on ``layer_stats.csv``: dead relu units, update ratios, gradient flow.

The file has one row per epoch and layer (epoch 0 = initialization; ``update_ratio`` empty there):
``epoch, layer, w_mean, w_std, w_norm, b_norm, grad_norm, update_ratio, a_mean, a_std,
dead_fraction, saturated_fraction, lr``.
"""

from __future__ import annotations

import statistics

from nnctl.inspection.findings import Found, info, warn
from nnctl.inspection.run_facts import LAYER_STATS_FILE, Row, RunFacts, is_finite
from nnctl.nn.activations import RELU_FAMILY

DEAD_FRACTION = 0.40
UPDATE_RATIO = (1e-4, 1e-2)
GRADIENT_RATIO = (1e-2, 1e2)


def dead_units(facts: RunFacts) -> list[Found]:
    """Layers whose fraction of dead units (never positive on the data) is above 40% at the end."""
    found, checked = [], []
    for layer, rows in facts.layers().items():
        dead = [
            (int(r["epoch"] or 0), r["dead_fraction"])
            for r in rows
            if is_finite(r.get("dead_fraction"))
        ]
        if not dead:
            continue
        (epoch, last), start = dead[-1], dead[0][1]
        checked.append(layer)
        if last is not None and last > DEAD_FRACTION:
            found.append(
                warn(
                    f"Layer {layer}: {last:.0%} of its units are dead at epoch {epoch} (never "
                    "positive on the data, so they pass no gradient and stop learning; "
                    f"{start:.0%} at initialization). A learning rate too high is the usual "
                    "cause; try a lower one, or leaky_relu.",
                    layer=layer,
                    epoch=epoch,
                    dead_fraction=last,
                    dead_fraction_at_init=start,
                )
            )
    if found:
        return found
    if not checked:
        if not facts.layer_stats:
            return info(f"{LAYER_STATS_FILE} has no rows yet: dead units not counted")
        if facts.activations and not set(facts.activations) & RELU_FAMILY:
            return info("no relu-family layer: dead units not counted")
        return info("no dead fractions logged: dead units not counted")
    return info(f"No relu layer has more than {DEAD_FRACTION:.0%} dead units.", layers=checked)


#: Weights whose std has grown past this many times its value at initialization have been
#: blown up by steps too large; their small updates then come from saturation, not a low rate.
WEIGHT_GROWTH = 10.0


def _growth(rows: list[Row]) -> float | None:
    """The last epoch's ``w_std`` over epoch 0's, or None when either is missing."""
    stds = [(r.get("epoch"), r.get("w_std")) for r in rows]
    first = [s for e, s in stds if e == 0 and is_finite(s)]
    last = [s for _, s in stds if is_finite(s)]
    if not first or not last or not first[0] > 0:
        return None
    return last[-1] / first[0]


def update_ratios(facts: RunFacts) -> list[Found]:
    """Layers whose median update ratio ``||dW|| / ||W||`` is outside ``[1e-4, 1e-2]``."""
    low, high = UPDATE_RATIO
    found, medians = [], {}
    for layer, rows in facts.layers().items():
        ratios = [v for r in rows if is_finite(v := r.get("update_ratio"))]
        if not ratios:
            continue
        median = statistics.median(ratios)
        medians[layer] = median
        if not low <= median <= high:
            size = "small: the weights barely move" if median < low else "large: each step "
            size += "" if median < low else "changes the weights by more than 1%"
            hint = "raise the learning rate" if median < low else "lower the learning rate"
            grown = _growth(rows)
            if median < low and grown is not None and grown > WEIGHT_GROWTH:
                hint = (
                    f"lower the learning rate: the weights grew to {grown:.0f} times their "
                    "initial spread, so the outputs saturate and the gradients vanish (a higher "
                    "rate would make it worse)"
                )
            found.append(
                warn(
                    f"Layer {layer}: the update ratio ||dW|| / ||W|| (the last step of each "
                    f"epoch against the weights) has median {median:.2g}, far from about 1e-3: "
                    f"too {size}. Try to {hint}.",
                    layer=layer,
                    median=median,
                    min=min(ratios),
                    max=max(ratios),
                    epochs=len(ratios),
                )
            )
    if found:
        return found
    if not medians:
        return info("no update ratios logged: not checked")
    return info(
        "Every layer's update ratio is near 1e-3 (median within [1e-4, 1e-2]).", medians=medians
    )


def gradient_flow(facts: RunFacts) -> list[Found]:
    """The first layer's gradient norm against the last's: vanishing or exploding gradients."""
    layers = facts.layers()
    if not layers:
        return info(f"{LAYER_STATS_FILE} has no rows yet: gradient flow not judged")
    if len(layers) < 2:
        return info("a single layer: gradient flow between layers not judged")
    first, last = layers[min(layers)], layers[max(layers)]
    pairs = [
        (int(a["epoch"] or 0), a["grad_norm"], b["grad_norm"])
        for a, b in zip(first, last, strict=False)
    ]
    ratios = [(e, g1 / g2) for e, g1, g2 in pairs if is_finite(g1) and is_finite(g2) and g2]
    if not ratios:
        return info("no gradient norms logged: not checked")
    median = statistics.median(r for _, r in ratios)
    evidence = {
        "first_layer": min(layers),
        "last_layer": max(layers),
        "median_ratio": median,
        "ratio_at_init": ratios[0][1],
        "ratio_last": ratios[-1][1],
    }
    low, high = GRADIENT_RATIO
    if median < low or median > high:
        what = "vanishes" if median < low else "explodes"
        return [
            warn(
                f"The gradient {what} on its way back: the first layer's ||dL/dW|| is {median:.2g} "
                f"times the last layer's (median over epochs), so the first layers learn "
                f"{'far slower' if median < low else 'far faster'} than the last. Check the "
                "initializer (He for relu, Glorot for tanh), or use fewer layers.",
                **evidence,
            )
        ]
    return info(
        f"Gradients flow back evenly: the first layer's ||dL/dW|| is {median:.2g} times "
        "the last layer's (median over epochs).",
        **evidence,
    )
