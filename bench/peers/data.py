"""Data sets, network shapes and FLOP counts shared by every benchmark contender."""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np

N_CLASSES = 10
SYNTHETIC_SAMPLES = 60_000
SYNTHETIC_FEATURES = 784


@dataclass(frozen=True)
class Shape:
    """One benchmarked network: data set, layer widths and batch size."""

    data: str  # "digits" or "synthetic"
    hidden: tuple[int, ...]
    batch_size: int

    @property
    def n_features(self) -> int:
        return 64 if self.data == "digits" else SYNTHETIC_FEATURES

    @property
    def sizes(self) -> tuple[int, ...]:
        """Widths of every layer, input and output included."""
        return (self.n_features, *self.hidden, N_CLASSES)

    @property
    def label(self) -> str:
        return "-".join(str(s) for s in self.sizes)

    @property
    def id(self) -> str:
        return f"{self.label}-b{self.batch_size}"


# The shapes of the throughput table, in its order.
SHAPES = (
    Shape("digits", (64,), 32),
    Shape("synthetic", (128, 128), 32),
    Shape("synthetic", (128, 128), 128),
    Shape("synthetic", (128, 128), 512),
    Shape("synthetic", (512, 512), 512),
)


def flops_per_sample(sizes: tuple[int, ...]) -> int:
    """FLOPs one training sample costs in a forward and backward pass.

    Per weight: 2 (multiply-add) in the forward pass, 2 for its gradient, and 2 more for the
    gradient with respect to the layer's input, which every layer but the first must pass
    back. Bias, activation, loss and optimizer work is not counted.
    """
    flops = 0
    for layer, (fan_in, fan_out) in enumerate(zip(sizes[:-1], sizes[1:])):
        weights = fan_in * fan_out
        flops += 4 * weights + (2 * weights if layer > 0 else 0)
    return flops


@functools.lru_cache(maxsize=2)
def digits() -> tuple[np.ndarray, np.ndarray]:
    """scikit-learn's 8 x 8 digits, pixels scaled to [0, 1], as float32 and int64."""
    from sklearn.datasets import load_digits

    X, y = load_digits(return_X_y=True)
    return np.ascontiguousarray(X / 16.0, dtype=np.float32), y.astype(np.int64)


@functools.lru_cache(maxsize=4)
def synthetic(n: int = SYNTHETIC_SAMPLES, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """A fixed-seed 10-class float32 set in 784 dimensions: Gaussian blobs around random centres.

    The classes overlap little, so a sound trainer reaches a high accuracy within an epoch,
    which the benchmarks check; speed does not depend on the values.
    """
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((N_CLASSES, SYNTHETIC_FEATURES), dtype=np.float32)
    y = rng.integers(0, N_CLASSES, size=n)
    X = rng.standard_normal((n, SYNTHETIC_FEATURES), dtype=np.float32)
    X *= 0.5
    X += 0.5 * centres[y]
    return X, y.astype(np.int64)


def dataset(shape: Shape, synthetic_samples: int = SYNTHETIC_SAMPLES) -> tuple[np.ndarray, ...]:
    """Return ``(X, y)`` for ``shape``'s data set."""
    if shape.data == "digits":
        return digits()
    return synthetic(synthetic_samples)


@functools.lru_cache(maxsize=2)
def digits_split(seed: int = 0) -> tuple[np.ndarray, ...]:
    """Digits split 80 / 20 (stratified, fixed seed): ``X_train, y_train, X_val, y_val``."""
    from sklearn.model_selection import train_test_split

    X, y = digits()
    X_tr, X_val, y_tr, y_val = train_test_split(X, y, test_size=0.2, stratify=y, random_state=seed)
    c = np.ascontiguousarray
    return c(X_tr), c(y_tr), c(X_val), c(y_val)
