"""Data for studies: scikit-learn's digits, CSV and NPZ files, and a stratified split.

Every loader returns ``(X, y)`` with ``X`` a C-ordered float64 array of shape
``(n_samples, n_features)`` and ``y`` a one-dimensional array: int64 class labels when the
target holds integers (or strings, which are encoded as their sorted index), float64 otherwise.
Errors name the file and, for bad cells, the row and column.

>>> from tunecore import datasets
>>> X, y = datasets.load_digits()
>>> X.shape, int(y.max())
((1797, 64), 9)
"""

from __future__ import annotations

import csv
import math
import os
import zipfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np

from tunecore._seeding import resolve_seed

__all__ = ["Split", "load", "load_csv", "load_digits", "load_npz", "split"]

#: The sources ``load`` understands.
SOURCES = ("digits", "csv", "npz")


class Split(NamedTuple):
    """Train, validation and test parts of a data set (validation may be empty)."""

    X_train: np.ndarray
    y_train: np.ndarray
    X_val: np.ndarray
    y_val: np.ndarray
    X_test: np.ndarray
    y_test: np.ndarray


def load_digits() -> tuple[np.ndarray, np.ndarray]:
    """Return scikit-learn's 8x8 digits, features scaled to [0, 1] and int64 labels.

    Returns
    -------
    X : ndarray of shape (1797, 64), float64
        Pixel intensities divided by 16, the largest value in the data set.
    y : ndarray of shape (1797,), int64
        The digit, 0 to 9.

    Examples
    --------
    >>> X, y = load_digits()
    >>> float(X.min()), float(X.max())
    (0.0, 1.0)
    """
    try:
        from sklearn.datasets import load_digits as _sk_load_digits
    except ImportError as exc:  # pragma: no cover - scikit-learn is in the study extra
        raise ImportError(
            "the digits data set needs scikit-learn: pip install 'tunecore[study]'"
        ) from exc

    bunch = _sk_load_digits()
    X = np.ascontiguousarray(bunch.data, dtype=np.float64) / 16.0
    y = np.asarray(bunch.target, dtype=np.int64)
    return X, y


def _check_file(path: str | os.PathLike[str], argument: str = "path") -> Path:
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"{argument} must be a str or path, got {path!r}")
    p = Path(path)
    if not p.exists():
        raise FileNotFoundError(f"data file {str(p)!r} does not exist")
    if not p.is_file():
        raise ValueError(f"data file {str(p)!r} is not a regular file")
    return p


def _encode_target(values: list[str], where: str) -> np.ndarray:
    """Return targets as int64 labels when they are integers or text, else float64."""
    try:
        numbers = [float(v) for v in values]
    except ValueError:
        # Text labels: encode each distinct label by its rank in sorted order, so the encoding
        # does not depend on the order of the rows.
        labels = sorted(set(values))
        index = {label: i for i, label in enumerate(labels)}
        return np.array([index[v] for v in values], dtype=np.int64)

    for row, value in enumerate(numbers):
        if not math.isfinite(value):
            raise ValueError(
                f"{where}: target value {values[row]!r} in row {row + 1} is not finite"
            )
    if all(v == int(v) for v in numbers):
        return np.array([int(v) for v in numbers], dtype=np.int64)
    return np.array(numbers, dtype=np.float64)


def load_csv(
    path: str | os.PathLike[str],
    target: str | int,
    *,
    delimiter: str = ",",
    header: bool = True,
) -> tuple[np.ndarray, np.ndarray]:
    """Load a numeric CSV file whose target is one of its columns.

    Parameters
    ----------
    path : str or path
        The CSV file.
    target : str or int
        The target column: its name in the header, or its 0-based index (an index is the only
        choice when ``header`` is False).
    delimiter : str, default ","
        The field separator, one character.
    header : bool, default True
        Whether the first row names the columns.

    Returns
    -------
    X : ndarray of shape (n_samples, n_features), float64
        Every column but the target, in file order. Each cell must parse as a finite number.
    y : ndarray of shape (n_samples,)
        int64 labels when every target is an integer or the targets are text (encoded as the
        index of the label in sorted order), float64 otherwise.

    Raises
    ------
    FileNotFoundError
        When the file does not exist.
    ValueError
        When the file is empty, has ragged rows, lacks the target column, or a feature cell is
        not a finite number; the message names the file, row and column.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "d.csv"
    >>> _ = p.write_text("a,b,label\\n0.5,1,0\\n0.25,2,1\\n")
    >>> X, y = load_csv(p, "label")
    >>> X.tolist(), y.tolist()
    ([[0.5, 1.0], [0.25, 2.0]], [0, 1])
    """
    p = _check_file(path)
    if not isinstance(delimiter, str) or len(delimiter) != 1:
        raise ValueError(f"delimiter must be a single character, got {delimiter!r}")
    where = f"CSV file {str(p)!r}"

    try:
        with open(p, newline="", encoding="utf-8-sig") as fh:
            rows = [row for row in csv.reader(fh, delimiter=delimiter) if row]
    except UnicodeDecodeError as exc:
        raise ValueError(f"{where} is not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    except csv.Error as exc:
        raise ValueError(f"{where} cannot be parsed as CSV: {exc}") from None

    names: list[str] | None = None
    first_data_row = 1
    if header:
        if not rows:
            raise ValueError(f"{where} is empty")
        names = [name.strip() for name in rows[0]]
        rows = rows[1:]
        first_data_row = 2
    if not rows:
        raise ValueError(f"{where} has no data rows")

    n_cols = len(names) if names is not None else len(rows[0])
    if n_cols < 2:
        raise ValueError(
            f"{where} must have at least 2 columns (features and target), got {n_cols}"
        )

    if isinstance(target, bool) or not isinstance(target, (str, int)):
        raise TypeError(f"target must be a column name or index, got {target!r}")
    if isinstance(target, str):
        if names is None:
            raise ValueError(f"target must be a column index when header is False, got {target!r}")
        if target not in names:
            raise ValueError(f"{where} has no column {target!r}; its columns are {names}")
        t = names.index(target)
    else:
        if not -n_cols <= target < n_cols:
            raise ValueError(f"target index must be in [0, {n_cols}) for {where}, got {target!r}")
        t = target % n_cols

    features = [j for j in range(n_cols) if j != t]
    X = np.empty((len(rows), len(features)), dtype=np.float64)
    targets: list[str] = []
    for i, row in enumerate(rows):
        line = i + first_data_row
        if len(row) != n_cols:
            raise ValueError(f"{where}: row {line} has {len(row)} fields, expected {n_cols}")
        for k, j in enumerate(features):
            cell = row[j].strip()
            try:
                value = float(cell)
            except ValueError:
                value = math.nan
            if not math.isfinite(value):
                column = repr(names[j]) if names is not None else str(j)
                raise ValueError(
                    f"{where}: row {line}, column {column} holds {row[j]!r}, "
                    "which is not a finite number"
                ) from None
            X[i, k] = value
        targets.append(row[t].strip())

    return X, _encode_target(targets, where)


def load_npz(
    path: str | os.PathLike[str], x_key: str = "X", y_key: str = "y"
) -> tuple[np.ndarray, np.ndarray]:
    """Load features and targets from a NumPy ``.npz`` archive.

    Parameters
    ----------
    path : str or path
        The archive, as written by ``numpy.savez``.
    x_key, y_key : str, default "X", "y"
        The names of the feature array (2-D, numeric) and the target array (1-D, same length).

    Returns
    -------
    X : ndarray of shape (n_samples, n_features), float64
    y : ndarray of shape (n_samples,)
        int64 when the targets are integers (of any integer dtype, or floats that all are whole
        numbers), else float64.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "d.npz"
    >>> np.savez(p, X=np.eye(2), y=np.array([0, 1]))
    >>> X, y = load_npz(p)
    >>> X.shape, y.tolist()
    ((2, 2), [0, 1])
    """
    p = _check_file(path)
    where = f"NPZ file {str(p)!r}"
    try:
        archive = np.load(p, allow_pickle=False)
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as exc:
        raise ValueError(f"{where} cannot be read as an .npz archive: {exc}") from None
    if not isinstance(archive, np.lib.npyio.NpzFile):
        raise ValueError(f"{where} is a single array, not an .npz archive")  # noqa: TRY004

    with archive:
        for key, argument in ((x_key, "x_key"), (y_key, "y_key")):
            if key not in archive.files:
                raise ValueError(
                    f"{where} has no array {key!r} ({argument}); it holds {archive.files}"
                )
        try:
            X = np.asarray(archive[x_key])
            y = np.asarray(archive[y_key])
        except ValueError as exc:  # object arrays need pickle, which stays off
            raise ValueError(f"{where} cannot be read: {exc}") from None

    if X.ndim != 2 or not (np.issubdtype(X.dtype, np.number) or X.dtype == bool):
        raise ValueError(
            f"{where}: array {x_key!r} must be 2-D and numeric, got shape {X.shape} "
            f"and dtype {X.dtype}"
        )
    if y.ndim != 1 or len(y) != len(X):
        raise ValueError(
            f"{where}: array {y_key!r} must be 1-D with {len(X)} entries, got shape {y.shape}"
        )
    X = np.ascontiguousarray(X, dtype=np.float64)
    if not np.all(np.isfinite(X)):
        i, j = np.argwhere(~np.isfinite(X))[0]
        raise ValueError(f"{where}: {x_key}[{i}, {j}] is {X[i, j]!r}, not a finite number")
    if np.issubdtype(y.dtype, np.integer) or y.dtype == bool:
        return X, y.astype(np.int64)
    if not np.issubdtype(y.dtype, np.floating):
        raise ValueError(f"{where}: array {y_key!r} must be numeric, got dtype {y.dtype}")
    if not np.all(np.isfinite(y)):
        raise ValueError(f"{where}: array {y_key!r} holds values that are not finite")
    if np.all(y == np.round(y)):
        return X, y.astype(np.int64)
    return X, y.astype(np.float64)


def load(
    spec: Mapping[str, Any], *, base_dir: str | os.PathLike[str] | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Load the data set a study config's ``[data]`` table describes.

    Parameters
    ----------
    spec : mapping
        ``source`` ("digits", "csv" or "npz") and, for files, ``path``; a CSV also needs
        ``target`` and may give ``delimiter`` and ``header``; an NPZ may give ``x_key`` and
        ``y_key``. Other keys (e.g. ``test_fraction``) are ignored here.
    base_dir : str or path, optional
        Directory that a relative ``path`` is resolved against (a config file's directory).

    Examples
    --------
    >>> X, y = load({"source": "digits"})
    >>> X.shape
    (1797, 64)
    """
    if not isinstance(spec, Mapping):
        raise TypeError(f"spec must be a mapping, got {spec!r}")
    source = spec.get("source")
    if source not in SOURCES:
        raise ValueError(f"source must be one of {SOURCES}, got {source!r}")
    if source == "digits":
        return load_digits()

    if "path" not in spec:
        raise ValueError(f"a {source} data set needs a path")
    path = Path(spec["path"])
    if base_dir is not None and not path.is_absolute():
        path = Path(base_dir) / path
    if source == "csv":
        if "target" not in spec:
            raise ValueError("a csv data set needs a target column")
        return load_csv(
            path,
            spec["target"],
            delimiter=spec.get("delimiter", ","),
            header=spec.get("header", True),
        )
    return load_npz(path, x_key=spec.get("x_key", "X"), y_key=spec.get("y_key", "y"))


def _check_fraction(value: float, argument: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.floating)):
        raise TypeError(f"{argument} must be a float, got {value!r}")
    if not 0.0 <= value < 1.0:
        raise ValueError(f"{argument} must be in [0, 1), got {value!r}")
    return float(value)


def _is_classification(y: np.ndarray) -> bool:
    return np.issubdtype(y.dtype, np.integer) or y.dtype == bool


def split(
    X: np.ndarray,
    y: np.ndarray,
    *,
    test_fraction: float = 0.2,
    val_fraction: float = 0.2,
    seed: int | None = 0,
    stratify: bool | None = None,
) -> Split:
    """Split a data set into train, validation and test parts.

    The test part is ``test_fraction`` of all samples, the validation part ``val_fraction`` of
    all samples; the rest is for training. With integer labels the splits are stratified, so
    each part keeps the class proportions (scikit-learn's ``train_test_split``).

    Parameters
    ----------
    X : array of shape (n_samples, n_features)
    y : array of shape (n_samples,)
    test_fraction, val_fraction : float
        Fractions of the whole data set, each in [0, 1), summing to less than 1. A fraction of 0
        gives an empty part.
    seed : int or None, default 0
        Seed of the shuffle.
    stratify : bool or None, default None
        Whether to keep the class proportions in every part; None stratifies when ``y`` holds
        integers (class labels). Pass False for a regression on integer targets.

    Returns
    -------
    Split
        ``(X_train, y_train, X_val, y_val, X_test, y_test)``.

    Examples
    --------
    >>> X, y = load_digits()
    >>> parts = split(X, y, test_fraction=0.2, val_fraction=0.2, seed=0)
    >>> len(parts.X_train), len(parts.X_val), len(parts.X_test)
    (1077, 360, 360)
    """
    from sklearn.model_selection import train_test_split

    test_fraction = _check_fraction(test_fraction, "test_fraction")
    val_fraction = _check_fraction(val_fraction, "val_fraction")
    if test_fraction + val_fraction >= 1.0:
        raise ValueError(
            f"test_fraction + val_fraction must be < 1, got {test_fraction!r} + {val_fraction!r}"
        )
    seed = resolve_seed(seed)
    X = np.asarray(X)
    y = np.asarray(y)
    if X.ndim != 2 or y.ndim != 1 or len(X) != len(y):
        raise ValueError(
            f"X must be 2-D and y 1-D of the same length, got shapes {X.shape} and {y.shape}"
        )

    if stratify is None:
        stratify = _is_classification(y)
    # sklearn takes a 32-bit seed; fold the 63-bit one so distinct seeds stay distinct mostly.
    state = int(seed % (2**32))

    def cut(Xa: np.ndarray, ya: np.ndarray, fraction: float, state: int) -> tuple:
        if fraction == 0.0:
            return Xa, Xa[:0], ya, ya[:0]
        try:
            return train_test_split(
                Xa,
                ya,
                test_size=fraction,
                random_state=state,
                stratify=ya if stratify else None,
            )
        except ValueError as exc:
            # Too few samples of some class to stratify: say so in tunecore's terms.
            raise ValueError(
                f"cannot split {len(y)} samples into parts of these fractions ({exc})"
            ) from None

    X_rest, X_test, y_rest, y_test = cut(X, y, test_fraction, state)
    val_of_rest = val_fraction / (1.0 - test_fraction)
    X_train, X_val, y_train, y_val = cut(X_rest, y_rest, val_of_rest, (state + 1) % (2**32))
    return Split(X_train, y_train, X_val, y_val, X_test, y_test)
