"""The error of a value that a column's fitted scaling takes beyond the float type's range.

`nnctl.data.numeric.NumericTransform.scale` raises `ScaledOutOfRange` with the row and column in
the block it scales; the caller, which knows the file and how it counts rows, turns it into the
`DataError` the user sees (`ScaledOutOfRange.data_error`).
"""

from __future__ import annotations

import numpy as np

from nnctl.errors import DataError


class ScaledOutOfRange(ValueError):
    """A finite value that scaling took beyond the block's float range: where, and the scaling.

    ``row`` and ``column`` count in the scaled block; its caller names the file, column and row.
    """

    def __init__(self, row: int, column: int, shift: float, divide: float) -> None:
        super().__init__(f"row {row}, column {column}: (x - {shift}) / {divide} overflows")
        self.row, self.column, self.shift, self.divide = row, column, shift, divide

    def moved(self, rows: int) -> ScaledOutOfRange:
        """The same value, in a block that starts ``rows`` rows earlier."""
        return ScaledOutOfRange(self.row + rows, self.column, self.shift, self.divide)

    def data_error(
        self,
        source: str,
        column: str,
        row: str,
        value: object,
        dtype: type[np.floating],
        normalize: str | None = None,
    ) -> DataError:
        """The `DataError` naming the value: ``source: column 'a', row 7: 3e+38 is out of ...``.

        ``column`` and ``row`` are said as the file counts them (``column 'a'``, ``row 7``);
        ``value`` is the value as read, or None where it is no longer known. ``normalize``, while
        training, chooses the hint: a divisor too small or a span too wide is the config's.
        """
        name, largest = np.dtype(dtype).name, float(np.finfo(dtype).max)
        if isinstance(value, float | np.floating):
            value = str(dtype(value))  # as the model reads it, in its shortest text: 3e+38
        scaled = f"{'its value' if value is None else value} scaled as the training rows were"
        said = f"{scaled}, {self.formula()}, is out of the {name} range"
        hint = "a value this far from the training rows is likely a mistake; check it"
        if largest < np.finfo(np.float64).max:
            hint += ", or train with training.dtype: float64"
        if normalize == "scale":
            hint = f"data.scale is too small for this column in {name}: give a larger divisor"
        elif not np.isfinite(self.divide):
            hint = f"the column's range (max - min) is beyond {name}: set data.normalize: standard"
        return DataError(
            f"{source}: {column}, {row}: {said} (largest magnitude {largest:.3g})", hint=hint
        )

    def formula(self) -> str:
        """The scaling as a formula: ``(x - 48.52) / 13.11``."""
        if self.shift == 0:
            return f"x / {self.divide:.4g}"
        shifted = f"x - {self.shift:.4g}" if self.shift > 0 else f"x + {-self.shift:.4g}"
        return f"({shifted}) / {self.divide:.4g}" if self.divide != 1 else shifted
