"""tunecore's samplers against SciPy's, both in the same run.

Run with ``python -m pytest bench/test_bench_samplers.py`` (pytest-benchmark); each group holds
the two contenders for one task, and ``python bench/report_samplers.py`` prints the ratios.
Every round builds a fresh engine and draws all points, fixed seeds, one warm-up round; the
figures are medians. tunecore uses every OpenMP thread it is given (``OMP_NUM_THREADS``);
SciPy's engines run on one thread.
"""

from __future__ import annotations

import os
import platform

import pytest

from tunecore import samplers

qmc = pytest.importorskip("scipy.stats.qmc")
pytest.importorskip("pytest_benchmark")

D = 8


def _cpu() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _run(benchmark, fn, rounds):
    benchmark.extra_info["cpu"] = _cpu()
    benchmark.extra_info["cpus"] = os.cpu_count()
    benchmark.extra_info["omp_num_threads"] = os.environ.get("OMP_NUM_THREADS", "unset")
    x = benchmark.pedantic(fn, rounds=rounds, warmup_rounds=1, iterations=1)
    assert x.shape[1] == D


@pytest.mark.benchmark(group="sobol scrambled 2^20 x 8")
def test_sobol_tunecore(benchmark):
    _run(benchmark, lambda: samplers.Sobol(D, seed=0).random_base2(20), rounds=15)


@pytest.mark.benchmark(group="sobol scrambled 2^20 x 8")
def test_sobol_scipy(benchmark):
    _run(benchmark, lambda: qmc.Sobol(D, rng=0).random_base2(20), rounds=15)


@pytest.mark.benchmark(group="halton scrambled 10^6 x 8")
def test_halton_tunecore(benchmark):
    _run(benchmark, lambda: samplers.Halton(D, seed=0).random(10**6), rounds=15)


@pytest.mark.benchmark(group="halton scrambled 10^6 x 8")
def test_halton_scipy(benchmark):
    _run(benchmark, lambda: qmc.Halton(D, rng=0).random(10**6), rounds=5)


@pytest.mark.benchmark(group="latin hypercube 10^6 x 8")
def test_lhs_tunecore(benchmark):
    _run(benchmark, lambda: samplers.LatinHypercube(D, seed=0).random(10**6), rounds=15)


@pytest.mark.benchmark(group="latin hypercube 10^6 x 8")
def test_lhs_scipy(benchmark):
    _run(benchmark, lambda: qmc.LatinHypercube(D, rng=0).random(10**6), rounds=5)
