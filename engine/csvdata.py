"""CSV datasets: a header row `x1,...,xn,label[,split]`, then one example per row.

- `x1..xn`: the inputs (numbers), any column order, no gaps.
- `label`: class indices written as integers 0..C-1 (C = 2 → binary, 3..MAX_CSV_CLASSES →
  multiclass, every class present), or regression targets: one number written with a decimal
  point or exponent (e.g. `3.0`, `1e2`) makes the whole column a regression target.
- `split` (optional): train / dev / test per row; it overrides the ratio split.
Blank lines are skipped; line numbers in errors count every physical line (the header is usually line 1).
Every problem raises ValueError naming the line and the column.

The work is bounded by the text's size before anything is allocated from what the text claims: a
header is checked in one pass (a column number beyond the header's width is refused at once, not
expanded into a range), rows are counted and their widths checked before they are split, and a
cell is at most MAX_CELL_CHARS characters (the parsed table is fixed-width: one long cell would
make every cell that wide). A server passes its own `max_rows` and `max_inputs`.
"""
from __future__ import annotations

import itertools
import operator
import os
import re
from dataclasses import dataclass

import numpy as np

MAX_CSV_ROWS = 100_000  # data rows (the header and blank lines not counted)
MAX_CELL_CHARS = 40  # any number, label or split name fits; bounds the table at rows × columns × 40 chars
MAX_CSV_CLASSES = 10  # integer labels beyond 0..9 are an error, not a silent switch to regression
SPLIT_NAMES = ("train", "dev", "test")
_FEATURE = re.compile(r"^x([1-9][0-9]*)$")
_STRIP = ' \t"'  # whitespace and the quotes of quoted fields


@dataclass(frozen=True)
class CsvData:
    """A loaded CSV: X (n, m) inputs x1..xn, labels (m,) class indices (int) or values (float),
    split: the per-row train/dev/test column or None, kind, classes (None for regression)."""

    X: np.ndarray
    labels: np.ndarray
    split: list[str] | None
    kind: str
    classes: int | None

    @property
    def n_x(self) -> int:
        return self.X.shape[0]

    @property
    def m(self) -> int:
        return self.X.shape[1]


def _read_text(source: str | bytes | os.PathLike) -> str:
    """The CSV text: bytes are decoded as UTF-8; a PathLike, or a one-line string that names an
    existing file or has no comma, is read as a path; any other string is the text itself."""
    if isinstance(source, bytes):
        try:
            return source.decode("utf-8-sig")
        except UnicodeDecodeError as e:
            raise ValueError(f"CSV: not UTF-8 text ({e.reason} at byte {e.start})") from None
    if isinstance(source, os.PathLike) or (
        "\n" not in source and "\r" not in source and ("," not in source or os.path.isfile(source))
        and source.strip()
    ):
        with open(source, encoding="utf-8-sig") as f:
            return f.read()
    return source.lstrip("\ufeff")


def _lines_of(lineno: np.ndarray) -> str:
    return f"lines {lineno[0]}-{lineno[-1]}" if len(lineno) > 1 else f"line {lineno[0]}"


def _quoted(name: str) -> str:
    """A column name for an error message, cut to MAX_CELL_CHARS (an error must not echo a 1 MB name)."""
    return repr(name) if len(name) <= MAX_CELL_CHARS else repr(name[:MAX_CELL_CHARS]) + "…"


def _parse_header(line: str, at: int, max_inputs: int | None) -> tuple[list[str], list[int], int, int | None]:
    """Column names, the indices of x1..xn in order, the label index and the split index
    (`at` is the header's line number). One pass over the names: a column number is compared with
    the header's width before it is used, so `x10000000` costs nothing."""
    names = [c.strip(_STRIP).lower() for c in line.split(",")]
    expected = "expected x1,...,xn,label and optionally split"
    if max_inputs is not None and len(names) > max_inputs + 2:
        raise ValueError(f"line {at}: the header has {len(names)} columns; at most {max_inputs + 2} are allowed "
                         f"(x1..x{max_inputs}, label and split)")
    if all(_is_number(c) for c in names):
        raise ValueError(f"line {at}: a header row is required ({expected}); found numbers")
    features: dict[int, int] = {}
    seen: set[str] = set()
    for i, name in enumerate(names):
        if name in seen:
            raise ValueError(f"line {at}, column {_quoted(name)}: the column appears twice")
        seen.add(name)
        match = _FEATURE.match(name)
        if match:
            digits = match.group(1)
            if len(digits) > len(str(len(names))) or int(digits) > len(names):  # no int() of a huge string
                raise ValueError(f"line {at}, column {_quoted(name)}: beyond the header's {len(names)} columns "
                                 f"(input columns are x1..xn without gaps)")
            features[int(digits)] = i
        elif name not in ("label", "split"):
            raise ValueError(f"line {at}, column {_quoted(name)}: unknown column ({expected})")
    if "label" not in seen:
        raise ValueError(f"line {at}: the header has no 'label' column ({expected})")
    if not features:
        raise ValueError(f"line {at}: the header has no input columns x1..xn ({expected})")
    if max_inputs is not None and len(features) > max_inputs:
        raise ValueError(f"line {at}: the header has {len(features)} input columns; at most {max_inputs} "
                         f"(x1..x{max_inputs}) are allowed")
    # k distinct numbers, each ≤ len(names): a gap exists iff one of 1..k is absent (O(k), no range of max)
    missing = next((k for k in range(1, len(features) + 1) if k not in features), None)
    if missing is not None:
        raise ValueError(
            f"line {at}: input columns must be x1..x{max(features)} without gaps; column 'x{missing}' is missing"
        )
    split = names.index("split") if "split" in seen else None
    return names, [features[k] for k in sorted(features)], names.index("label"), split


def _is_number(text: str) -> bool:
    try:
        float(text)
        return True
    except ValueError:
        return False


def _to_numbers(cells: np.ndarray, name: str, lineno: np.ndarray) -> np.ndarray:
    """The column as float64; a non-number or NaN/inf raises naming its line and column."""
    try:
        values = cells.astype(np.float64)
    except ValueError:
        bad = next(i for i, c in enumerate(cells) if not _is_number(c))  # error path only
        raise ValueError(f"line {lineno[bad]}, column {name!r}: {str(cells[bad])!r} is not a number") from None
    nonfinite = np.flatnonzero(~np.isfinite(values))
    if nonfinite.size:
        i = nonfinite[0]
        raise ValueError(f"line {lineno[i]}, column {name!r}: {str(cells[i])!r} is not a finite number")
    return values


def _class_labels(values: np.ndarray, lineno: np.ndarray) -> tuple[np.ndarray, int]:
    """Integer labels checked as class indices 0..C-1, 2 ≤ C ≤ MAX_CSV_CLASSES, every class present."""
    labels = values.astype(np.int64)
    hint = "write regression targets with a decimal point, e.g. 3.0"
    bad = np.flatnonzero((labels < 0) | (labels >= MAX_CSV_CLASSES))
    if bad.size:
        i = bad[0]
        raise ValueError(
            f"line {lineno[i]}, column 'label': class {labels[i]} is outside 0..{MAX_CSV_CLASSES - 1} ({hint})"
        )
    counts = np.bincount(labels)
    if np.count_nonzero(counts) < 2:
        raise ValueError(
            f"column 'label' ({_lines_of(lineno)}): at least 2 classes are needed; every row has class {labels[0]}"
        )
    absent = np.flatnonzero(counts == 0)
    if absent.size:
        raise ValueError(
            f"column 'label' ({_lines_of(lineno)}): classes must be numbered 0..{len(counts) - 1} "
            f"without gaps; class {absent[0]} never appears"
        )
    return labels, len(counts)


def _split_column(cells: np.ndarray, lineno: np.ndarray) -> list[str]:
    values = np.char.lower(cells)
    bad = np.flatnonzero(~np.isin(values, SPLIT_NAMES))
    if bad.size:
        i = bad[0]
        raise ValueError(f"line {lineno[i]}, column 'split': {str(cells[i])!r} is not one of {', '.join(SPLIT_NAMES)}")
    if not np.any(values == "train"):
        raise ValueError(f"column 'split' ({_lines_of(lineno)}): no row is marked train")
    return values.tolist()


def load_csv(source: str | bytes | os.PathLike, max_rows: int = MAX_CSV_ROWS,
             max_inputs: int | None = None) -> CsvData:
    """Parse a CSV dataset (a path, or the text itself) into CsvData; see the module docstring.
    `max_rows`: data rows allowed; `max_inputs`: input columns allowed (None: no limit)."""
    lines = _read_text(source).splitlines()
    numbered = [(i, line) for i, line in enumerate(lines, start=1) if line.strip()]
    if not numbered:
        raise ValueError("line 1: the CSV file is empty (expected a header x1,...,xn,label[,split])")
    header_at, header = numbered[0]
    names, feature_cols, label_col, split_col = _parse_header(header, header_at, max_inputs)
    rows = numbered[1:]
    if not rows:
        raise ValueError(f"line {header_at + 1}: no data rows below the header")
    if len(rows) > max_rows:
        raise ValueError(f"line {rows[max_rows][0]}: too many rows; at most {max_rows} data rows are allowed")
    lineno = np.array([i for i, _ in rows])
    texts = [line for _, line in rows]
    widths = np.fromiter(map(operator.methodcaller("count", ","), texts), dtype=np.int64, count=len(texts)) + 1
    ragged = np.flatnonzero(widths != len(names))
    if ragged.size:  # before splitting: a row of a million commas is refused without a million cells
        i, width = ragged[0], widths[ragged[0]]
        where = f"column {names[width]!r} is missing" if width < len(names) else f"extra values after column {names[-1]!r}"
        raise ValueError(
            f"line {lineno[i]}, {where}: {width} values but the header has {len(names)} columns ({','.join(names)})"
        )
    cells = [line.split(",") for line in texts]
    if max(map(len, itertools.chain.from_iterable(cells))) > MAX_CELL_CHARS:
        i, c = next((i, c) for i, row in enumerate(cells) for c, v in enumerate(row) if len(v) > MAX_CELL_CHARS)
        raise ValueError(f"line {lineno[i]}, column {names[c]!r}: a value of {len(cells[i][c])} characters; "
                         f"at most {MAX_CELL_CHARS} are allowed")
    table = np.char.strip(np.array(cells, dtype=str), _STRIP)  # (m, columns)
    X = np.stack([_to_numbers(table[:, c], names[c], lineno) for c in feature_cols])
    label_text = table[:, label_col]
    values = _to_numbers(label_text, "label", lineno)
    if np.all(np.char.isdigit(np.char.lstrip(label_text, "+-"))):  # integers (numbers already checked)
        labels, classes = _class_labels(values, lineno)
        kind = "binary" if classes == 2 else "multiclass"
    else:
        labels, classes, kind = values, None, "regression"
    split = _split_column(table[:, split_col], lineno) if split_col is not None else None
    return CsvData(X=X, labels=labels, split=split, kind=kind, classes=classes)
