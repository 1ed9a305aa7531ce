"""Hardening of studies: SIGKILL at random moments, Ctrl-C, and several writers on one file.

Each scenario runs the study in child processes (this module is imported there, so its
objectives pickle by reference) and checks the SQLite file against an uninterrupted run with
the same seed: a trial recorded as finished must be exactly the trial that run gives.
"""

from __future__ import annotations

import math
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from child_env import child_env

from tunecore import report
from tunecore.objectives import MLPObjective
from tunecore.space import Choice, Float, Int, Space
from tunecore.storage import Storage
from tunecore.strategies import CoarseToFine, RandomSearch
from tunecore.study import Study
from tunecore.trial import COMPLETE, FAILED, INTERRUPTED, RUNNING

POSIX = sys.platform != "win32"
SPACE = Space(
    {
        "x": Float(-1.0, 1.0),
        "lr": Float(1e-4, 1.0, scale="log"),
        "units": Int(4, 64, log=True),
        "act": Choice(["relu", "tanh"]),
    }
)


def objective(params, seed):
    """Deterministic in (params, seed); sleeps so a kill often lands inside a trial."""
    time.sleep(0.004)
    bump = 0.1 if params["act"] == "tanh" else 0.0
    return (
        (params["x"] - 0.2) ** 2
        + (math.log10(params["lr"]) + 2.0) ** 2
        + abs(math.log2(params["units"]) - 4.0) / 10
        + bump
        + (seed % 997) * 1e-6
    )


def _strategy():
    return CoarseToFine(SPACE, rounds=5, trials_per_round=40, keep=0.2, sampler="sobol")


TOTAL = 200


def _spawn(call: str, **kwargs) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-c", f"import test_hardening_study as t; t.{call}"],
        env=child_env(),
        **kwargs,
    )


def _reference(seed: int) -> dict[int, tuple]:
    study = Study.create("ref", objective, _strategy(), storage=":memory:", seed=seed)
    study.run(progress=False)
    trials = study.trials
    assert len(trials) == TOTAL and all(t.status == COMPLETE for t in trials)
    return {t.number: _key(t) for t in trials}


def _key(trial) -> tuple:
    return (dict(trial.params), trial.value, trial.seed, trial.tier, trial.round)


def _check_file(path: Path, reference: dict[int, tuple]) -> dict[str, int]:
    """The file opens, passes SQLite's integrity check, and every finished trial is exact."""
    conn = sqlite3.connect(path)
    try:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    finally:
        conn.close()
    storage = Storage(path)
    try:
        if "k" not in storage.study_names():
            return {}
        trials = storage.trials(storage.get_study("k")["id"])
    finally:
        storage.close()
    numbers = [t.number for t in trials]
    assert len(numbers) == len(set(numbers))
    counts: dict[str, int] = {}
    for trial in trials:
        counts[trial.status] = counts.get(trial.status, 0) + 1
        assert trial.status in (COMPLETE, RUNNING, INTERRUPTED), trial
        if trial.status == COMPLETE:
            assert _key(trial) == reference[trial.number], trial.number
    return counts


# ------------------------------------------------------------------------------------------
# SIGKILL at random moments.


def kill_child(path: str, seed: int) -> None:  # pragma: no cover - runs in a subprocess
    study = Study.create("k", objective, _strategy(), storage=path, seed=seed, load_if_exists=True)
    print("ready", flush=True)
    study.run(progress=False)


def run_kills(path: Path, kills: int, seed: int, rng: np.random.Generator) -> dict:
    """Run the study in children killed at random moments; check the file after each kill."""
    reference = _reference(seed)
    killed = finished_early = 0
    for _ in range(kills):
        child = _spawn(f"kill_child({str(path)!r}, {seed})", stdout=subprocess.PIPE, text=True)
        try:
            assert child.stdout.readline().strip() == "ready"
            time.sleep(rng.uniform(0.0, 0.06))
            child.send_signal(signal.SIGKILL)
        finally:
            child.wait(timeout=60)
            child.stdout.close()
        if child.returncode == -signal.SIGKILL:
            killed += 1
        else:
            assert child.returncode == 0
            finished_early += 1
        _check_file(path, reference)

    # Resume to the end: the study ends with exactly the uninterrupted run's trials.
    study = Study.load(path, "k", objective)
    study.run(progress=False)
    final = study.trials
    assert [t.number for t in final] == list(range(TOTAL))
    assert all(t.status == COMPLETE for t in final)
    assert {t.number: _key(t) for t in final} == reference
    study.storage.close()
    return {"killed": killed, "finished_before_the_kill": finished_early}


@pytest.mark.skipif(not POSIX, reason="SIGKILL")
def test_sigkill_at_random_moments_keeps_every_finished_trial_and_resumes(tmp_path):
    rng = np.random.default_rng(21)
    outcome = run_kills(tmp_path / "kills.db", kills=25, seed=5, rng=rng)
    print(f"kills: {outcome}", file=sys.stderr)
    assert outcome["killed"] >= 20


# ------------------------------------------------------------------------------------------
# Ctrl-C during a study: the trials that were running are recorded as interrupted.

MLP_SPACE = Space({"lr": Float(1e-3, 1e-1, scale="log"), "units": Int(8, 32)})


def _mlp_objective() -> MLPObjective:
    rng = np.random.default_rng(3)
    X = rng.normal(size=(20000, 32)).astype(np.float32)
    y = (X[:, :3].sum(axis=1) > 0).astype(np.int64)
    return MLPObjective(X, y, base={"epochs": 400, "batch_size": 16})


def sleepy(params, seed):
    time.sleep(0.05)
    return params["lr"]


def ctrl_c_child(path: str, kind: str) -> None:  # pragma: no cover - runs in a subprocess
    if kind == "mlp":
        objective, n_jobs = _mlp_objective(), 2
        strategy = RandomSearch(MLP_SPACE, 8)
    else:
        objective, n_jobs = sleepy, 2 if kind == "pool" else 1
        strategy = RandomSearch(MLP_SPACE, 200)
    study = Study.create("c", objective, strategy, storage=path, seed=1)
    print("ready", flush=True)
    try:
        study.run(n_jobs=n_jobs, progress=False)
        print("finished", flush=True)
    except KeyboardInterrupt:
        print("interrupted", time.time(), flush=True)


def _wait_for_trials(path, status: str, timeout: float = 60.0) -> None:
    """Poll the study file, read-only, until some trial has ``status``."""
    end = time.monotonic() + timeout
    storage = Storage(path, read_only=True)
    try:
        study_id = storage.get_study("c")["id"]
        while not storage.trials(study_id, statuses=[status]):
            assert time.monotonic() < end, f"no trial became {status} within {timeout} s"
            time.sleep(0.01)
    finally:
        storage.close()


@pytest.mark.skipif(not POSIX, reason="SIGINT to a child process is POSIX only")
@pytest.mark.parametrize("kind", ["mlp", "serial", "pool"])
def test_ctrl_c_during_a_study_records_running_trials_as_interrupted(tmp_path, kind):
    path = tmp_path / "ctrl_c.db"
    # Its own session, so that a SIGINT to the group reaches the pool's workers too, as the
    # terminal's Ctrl-C does.
    child = _spawn(
        f"ctrl_c_child({str(path)!r}, {kind!r})",
        stdout=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        assert child.stdout.readline().strip() == "ready"
        # Strike while trials run: for the pool, once its workers have finished some (they take
        # a while to spawn); otherwise once a trial is claimed, plus a moment to get into it.
        _wait_for_trials(path, COMPLETE if kind == "pool" else RUNNING)
        time.sleep(0.1)
        sent = time.time()
        os.killpg(child.pid, signal.SIGINT)
        words = child.stdout.readline().split()
        assert words and words[0] == "interrupted", words
        latency = float(words[1]) - sent
        assert child.wait(timeout=30) == 0
    finally:
        if child.poll() is None:
            os.killpg(child.pid, signal.SIGKILL)
            child.wait()
        child.stdout.close()
    print(f"study Ctrl-C latency ({kind}): {latency:.4f} s", file=sys.stderr)
    assert latency < 1.0

    storage = Storage(path)
    trials = storage.trials(storage.get_study("c")["id"])
    statuses = [t.status for t in trials]
    assert RUNNING not in statuses
    assert statuses.count(INTERRUPTED) >= 1
    for trial in trials:
        if trial.status == INTERRUPTED:
            assert trial.value is None and "Ctrl-C" in trial.reason
        else:
            assert trial.status == COMPLETE and trial.value is not None
    if kind == "mlp":
        # 400 epochs of 20,000 rows (8 million samples, several seconds even at tunecore's
        # speed) take far longer than the 0.1 s after the batch was claimed, so nothing
        # finished and the whole batch is interrupted.
        assert statuses == [INTERRUPTED] * len(statuses) and len(statuses) >= 2
    storage.close()


# ------------------------------------------------------------------------------------------
# Objectives that kill their worker, every one of them.


def kills_itself(params, seed):  # pragma: no cover - runs in a worker
    os.kill(os.getpid(), signal.SIGKILL)


def killed_workers_child(path: str) -> None:  # pragma: no cover - runs in a subprocess
    study = Study.create("k", kills_itself, RandomSearch(MLP_SPACE, 12), storage=path, seed=4)
    study.run(n_jobs=2, progress=False)
    print("finished", flush=True)


@pytest.mark.skipif(not POSIX, reason="SIGKILL is POSIX only")
def test_a_study_whose_every_trial_kills_its_worker_ends_and_exits(tmp_path):
    # Every pool breaks on its first trial, while the study keeps submitting: the pools and
    # their workers must all be ended, or the process hangs at exit waiting for one.
    path = tmp_path / "killed.db"
    child = _spawn(f"killed_workers_child({str(path)!r})", stdout=subprocess.PIPE, text=True)
    try:
        out, _ = child.communicate(timeout=120)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
    assert child.returncode == 0 and out.strip() == "finished"
    storage = Storage(path)
    trials = storage.trials(storage.get_study("k")["id"])
    storage.close()
    assert [t.number for t in trials] == list(range(12))
    for trial in trials:
        assert trial.status == FAILED
        assert "worker process died while this trial ran alone" in trial.reason


# ------------------------------------------------------------------------------------------
# Four writers on one file, and a reader.


def writer_child(path: str) -> None:  # pragma: no cover - runs in a subprocess
    Study.load(path, "w", objective).run(progress=False)


def test_four_processes_store_every_trial_once_while_a_reader_reports(tmp_path):
    path = tmp_path / "writers.db"
    total = 160
    Study.create(
        "w", objective, RandomSearch(SPACE, total, sampler="halton"), storage=path, seed=9
    ).storage.close()
    reference = Study.create(
        "w", objective, RandomSearch(SPACE, total, sampler="halton"), storage=":memory:", seed=9
    ).run(progress=False)
    expected = {t.number: _key(t) for t in reference.trials}

    children = [_spawn(f"writer_child({str(path)!r})") for _ in range(4)]
    reads = 0
    try:
        while any(c.poll() is None for c in children):
            reader = Storage(path, read_only=True)
            study = Study.load(reader, "w")
            top = report.top_k(study.trials, 3, study.direction)
            assert all(t.status == COMPLETE for t in top)
            assert [t.value for t in top] == sorted(t.value for t in top)
            reader.close()
            reads += 1
            time.sleep(0.02)
        codes = [c.wait(timeout=120) for c in children]
    finally:
        for c in children:
            if c.poll() is None:
                c.kill()
                c.wait()
    assert codes == [0, 0, 0, 0]
    assert reads >= 3
    print(f"four writers: {reads} read-only reports taken while they wrote", file=sys.stderr)

    storage = Storage(path, read_only=True)
    rows = storage._conn.execute("SELECT number, owner FROM trials ORDER BY number").fetchall()
    numbers = [row[0] for row in rows]
    assert numbers == list(range(total))  # none lost, none doubled
    assert len({row[1] for row in rows}) >= 2  # the work was shared
    trials = storage.trials(storage.get_study("w")["id"])
    assert {t.number: _key(t) for t in trials} == expected
    storage.close()
