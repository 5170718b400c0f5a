"""CSV files read with pandas' C engine: narrow dtypes, and errors that name the file.

- `source`: opening a file, pipe or stdin (gzip by its magic), and pandas' errors as `DataError`.
- `header`: the column names, checked, and the columns a config asks for.
- `columns`: which feature columns are numbers, text or bytes, from the first rows.
- `values`: a numeric column's values, and the errors naming the row of a bad one.
- `read`: the whole table (or chunks of it), each column in its planned type.
- `halves`: a large file of bytes parsed in two halves on two threads, where that gives what one
  read gives.
"""

from nnctl.data.formats.csv.columns import SAMPLE_ROWS, CsvColumns, mostly_numbers, plan_columns
from nnctl.data.formats.csv.header import read_header, require_columns
from nnctl.data.formats.csv.read import read_chunks, read_table
from nnctl.data.formats.csv.source import source_name
from nnctl.data.formats.csv.values import as_dtype, check_finite, numeric_values

__all__ = [
    "SAMPLE_ROWS",
    "CsvColumns",
    "as_dtype",
    "check_finite",
    "mostly_numbers",
    "numeric_values",
    "plan_columns",
    "read_chunks",
    "read_header",
    "read_table",
    "require_columns",
    "source_name",
]
