"""Peak memory of ``train_many``: the shared data plus one workspace per trial.

Measured in a child process (so nothing else the benchmark loaded counts): the child builds
the synthetic set, notes its resident memory, resets the kernel's peak counter, trains
``trials`` configurations of one epoch with ``train_many`` and reports the peak resident
memory (VmHWM) above that baseline. :func:`memory_report` runs it for 1 trial and for
``trials``, so the difference divided by ``trials - 1`` is the cost of one more trial. Set
beside it: the workspace a running trial needs by design (weights, gradients and Adam's two
moments, 4 floats per parameter; a batch of activations and their gradients; the shuffle
order), of which at most ``threads`` are alive at once if workspaces are freed as trials end,
and the trained weights every result keeps (1 float per parameter).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from typing import Any

from .machine import clean_blas_env

_SCRIPT = r"""
import json, sys, time
sys.path[:0] = sys.argv[1:3]
import numpy as np
from peers.data import synthetic
from tunecore import training

def status(key):
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(key):
                return int(line.split()[1]) * 1024
trials, n, batch, threads = (int(a) for a in sys.argv[3:7])
hidden = tuple(int(h) for h in sys.argv[7].split("-"))
X, y = synthetic(n)
y32 = y.astype(np.int32)
base = status("VmRSS:")
try:  # reset the peak to the current resident size: the data's generation does not count
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")
    reset = True
except OSError:
    reset = False
configs = [{"hidden": hidden, "batch_size": batch, "epochs": 1, "lr": 1e-3, "seed": i}
           for i in range(trials)]
t0 = time.perf_counter()
results = training.train_many(X, y32, configs, threads=threads)
seconds = time.perf_counter() - t0
print(json.dumps({"data_bytes": int(X.nbytes + y32.nbytes), "baseline_rss": base,
                  "peak_rss": status("VmHWM:"), "seconds": seconds,
                  "ok": sum(r.status == "ok" for r in results),
                  "peak_reset": reset}))
"""


def workspace_bytes(sizes: tuple[int, ...], batch: int, n: int) -> int:
    """What one trial needs by design: 4 floats per parameter, a batch of activations and
    their gradients (float32), and the epoch's shuffle order (int64)."""
    params = sum(i * o + o for i, o in zip(sizes[:-1], sizes[1:]))
    return 4 * 4 * params + 2 * 4 * batch * sum(sizes) + 8 * n


def measure_train_many_memory(
    trials: int = 64,
    n: int = 60_000,
    hidden: tuple[int, ...] = (128, 128),
    batch: int = 128,
    threads: int = 2,
) -> dict[str, Any]:
    """Peak memory of ``train_many`` over ``trials`` one-epoch trainings, in a child process."""
    here = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    root = os.path.dirname(here)
    args = [str(trials), str(n), str(batch), str(threads), "-".join(map(str, hidden))]
    out = subprocess.run(
        [sys.executable, "-c", _SCRIPT, here, root, *args],
        env=clean_blas_env(threads),
        check=True,
        capture_output=True,
        text=True,
    )
    res = json.loads(out.stdout.strip().splitlines()[-1])
    res.update(
        trials=trials,
        n=n,
        hidden=list(hidden),
        batch=batch,
        threads=threads,
        extra_bytes=res["peak_rss"] - res["baseline_rss"],
    )
    return res


def memory_report(trials: int = 64, **kwargs: Any) -> dict[str, Any]:
    """Peak memory above the data for 1 and for ``trials`` trials, and the cost per trial."""
    one = measure_train_many_memory(trials=1, **kwargs)
    many = measure_train_many_memory(trials=trials, **kwargs)
    per_trial = (many["extra_bytes"] - one["extra_bytes"]) / (trials - 1)
    sizes = (784, *many["hidden"], 10)
    return {
        "one": one,
        "many": many,
        "per_trial_bytes": per_trial,
        "workspace_bytes": workspace_bytes(sizes, many["batch"], many["n"]),
        "model_bytes": 4 * sum(i * o + o for i, o in zip(sizes[:-1], sizes[1:])),
    }
