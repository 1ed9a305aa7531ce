"""Tests of tunecore.datasets: digits, CSV, NPZ, the dispatching loader and the split."""

from __future__ import annotations

import numpy as np
import pytest

from tunecore import datasets

pytest.importorskip("sklearn")


def test_load_digits_shapes_and_scaling():
    X, y = datasets.load_digits()
    assert X.shape == (1797, 64)
    assert y.shape == (1797,)
    assert X.dtype == np.float64 and X.flags.c_contiguous
    assert y.dtype == np.int64
    assert X.min() == 0.0 and X.max() == 1.0
    assert sorted(np.unique(y).tolist()) == list(range(10))


def _write_csv(path, X, y, names, delimiter=","):
    lines = [delimiter.join(names)] if names else []
    for row, label in zip(X, y):
        lines.append(delimiter.join([*(repr(float(v)) for v in row), str(label)]))
    path.write_text("\n".join(lines) + "\n")


def test_load_csv_round_trip(tmp_path):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(30, 3))
    y = rng.integers(0, 3, size=30)
    path = tmp_path / "data.csv"
    _write_csv(path, X, y, ["a", "b", "c", "label"])

    X2, y2 = datasets.load_csv(path, "label")
    np.testing.assert_array_equal(X2, X)
    np.testing.assert_array_equal(y2, y)
    assert y2.dtype == np.int64


def test_load_csv_target_in_the_middle_and_float_target(tmp_path):
    path = tmp_path / "reg.csv"
    path.write_text("x1;y;x2\n1.5;0.25;2\n-3;1.75;4e-1\n")
    X, y = datasets.load_csv(path, "y", delimiter=";")
    np.testing.assert_array_equal(X, [[1.5, 2.0], [-3.0, 0.4]])
    np.testing.assert_array_equal(y, [0.25, 1.75])
    assert y.dtype == np.float64


def test_load_csv_without_header_by_index(tmp_path):
    path = tmp_path / "nohead.csv"
    path.write_text("0,1,1\n2,3,0\n")
    X, y = datasets.load_csv(path, 0, header=False)
    np.testing.assert_array_equal(X, [[1.0, 1.0], [3.0, 0.0]])
    np.testing.assert_array_equal(y, [0, 2])


def test_load_csv_text_labels_encoded_by_sorted_rank(tmp_path):
    path = tmp_path / "text.csv"
    path.write_text("f,kind\n1,dog\n2,cat\n3,dog\n")
    _, y = datasets.load_csv(path, "kind")
    np.testing.assert_array_equal(y, [1, 0, 1])


def test_load_csv_bad_cell_names_file_row_and_column(tmp_path):
    path = tmp_path / "bad.csv"
    path.write_text("a,b,label\n1,2,0\n3,oops,1\n")
    with pytest.raises(ValueError, match=r"bad\.csv.*row 3, column 'b' holds 'oops'"):
        datasets.load_csv(path, "label")


def test_load_csv_nan_cell_is_rejected(tmp_path):
    path = tmp_path / "nan.csv"
    path.write_text("a,label\nnan,0\n")
    with pytest.raises(ValueError, match=r"row 2, column 'a' holds 'nan'"):
        datasets.load_csv(path, "label")


def test_load_csv_missing_target_lists_columns(tmp_path):
    path = tmp_path / "d.csv"
    path.write_text("a,b\n1,2\n")
    with pytest.raises(ValueError, match=r"has no column 'label'; its columns are \['a', 'b'\]"):
        datasets.load_csv(path, "label")


def test_load_csv_ragged_row(tmp_path):
    path = tmp_path / "ragged.csv"
    path.write_text("a,b,label\n1,2,0\n3,1\n")
    with pytest.raises(ValueError, match=r"row 3 has 2 fields, expected 3"):
        datasets.load_csv(path, "label")


def test_load_csv_binary_file_is_unreadable(tmp_path):
    path = tmp_path / "blob.csv"
    path.write_bytes(bytes(range(128, 256)) * 4)
    with pytest.raises(ValueError, match=r"blob\.csv.*not UTF-8"):
        datasets.load_csv(path, "label")


def test_load_csv_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"nope\.csv.*does not exist"):
        datasets.load_csv(tmp_path / "nope.csv", "label")


def test_load_npz_round_trip_and_keys(tmp_path):
    rng = np.random.default_rng(1)
    X = rng.normal(size=(20, 4)).astype(np.float32)
    y = rng.integers(0, 2, size=20).astype(np.int8)
    path = tmp_path / "d.npz"
    np.savez(path, features=X, labels=y)

    X2, y2 = datasets.load_npz(path, x_key="features", y_key="labels")
    np.testing.assert_array_equal(X2, X.astype(np.float64))
    np.testing.assert_array_equal(y2, y)
    assert y2.dtype == np.int64
    with pytest.raises(ValueError, match=r"has no array 'X' \(x_key\)"):
        datasets.load_npz(path)


def test_load_npz_rejects_mismatched_lengths(tmp_path):
    path = tmp_path / "d.npz"
    np.savez(path, X=np.zeros((5, 2)), y=np.zeros(4))
    with pytest.raises(ValueError, match=r"array 'y' must be 1-D with 5 entries"):
        datasets.load_npz(path)


def test_load_dispatches_and_resolves_relative_paths(tmp_path):
    np.savez(tmp_path / "d.npz", X=np.ones((3, 2)), y=np.array([0.5, 1.5, 2.5]))
    X, y = datasets.load({"source": "npz", "path": "d.npz"}, base_dir=tmp_path)
    assert X.shape == (3, 2)
    np.testing.assert_array_equal(y, [0.5, 1.5, 2.5])
    with pytest.raises(ValueError, match=r"source must be one of"):
        datasets.load({"source": "parquet"})


def test_split_is_stratified_with_the_asked_proportions():
    X, y = datasets.load_digits()
    parts = datasets.split(X, y, test_fraction=0.2, val_fraction=0.25, seed=3)
    n = len(y)
    assert len(parts.y_test) == pytest.approx(0.2 * n, abs=1)
    assert len(parts.y_val) == pytest.approx(0.25 * n, abs=2)
    assert len(parts.y_train) + len(parts.y_val) + len(parts.y_test) == n

    # Stratified: every part keeps each class's share of the whole to within one sample's worth.
    overall = np.bincount(y, minlength=10) / n
    for labels in (parts.y_train, parts.y_val, parts.y_test):
        share = np.bincount(labels, minlength=10) / len(labels)
        assert np.max(np.abs(share - overall)) <= 1.5 / len(labels) + 1e-12

    # The parts are disjoint and cover the data: every row appears exactly once.
    rows = np.concatenate([parts.X_train, parts.X_val, parts.X_test])
    assert np.unique(rows, axis=0).shape[0] == np.unique(X, axis=0).shape[0]


def test_split_depends_only_on_the_seed():
    X, y = datasets.load_digits()
    a = datasets.split(X, y, test_fraction=0.2, val_fraction=0.2, seed=7)
    b = datasets.split(X, y, test_fraction=0.2, val_fraction=0.2, seed=7)
    c = datasets.split(X, y, test_fraction=0.2, val_fraction=0.2, seed=8)
    np.testing.assert_array_equal(a.X_test, b.X_test)
    assert not np.array_equal(a.X_test, c.X_test)


def test_split_rejects_fractions_that_leave_no_training_data():
    X, y = datasets.load_digits()
    with pytest.raises(ValueError, match=r"test_fraction \+ val_fraction must be < 1"):
        datasets.split(X, y, test_fraction=0.5, val_fraction=0.5, seed=0)
