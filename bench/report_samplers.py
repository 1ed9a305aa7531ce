"""Print the speed ratios of tunecore's samplers over SciPy's.

    python bench/report_samplers.py              # runs bench/test_bench_samplers.py first
    python bench/report_samplers.py --threads 2  # the same, tunecore on 2 OpenMP threads
    python bench/report_samplers.py result.json  # reads a pytest-benchmark JSON file

By default the benchmarks run with ``OMP_NUM_THREADS=1``: SciPy's engines use one thread, so
one thread each compares the algorithms. (On a small shared machine a second thread often
slows a fill down: the fills are bound by memory and page faults, and the second thread waits
for a core.)

The ratio of a group is SciPy's median time over tunecore's (higher is faster); the targets
are those of the README's table. The ratio of the fastest rounds is printed too: on a shared
machine other work slows some rounds down, and the fastest round is the least disturbed.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile

TARGETS = {"sobol": 2.0, "halton": 10.0, "latin": 5.0}


def _run_benchmarks(path: str, threads: int) -> None:
    here = os.path.dirname(os.path.abspath(__file__))
    env = dict(os.environ, OMP_NUM_THREADS=str(threads))
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            os.path.join(here, "test_bench_samplers.py"),
            "-q",
            "-p",
            "no:cacheprovider",
            f"--benchmark-json={path}",
        ],
        check=True,
        cwd=os.path.dirname(here),
        env=env,
    )


def report(path: str) -> str:
    with open(path) as f:
        data = json.load(f)
    groups: dict[str, dict[str, float]] = {}
    for bench in data["benchmarks"]:
        who = "tunecore" if bench["name"].endswith("_tunecore") else "scipy"
        groups.setdefault(bench["group"], {})[who] = bench["stats"]["median"]
        groups[bench["group"]][who + "_min"] = bench["stats"]["min"]
    info = data["benchmarks"][0]["extra_info"] if data["benchmarks"] else {}
    header = (
        f"CPU: {info.get('cpu', '?')}, {info.get('cpus', '?')} cores, "
        f"OMP_NUM_THREADS={info.get('omp_num_threads', '?')}"
    )
    lines = [
        header,
        "",
        (
            f"| {'task':<28} | {'tunecore (ms)':>13} | {'scipy (ms)':>10} | {'ratio':>6} "
            f"| {'min ratio':>9} | target |"
        ),
        f"|{'-' * 30}|{'-' * 15}|{'-' * 12}|{'-' * 8}|{'-' * 11}|--------|",
    ]
    for group, times in sorted(groups.items()):
        ours, theirs = times.get("tunecore"), times.get("scipy")
        if ours is None or theirs is None:
            continue
        target = next((t for k, t in TARGETS.items() if group.startswith(k)), None)
        lines.append(
            f"| {group:<28} | {ours * 1e3:>13.1f} | {theirs * 1e3:>10.1f} | "
            f"{theirs / ours:>5.1f}x | {times['scipy_min'] / times['tunecore_min']:>8.1f}x | "
            f"{f'>= {target:g}x' if target else '':>6} |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("json", nargs="?", help="pytest-benchmark JSON file to read")
    parser.add_argument("--threads", type=int, default=1, help="OMP_NUM_THREADS (default 1)")
    args = parser.parse_args()
    if args.json:
        print(report(args.json))
        return
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "samplers.json")
        _run_benchmarks(path, args.threads)
        print(report(path))


if __name__ == "__main__":
    main()
