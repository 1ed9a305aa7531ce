"""Timing of one contender on one shape: warm-up, repeated epochs, median."""

from __future__ import annotations

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
    trainer = make(name, shape.sizes, shape.batch_size, seed=seed, threads=threads)
    with pinned_threads(threads):
        warm_up(trainer, X, y)
        times = epoch_times(trainer, X, y, min_time=min_time, min_reps=min_reps)
    median = statistics.median(times)
    row = {
        "contender": getattr(trainer, "name", name),
        "threads": threads,
        "shape": shape.label,
        "batch": shape.batch_size,
        "n_samples": int(X.shape[0]),
        "median_s": median,
        "reps": len(times),
        "best_s": min(times),
        "spread": (max(times) - min(times)) / median,
    }
    row.update(throughput(shape, X.shape[0], median))
    return row
