"""Measure tunecore against its peers and print the whole benchmark table in Markdown.

Runs without pytest: for every shape, thread count and contender it warms up, times whole
epochs until at least three are done and a second is spent, and takes the median; then the
32-configuration study, each contender three times (median) after a warm-up; then the
single-core and two-core peak of numpy's float32 matrix product (4096 x 4096, in a child
process). The machine (CPU model, cores, BLAS kernel, versions, load average) is printed
above the tables, and the targets of the speed work are checked at the end.

    python bench/report.py                  # the full table (several minutes on 2 cores)
    python bench/report.py --quick          # small data, a smoke run of the script
    python bench/report.py --json out.json  # also save every figure

The OpenBLAS overrides (OPENBLAS_CORETYPE, OPENBLAS_L2_SIZE) are removed from this process's
environment before numpy loads; see bench/conftest.py.
"""

from __future__ import annotations

import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(1, os.path.dirname(HERE))  # the repository root: tunecore built in place

from peers import machine

machine.unset_openblas_overrides()

import argparse
import datetime
import json
import statistics
from typing import Any

import numpy as np
from peers import CONTENDERS, Unavailable, versions
from peers.data import SHAPES, SYNTHETIC_SAMPLES, dataset
from peers.timing import measure_group


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def run_throughput(args: argparse.Namespace) -> list[dict[str, Any]]:
    rows = []
    shapes = [s for s in SHAPES if not args.shapes or s.id in args.shapes]
    for shape in shapes:
        X, y = dataset(shape, args.samples)
        for threads in args.threads:
            group, skipped = measure_group(
                args.contenders, shape, threads, X, y, min_time=args.min_time
            )
            for name, why in skipped.items():
                log(f"skip {name}: {why}")
            for row in group:
                log(
                    f"{shape.id:>22} {threads}t {row['contender']:>12}: "
                    f"{row['samples_per_s']:>12,.0f} samples/s {row['gflops']:7.1f} GFLOP/s "
                    f"({row['reps']} epochs, spread {row['spread']:.0%})"
                )
            rows.extend(group)
    return rows


def run_study(args: argparse.Namespace) -> list[dict[str, Any]]:
    from peers import study

    n, epochs = args.study_configs, args.study_epochs
    runs: list[tuple[str, int, Any]] = []
    try:
        from peers import make

        make("tunecore", (64, 10), 32)
        runs += [
            ("tunecore.train_many", t, lambda t=t: study.run_tunecore(n, epochs, t))
            for t in args.threads
        ]
    except Unavailable as exc:
        log(f"skip tunecore study: {exc}")
    try:
        import torch  # noqa: F401

        runs += [
            ("PyTorch loop (fused Adam)", t, lambda t=t: study.run_torch(n, epochs, t))
            for t in args.threads
        ]
    except ImportError as exc:
        log(f"skip PyTorch study: {exc}")
    runs.append(("RandomizedSearchCV (n_jobs=2)", 2, lambda: study.run_sklearn(n, epochs, 2)))

    rows = []
    for label, threads, fn in runs:
        fn()  # warm-up: imports, Numba/torch caches, joblib's worker processes
        outs = [fn() for _ in range(args.study_repeats)]
        seconds = [o["seconds"] for o in outs]
        row = {
            "contender": label,
            "threads": threads,
            "configs": n,
            "epochs": epochs,
            "median_s": statistics.median(seconds),
            "all_s": seconds,
            "best_val_accuracy": outs[0]["best_val_accuracy"],
        }
        log(
            f"study {label} {threads}t: {row['median_s']:.2f} s, "
            f"best {row['best_val_accuracy']:.4f}"
        )
        rows.append(row)
    return rows


def run_memory(args: argparse.Namespace) -> dict[str, Any] | None:
    from peers import make
    from peers.memory import memory_report

    try:
        make("tunecore", (64, 10), 32)
    except Unavailable as exc:
        log(f"skip memory: {exc}")
        return None
    threads = max(args.threads)
    report = memory_report(64, n=args.samples, hidden=(128, 128), batch=128, threads=threads)
    log(f"memory: {report}")
    return report


def memory_text(m: dict[str, Any]) -> str:
    one, many = m["one"], m["many"]
    mb = 1 / 2**20
    return "\n".join(
        [
            (
                f"### Memory: train_many, {many['trials']} trials of 784-128-128-10, batch "
                f"{many['batch']}, one epoch on {many['n']:,} samples, {many['threads']} threads\n"
            ),
            f"- data (float32 X, int32 y): {many['data_bytes'] * mb:.0f} MiB",
            (
                "- peak resident memory above the data: "
                f"1 trial {one['extra_bytes'] * mb:.1f} MiB, "
                f"{many['trials']} trials {many['extra_bytes'] * mb:.1f} MiB "
                f"({m['per_trial_bytes'] * mb:.2f} MiB per extra trial)"
            ),
            (
                f"- by design: a running trial's workspace {m['workspace_bytes'] * mb:.2f} MiB, a "
                f"trained model's weights {m['model_bytes'] * mb:.2f} MiB"
            ),
            f"- wall time of the {many['trials']} trials: {many['seconds']:.1f} s"
            + (
                ""
                if many["peak_reset"]
                else " (peak counter could not be reset: the data's generation may be included)"
            ),
        ]
    )


def _fmt_int(x: float) -> str:
    return f"{x:,.0f}"


def throughput_table(rows: list[dict[str, Any]], peaks: dict[int, float]) -> str:
    best = {
        (r["shape"], r["batch"], r["threads"]): r["samples_per_s"]
        for r in rows
        if r["contender"] == "tunecore"
    }
    lines = [
        "| contender | threads | shape | batch | samples/s | GFLOP/s | % of peak | tunecore × |",
        "|---|---:|---|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        peak = peaks.get(1)
        pct = f"{100 * r['gflops'] / (peak * r['threads']):.0f}%" if peak else "-"
        ref = best.get((r["shape"], r["batch"], r["threads"]))
        ratio = f"{ref / r['samples_per_s']:.2f}" if ref else "-"
        lines.append(
            f"| {r['contender']} | {r['threads']} | {r['shape']} | {r['batch']} | "
            f"{_fmt_int(r['samples_per_s'])} | {r['gflops']:.1f} | {pct} | {ratio} |"
        )
    return "\n".join(lines)


def summary_table(rows: list[dict[str, Any]], peaks: dict[int, float]) -> str:
    """The README's table: per shape and thread count, tunecore's samples/s and share of the
    peak, and how many times faster it is than each peer."""
    peers = [c for c in CONTENDERS if c != "tunecore"]
    header = "| shape | batch | threads | tunecore samples/s | % of peak | " + " | ".join(
        f"× {p}" for p in peers
    )
    lines = [header + " |", "|---|---:|---:|---:|---:|" + "---:|" * len(peers)]
    for r in rows:
        if r["contender"] != "tunecore":
            continue
        peak = peaks.get(1)
        pct = f"{100 * r['gflops'] / (peak * r['threads']):.0f}%" if peak else "-"
        cells = []
        for p in peers:
            other = _find(rows, p, r["shape"], r["batch"], r["threads"])
            cells.append(f"{r['samples_per_s'] / other['samples_per_s']:.2f}" if other else "-")
        lines.append(
            f"| {r['shape']} | {r['batch']} | {r['threads']} | {_fmt_int(r['samples_per_s'])} "
            f"| {pct} | " + " | ".join(cells) + " |"
        )
    return "\n".join(lines)


def study_table(rows: list[dict[str, Any]]) -> str:
    ref = min((r["median_s"] for r in rows if r["contender"].startswith("tunecore")), default=None)
    lines = [
        (
            "| contender | threads | configs × epochs | wall s (median) | best val accuracy "
            "| tunecore × |"
        ),
        "|---|---:|---|---:|---:|---:|",
    ]
    for r in rows:
        ratio = f"{r['median_s'] / ref:.2f}" if ref else "-"
        lines.append(
            f"| {r['contender']} | {r['threads']} | {r['configs']} × {r['epochs']} | "
            f"{r['median_s']:.2f} | {r['best_val_accuracy']:.4f} | {ratio} |"
        )
    return "\n".join(lines)


def _find(rows, contender, shape, batch, threads=1):
    for r in rows:
        if (r["contender"], r["shape"], r["batch"], r["threads"]) == (
            contender,
            shape,
            batch,
            threads,
        ):
            return r
    return None


def targets_table(
    rows: list[dict[str, Any]], study_rows: list[dict[str, Any]], peaks: dict[int, float]
) -> str:
    """The speed targets, each with the measured figure (1 thread unless said)."""
    checks: list[tuple[str, float | None, float, str]] = []

    def ratio(a, b):
        return a["samples_per_s"] / b["samples_per_s"] if a and b else None

    tc = _find(rows, "tunecore", "64-64-10", 32)
    checks.append(
        (
            "64-64-10 b32: tunecore / Numba+BLAS",
            ratio(tc, _find(rows, "numba", "64-64-10", 32)),
            2.0,
            "×",
        )
    )
    torch_best = max(
        (
            r
            for r in rows
            if r["contender"].startswith("torch")
            and r["shape"] == "64-64-10"
            and r["threads"] == 1
        ),
        key=lambda r: r["samples_per_s"],
        default=None,
    )
    checks.append(
        ("64-64-10 b32: tunecore / best PyTorch eager", ratio(tc, torch_best), 20.0, "×")
    )
    peak = peaks.get(1)
    for shape, batch, target in (("784-128-128-10", 128, 0.70), ("784-512-512-10", 512, 0.80)):
        r = _find(rows, "tunecore", shape, batch)
        checks.append(
            (
                f"{shape} b{batch}: tunecore share of 1-core peak",
                r["gflops"] / peak if r and peak else None,
                target,
                "of peak",
            )
        )
    s = {(r["contender"], r["threads"]): r["median_s"] for r in study_rows}
    tc2 = s.get(("tunecore.train_many", 2))
    sk = s.get(("RandomizedSearchCV (n_jobs=2)", 2))
    torch_loop = min((v for (c, _), v in s.items() if c.startswith("PyTorch")), default=None)
    checks.append(
        (
            "study: RandomizedSearchCV / train_many (2 threads)",
            sk / tc2 if sk and tc2 else None,
            4.0,
            "×",
        )
    )
    checks.append(
        (
            "study: best PyTorch loop / train_many (2 threads)",
            torch_loop / tc2 if torch_loop and tc2 else None,
            6.0,
            "×",
        )
    )
    tc1 = s.get(("tunecore.train_many", 1))
    checks.append(
        ("study: train_many 1 thread / 2 threads", tc1 / tc2 if tc1 and tc2 else None, 1.9, "×")
    )

    lines = ["| target | measured | wanted | met |", "|---|---:|---:|---|"]
    for label, value, want, unit in checks:
        wanted = f"≥ {100 * want:.0f}%" if unit == "of peak" else f"≥ {want:g}×"
        if value is None:
            lines.append(f"| {label} | - | {wanted} | not measured |")
            continue
        shown = f"{100 * value:.0f}%" if unit == "of peak" else f"{value:.2f}×"
        lines.append(f"| {label} | {shown} | {wanted} | {'yes' if value >= want else 'no'} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument(
        "--samples",
        type=int,
        default=SYNTHETIC_SAMPLES,
        help="synthetic samples per epoch (default 60000)",
    )
    p.add_argument("--threads", default="1,2", help="thread counts, comma-separated")
    p.add_argument("--contenders", default=",".join(CONTENDERS))
    p.add_argument("--shapes", default="", help="shape ids, e.g. 784-128-128-10-b128")
    p.add_argument("--min-time", type=float, default=1.0, help="seconds of epochs per figure")
    p.add_argument("--study-configs", type=int, default=32)
    p.add_argument("--study-epochs", type=int, default=10)
    p.add_argument("--study-repeats", type=int, default=3)
    p.add_argument("--no-study", action="store_true")
    p.add_argument("--no-throughput", action="store_true")
    p.add_argument(
        "--no-memory",
        action="store_true",
        help="skip train_many's memory figure (64 trials of 784-128-128-10)",
    )
    p.add_argument("--quick", action="store_true", help="small data: checks the script runs")
    p.add_argument("--json", default=None, help="also write every figure to this file")
    p.add_argument(
        "--summary",
        default=None,
        metavar="JSON",
        help="print the README's summary tables from a file --json wrote, and run nothing",
    )
    args = p.parse_args(argv)
    if args.summary:
        with open(args.summary, encoding="utf-8") as f:
            saved = json.load(f)
        peaks = {int(t): g for t, g in saved["peaks"].items()}
        print(summary_table(saved["throughput"], peaks) + "\n")
        print(study_table(saved["study"]) + "\n")
        print(targets_table(saved["throughput"], saved["study"], peaks))
        return 0
    args.threads = [int(t) for t in args.threads.split(",")]
    args.contenders = [c for c in args.contenders.split(",") if c]
    args.shapes = [s for s in args.shapes.split(",") if s]
    if args.quick:
        args.samples, args.min_time = min(args.samples, 4096), 0.1
        args.study_configs, args.study_epochs, args.study_repeats = 4, 2, 1
        args.no_memory = True

    started = datetime.datetime.now().astimezone()
    load = os.getloadavg()
    info = machine.machine_info()
    info["versions"] = versions()
    log(f"machine: {info}")

    peaks = {t: machine.measure_peak(t)["gflops"] for t in sorted({1, *args.threads})}
    log(f"peaks: {peaks}")
    rows = [] if args.no_throughput else run_throughput(args)
    study_rows = [] if args.no_study else run_study(args)
    memory = None if args.no_memory else run_memory(args)
    load_end = os.getloadavg()

    print(f"## tunecore benchmarks, {started:%Y-%m-%d %H:%M %Z}\n")
    print(f"- CPU: {info['cpu']}, {info['cpus']} cores available")
    print(f"- BLAS (numpy): {info['blas']}")
    removed = ", ".join(info["openblas_overrides_removed"]) or "none set"
    print(f"- OpenBLAS overrides removed: {removed}")
    print("- versions: " + ", ".join(f"{k} {v}" for k, v in info["versions"].items()))
    print(f"- load average (1 min) at start / end: {load[0]:.2f} / {load_end[0]:.2f}")
    peak_text = ", ".join(f"{t} thread{'s' if t > 1 else ''}: {g:.1f}" for t, g in peaks.items())
    print(f"- numpy float32 4096³ matmul peak, GFLOP/s: {peak_text}")
    print(f"- synthetic set: {args.samples:,} samples; figures are medians of whole epochs\n")
    if rows:
        print(
            "### One epoch, Adam lr 1e-3 (samples/s; tunecore × = tunecore's samples/s ÷ the "
            "row's, same shape and threads; % of peak against the 1-thread peak × threads)\n"
        )
        print(throughput_table(rows, peaks) + "\n")
        print("### tunecore against each peer (× = tunecore's samples/s ÷ the peer's)\n")
        print(summary_table(rows, peaks) + "\n")
    if study_rows:
        n, e = args.study_configs, args.study_epochs
        print(
            f"### Study: {n} random configurations × {e} epochs on digits (80/20 split; "
            f"median of {args.study_repeats} after a warm-up; tunecore × = wall ÷ fastest "
            "tunecore)\n"
        )
        print(study_table(study_rows) + "\n")
    if memory:
        print(memory_text(memory) + "\n")
    if rows or study_rows:
        print("### Targets\n")
        print(targets_table(rows, study_rows, peaks))
    if args.json:
        with open(args.json, "w", encoding="utf-8") as f:
            json.dump(
                {
                    "started": started.isoformat(),
                    "machine": info,
                    "load": [load, load_end],
                    "peaks": peaks,
                    "throughput": rows,
                    "study": study_rows,
                    "memory": memory,
                },
                f,
                indent=1,
                default=lambda o: o.tolist() if isinstance(o, np.ndarray) else str(o),
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
