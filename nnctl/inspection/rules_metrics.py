"""The doctor's rules on ``metrics.csv``: the loss at initialization, the loss's course (the
learning rate), overfitting."""

from __future__ import annotations

import itertools
import math
import statistics

from nnctl.inspection.findings import Found, info, warn
from nnctl.inspection.run_facts import RunFacts, is_finite
from nnctl.training.metrics import loss_scale

#: The expected loss of a network that knows nothing yet, by loss, on the standardized target
#: for regression: mse = the target's variance (1); mae, huber (delta 1): at most 1 and 1/2.
CHANCE_REGRESSION = {"mse": 1.0, "mae": 1.0, "huber": 0.5}
CHANCE_WORDS = {"mse": "the target's variance", "mae": "at most the target's std",
                "huber": "at most half the target's variance"}  # fmt: skip
INITIAL_FACTOR = 3.0
OSCILLATION = 0.2
NOT_FALLING = 0.95
OVERFIT_RISE = 0.10


def initial_loss(facts: RunFacts) -> list[Found]:
    """Epoch 1's training loss against the loss at chance: ln K, ln 2, the target's variance."""
    losses = facts.column("train_loss")
    if not losses or facts.loss is None:
        return info("no training loss logged, or the config is unreadable: not checked")
    if not is_finite(facts.metrics[0].get("train_loss")):
        return info("epoch 1's training loss is not a finite number: not checked")
    if facts.task == "classification" and facts.n_classes:
        chance, what = math.log(facts.n_classes), f"ln {facts.n_classes}"
        meaning = f"guessing uniformly among {facts.n_classes} classes"
    elif facts.task == "binary":
        chance, what, meaning = math.log(2), "ln 2", "answering 0.5 for every row"
    elif facts.target_std is not None and facts.loss in CHANCE_REGRESSION:
        chance = CHANCE_REGRESSION[facts.loss] * loss_scale(facts.loss, facts.target_std)
        what, meaning = CHANCE_WORDS[facts.loss], "predicting the target's mean"
    else:
        return info("the loss at chance is unknown for this run (no checkpoint): not checked")
    first, ratio = losses[0], losses[0] / chance
    evidence = {
        "epoch": 1,
        "train_loss": first,
        "chance": chance,
        "chance_is": what,
        "ratio": ratio,
    }
    if ratio > INITIAL_FACTOR:
        return [
            warn(
                f"The first epoch's loss, {first:.4g}, is {ratio:.1f} times the loss of "
                f"{meaning} ({what} = {chance:.4g}). A network just initialized should start near "
                "it: "
                "the initial weights may be too large, or the learning rate too high.",
                **evidence,
            )
        ]
    how = "is below" if ratio <= 1 else f"is within {INITIAL_FACTOR:g} times"
    why = ("the network was learning already in its first epoch" if ratio <= 1
           else "as a network that starts knowing nothing should")  # fmt: skip
    return info(
        f"The first epoch's loss, {first:.4g}, {how} the loss of {meaning} "
        f"({what} = {chance:.4g}): {why}.",
        **evidence,
    )


def _diverged(facts: RunFacts) -> list[Found]:
    """A warning when the run diverged: a nan or inf loss logged, or ``run.json`` says so."""
    for row in facts.metrics:
        bad = [k for k in ("train_loss", "val_loss") if k in row and row[k] is not None
               and not is_finite(row[k])]  # fmt: skip
        if bad:
            epoch = int(row["epoch"] or 0)
            return [
                warn(
                    f"The run diverged: its {bad[0]} is not a finite number at epoch {epoch} "
                    "(the loss overflowed). The learning rate is the usual cause: "
                    "lower it, or normalize the inputs.",
                    epoch=epoch,
                    column=bad[0],
                    value=str(row[bad[0]]),
                )
            ]
    if facts.status == "diverged":
        epochs = len(facts.metrics)
        return [
            warn(
                f"The run diverged after {epochs} complete epoch{'s' if epochs != 1 else ''}: "
                "the loss stopped being a finite number (run.json). The learning rate is the "
                "usual cause: lower it, or normalize the inputs.",
                status="diverged",
                epochs=epochs,
            )
        ]
    return []


def learning_rate(facts: RunFacts) -> list[Found]:
    """A loss that diverged, oscillates (rises a lot) or does not fall: the learning rate."""
    diverged = _diverged(facts)
    if diverged:
        return diverged
    losses = facts.column("train_loss")
    if len(losses) < 5:
        return info(
            "fewer than 5 epochs logged: the loss's course is not judged", epochs=len(losses)
        )
    rises = sum(max(0.0, b - a) for a, b in itertools.pairwise(losses))
    drop = losses[0] - min(losses)
    lowest = min(losses[1:])
    evidence = {
        "epochs": len(losses),
        "first": losses[0],
        "lowest": min(losses),
        "last": losses[-1],
        "total_rise": rises,
        "total_fall": drop,
    }
    if lowest > NOT_FALLING * losses[0]:
        return [
            warn(
                f"The training loss did not fall: from {losses[0]:.4g} in epoch 1 to at best "
                f"{lowest:.4g}. The learning rate may be too low (or far too high).",
                **evidence,
            )
        ]
    if drop > 0 and rises / drop > OSCILLATION:
        return [
            warn(
                f"The training loss oscillates: it rose by {rises:.4g} in all, against a fall "
                f"of {drop:.4g}. Steps that overshoot are the usual cause: lower the "
                "learning rate.",
                **evidence,
            )
        ]
    return info(
        f"The training loss fell steadily, from {losses[0]:.4g} to {losses[-1]:.4g}.", **evidence
    )


def _smooth(values: list[float], window: int) -> list[float]:
    """Trailing means over ``window`` values (fewer at the start)."""
    return [statistics.fmean(values[max(0, i - window + 1) : i + 1]) for i in range(len(values))]


def overfitting(facts: RunFacts) -> list[Found]:
    """A validation loss that rises again while the training loss keeps falling: a growing gap."""
    rows = [
        r for r in facts.metrics if is_finite(r.get("train_loss")) and is_finite(r.get("val_loss"))
    ]
    if len(rows) < 10:
        return info("no validation loss, or fewer than 10 epochs of it: overfitting not judged")
    window = max(3, len(rows) // 10)
    train = _smooth([float(r["train_loss"] or 0) for r in rows], window)
    val = _smooth([float(r["val_loss"] or 0) for r in rows], window)
    best = min(range(len(val)), key=val.__getitem__)
    gap_best, gap_end = val[best] - train[best], val[-1] - train[-1]
    evidence = {
        "window": window,
        "best_epoch": int(rows[best]["epoch"] or 0),
        "val_loss_best": val[best],
        "val_loss_last": val[-1],
        "gap_at_best": gap_best,
        "gap_last": gap_end,
    }
    rose = val[-1] > (1 + OVERFIT_RISE) * val[best] and len(rows) - 1 - best >= window
    if rose and gap_end > gap_best and train[-1] < train[best]:
        return [
            warn(
                f"The network overfits: the validation loss (averaged over {window} epochs) was "
                f"lowest, {val[best]:.4g}, at epoch {evidence['best_epoch']} and rose to "
                f"{val[-1]:.4g} while the training loss kept falling; the gap between them grew "
                f"from {gap_best:.4g} to {gap_end:.4g}. Stop earlier (early_stopping), or "
                "regularize (weight decay, dropout, a smaller network, more data).",
                **evidence,
            )
        ]
    return info(
        "The validation loss did not rise away from the training loss: no sign of overfitting.",
        **evidence,
    )
