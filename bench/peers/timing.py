"""Timing of one contender on one shape: warm-up, repeated epochs, median."""

from __future__ import annotations

import math
import os
import statistics
import time
from typing import Any

import numpy as np

from . import make
from .data import Shape, flops_per_sample
from .machine import pinned_threads


def warm_up(trainer: Any, X: np.ndarray, y: np.ndarray, batches: int = 8) -> None:
    """Train on a few batches first: compiles Numba, fills caches and allocators."""
    n = min(X.shape[0], batches * trainer.batch_size)
    trainer.epoch(X[:n], y[:n])


def epoch_times(
    trainer: Any,
    X: np.ndarray,
    y: np.ndarray,
    *,
    min_time: float = 1.0,
    min_reps: int = 3,
    max_reps: int = 200,
) -> list[float]:
    """Time whole epochs until ``min_reps`` are done and ``min_time`` seconds spent."""
    times: list[float] = []
    while len(times) < max_reps and (len(times) < min_reps or sum(times) < min_time):
        t0 = time.perf_counter()
        trainer.epoch(X, y)
        times.append(time.perf_counter() - t0)
    return times


def throughput(shape: Shape, n_samples: int, seconds: float) -> dict[str, float]:
    """Samples per second and GFLOP/s of one epoch of ``n_samples`` in ``seconds``."""
    return {
        "samples_per_s": n_samples / seconds,
        "gflops": n_samples * flops_per_sample(shape.sizes) / seconds / 1e9,
    }


def measure(
    name: str,
    shape: Shape,
    threads: int,
    X: np.ndarray,
    y: np.ndarray,
    *,
    min_time: float = 1.0,
    min_reps: int = 3,
    seed: int = 0,
) -> dict[str, Any]:
    """Median epoch time of contender ``name`` on ``shape`` with ``threads`` threads.

    Raises :class:`peers.Unavailable` where the contender cannot run here.
    """
    from . import Unavailable

    rows, skipped = measure_group(
        [name], shape, threads, X, y, min_time=min_time, min_reps=min_reps, seed=seed
    )
    if skipped:
        raise Unavailable(skipped[name])
    return rows[0]


def measure_group(
    names: list[str],
    shape: Shape,
    threads: int,
    X: np.ndarray,
    y: np.ndarray,
    *,
    min_time: float = 1.0,
    min_reps: int = 3,
    max_reps: int = 200,
    rounds: int = 5,
    settle: float = 0.3,
    seed: int = 0,
) -> tuple[list[dict[str, Any]], dict[str, str]]:
    """Time several contenders on one shape, in ``rounds`` interleaved blocks of epochs.

    Each round gives every contender, in turn, its share of the epochs (until it has
    ``min_reps`` epochs and ``min_time`` seconds in all, or ``max_reps``); the figure is the
    median over all rounds. Interleaving spreads a slow-down of a shared machine over every
    contender alike: on a virtual machine whose host is shared, one contender's speed was seen
    to move by 15% from one run of a few seconds to the next, so five short rounds share such
    swings out far better than two long ones. Before each block of a multi-threaded group the
    process sleeps ``settle`` seconds, so the previous contender's thread pools (OpenBLAS
    spins up to about 0.1 s after a call, OpenMP a little) have gone to sleep and do not steal
    a core from the next one; one thread leaves no pool behind.

    Returns
    -------
    rows : list of dict
        One per contender that ran, as :func:`measure` gives.
    skipped : dict
        Contender name -> why it could not run.
    """
    from . import Unavailable

    trainers, skipped = {}, {}
    for name in names:
        try:
            trainers[name] = make(name, shape.sizes, shape.batch_size, seed=seed, threads=threads)
        except Unavailable as exc:
            skipped[name] = str(exc)
    times: dict[str, list[float]] = {name: [] for name in trainers}

    def done(name: str, share: float) -> bool:
        t = times[name]
        if len(t) >= max_reps * share:
            return True
        return len(t) >= math.ceil(min_reps * share) and sum(t) >= min_time * share

    load = os.getloadavg()[0]
    with pinned_threads(threads):
        for trainer in trainers.values():
            warm_up(trainer, X, y)
        for r in range(rounds):
            share = (r + 1) / rounds
            for name, trainer in trainers.items():
                time.sleep(settle if threads > 1 else 0.02)
                while not done(name, share):
                    t0 = time.perf_counter()
                    trainer.epoch(X, y)
                    times[name].append(time.perf_counter() - t0)

    rows = []
    for name, trainer in trainers.items():
        t = times[name]
        median = statistics.median(t)
        row = {
            "contender": getattr(trainer, "name", name),
            "threads": threads,
            "shape": shape.label,
            "batch": shape.batch_size,
            "n_samples": int(X.shape[0]),
            "median_s": median,
            "best_s": min(t),
            "reps": len(t),
            "spread": (max(t) - min(t)) / median,
            "load_at_start": load,
        }
        row.update(throughput(shape, X.shape[0], median))
        rows.append(row)
    return rows, skipped
