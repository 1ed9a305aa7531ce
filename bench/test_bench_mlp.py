"""One training epoch of the same MLP by tunecore and its peers, shape by shape.

Each pytest-benchmark group is one shape (network and batch size); inside it sit tunecore,
the NumPy and Numba MLPs over BLAS, PyTorch eager with its default and its fused Adam, and
scikit-learn's MLPClassifier, at each thread count under test. extra_info carries samples/s,
GFLOP/s, the share of the single-core BLAS peak and the machine. Every test also checks that
the contender learned (training accuracy after its epochs), so with --benchmark-disable the
file is a fast check that every peer still trains.

    python -m pytest bench/test_bench_mlp.py                       # timed, 60,000 samples
    python -m pytest bench/test_bench_mlp.py --benchmark-disable   # quick check
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from peers import CONTENDERS, Unavailable, make
from peers.data import SHAPES, dataset, flops_per_sample
from peers.timing import epoch_times, throughput, warm_up

# Training accuracy every contender must reach after its epoch(s), against 0.1 by chance:
# digits after one epoch at lr 1e-3 lands between about 0.55 and 0.9 depending on the
# initialisation; the synthetic blobs are separable within a few dozen steps.
MIN_ACCURACY = {"digits": 0.35, "synthetic": 0.9}


@pytest.mark.parametrize("shape", SHAPES, ids=[s.id for s in SHAPES])
@pytest.mark.parametrize("contender", CONTENDERS)
def test_epoch(
    benchmark,
    contender,
    shape,
    bench_threads,
    bench_quick,
    bench_samples,
    machine,
    pinned,
    blas_peak,
):
    # Quick mode: at least 16 steps per epoch, so the accuracy check means something.
    n = max(bench_samples, 16 * shape.batch_size) if bench_quick else bench_samples
    X, y = dataset(shape, n)
    try:
        trainer = make(contender, shape.sizes, shape.batch_size, seed=0, threads=bench_threads)
    except Unavailable as exc:
        pytest.skip(str(exc))

    benchmark.group = f"mlp {shape.id}"
    with pinned(bench_threads):
        if bench_quick:
            benchmark(trainer.epoch, X, y)
        else:
            warm_up(trainer, X, y)
            probe = epoch_times(trainer, X, y, min_reps=1, min_time=0.0)[0]
            rounds = max(3, min(100, math.ceil(1.0 / probe)))
            benchmark.pedantic(trainer.epoch, args=(X, y), rounds=rounds, iterations=1)

    check = slice(0, 2048)
    accuracy = float(np.mean(trainer.predict(X[check]) == y[check]))
    benchmark.extra_info.update(
        contender=trainer.name if hasattr(trainer, "name") else contender,
        threads=bench_threads,
        shape=shape.label,
        batch=shape.batch_size,
        n_samples=int(X.shape[0]),
        flops_per_sample=flops_per_sample(shape.sizes),
        train_accuracy=accuracy,
        cpu=machine["cpu"],
        cpus=machine["cpus"],
        blas=machine["blas"],
        versions=machine["versions"],
    )
    if not bench_quick and benchmark.stats is not None:
        median = benchmark.stats.stats.median
        figures = throughput(shape, X.shape[0], median)
        benchmark.extra_info.update(figures)
        benchmark.extra_info["single_core_peak_gflops"] = blas_peak(1)
        benchmark.extra_info["share_of_peak"] = figures["gflops"] / (blas_peak(1) * bench_threads)

    assert accuracy >= MIN_ACCURACY[shape.data], (contender, shape.id, accuracy)


def test_peers_agree_step_by_step():
    """NumPy, Numba and PyTorch peers, from the same weights and shuffles, end one epoch on
    the same weights: they train the same network with the same Adam, so their speeds
    compare like for like."""
    from peers.data import digits
    from peers.mlp_numpy import NumpyMLP

    X, y = digits()
    X, y = X[:640], y[:640]
    sizes, batch = (64, 32, 32, 10), 32
    ref = NumpyMLP(sizes, batch, seed=5)
    init = [(W.copy(), b.copy()) for W, b in zip(ref.W, ref.b)]
    ref.epoch(X, y)
    moved = np.abs(ref.params.flat - np.concatenate([a.ravel() for p in init for a in p]))
    assert moved.max() > 1e-3  # the epoch did change the weights

    try:
        from peers.mlp_numba import NumbaMLP

        numba_net = NumbaMLP(sizes, batch, seed=5)
        numba_net.epoch(X, y)
        np.testing.assert_allclose(numba_net.params.flat, ref.params.flat, rtol=0, atol=1e-4)
    except ImportError:
        pass
    try:
        from peers.mlp_torch import TorchMLP
    except ImportError:
        return
    for adam in ("default", "fused"):
        torch_net = TorchMLP(sizes, batch, adam=adam, seed=5, init=init)
        torch_net.epoch(X, y)
        np.testing.assert_allclose(torch_net.flat_params(), ref.params.flat, rtol=0, atol=1e-4)


def test_flops_per_sample_counts_each_layer():
    """784-128-128-10: 4 FLOPs per weight in each layer, 2 more in all but the first."""
    weights = [784 * 128, 128 * 128, 128 * 10]
    expected = 4 * sum(weights) + 2 * (weights[1] + weights[2])
    assert flops_per_sample((784, 128, 128, 10)) == expected == 507_392
    assert flops_per_sample((64, 10)) == 4 * 640
