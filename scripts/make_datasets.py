"""Regenerate datasets/ from the copies that scikit-learn bundles.

nnctl does not depend on scikit-learn; this script does. Run it from the project root:

    pip install scikit-learn
    python scripts/make_datasets.py [--out datasets]

It writes, byte for byte the same on every run (the .gz files have mtime 0):

- iris.csv: 150 rows, four measurements in cm and ``species`` as text.
- diabetes.csv: 442 rows, the ten *unscaled* baseline variables (``load_diabetes(scaled=False)``)
  and ``target``, a measure of disease progression one year after baseline.
- digits/: the 1,797 8 x 8 UCI optdigits images, pixels rescaled from 0..16 to 0..255 as
  ``round(v * 255 / 16)``, split (stratified, ``random_state=0``) into 1,437 training and 360 test
  images, as MNIST-style IDX files.
"""

from __future__ import annotations

import argparse
import csv
from pathlib import Path

import numpy as np
from numpy.typing import NDArray
from sklearn.datasets import load_diabetes, load_digits, load_iris
from sklearn.model_selection import train_test_split

from nnctl.data.formats.idx import write_idx

IRIS_COLUMNS = ["sepal_length", "sepal_width", "petal_length", "petal_width", "species"]
DIGITS_TEST = 360
SEED = 0


def _number(value: float) -> str:
    """Shortest text that reads back as the same float: ``5.1``, ``59``, ``-0.0021``."""
    text = repr(float(value))
    return text[:-2] if text.endswith(".0") else text


def write_csv(path: Path, header: list[str], rows: list[list[str]]) -> None:
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(header)
        writer.writerows(rows)


def make_iris(out: Path) -> None:
    iris = load_iris()
    names = iris.target_names
    rows = [
        [*(_number(v) for v in x), str(names[t])]
        for x, t in zip(iris.data, iris.target, strict=True)
    ]
    write_csv(out / "iris.csv", IRIS_COLUMNS, rows)


def make_diabetes(out: Path) -> None:
    diabetes = load_diabetes(scaled=False)
    header = [*diabetes.feature_names, "target"]
    rows = [
        [*(_number(v) for v in x), _number(t)]
        for x, t in zip(diabetes.data, diabetes.target, strict=True)
    ]
    write_csv(out / "diabetes.csv", header, rows)


def to_bytes(images: NDArray[np.float64]) -> NDArray[np.uint8]:
    """sklearn's 0..16 pixel counts rescaled to 0..255."""
    return np.rint(images * 255 / 16).astype(np.uint8)


def make_digits(out: Path) -> None:
    digits = load_digits()
    images = to_bytes(digits.images)
    labels = digits.target.astype(np.uint8)
    x_train, x_test, y_train, y_test = train_test_split(
        images, labels, test_size=DIGITS_TEST, stratify=labels, random_state=SEED
    )
    folder = out / "digits"
    folder.mkdir(parents=True, exist_ok=True)
    for prefix, x, y in (("train", x_train, y_train), ("test", x_test, y_test)):
        write_idx(folder / f"{prefix}-images-idx3-ubyte.gz", np.ascontiguousarray(x))
        write_idx(folder / f"{prefix}-labels-idx1-ubyte.gz", np.ascontiguousarray(y))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("datasets"))
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    make_iris(args.out)
    make_diabetes(args.out)
    make_digits(args.out)
    for path in sorted(args.out.rglob("*")):
        if path.is_file() and path.name != "README.md":
            print(f"{path}  {path.stat().st_size:>8} bytes")


if __name__ == "__main__":
    main()
