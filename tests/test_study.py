"""The study loop: budgets, failures, seeds, parallel workers, resume after kill -9, exports."""

from __future__ import annotations

import csv
import json
import math
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from child_env import child_env

from tunecore._seeding import child_seed
from tunecore.space import Choice, Float, Int, Space
from tunecore.storage import Storage
from tunecore.strategies import Budget, CoarseToFine, GridSearch, RandomSearch, Tier, TierBudget
from tunecore.study import Study
from tunecore.trial import COMPLETE, DIVERGED, FAILED, INTERRUPTED

ROOT = Path(__file__).resolve().parents[1]
SPACE = Space({"x": Float(0.0, 1.0), "y": Float(1e-3, 1.0, scale="log")})


def quadratic(params):
    return (params["x"] - 0.3) ** 2 + (math.log10(params["y"]) + 1.0) ** 2


def flaky(params):
    """Fails above x = 0.8, diverges below x = 0.2 (NaN) and at inf for 0.2..0.25."""
    if params["x"] > 0.8:
        raise RuntimeError(f"x={params['x']:.3f} is too large")
    if params["x"] < 0.2:
        return float("nan")
    if params["x"] < 0.25:
        return float("inf")
    return quadratic(params)


def slow_quadratic(params):
    time.sleep(0.03)
    return quadratic(params)


def with_seed(params, seed):
    return {"value": quadratic(params), "seed_seen": float(seed % 1000)}


@pytest.mark.filterwarnings("ignore:The balance properties of Sobol")
def test_study_runs_random_search_and_finds_the_best():
    study = Study.create(
        "s", quadratic, RandomSearch(SPACE, 40, sampler="sobol"), storage=":memory:", seed=3
    )
    study.run(progress=False)
    trials = study.trials
    assert len(trials) == 40 and all(t.status == COMPLETE for t in trials)
    assert [t.params for t in trials] == SPACE.sample(40, sampler="sobol", seed=3)
    best = min(trials, key=lambda t: t.value)
    assert study.best_trial == best
    assert study.best_value == pytest.approx(quadratic(best.params))
    assert study.strategy.finished


def test_study_maximize_picks_the_largest_value():
    study = Study.create(
        "s",
        lambda p: -quadratic(p),
        GridSearch(SPACE, 4),
        storage=":memory:",
        direction="maximize",
    )
    study.run(progress=False)
    assert study.best_value == max(t.value for t in study.trials)


def test_study_failed_and_diverged_trials_have_reasons_and_never_win():
    study = Study.create(
        "s", flaky, RandomSearch(SPACE, 40, sampler="random"), storage=":memory:", seed=0
    )
    study.run(progress=False)
    trials = study.trials
    statuses = {t.status for t in trials}
    assert statuses == {COMPLETE, FAILED, DIVERGED}
    for trial in trials:
        x = trial.params["x"]
        if x > 0.8:
            assert trial.status == FAILED and trial.value is None
            assert trial.reason == f"RuntimeError: x={x:.3f} is too large"
        elif x < 0.2:
            assert trial.status == DIVERGED and trial.reason == "the objective returned nan"
        elif x < 0.25:
            assert trial.status == DIVERGED and trial.reason == "the objective returned inf"
        else:
            assert trial.status == COMPLETE
    assert 0.25 <= study.best_trial.params["x"] <= 0.8


def test_study_bad_return_value_fails_the_trial():
    study = Study.create("s", lambda p: "not a number", RandomSearch(SPACE, 2), storage=":memory:")
    study.run(progress=False)
    assert {t.reason for t in study.trials} == {
        "the objective must return a number or a dict, got 'not a number'"
    }
    assert study.best_trial is None


def huge_or_ragged(params):
    if params["x"] < 0.3:
        return 10**400  # too large for a float
    if params["x"] < 0.6:
        return {"value": params["x"], "curve": [[1.0], [1.0, 2.0]]}  # a ragged history
    return params["x"]


def test_study_goes_on_past_results_that_are_not_floats():
    study = Study.create("s", huge_or_ragged, RandomSearch(SPACE, 12), storage=":memory:")
    study.run(progress=False)
    assert len(study.trials) == 12
    assert {t.status for t in study.trials} == {COMPLETE, FAILED, DIVERGED}
    for trial in study.trials:
        x = trial.params["x"]
        if x < 0.3:
            assert trial.status == DIVERGED and "OverflowError" in trial.reason
        elif x < 0.6:
            assert trial.status == FAILED and trial.reason.startswith("the objective's result")
        else:
            assert trial.status == COMPLETE and trial.value == x
    assert study.best_trial.params["x"] >= 0.6


def test_study_trial_seed_is_child_of_study_seed():
    study = Study.create("s", with_seed, RandomSearch(SPACE, 5), storage=":memory:", seed=42)
    study.run(progress=False)
    for trial in study.trials:
        assert trial.seed == child_seed(42, trial.number)
        assert trial.metrics["seed_seen"] == float(trial.seed % 1000)


def test_study_trial_budget_and_run_budget():
    study = Study.create(
        "s", quadratic, RandomSearch(SPACE, None), storage=":memory:", budget=Budget(trials=12)
    )
    study.run(budget=Budget(trials=5), progress=False)
    assert len(study.trials) == 5
    study.run(budget={"trials": 5}, progress=False)
    assert len(study.trials) == 10
    study.run(progress=False)
    assert len(study.trials) == 12
    study.run(progress=False)
    assert len(study.trials) == 12


def test_study_epoch_budget_counts_reported_epochs():
    study = Study.create(
        "s",
        lambda p: {"value": quadratic(p), "epochs": 3},
        RandomSearch(SPACE, None),
        storage=":memory:",
        budget=Budget(epochs=10),
    )
    study.run(progress=False)
    assert [t.epochs for t in study.trials] == [3, 3, 3, 3]
    assert study.usage().epochs == 12


def test_study_seconds_budget_stops_starting_trials_in_time():
    study = Study.create(
        "s",
        slow_quadratic,
        RandomSearch(SPACE, None),
        storage=":memory:",
        budget=Budget(seconds=0.6),
    )
    start = time.monotonic()
    study.run(progress=False)
    elapsed = time.monotonic() - start
    # The last trial started before 0.6 s and took ~0.03 s: the study ends within one trial
    # (plus slack for a busy machine); without the budget it would never end.
    assert 0.6 <= elapsed < 0.6 + 0.3
    pairs = study.storage.trials_with_times(study.id)
    assert max(times["clock_start"] for _, times in pairs) < 0.6
    assert 0.6 <= study.usage().seconds < 0.9


def test_study_process_pool_gives_the_serial_results():
    serial = Study.create("a", quadratic, RandomSearch(SPACE, 8), storage=":memory:", seed=5)
    serial.run(progress=False)
    pooled = Study.create("b", quadratic, RandomSearch(SPACE, 8), storage=":memory:", seed=5)
    pooled.run(n_jobs=2, progress=False)
    assert [(t.number, t.params, t.value) for t in pooled.trials] == [
        (t.number, t.params, t.value) for t in serial.trials
    ]


def test_study_process_pool_records_worker_exceptions():
    study = Study.create(
        "s", flaky, RandomSearch(SPACE, 12, sampler="random"), storage=":memory:", seed=0
    )
    study.run(n_jobs=2, progress=False)
    failed = [t for t in study.trials if t.status == FAILED]
    assert failed and all(t.reason.startswith("RuntimeError: x=") for t in failed)


def aborts_when_large(params):
    if params["x"] > 0.7:
        os.abort()  # the worker's interpreter dies, as with a crash in native code
    return params["x"]


@pytest.mark.parametrize("seed, n_jobs", [(2, 2), (5, 3)])
def test_a_worker_that_dies_fails_only_the_trial_that_killed_it(seed, n_jobs):
    # The trials in flight beside a crash break with the pool; they re-run alone and complete,
    # and only the trials whose own run kills the worker are failed.
    study = Study.create(
        "s", aborts_when_large, RandomSearch(SPACE, 12), storage=":memory:", seed=seed
    )
    study.run(n_jobs=n_jobs, progress=False)
    trials = study.trials
    assert len(trials) == 12 and {t.number for t in trials} == set(range(12))
    crashes = [t.number for t in trials if t.params["x"] > 0.7]
    assert crashes, "the seed must draw at least one crashing trial"
    failed = [t.number for t in trials if t.status == FAILED]
    assert failed == crashes
    for trial in trials:
        if trial.number in crashes:
            assert "worker process died while this trial ran alone" in trial.reason
        else:
            assert trial.status == COMPLETE and trial.value == trial.params["x"]
    assert study.best_trial.params["x"] <= 0.7


def dies(params):
    os.kill(os.getpid(), signal.SIGKILL)


def test_trials_broken_by_a_dead_worker_do_not_re_run_after_the_budget():
    from tunecore.executors import Job, ProcessExecutor
    from tunecore.objectives import CallableObjective
    from tunecore.trial import INTERRUPTED

    executor = ProcessExecutor(CallableObjective(dies), 2)
    try:
        # Each kills its worker, or is broken by the other's doing so, whatever the timing.
        executor.submit([Job(0, {"x": 0.9}, seed=0), Job(1, {"x": 0.1}, seed=1)])
        spent = time.monotonic() - 1.0  # the budget ran out before the crash showed
        finished = []
        while executor.in_flight:
            finished += executor.wait(deadline=spent)
    finally:
        executor.close()
    # Both broke a pool; neither may start again, so neither is judged (which one killed it
    # is not known): both stay interrupted, for a resumed study to run.
    assert sorted(j.number for j, _ in finished) == [0, 1]
    for _, outcome in finished:
        assert outcome.status == INTERRUPTED
        assert "budget's time ran out before its re-run" in outcome.reason


def test_study_create_refuses_a_taken_name_and_loads_on_request(tmp_path):
    path = tmp_path / "s.db"
    Study.create("s", quadratic, RandomSearch(SPACE, 3), storage=path).run(progress=False)
    with pytest.raises(ValueError, match="name must be a study name not yet in"):
        Study.create("s", quadratic, RandomSearch(SPACE, 3), storage=path)
    again = Study.create("s", quadratic, RandomSearch(SPACE, 3), storage=path, load_if_exists=True)
    assert len(again.trials) == 3


def test_study_loaded_without_objective_reads_but_does_not_run(tmp_path):
    path = tmp_path / "s.db"
    Study.create("s", quadratic, RandomSearch(SPACE, 4), storage=path, seed=1).run(progress=False)
    study = Study.load(path, "s")
    assert len(study.trials) == 4 and study.seed == 1 and study.space == SPACE
    with pytest.raises(RuntimeError, match="objective must be given to run a study loaded"):
        study.run(progress=False)


def _tier_strategy():
    tiers = [
        Tier("x", Space({"x": Float(0.0, 1.0, default=0.5)})),
        Tier(
            "y",
            Space({"y": Float(1e-3, 1.0, scale="log", default=0.1)}),
            search="coarse_to_fine",
            round_size=4,
        ),
        Tier("z", Space({"n": Int(1, 4, default=1), "c": Choice(["a", "b"], default="a")})),
    ]
    return TierBudget(tiers, shares=(0.4, 0.4, 0.2), budget=Budget(trials=30), patience=6)


def fast_quadratic(params):
    time.sleep(0.01)
    return quadratic(params)


def test_study_tier_budget_seconds_shares_within_five_percent():
    # Tiers of 0.5 / 0.3 / 0.2 of 2 s, trials of ~0.01 s run by the real study loop.
    shares = (0.5, 0.3, 0.2)
    tiers = [
        Tier("x", Space({"x": Float(0.0, 1.0, default=0.5)})),
        Tier("y", Space({"y": Float(1e-3, 1.0, scale="log", default=0.1)})),
        Tier("n", Space({"n": Int(1, 4, default=1)})),
    ]
    strategy = TierBudget(tiers, shares=shares, budget=Budget(seconds=2.0), patience=10_000)
    study = Study.create("t", fast_quadratic, strategy, storage=":memory:")
    study.run(progress=False)
    timeline = study.strategy.timeline
    assert [row["tier"] for row in timeline] == [0, 1, 2]
    for row, share in zip(timeline, shares):
        assert abs(row["used"] - share * 2.0) <= 0.05 * 2.0
        assert row["end"] is not None
    assert study.usage().seconds <= 2.0 * 1.05
    tiers_in_order = [t.tier for t in study.trials]
    assert tiers_in_order == sorted(tiers_in_order)


def _resume_child(path: str) -> None:  # pragma: no cover - runs in a subprocess
    study = Study.create("r", slow_quadratic, _tier_strategy(), storage=path, seed=11)
    study.run(progress=False)


def test_study_resume_after_sigkill_matches_an_uninterrupted_run(tmp_path):
    path = tmp_path / "killed.db"
    env = child_env()
    child = subprocess.Popen(
        [sys.executable, "-c", f"import test_study; test_study._resume_child({str(path)!r})"],
        env=env,
    )
    try:
        deadline = time.monotonic() + 60
        done = 0
        while done < 10 and time.monotonic() < deadline and child.poll() is None:
            time.sleep(0.02)
            try:
                conn = sqlite3.connect(path, timeout=5)
                done = conn.execute(
                    "SELECT COUNT(*) FROM trials WHERE status = 'complete'"
                ).fetchone()[0]
                conn.close()
            except sqlite3.OperationalError:
                done = 0  # the file or its tables do not exist yet
        assert child.poll() is None, "the study finished before it could be killed"
        os.kill(child.pid, signal.SIGKILL)
    finally:
        child.wait(timeout=30)
    assert child.returncode == -signal.SIGKILL

    before = {t.number: t for t in Storage(path).trials(1, statuses=[COMPLETE])}
    assert 10 <= len(before) < 30
    resumed = Study.load(path, "r", objective=slow_quadratic)
    resumed.run(progress=False)

    fresh = Study.create("r", slow_quadratic, _tier_strategy(), storage=":memory:", seed=11)
    fresh.run(progress=False)

    after = resumed.trials
    assert all(t.status == COMPLETE for t in after)
    for number, trial in before.items():  # every trial finished before the kill is intact
        assert after[number] == trial
    assert [(t.params, t.seed, t.tier, t.round, t.value) for t in after] == [
        (t.params, t.seed, t.tier, t.round, t.value) for t in fresh.trials
    ]
    assert resumed.best_trial.params == fresh.best_trial.params
    assert resumed.strategy.tier_best == fresh.strategy.tier_best


def _worker_child(path: str) -> None:  # pragma: no cover - runs in a subprocess
    Study.load(path, "m", objective=slow_quadratic).run(progress=False)


def test_study_three_processes_share_one_study_without_losing_or_doubling_trials(tmp_path):
    path = tmp_path / "shared.db"
    Study.create(
        "m", slow_quadratic, RandomSearch(SPACE, 30, sampler="halton"), storage=path, seed=6
    )
    env = child_env()
    children = [
        subprocess.Popen(
            [sys.executable, "-c", f"import test_study; test_study._worker_child({str(path)!r})"],
            env=env,
        )
        for _ in range(3)
    ]
    for child in children:
        assert child.wait(timeout=120) == 0
    trials = Study.load(path, "m").trials
    assert [t.number for t in trials] == list(range(30))
    assert all(t.status == COMPLETE for t in trials)
    assert [t.params for t in trials] == SPACE.sample(30, sampler="halton", seed=6)
    owners = {times["owner"] for _, times in Storage(path).trials_with_times(1)}
    assert len(owners) >= 2  # the work was really shared


class _Interrupt:
    """Raises KeyboardInterrupt at one trial, once (as a Ctrl-C there would)."""

    def __init__(self, at_x: float) -> None:
        self.at_x = at_x
        self.fired = False

    def __call__(self, params):
        if not self.fired and params["x"] == self.at_x:
            self.fired = True
            raise KeyboardInterrupt
        return quadratic(params)


def test_study_keyboard_interrupt_marks_the_trial_interrupted_and_resume_reruns_it():
    strategy = CoarseToFine(SPACE, 2, 8, seed=2)
    points = SPACE.sample(8, sampler="sobol", seed=child_seed(2, 0))  # round 0
    objective = _Interrupt(points[5]["x"])
    study = Study.create("s", objective, strategy, storage=":memory:", seed=2)
    with pytest.raises(KeyboardInterrupt):
        study.run(progress=False)
    trials = study.trials
    assert [t.status for t in trials] == [COMPLETE] * 5 + [INTERRUPTED]
    study.run(progress=False)
    reference = Study.create(
        "t", quadratic, CoarseToFine(SPACE, 2, 8, seed=2), storage=":memory:", seed=2
    ).run(progress=False)
    assert [(t.params, t.value) for t in study.trials] == [
        (t.params, t.value) for t in reference.trials
    ]


def test_study_interrupt_after_a_trial_ran_but_before_it_was_stored_marks_it_interrupted(
    monkeypatch,
):
    # Ctrl-C can land after the executor handed a trial back and before storage committed it;
    # that trial must not stay "running" (nobody would run it again in this process).
    study = Study.create("s", quadratic, RandomSearch(SPACE, 10), storage=":memory:", seed=3)
    finish = study.storage.finish_trial
    calls = []

    def finish_then_interrupt(study_id, trial, **kwargs):
        calls.append(trial.number)
        if len(calls) == 4:
            raise KeyboardInterrupt
        return finish(study_id, trial, **kwargs)

    monkeypatch.setattr(study.storage, "finish_trial", finish_then_interrupt)
    with pytest.raises(KeyboardInterrupt):
        study.run(progress=False)
    statuses = [t.status for t in study.storage.trials(study.id)]
    assert statuses == [COMPLETE] * 3 + [INTERRUPTED]
    monkeypatch.undo()
    study.run(progress=False)
    assert [t.status for t in study.trials] == [COMPLETE] * 10


def test_study_exports_csv_json_and_dataframe(tmp_path):
    study = Study.create(
        "s", flaky, RandomSearch(SPACE, 12, sampler="random"), storage=":memory:", seed=0
    )
    study.run(progress=False)
    trials = study.trials

    study.export_csv(tmp_path / "t.csv")
    with open(tmp_path / "t.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert list(rows[0]) == [
        "number",
        "status",
        "value",
        "x",
        "y",
        "seed",
        "duration",
        "epochs",
        "tier",
        "round",
        "reason",
    ]
    for row, trial in zip(rows, trials):
        assert int(row["number"]) == trial.number and row["status"] == trial.status
        assert float(row["x"]) == trial.params["x"]
        assert (row["value"] == "") == (trial.value is None)
        if trial.value is not None:
            assert float(row["value"]) == trial.value
        assert row["reason"] == (trial.reason or "")

    study.export_json(tmp_path / "t.json")
    text = (tmp_path / "t.json").read_text()
    assert "NaN" not in text and "Infinity" not in text
    data = json.loads(text)
    assert data["study"]["name"] == "s" and data["study"]["seed"] == 0
    assert data["study"]["strategy"]["name"] == "random"
    assert [t["params"] for t in data["trials"]] == [dict(t.params) for t in trials]
    assert [t["status"] for t in data["trials"]] == [t.status for t in trials]

    pd = pytest.importorskip("pandas")
    frame = study.to_dataframe()
    assert isinstance(frame, pd.DataFrame)
    assert frame.shape == (12, 11)
    assert frame["x"].tolist() == [t.params["x"] for t in trials]


def test_study_progress_bar_writes_to_stderr(capsys):
    pytest.importorskip("tqdm")
    Study.create("bar", quadratic, RandomSearch(SPACE, 3), storage=":memory:").run()
    captured = capsys.readouterr()
    assert captured.out == ""
    assert "bar" in captured.err and "3/3" in captured.err and "best=" in captured.err
