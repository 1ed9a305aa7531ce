"""The 32-configuration study on digits: tunecore.train_many, a loop of PyTorch trainings, and
scikit-learn's RandomizedSearchCV over MLPClassifier (n_jobs=2), timed in one group.

extra_info carries the wall time, the best validation accuracy and the configurations'
count; with --benchmark-disable the study shrinks to 4 configurations of 3 epochs and the
tests check that each contender trains the same configurations to a sound accuracy.
"""

from __future__ import annotations

import pytest
from peers import Unavailable, make

N_CONFIGS, EPOCHS = 32, 10
QUICK_CONFIGS, QUICK_EPOCHS = 4, 3


@pytest.fixture(scope="module")
def study_size(bench_quick):
    return (QUICK_CONFIGS, QUICK_EPOCHS) if bench_quick else (N_CONFIGS, EPOCHS)


def _record(benchmark, out, contender, threads, n_configs, epochs, machine):
    benchmark.extra_info.update(
        contender=contender,
        threads=threads,
        configs=n_configs,
        epochs=epochs,
        best_val_accuracy=out["best_val_accuracy"],
        wall_s=out["seconds"],
        cpu=machine["cpu"],
        cpus=machine["cpus"],
        blas=machine["blas"],
    )


def _rounds(bench_quick):
    return {"rounds": 1, "iterations": 1} if bench_quick else {"rounds": 3, "iterations": 1}


@pytest.mark.parametrize("threads", [1, 2], ids=["1t", "2t"])
def test_study_tunecore(benchmark, threads, study_size, bench_quick, machine):
    try:
        make("tunecore", (64, 10), 32)
    except Unavailable as exc:
        pytest.skip(str(exc))
    from peers.study import run_tunecore

    n_configs, epochs = study_size
    benchmark.group = "study digits"
    out = benchmark.pedantic(
        run_tunecore, args=(n_configs, epochs, threads), **_rounds(bench_quick)
    )
    _record(benchmark, out, "tunecore.train_many", threads, n_configs, epochs, machine)
    assert len(out["val_accuracy"]) == n_configs
    assert out["best_val_accuracy"] >= 0.85


@pytest.mark.parametrize("threads", [1, 2], ids=["1t", "2t"])
def test_study_torch_loop(benchmark, threads, study_size, bench_quick, machine):
    try:
        make("torch", (64, 10), 32)
    except Unavailable as exc:
        pytest.skip(str(exc))
    from peers.study import run_torch

    n_configs, epochs = study_size
    benchmark.group = "study digits"
    out = benchmark.pedantic(run_torch, args=(n_configs, epochs, threads), **_rounds(bench_quick))
    _record(benchmark, out, "torch loop (fused Adam)", threads, n_configs, epochs, machine)
    assert len(out["val_accuracy"]) == n_configs
    assert out["best_val_accuracy"] >= 0.85


def test_study_sklearn_search(benchmark, study_size, bench_quick, machine):
    from peers.study import run_sklearn, sample_configs

    n_configs, epochs = study_size
    benchmark.group = "study digits"
    out = benchmark.pedantic(run_sklearn, args=(n_configs, epochs, 2), **_rounds(bench_quick))
    _record(benchmark, out, "RandomizedSearchCV n_jobs=2", 2, n_configs, epochs, machine)
    # The search trained exactly the configurations the other contenders train.
    assert out["params"] == sample_configs(n_configs)
    assert out["best_val_accuracy"] >= 0.85


def test_study_configs_cover_the_space():
    """32 configurations: lr within [1e-4, 1e-1], batch within 32..256, 1-2 layers of one
    width within 16..256, and reproducible from the seed."""
    import numpy as np
    from peers.study import sample_configs, to_train_kwargs

    configs = sample_configs(32)
    assert configs == sample_configs(32)
    kw = [to_train_kwargs(p, 10, i) for i, p in enumerate(configs)]
    lrs = np.array([k["lr"] for k in kw])
    assert lrs.min() >= 1e-4 and lrs.max() <= 1e-1
    assert np.log10(lrs).max() - np.log10(lrs).min() > 1.5  # log-uniform spreads decades
    assert all(32 <= k["batch_size"] <= 256 for k in kw)
    assert {len(k["hidden"]) for k in kw} == {1, 2}
    assert all(len(set(k["hidden"])) == 1 and 16 <= k["hidden"][0] <= 256 for k in kw)


def test_accuracy_report_prints_each_contenders_best_and_mean(capsys):
    """bench/report_study_accuracy.py: one row per contender, its best validation accuracy
    for each seed and their mean."""
    import report_study_accuracy

    assert report_study_accuracy.main(["--seeds", "2", "--configs", "2", "--epochs", "2"]) == 0
    rows = [line for line in capsys.readouterr().out.splitlines() if line.startswith("| ")]
    body = {r.split(" | ")[0][2:]: r.strip("| ").split(" | ")[1:] for r in rows[1:]}
    assert {"tunecore.train_many", "RandomizedSearchCV"} <= set(body)
    for cells in body.values():
        best = [float(c) for c in cells]
        assert len(best) == 3 and all(0.0 < b <= 1.0 for b in best[:2])
        assert abs(best[2] - (best[0] + best[1]) / 2) < 1e-4
