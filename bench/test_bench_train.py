"""One training epoch on digits (64-64-10, ReLU, softmax cross-entropy, Adam, batch 32).

Contenders, each training a fresh network for one shuffled epoch on the same 80% split:
tunecore; a NumPy MLP written here (float32, the same network and Adam); PyTorch eager on one
thread (skipped with the reason when torch is missing). Each records samples per second and
GFLOP/s in the benchmark's extra_info and checks that the epoch taught the network something.

Run: ``python -m pytest bench/test_bench_train.py`` (``--benchmark-disable`` to only check).
"""

from __future__ import annotations

import os
import platform

import numpy as np
import pytest

import tunecore

pytest.importorskip("pytest_benchmark")
sklearn_datasets = pytest.importorskip("sklearn.datasets")

HIDDEN = 64
BATCH = 32
LR = 1e-3
SIZES = (64, HIDDEN, 10)
# FLOPs per sample: 2 per weight forward, 2 for the weight gradient, 2 for the input gradient
# of every layer but the first.
FLOPS_PER_SAMPLE = 6 * (64 * HIDDEN + HIDDEN * 10) - 2 * 64 * HIDDEN


@pytest.fixture(scope="module")
def digits():
    X, y = sklearn_datasets.load_digits(return_X_y=True)
    rng = np.random.default_rng(0)
    order = rng.permutation(len(X))
    cut = int(0.8 * len(X))
    X = (X / 16.0).astype(np.float32)
    return X[order[:cut]], y[order[:cut]], X[order[cut:]], y[order[cut:]]


def record(benchmark, n_samples: int) -> None:
    stats = getattr(benchmark, "stats", None)
    if stats is None or not hasattr(stats, "stats"):
        return  # --benchmark-disable
    seconds = stats.stats.median
    benchmark.extra_info.update(
        samples_per_s=n_samples / seconds,
        gflops=n_samples * FLOPS_PER_SAMPLE / seconds / 1e9,
        cpu=platform.processor() or platform.machine(),
        threads=1,
        omp_num_threads=os.environ.get("OMP_NUM_THREADS"),
    )


class NumpyMLP:
    """64-64-10 ReLU network, softmax cross-entropy, Adam (PyTorch's form), float32."""

    def __init__(self, seed: int = 0) -> None:
        rng = np.random.default_rng(seed)
        self.params = [
            rng.uniform(-1, 1, size=(64, HIDDEN)).astype(np.float32) * np.sqrt(6 / 64),
            np.zeros(HIDDEN, np.float32),
            rng.uniform(-1, 1, size=(HIDDEN, 10)).astype(np.float32) * np.sqrt(6 / (HIDDEN + 10)),
            np.zeros(10, np.float32),
        ]
        self.m = [np.zeros_like(p) for p in self.params]
        self.v = [np.zeros_like(p) for p in self.params]
        self.t = 0
        self.rng = rng

    def epoch(self, X: np.ndarray, y: np.ndarray) -> None:
        W1, b1, W2, b2 = self.params
        order = self.rng.permutation(len(X))
        for start in range(0, len(X), BATCH):
            idx = order[start : start + BATCH]
            x, t = X[idx], y[idx]
            h = np.maximum(x @ W1 + b1, 0)
            z = h @ W2 + b2
            z -= z.max(axis=1, keepdims=True)
            p = np.exp(z)
            p /= p.sum(axis=1, keepdims=True)
            p[np.arange(len(idx)), t] -= 1
            p /= len(idx)
            dh = (p @ W2.T) * (h > 0)
            grads = [x.T @ dh, dh.sum(axis=0), h.T @ p, p.sum(axis=0)]
            self.t += 1
            c1 = 1 - 0.9**self.t
            c2 = np.sqrt(1 - 0.999**self.t)
            for param, g, m, v in zip(self.params, grads, self.m, self.v):
                m *= 0.9
                m += 0.1 * g
                v *= 0.999
                v += 0.001 * g * g
                param -= (LR / c1) * m / (np.sqrt(v) / c2 + 1e-8)

    def score(self, X: np.ndarray, y: np.ndarray) -> float:
        W1, b1, W2, b2 = self.params
        return float(np.mean(np.argmax(np.maximum(X @ W1 + b1, 0) @ W2 + b2, axis=1) == y))


def test_epoch_tunecore(benchmark, digits):
    X, y, X_test, y_test = digits

    def epoch():
        return tunecore.train(
            X, y, hidden=(HIDDEN,), optimizer="adam", lr=LR, batch_size=BATCH, epochs=1,
            n_classes=10, seed=0,
        )  # fmt: skip

    result = benchmark(epoch)
    record(benchmark, len(X))
    assert result.status == "ok"
    assert result.model.score(X_test, y_test) > 0.3  # chance is 0.1


def test_epoch_numpy(benchmark, digits):
    X, y, X_test, y_test = digits
    nets = []

    def epoch():
        net = NumpyMLP()
        net.epoch(X, y)
        nets.append(net)

    benchmark(epoch)
    record(benchmark, len(X))
    assert nets[-1].score(X_test, y_test) > 0.3  # chance is 0.1


def test_epoch_torch(benchmark, digits):
    torch = pytest.importorskip("torch", reason="PyTorch is not installed")
    torch.set_num_threads(1)
    X, y, X_test, y_test = digits
    xt, yt = torch.from_numpy(X), torch.from_numpy(y)
    models = []

    def epoch():
        torch.manual_seed(0)
        model = torch.nn.Sequential(
            torch.nn.Linear(64, HIDDEN), torch.nn.ReLU(), torch.nn.Linear(HIDDEN, 10)
        )
        opt = torch.optim.Adam(model.parameters(), lr=LR)
        loss_fn = torch.nn.CrossEntropyLoss()
        order = torch.randperm(len(X))
        for start in range(0, len(X), BATCH):
            idx = order[start : start + BATCH]
            opt.zero_grad()
            loss = loss_fn(model(xt[idx]), yt[idx])
            loss.backward()
            opt.step()
        models.append(model)

    benchmark(epoch)
    record(benchmark, len(X))
    with torch.no_grad():
        pred = models[-1](torch.from_numpy(X_test)).argmax(dim=1).numpy()
    assert np.mean(pred == y_test) > 0.3  # chance is 0.1
