"""Shared set-up of tunecore's benchmarks (pytest-benchmark).

At import, before numpy loads, this removes ``OPENBLAS_CORETYPE`` and ``OPENBLAS_L2_SIZE``
from the environment of a timed benchmark run: some machines set them, and they pin OpenBLAS
to a kernel and cache size that halve its speed, which would make the NumPy and Numba peers
look slower than they are. When the benchmarks only run as checks (``--benchmark-disable``,
as CI runs ``pytest tests bench``), nothing is timed and the environment is left alone, so
the test suite in the same process sees the machine as it is.

Fixtures and options for every benchmark file:

- ``bench_quick`` (bool): True under ``--benchmark-disable`` or ``TUNECORE_BENCH_QUICK=1``;
  benchmarks then use small data and one thread, so the whole of bench/ runs in seconds.
- ``bench_threads``: parametrizes a test over the thread counts under test (1 and 2 timed;
  1 in quick mode); ``--bench-threads 1,2`` changes the list.
- ``bench_samples`` (int): synthetic samples per epoch, 60,000 timed (``--bench-samples``
  or ``TUNECORE_BENCH_SAMPLES``), 2,048 in quick mode (more for large batches).
- ``machine`` (dict): CPU model, CPU count, BLAS kernel, versions; goes in extra_info.
- ``pinned(threads)``: context manager pinning BLAS, OpenMP and PyTorch threads.
- ``blas_peak`` (callable threads -> GFLOP/s): numpy's float32 4096^3 product speed,
  measured once per thread count in a child process.
"""

from __future__ import annotations

import os
import sys

_QUICK = "--benchmark-disable" in sys.argv or os.environ.get("TUNECORE_BENCH_QUICK") == "1"

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from peers import machine as _machine

if not _QUICK:
    _machine.unset_openblas_overrides()

import pytest

QUICK_SAMPLES = 2048
DEFAULT_THREADS = (1, 2)


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("tunecore benchmarks")
    group.addoption(
        "--bench-samples",
        type=int,
        default=None,
        help="synthetic samples per epoch (default 60000; 2048 with --benchmark-disable)",
    )
    group.addoption(
        "--bench-threads",
        default=None,
        help="comma-separated thread counts to benchmark (default 1,2; 1 when disabled)",
    )


def _is_quick(config: pytest.Config) -> bool:
    try:
        disabled = bool(config.getoption("benchmark_disable"))
    except ValueError:  # pytest-benchmark missing
        disabled = True
    return disabled or _QUICK


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "bench_threads" in metafunc.fixturenames:
        option = metafunc.config.getoption("bench_threads")
        if option:
            threads = [int(t) for t in option.split(",")]
        elif _is_quick(metafunc.config):
            threads = [1]
        else:
            threads = list(DEFAULT_THREADS)
        metafunc.parametrize("bench_threads", threads, ids=[f"{t}t" for t in threads])


def pytest_benchmark_update_machine_info(config: pytest.Config, machine_info: dict) -> None:
    """Put the CPU model and BLAS kernel into pytest-benchmark's saved machine record."""
    machine_info["tunecore_bench"] = _machine.machine_info()


@pytest.fixture(scope="session")
def bench_quick(request: pytest.FixtureRequest) -> bool:
    return _is_quick(request.config)


@pytest.fixture(scope="session")
def bench_samples(request: pytest.FixtureRequest, bench_quick: bool) -> int:
    option = request.config.getoption("bench_samples")
    if option is not None:
        return int(option)
    if "TUNECORE_BENCH_SAMPLES" in os.environ:
        return int(os.environ["TUNECORE_BENCH_SAMPLES"])
    from peers.data import SYNTHETIC_SAMPLES

    return QUICK_SAMPLES if bench_quick else SYNTHETIC_SAMPLES


@pytest.fixture(scope="session")
def machine() -> dict:
    from peers import versions

    info = _machine.machine_info()
    info["versions"] = versions()
    return info


@pytest.fixture(scope="session")
def pinned():
    return _machine.pinned_threads


@pytest.fixture(scope="session")
def blas_peak():
    cache: dict[int, float] = {}

    def peak(threads: int) -> float:
        if threads not in cache:
            cache[threads] = _machine.measure_peak(threads)["gflops"]
        return cache[threads]

    return peak
