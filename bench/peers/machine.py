"""The machine under the benchmarks: BLAS environment, thread pinning, CPU and peak.

Two OpenBLAS variables that some machines set, ``OPENBLAS_CORETYPE`` and ``OPENBLAS_L2_SIZE``,
force a kernel and a cache size that can halve OpenBLAS's speed. They are read once, when
OpenBLAS loads, so :func:`unset_openblas_overrides` has to run before numpy (or scipy) is
imported; it is called by the benchmark entry points only (``bench/conftest.py`` and
``bench/report.py``), never by the test suite. The BLAS kernel OpenBLAS then chose is
recorded next to every figure (:func:`machine_info`), so a table says what it measured.
"""

from __future__ import annotations

import contextlib
import json
import os
import platform
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

OPENBLAS_OVERRIDES = ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")

# What the environment held before unset_openblas_overrides ran, and whether numpy was
# already loaded then (in which case OpenBLAS had read the variables and unsetting them was
# too late for this process).
_UNSET_STATE: dict[str, Any] = {"removed": {}, "numpy_was_loaded": None}


def unset_openblas_overrides() -> dict[str, str]:
    """Remove the OpenBLAS overrides from this process's environment.

    Returns
    -------
    dict
        The variables removed, with the values they had.
    """
    removed = {name: os.environ.pop(name) for name in OPENBLAS_OVERRIDES if name in os.environ}
    _UNSET_STATE["removed"].update(removed)
    if _UNSET_STATE["numpy_was_loaded"] is None:
        _UNSET_STATE["numpy_was_loaded"] = "numpy" in sys.modules
    return removed


def clean_blas_env(threads: int) -> dict[str, str]:
    """Return a copy of the environment for a child process: no overrides, pinned threads."""
    env = {k: v for k, v in os.environ.items() if k not in OPENBLAS_OVERRIDES}
    for name in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        env[name] = str(threads)
    return env


def cpu_model() -> str:
    """Return the CPU's model name (from /proc/cpuinfo, else the platform module)."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def cpu_count() -> int:
    """Return the number of CPUs this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1


def blas_info() -> list[dict[str, Any]]:
    """Return threadpoolctl's view of the BLAS and OpenMP libraries loaded in this process."""
    from threadpoolctl import threadpool_info

    keep = ("user_api", "internal_api", "prefix", "version", "architecture", "num_threads")
    return [{k: lib.get(k) for k in keep} for lib in threadpool_info()]


def blas_kernel() -> str:
    """Return a short description of numpy's BLAS: library, version and kernel."""
    import numpy as np  # noqa: F401  (loads numpy's BLAS, so threadpoolctl sees it)

    parts = []
    for lib in blas_info():
        if lib["user_api"] == "blas":
            parts.append(f"{lib['internal_api']} {lib['version']} {lib.get('architecture')}")
    return "; ".join(parts) or "unknown"


def machine_info() -> dict[str, Any]:
    """Return what a benchmark figure must carry: CPU, core count, BLAS kernel, environment."""
    info = {
        "cpu": cpu_model(),
        "cpus": cpu_count(),
        "blas": blas_kernel(),
        "python": platform.python_version(),
        "openblas_overrides_removed": sorted(_UNSET_STATE["removed"]),
        "openblas_overrides_now": {
            k: os.environ[k] for k in OPENBLAS_OVERRIDES if k in os.environ
        },
    }
    if _UNSET_STATE["numpy_was_loaded"]:
        info["warning"] = "numpy was loaded before the OpenBLAS overrides were removed"
    return info


@contextlib.contextmanager
def pinned_threads(threads: int) -> Iterator[None]:
    """Pin every BLAS and OpenMP pool in this process (and PyTorch's) to ``threads``.

    threadpoolctl reaches only the libraries already loaded, so import what a contender uses
    (numpy, scipy.linalg for Numba's BLAS, torch, tunecore._core) before entering.
    """
    from threadpoolctl import threadpool_limits

    torch = sys.modules.get("torch")
    old_torch = torch.get_num_threads() if torch is not None else None
    with threadpool_limits(limits=threads):
        if torch is not None:
            torch.set_num_threads(threads)
        try:
            yield
        finally:
            if torch is not None:
                torch.set_num_threads(old_torch)


_PEAK_SCRIPT = r"""
import json, sys, time
import numpy as np
from threadpoolctl import threadpool_limits, threadpool_info
n, repeats, threads = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
rng = np.random.default_rng(0)
a = rng.standard_normal((n, n), dtype=np.float32)
b = rng.standard_normal((n, n), dtype=np.float32)
c = np.empty((n, n), dtype=np.float32)
with threadpool_limits(limits=threads):
    np.matmul(a, b, out=c)
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        np.matmul(a, b, out=c)
        times.append(time.perf_counter() - t0)
arch = [lib.get("architecture") for lib in threadpool_info() if lib["user_api"] == "blas"]
print(json.dumps({"n": n, "threads": threads, "best_s": min(times), "times": times,
                  "gflops": 2.0 * n ** 3 / min(times) / 1e9, "architecture": arch}))
"""


def measure_peak(threads: int = 1, n: int = 4096, repeats: int = 5) -> dict[str, Any]:
    """Measure numpy's float32 matrix-product speed in a child process.

    The child runs with the OpenBLAS overrides removed and ``threads`` BLAS threads, multiplies
    two ``n`` x ``n`` float32 matrices ``repeats`` times after one warm-up product, and the
    best time gives ``2 n^3 / t`` FLOP/s.

    Returns
    -------
    dict
        ``gflops``, ``best_s``, ``times``, ``n``, ``threads`` and the BLAS ``architecture``.
    """
    out = subprocess.run(
        [sys.executable, "-c", _PEAK_SCRIPT, str(n), str(repeats), str(threads)],
        env=clean_blas_env(threads),
        check=True,
        capture_output=True,
        text=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])
