"""CSV loading: the accepted format, kinds, and every error naming its line and column."""
import numpy as np
import pytest

from engine.csvdata import MAX_CELL_CHARS, MAX_CSV_CLASSES, MAX_CSV_ROWS, load_csv

BINARY = "x1,x2,label\n0.5,1,0\n-2,3.25,1\n4,-1e-1,1\n"


def test_binary_values_and_layout():
    data = load_csv(BINARY)
    np.testing.assert_array_equal(data.X, [[0.5, -2, 4], [1, 3.25, -0.1]])  # (n, m): examples are columns
    np.testing.assert_array_equal(data.labels, [0, 1, 1])
    assert data.labels.dtype.kind == "i"
    assert (data.kind, data.classes, data.split, data.n_x, data.m) == ("binary", 2, None, 2, 3)


def test_column_order_is_free_and_header_case_and_spaces_ignored():
    data = load_csv(" Label , X2,x1\n1, 2 ,3\n0,5,6\n")
    np.testing.assert_array_equal(data.X, [[3, 6], [2, 5]])
    np.testing.assert_array_equal(data.labels, [1, 0])


def test_multiclass_and_many_inputs():
    data = load_csv("x1,x2,x3,label\n1,2,3,0\n4,5,6,2\n7,8,9,1\n0,0,0,2\n")
    assert (data.kind, data.classes, data.X.shape) == ("multiclass", 3, (3, 4))


def test_decimal_labels_mean_regression():
    data = load_csv("x1,label\n1,0.0\n2,1\n3,2.5\n")
    assert (data.kind, data.classes) == ("regression", None)
    np.testing.assert_array_equal(data.labels, [0.0, 1.0, 2.5])
    assert load_csv("x1,label\n1,1e2\n2,-3\n").kind == "regression"


def test_split_column_blank_lines_quotes_and_bom():
    text = '\ufeffx1,x2,label,split\n\n1,2,0,Train\n"3","4",1,dev\n\n5,6,1,test\n7,8,0,train\n'
    data = load_csv(text)
    assert data.split == ["train", "dev", "test", "train"]
    np.testing.assert_array_equal(data.X, [[1, 3, 5, 7], [2, 4, 6, 8]])


def test_path_and_bytes(tmp_path):
    path = tmp_path / "data.csv"
    path.write_text(BINARY)
    for source in (path, str(path), BINARY.encode()):
        np.testing.assert_array_equal(load_csv(source).X, load_csv(BINARY).X)


def test_missing_file_is_an_os_error(tmp_path):
    with pytest.raises(FileNotFoundError):
        load_csv(str(tmp_path / "nope.csv"))


def test_max_rows_allowed_exactly():
    text = "x1,label\n" + "0,0\n1,1\n" * (MAX_CSV_ROWS // 2)
    assert load_csv(text).m == MAX_CSV_ROWS


@pytest.mark.parametrize("text, where", [
    ("", r"line 1: the CSV file is empty"),
    ("\n  \n", r"line 1: the CSV file is empty"),
    ("1,2,0\n3,4,1\n", r"line 1: a header row is required"),
    ("x1,x2\n1,2\n", r"line 1: the header has no 'label' column"),
    ("label,split\n1,train\n", r"line 1: the header has no input columns"),
    ("x1,x2,lbl\n1,2,0\n", r"line 1, column 'lbl': unknown column"),
    ("x1,x1,label\n1,2,0\n", r"line 1, column 'x1': the column appears twice"),
    ("x1,x3,label\n1,2,0\n", r"line 1: input columns must be x1..x3 without gaps; column 'x2' is missing"),
    ("\nx1,label\n", r"line 3: no data rows"),
    ("x1,x2,label\n1,2,0\n3,4\n", r"line 3, column 'label' is missing: 2 values but the header has 3"),
    ("x1,x2,label\n1,2,0\n\n3,4,1,9\n", r"line 4, extra values after column 'label': 4 values"),
    ("x1,x2,label\n1,2,0\n3,abc,1\n", r"line 3, column 'x2': 'abc' is not a number"),
    ("x1,x2,label\n1,,0\n3,4,1\n", r"line 2, column 'x2': '' is not a number"),
    ("x1,x2,label\n1,2,0\nnan,4,1\n", r"line 3, column 'x1': 'nan' is not a finite number"),
    ("x1,x2,label\n1,2,0\n3,-inf,1\n", r"line 3, column 'x2': '-inf' is not a finite number"),
    ("x1,label\n1,0\n2,one\n", r"line 3, column 'label': 'one' is not a number"),
    ("x1,label\n1,inf\n2,1.5\n", r"line 2, column 'label': 'inf' is not a finite number"),
    ("x1,label\n1,1\n2,1\n3,1\n", r"column 'label' \(lines 2-4\): at least 2 classes are needed"),
    ("x1,label\n1,0\n2,2\n3,0\n", r"column 'label' \(lines 2-4\): classes must be numbered 0..2 without gaps; class 1"),
    ("x1,label\n1,0\n2,-1\n", r"line 3, column 'label': class -1 is outside 0..9"),
    ("x1,label\n1,0\n2,1\n3,10\n", r"line 4, column 'label': class 10 is outside 0..9"),
    ("x1,label,split\n1,0,train\n2,1,validation\n", r"line 3, column 'split': 'validation' is not one of train, dev, test"),
    ("x1,label,split\n1,0,train\n2,1,\n", r"line 3, column 'split': '' is not one of"),
    ("x1,label,split\n1,0,dev\n2,1,test\n", r"column 'split' \(lines 2-3\): no row is marked train"),
])
def test_errors_name_line_and_column(text, where):
    with pytest.raises(ValueError, match=where):
        load_csv(text)


def test_too_many_rows_names_the_first_extra_line():
    text = "x1,label\n" + "0,0\n1,1\n" * (MAX_CSV_ROWS // 2) + "2,0\n"
    with pytest.raises(ValueError, match=rf"line {MAX_CSV_ROWS + 2}: too many rows; at most {MAX_CSV_ROWS}"):
        load_csv(text)


def test_class_limit_is_documented_constant():
    assert MAX_CSV_CLASSES == 10
    text = "x1,label\n" + "".join(f"{k},{k}\n" for k in range(MAX_CSV_CLASSES))
    assert load_csv(text).classes == MAX_CSV_CLASSES


def test_non_utf8_bytes():
    with pytest.raises(ValueError, match="not UTF-8"):
        load_csv(b"x1,label\n\xff,0\n")


# Bounded work (issue #12): what the header claims is checked against its width before anything
# is built from it, and the table is never wider than MAX_CELL_CHARS per cell.

@pytest.mark.parametrize("text, where", [
    # x10000000 once built set(range(1, 10000000)): 1.1 GB and 5.8 s for these 26 bytes
    ("x10000000,label\n1,0\n2,1\n", r"line 1, column 'x10000000': beyond the header's 2 columns"),
    ("x1000000000,label\n1,0\n2,1\n", r"line 1, column 'x1000000000': beyond the header's 2 columns"),
    ("x1,x4,label\n1,2,0\n", r"line 1, column 'x4': beyond the header's 3 columns"),
    ("x1,x3,x4,label\n1,2,3,0\n", r"input columns must be x1..x4 without gaps; column 'x2' is missing"),
    ("x" + "9" * 5000 + ",label\n1,0\n", r"line 1, column 'x9{39}'…: beyond the header's 2 columns"),
    ("x1,label\n" + "1,0\n" * 3 + "1," + "9" * 41 + "\n", r"line 5, column 'label': a value of 41 characters; at most 40"),
    ("x1,label\n1" + "," * 100_000 + "\n", r"line 2, extra values after column 'label': 100001 values"),
])
def test_header_and_cells_bounded_by_the_text(text, where):
    with pytest.raises(ValueError, match=where):
        load_csv(text)


def test_longest_allowed_cell():
    text = f"x1,label\n{'1' * MAX_CELL_CHARS},0\n{' ' * (MAX_CELL_CHARS - 1)}2,1\n"
    np.testing.assert_array_equal(load_csv(text).X, [[float("1" * MAX_CELL_CHARS), 2]])


def test_wide_header_is_linear_and_duplicates_found_anywhere():
    n = 20_000  # a 204 KB header: the duplicate check was O(n²), ~20 s
    header = ",".join(f"x{i}" for i in range(1, n + 1))
    data = load_csv(header + ",label\n" + ",".join(["1"] * n) + ",0\n" + ",".join(["2"] * n) + ",1\n")
    assert data.X.shape == (n, 2)
    with pytest.raises(ValueError, match=r"line 1, column 'x5': the column appears twice"):
        load_csv(header + ",x5,label\n")


def test_max_inputs_and_max_rows_arguments():
    sixteen = ",".join(f"x{i}" for i in range(1, 17))
    ok = load_csv(f"{sixteen},label,split\n" + ",".join(["1"] * 16) + ",0,train\n" + ",".join(["2"] * 16) + ",1,dev\n",
                  max_inputs=16)
    assert ok.n_x == 16  # 18 columns: x1..x16, label and split
    with pytest.raises(ValueError, match=r"line 1: the header has 17 input columns; at most 16 \(x1..x16\)"):
        load_csv(f"{sixteen},x17,label\n" + "1," * 17 + "0\n", max_inputs=16)
    wide = ",".join(f"x{i}" for i in range(1, 20_001)) + ",label\n"
    with pytest.raises(ValueError, match=r"line 1: the header has 20001 columns; at most 18 are allowed \(x1..x16, label and split\)"):
        load_csv(wide, max_inputs=16)
    assert load_csv("x1,label\n1,0\n2,1\n", max_rows=2).m == 2
    with pytest.raises(ValueError, match=r"line 4: too many rows; at most 2 data rows"):
        load_csv("x1,label\n1,0\n2,1\n3,0\n", max_rows=2)
