"""How a metric's value reads on the terminal: one format for progress, summaries and tables.

`format_metric` is the only place that decides it, so that ``nnctl train``'s progress rows and
summary, ``nnctl evaluate``'s tables and ``nnctl runs list``/``show`` print the same value the
same way. JSON output and ``metrics.csv`` keep full precision; this is for people.
"""

from __future__ import annotations

import math

from nnctl.training.metrics import DIRECTIONS

# Scores in [0, 1] (r2 at most 1), the metrics where higher is better: shown with four decimals so
# that a column of them lines up.
ACCURACY_LIKE = frozenset(name for name, better in DIRECTIONS.items() if better == "max")

SIGNIFICANT = 4
SMALLEST_PLAIN = 1e-3  # below this (and not 0), scientific: 2.500e-04
LARGEST_PLAIN = 1e9  # from this on, scientific: 3.250e+09; below, 325,012,345
# Not metrics, but logged beside them: a learning rate as configured, an epoch's seconds.
OWN_FORMATS = {"lr": "{:.3g}", "seconds": "{:.2f}"}


def metric_base(name: str) -> str:
    """The metric a displayed name refers to: ``val_accuracy``, ``test f1``, ``macro f1`` -> f1."""
    last = name.split()[-1] if name.split() else name
    for prefix in ("val_", "train_", "test_"):
        last = last.removeprefix(prefix)
    return last


def format_metric(value: object, name: str = "") -> str:
    """A metric's value as people read it; ``name`` (``val_accuracy``, ...) picks the style.

    Parameters
    ----------
    value : float, int, str or None
        The value; None and NaN are missing (``-``); strings and integers are shown as they are.
    name : str
        The metric's name, with any ``val_``/``test`` prefix.

    Returns
    -------
    str
        ``0.9333`` and ``1.0000`` for accuracy-like scores in [0, 1]; otherwise four significant
        digits (``0.02700``, ``74.95``), whole numbers with thousands separators from 1,000 on
        (``18,040``), and scientific notation only below 0.001 or from 1e9 on (``2.500e-04``);
        ``lr`` and ``seconds`` as `OWN_FORMATS` says.
    """
    if value is None:
        return "-"
    if isinstance(value, bool | int | str):
        return str(value)
    if not isinstance(value, float):
        try:
            value = float(value)  # type: ignore[arg-type]  # NumPy scalars
        except (TypeError, ValueError):
            return str(value)
    if math.isnan(value):
        return "-"
    if math.isinf(value):
        return "inf" if value > 0 else "-inf"
    if name in OWN_FORMATS:
        return OWN_FORMATS[name].format(value)
    if metric_base(name) in ACCURACY_LIKE and 0.0 <= value <= 1.0:
        return f"{value:.4f}"
    return _significant(value)


def _significant(value: float) -> str:
    """``value`` to `SIGNIFICANT` digits, without an exponent where one is not needed."""
    size = abs(value)
    if size == 0.0:
        return f"{0.0:.{SIGNIFICANT - 1}f}"
    if size < SMALLEST_PLAIN or size >= LARGEST_PLAIN:
        return f"{value:.{SIGNIFICANT - 1}e}"
    rounded = float(f"{value:.{SIGNIFICANT}g}")  # 999.97 -> 1000.0: the next decade's format
    if abs(rounded) >= 10 ** (SIGNIFICANT - 1):
        return f"{value:,.0f}"
    decimals = SIGNIFICANT - 1 - math.floor(math.log10(abs(rounded)))
    return f"{rounded:.{decimals}f}"


def format_duration(seconds: float) -> str:
    """``0:07``, ``12:34``, ``1:02:03``: minutes and seconds, hours when there are any."""
    whole = max(0, round(seconds))
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def time_left(
    done: int, total: int, elapsed: float, epochs_after: int, past_epochs: list[float]
) -> tuple[float, float]:
    """Seconds left in the current epoch and in the whole run, from the pace so far.

    Parameters
    ----------
    done, total : int
        Batches done in the current epoch (at least 1), and its number of batches.
    elapsed : float
        Seconds since the current epoch began.
    epochs_after : int
        Epochs planned after the current one.
    past_epochs : list of float
        The whole duration (validation and checkpoints included) of each epoch finished in this
        session; none yet, and the current epoch's pace stands for every epoch.

    Returns
    -------
    (epoch, run) : tuple of float
        ``epoch = elapsed / done * (total - done)``; ``run = epoch + epochs_after * mean epoch``.
        The run's is an upper bound when early stopping may end it sooner.
    """
    epoch = elapsed / max(done, 1) * (total - done)
    per_epoch = sum(past_epochs) / len(past_epochs) if past_epochs else elapsed + epoch
    return epoch, epoch + epochs_after * per_epoch
