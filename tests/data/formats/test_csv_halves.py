"""A CSV parsed in two halves on two threads gives exactly what one read gives, or is read once.

`data.formats.csv.halves.read_halves` only runs on files of at least ``HALVES_MIN_BYTES``; the
tests lower that to 0 so that small files are cut in two, and compare every prepared array, label
and error message with the one read (the limit raised past any file).
"""

from __future__ import annotations

import gzip
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from datahelp import make_config

import nnctl.data.formats.csv.halves as halves_module
import nnctl.data.formats.csv.read as read_module
from nnctl.data import load_training_data
from nnctl.data.formats.csv import SAMPLE_ROWS, plan_columns, read_header
from nnctl.errors import DataError

ROWS = 700
WIDTH = 12


class Halves:
    """Switches the two-half read on or off and records what each call of it returned."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.monkeypatch = monkeypatch
        self.results: list[pd.DataFrame | None] = []
        self.were_used = False  # by the last `load_both`
        original = read_module.read_halves

        def recording(*args: Any, **kwargs: Any) -> pd.DataFrame | None:
            result = original(*args, **kwargs)
            self.results.append(result)
            return result

        monkeypatch.setattr(read_module, "read_halves", recording)

    def on(self) -> None:
        self.monkeypatch.setattr(halves_module, "HALVES_MIN_BYTES", 0)
        self.monkeypatch.setattr(halves_module, "n_cores", lambda: 2)
        self.results.clear()

    def off(self) -> None:
        self.monkeypatch.setattr(halves_module, "HALVES_MIN_BYTES", 1 << 62)
        self.results.clear()

    @property
    def used(self) -> bool:
        return any(result is not None for result in self.results)


@pytest.fixture
def halves(monkeypatch: pytest.MonkeyPatch) -> Halves:
    return Halves(monkeypatch)


def pixel_rows(rows: int = ROWS, label: Callable[[int], str] = lambda i: str(i % 3)) -> list[str]:
    """Rows of a label and ``WIDTH`` byte columns, about half of them 0."""
    rng = np.random.default_rng(7)
    values = rng.integers(0, 256, size=(rows, WIDTH))
    values[rng.random(values.shape) < 0.5] = 0
    return [label(i) + "," + ",".join(map(str, row)) for i, row in enumerate(values)]


HEADER = ",".join(["label", *(f"p{j}" for j in range(WIDTH))])


def write(path: Path, lines: list[str], end: str = "\n", tail: str = "\n") -> Path:
    path.write_bytes((end.join([HEADER, *lines]) + tail).encode())
    return path


def second_half_row(path: Path) -> int:
    """The index in the rows of the first row after the cut (the file's middle)."""
    data = path.read_bytes()
    cut = data.index(b"\n", len(data) // 2) + 1
    return data.count(b"\n", 0, cut) - 1


def cut_of(path: Path) -> int | None:
    """Where `read_halves` starts the second half of ``path``."""
    with path.open("rb") as handle:
        return halves_module._cut(handle)


def config(path: Path, **data: Any) -> Any:
    return make_config(
        {
            "train": path,
            "target": "label",
            "validation_split": 0.2,
            "test_split": 0.1,
            **data,
        }
    )


def assert_same_datasets(a: Any, b: Any) -> None:
    for name in ("train", "validation", "test"):
        x, y = getattr(a, name), getattr(b, name)
        assert (x is None) == (y is None), name
        if x is None:
            continue
        assert x.X.dtype == y.X.dtype and x.X.shape == y.X.shape, name
        np.testing.assert_array_equal(x.X, y.X, err_msg=name)
        assert x.y.dtype == y.y.dtype, name
        np.testing.assert_array_equal(x.y, y.y, err_msg=name)
    meta_a, arrays_a = a.preprocessor.to_bundle()
    meta_b, arrays_b = b.preprocessor.to_bundle()
    assert meta_a == meta_b
    assert arrays_a.keys() == arrays_b.keys()
    for key in arrays_a:
        np.testing.assert_array_equal(arrays_a[key], arrays_b[key], err_msg=key)


def load_both(halves: Halves, cfg: Any, **options: Any) -> tuple[Any, Any]:
    """``load_training_data`` with the two-half read, then with one read."""
    halves.on()
    two = load_training_data(cfg, **options)
    halves.were_used = halves.used
    halves.off()
    one = load_training_data(cfg, **options)
    assert not halves.used
    return two, one


def error_of(load: Callable[[], Any]) -> tuple[str, str | None]:
    with pytest.raises(DataError) as caught:
        load()
    return caught.value.message, caught.value.hint


def same_error(halves: Halves, cfg: Any) -> tuple[str, str | None]:
    """The error with the two-half read on, checked equal to the one read's; the halves unused."""
    halves.on()
    two = error_of(lambda: load_training_data(cfg))
    assert not halves.used
    halves.off()
    assert error_of(lambda: load_training_data(cfg)) == two
    return two


@pytest.mark.parametrize("normalize", ["standard", "minmax", "scale", "none"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_two_halves_give_the_prepared_arrays_of_one_read(
    tmp_path: Path, halves: Halves, normalize: str, dtype: type[np.floating]
) -> None:
    path = write(tmp_path / "p.csv", pixel_rows())
    cfg = config(path, normalize=normalize, scale=255 if normalize == "scale" else None)
    two, one = load_both(halves, cfg, dtype=dtype)
    assert halves.were_used
    assert_same_datasets(two, one)


@pytest.mark.parametrize(
    ("end", "tail", "bom"),
    [
        ("\n", "", False),  # the last line has no newline
        ("\n", "\n\n\n", False),  # blank lines at the end
        ("\r\n", "\r\n", True),  # Windows line ends and a byte-order mark
        ("\r\n", "", False),
    ],
)
def test_line_ends_and_byte_order_mark(
    tmp_path: Path, halves: Halves, end: str, tail: str, bom: bool
) -> None:
    path = write(tmp_path / "p.csv", pixel_rows(), end, tail)
    if bom:
        path.write_bytes(b"\xef\xbb\xbf" + path.read_bytes())
    two, one = load_both(halves, config(path))
    assert halves.were_used
    assert_same_datasets(two, one)


def test_the_frame_of_two_halves_is_the_frame_of_one_read(tmp_path: Path, halves: Halves) -> None:
    path = write(tmp_path / "p.csv", pixel_rows())
    columns = plan_columns(path, ",", "label", None, None)
    dtypes = read_module._dtypes(columns, np.float32, columns.byte_like)
    halves.on()
    two = halves_module.read_halves(path, read_header(path, ","), ",", dtypes, "label")
    assert two is not None
    one = pd.read_csv(path, dtype=dtypes)
    pd.testing.assert_frame_equal(two, one, check_exact=True)
    assert isinstance(two.index, pd.RangeIndex)


@pytest.mark.parametrize(
    ("label", "used"),
    [
        (lambda i: ["True", "False"][i % 2], True),  # booleans
        (lambda i: f"{i * 0.25}", False),  # floats: a block of whole numbers reads -0 as 0
    ],
)
def test_targets_of_other_types(
    tmp_path: Path, halves: Halves, label: Callable[[int], str], used: bool
) -> None:
    path = write(tmp_path / "p.csv", pixel_rows(label=label))
    loss = "mse" if "." in label(1) else "binary_crossentropy"
    cfg = make_config(
        {"train": path, "target": "label", "validation_split": 0.2, "test_split": 0.1}, loss=loss
    )
    two, one = load_both(halves, cfg)
    assert halves.were_used == used
    assert_same_datasets(two, one)


def test_text_labels_are_read_once(tmp_path: Path, halves: Halves) -> None:
    path = write(tmp_path / "p.csv", pixel_rows(label=lambda i: ["cat", "dog", "emu"][i % 3]))
    two, one = load_both(halves, config(path))
    assert not halves.were_used
    assert_same_datasets(two, one)


@pytest.mark.parametrize("where", ["first", "second"])
def test_a_quote_in_either_half_means_one_read(tmp_path: Path, halves: Halves, where: str) -> None:
    lines = pixel_rows()
    row = 3 if where == "first" else second_half_row(write(tmp_path / "p.csv", lines)) + 20
    lines[row] = '"' + lines[row][0] + '"' + lines[row][1:]
    path = write(tmp_path / "p.csv", lines)
    two, one = load_both(halves, config(path))
    assert not halves.were_used
    assert_same_datasets(two, one)


def test_a_gzip_file_is_read_once(tmp_path: Path, halves: Halves) -> None:
    plain = write(tmp_path / "p.csv", pixel_rows())
    path = tmp_path / "p.csv.gz"
    path.write_bytes(gzip.compress(plain.read_bytes(), mtime=0))
    two, one = load_both(halves, config(path))
    assert not halves.were_used
    assert_same_datasets(two, one)
    assert_same_datasets(two, load_training_data(config(plain)))


@pytest.mark.parametrize("value", ["256", "-1", "2.5", "", "1e3"])
def test_a_value_that_is_not_a_byte_in_the_second_half(
    tmp_path: Path, halves: Halves, value: str
) -> None:
    lines = pixel_rows()
    row = second_half_row(write(tmp_path / "p.csv", lines)) + 50
    assert row > SAMPLE_ROWS
    fields = lines[row].split(",")
    fields[5] = value
    lines[row] = ",".join(fields)
    path = write(tmp_path / "p.csv", lines)
    cfg = config(path, missing="mean", normalize="none")
    two, one = load_both(halves, cfg)
    assert not halves.were_used
    assert_same_datasets(two, one)


@pytest.mark.parametrize("where", ["first", "second"])
def test_text_in_a_numeric_column_in_either_half(
    tmp_path: Path, halves: Halves, where: str
) -> None:
    lines = pixel_rows()
    middle = second_half_row(write(tmp_path / "p.csv", lines))
    row = SAMPLE_ROWS + 30 if where == "first" else middle + 40
    assert (row < middle) == (where == "first")
    fields = lines[row].split(",")
    fields[4] = "dark"
    lines[row] = ",".join(fields)
    path = write(tmp_path / "p.csv", lines)
    message, _ = same_error(halves, config(path))
    assert f"column 'p3', row {row + 1}: 'dark' is not a number" in message


def same_error_or_datasets(halves: Halves, cfg: Any) -> None:
    """With the two-half read on, loading gives the datasets, or the error, of one read."""
    halves.on()
    try:
        two: Any = load_training_data(cfg)
    except DataError as error:
        two = error
    halves.were_used = halves.used
    halves.off()
    try:
        one: Any = load_training_data(cfg)
    except DataError as error:
        one = error
    if isinstance(one, DataError):
        assert isinstance(two, DataError) and (two.message, two.hint) == (one.message, one.hint)
    else:
        assert_same_datasets(two, one)


@pytest.mark.parametrize(
    "change",
    [
        lambda row: row + ",9",  # an extra field
        lambda row: row.rsplit(",", 1)[0],  # a missing field
        lambda row: "x" + row,  # a label that is not a number
    ],
)
def test_the_first_row_of_the_second_half_is_bad(
    tmp_path: Path, halves: Halves, change: Callable[[str], str]
) -> None:
    lines = pixel_rows()
    row = second_half_row(write(tmp_path / "p.csv", lines))
    lines[row] = change(lines[row])
    path = write(tmp_path / "p.csv", lines)
    same_error_or_datasets(halves, config(path, missing="mean"))
    assert not halves.were_used


@pytest.mark.parametrize("start", ["\n", "\r\n", "\ufeff"])
def test_a_second_half_starting_with_a_blank_line_or_a_bom_starts_later(
    tmp_path: Path, halves: Halves, start: str
) -> None:
    lines = pixel_rows()
    row = second_half_row(write(tmp_path / "p.csv", lines))
    lines[row] = start + lines[row]
    path = write(tmp_path / "p.csv", lines)
    if start == "\ufeff":  # pandas keeps a byte-order mark inside the file: a text label
        same_error_or_datasets(halves, config(path))
        assert not halves.were_used
        return
    halves.on()
    data = path.read_bytes()
    cut = cut_of(path)
    assert cut is not None and data[cut - 1 : cut] == b"\n" and data[cut:][:1] not in (b"\r", b"\n")
    assert cut > data.index(start.encode(), len(data) // 2)
    two, one = load_both(halves, config(path))
    assert halves.were_used
    assert_same_datasets(two, one)


def test_a_middle_inside_the_header(tmp_path: Path, halves: Halves) -> None:
    path = tmp_path / "p.csv"
    names = ["label", *(f"p{j}_{'x' * 2000}" for j in range(WIDTH))]
    path.write_text(",".join(names) + "\n" + "\n".join(pixel_rows(20)) + "\n")
    two, one = load_both(halves, config(path, validation_split=0.0, test_split=0.0))
    assert not halves.were_used
    assert_same_datasets(two, one)


def test_an_empty_second_half(tmp_path: Path, halves: Halves) -> None:
    path = write(tmp_path / "p.csv", pixel_rows(30), tail="\n" + "\n" * 5000)
    halves.on()
    assert cut_of(path) is None
    two, one = load_both(halves, config(path, validation_split=0.0, test_split=0.0))
    assert not halves.were_used
    assert_same_datasets(two, one)


def test_no_rows_after_the_header(tmp_path: Path, halves: Halves) -> None:
    path = tmp_path / "p.csv"
    path.write_text(HEADER + "\n" + "\n" * 100)
    message, _ = same_error(halves, config(path))
    assert "no rows" in message or "header" in message


def test_one_cpu_means_one_read(
    tmp_path: Path, halves: Halves, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write(tmp_path / "p.csv", pixel_rows())
    halves.on()
    monkeypatch.setattr(halves_module, "n_cores", lambda: 1)
    load_training_data(config(path))
    assert not halves.results


PANDAS_BLOCK = 262144  # bytes pandas' C reader takes from a file at a time


def write_lines(path: Path, header: str, lines: list[str]) -> bytes:
    data = ("\n".join([header, *lines]) + "\n").encode()
    path.write_bytes(data)
    return data


def row_at_block_start(
    path: Path, header: str, lines: list[str], blank: Callable[[str], str]
) -> None:
    """Write ``lines`` with one row of the second half given blanks in front (``blank``), placed so
    that pandas starts a block of the second half just after the blanks while no block of one read
    starts within them: the row before is padded with leading zeros in its last field."""
    for _ in range(5):  # padding moves the middle a little; try again if it moves the cut
        data = write_lines(path, header, lines)
        cut = cut_of(path)
        assert cut is not None
        block = cut + PANDAS_BLOCK
        row_start = data.rindex(b"\n", 0, block) + 1  # of the line that holds the block's start
        lead = len(blank(lines[0])) - len(blank(lines[0]).lstrip(" \t"))  # blanks in front
        if row_start + lead > block:  # too late to move forward: take the line before
            row_start = data.rindex(b"\n", 0, row_start - 1) + 1
        row = data.count(b"\n", 0, row_start) - 1  # lines[0] is the file's second line
        blanked = blank(lines[row])
        fields = lines[row - 1].split(",")
        padded = ",".join([*fields[:-1], "0" * (block - lead - row_start) + fields[-1]])
        changed = [*lines[: row - 1], padded, blanked, *lines[row + 1 :]]
        data = write_lines(path, header, changed)
        start = data.index(f"\n{blanked}\n".encode()) + 1
        if cut_of(path) == cut:
            assert start + lead == cut + PANDAS_BLOCK
            assert start // PANDAS_BLOCK == (start + lead) // PANDAS_BLOCK  # not one of one read's
            return
    raise AssertionError("no layout found")


def pixels(i: int) -> str:
    return ",".join(str((i * 7 + j * 31) % 256) for j in range(WIDTH))


PIXEL_NAMES = ",".join(f"p{j}" for j in range(WIDTH))


@pytest.mark.parametrize(
    ("header", "row_of", "blank", "data"),
    [
        # one read keeps the label ' True', a third class; the halves dropped the blank
        (f"label,{PIXEL_NAMES}", lambda i: f"{['True', 'False'][i % 2]},{pixels(i)}",
         lambda line: " " + line, {"loss": "binary_crossentropy"}),
        # one read finds text, a tab and a space, in the number column x; the halves found nothing
        # there, a missing value, and imputed it
        (f"x,{PIXEL_NAMES},label", lambda i: f"{i % 7}.5,{pixels(i)},{i % 3}",
         lambda line: "\t " + line[line.index(","):], {"missing": "mean"}),
    ],
)  # fmt: skip
def test_a_row_starting_with_blanks_where_a_block_of_the_second_half_starts(
    tmp_path: Path,
    halves: Halves,
    header: str,
    row_of: Callable[[int], str],
    blank: Callable[[str], str],
    data: dict[str, Any],
) -> None:
    path = tmp_path / "p.csv"
    lines = [row_of(i) for i in range(20_000)]
    halves.on()
    row_at_block_start(path, header, lines, blank)
    options = {k: v for k, v in data.items() if k != "loss"}
    cfg = make_config(
        {"train": path, "target": "label", "validation_split": 0.2, "test_split": 0.1, **options},
        loss=data.get("loss", "categorical_crossentropy"),
    )
    same_error_or_datasets(halves, cfg)
    assert not halves.were_used


@pytest.mark.parametrize("text", ["\ufeff", "\u00e9"])
def test_a_byte_that_is_not_ascii_in_the_second_half_means_one_read(
    tmp_path: Path, halves: Halves, text: str
) -> None:
    lines = pixel_rows()
    row = second_half_row(write(tmp_path / "p.csv", lines)) + 20
    fields = lines[row].split(",")
    fields[4] = text + fields[4]
    lines[row] = ",".join(fields)
    same_error_or_datasets(halves, config(write(tmp_path / "p.csv", lines)))
    assert not halves.were_used


@pytest.mark.filterwarnings("ignore:meanwhile")
@pytest.mark.parametrize(("category", "used"), [(ResourceWarning, True), (UserWarning, False)])
def test_only_a_warning_from_the_parse_means_one_read(
    tmp_path: Path, halves: Halves, monkeypatch: pytest.MonkeyPatch, category: type, used: bool
) -> None:
    """A ResourceWarning comes from some finalizer the garbage collector ran meanwhile (another
    test's open file, say), not from the parse: the halves stand. Any other warning, and they
    give way to one read."""
    read_csv = pd.read_csv

    def warning_read_csv(*args: Any, **kwargs: Any) -> Any:
        warnings.warn("meanwhile", category, stacklevel=2)
        return read_csv(*args, **kwargs)

    monkeypatch.setattr(halves_module.pd, "read_csv", warning_read_csv)
    path = write(tmp_path / "p.csv", pixel_rows())
    two, one = load_both(halves, config(path))
    assert halves.were_used == used
    assert_same_datasets(two, one)
