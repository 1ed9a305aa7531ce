"""SQLite storage: schema, round trips, claims, durability settings."""

from __future__ import annotations

import math
import sqlite3
import threading

import pytest

from tunecore.storage import Storage
from tunecore.trial import COMPLETE, DIVERGED, INTERRUPTED, RUNNING, Trial


def _study(storage: Storage, name: str = "s") -> int:
    return storage.create_study(
        name,
        space={"x": {"type": "float", "low": 0.0, "high": 1.0, "scale": "linear"}},
        strategy={"name": "random", "n_trials": 3},
        seed=7,
        direction="minimize",
        budget={"trials": 3},
        objective={"type": "CallableObjective"},
    )


def test_storage_study_round_trip(tmp_path):
    path = tmp_path / "t.db"
    with Storage(path) as storage:
        study_id = _study(storage)
    with Storage(path) as storage:
        record = storage.get_study("s")
        assert record["id"] == study_id
        assert record["space"]["x"]["high"] == 1.0
        assert record["strategy"] == {"name": "random", "n_trials": 3}
        assert record["seed"] == 7
        assert record["direction"] == "minimize"
        assert record["budget"] == {"trials": 3}
        assert storage.study_names() == ["s"]


def test_storage_uses_wal_and_busy_timeout(tmp_path):
    path = tmp_path / "t.db"
    Storage(path, timeout=12.5).close()
    conn = sqlite3.connect(path)
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    conn.close()
    storage = Storage(path, timeout=12.5)
    assert storage._conn.execute("PRAGMA busy_timeout").fetchone()[0] == 12500
    storage.close()


def test_storage_duplicate_study_name_raises():
    storage = Storage(":memory:")
    _study(storage)
    with pytest.raises(ValueError, match="name must be a study name not yet in"):
        _study(storage)


def test_storage_missing_study_names_the_stored_ones():
    storage = Storage(":memory:")
    _study(storage, "alpha")
    with pytest.raises(ValueError, match=r"name must be one of the studies .*'alpha'.*'beta'"):
        storage.get_study("beta")


def test_storage_trial_round_trip_keeps_every_field():
    storage = Storage(":memory:")
    study_id = _study(storage)
    numbers = storage.claim_trials(
        study_id,
        [{"params": {"x": 0.25, "c": "relu"}, "tier": 1, "round": 2}, {"params": {"x": 0.5}}],
        seed_of=lambda k: 1000 + k,
        clock=3.5,
    )
    assert numbers == [0, 1]
    running = storage.trials(study_id)
    assert [t.status for t in running] == [RUNNING, RUNNING]
    assert running[0].seed == 1000 and running[1].seed == 1001
    trial = Trial(
        number=0,
        params={"x": 0.25, "c": "relu"},
        status=COMPLETE,
        value=0.125,
        metrics={"val_loss": 0.125, "val_accuracy": 0.9},
        history={"train_loss": [1.0, 0.5, float("nan")]},
        seed=1000,
        duration=0.01,
        epochs=3,
        tier=1,
        round=2,
    )
    storage.finish_trial(study_id, trial, clock=4.0, seconds=0.5)
    stored = storage.trials(study_id)[0]
    assert stored.params == trial.params
    assert stored.value == trial.value
    assert stored.metrics == trial.metrics
    assert stored.history["train_loss"][:2] == [1.0, 0.5]
    assert math.isnan(stored.history["train_loss"][2])
    assert (stored.seed, stored.epochs, stored.tier, stored.round) == (1000, 3, 1, 2)
    assert stored.duration == pytest.approx(0.01)
    assert storage.seconds_used(study_id) == pytest.approx(0.5)
    assert storage.epochs_used(study_id) == 3
    times = storage.trials_with_times(study_id)[0][1]
    assert (times["clock_start"], times["clock_end"]) == (3.5, 4.0)
    assert storage.count_trials(study_id, status=COMPLETE) == 1


def test_storage_nan_value_is_stored_as_null():
    storage = Storage(":memory:")
    study_id = _study(storage)
    storage.claim_trials(study_id, [{"params": {"x": 0.1}}], seed_of=lambda k: k)
    storage.finish_trial(
        study_id, Trial(0, {"x": 0.1}, DIVERGED, value=float("nan"), reason="nan")
    )
    stored = storage.trials(study_id)[0]
    assert stored.value is None and stored.reason == "nan" and stored.status == DIVERGED


def test_storage_finish_unclaimed_trial_raises():
    storage = Storage(":memory:")
    study_id = _study(storage)
    with pytest.raises(ValueError, match="trial.number must be a claimed trial"):
        storage.finish_trial(study_id, Trial(5, {"x": 0.1}, COMPLETE, value=1.0))


def test_storage_mark_interrupted_and_reclaim():
    storage = Storage(":memory:")
    study_id = _study(storage)
    storage.claim_trials(
        study_id, [{"params": {"x": 0.1}}, {"params": {"x": 0.2}}], seed_of=lambda k: k
    )
    storage.finish_trial(study_id, Trial(0, {"x": 0.1}, COMPLETE, value=1.0))
    assert storage.mark_interrupted(study_id, reason="died") == [1]
    trial = storage.trials(study_id)[1]
    assert (trial.status, trial.reason) == (INTERRUPTED, "died")
    assert storage.reclaim_trial(study_id, 1)
    assert not storage.reclaim_trial(study_id, 1)  # already running again
    assert storage.trials(study_id)[1].status == RUNNING
    assert storage.trials(study_id)[0].status == COMPLETE  # finished trials are untouched


def test_storage_claims_from_two_connections_never_share_a_number(tmp_path):
    path = tmp_path / "t.db"
    with Storage(path) as storage:
        study_id = _study(storage)
    got: list[int] = []
    lock = threading.Lock()

    def claim() -> None:
        storage = Storage(path)
        for _ in range(20):
            numbers = storage.claim_trials(
                study_id, [{"params": {"x": 0.5}}] * 2, seed_of=lambda k: k
            )
            with lock:
                got.extend(numbers)
        storage.close()

    threads = [threading.Thread(target=claim) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(got) == list(range(120))


def test_storage_failed_transaction_rolls_back():
    storage = Storage(":memory:")
    study_id = _study(storage)
    with pytest.raises(TypeError):
        # An unserializable param fails inside the claim's transaction.
        storage.claim_trials(
            study_id, [{"params": {"x": 0.1}}, {"params": {"x": object()}}], seed_of=lambda k: k
        )
    assert storage.count_trials(study_id) == 0


def test_storage_delete_study_removes_trials():
    storage = Storage(":memory:")
    study_id = _study(storage)
    storage.claim_trials(study_id, [{"params": {"x": 0.1}}], seed_of=lambda k: k)
    storage.delete_study("s")
    assert storage.study_names() == []
    assert storage.count_trials(study_id) == 0


def test_storage_read_only_reads_while_another_connection_writes(tmp_path):
    path = tmp_path / "t.db"
    writer = Storage(path)
    study_id = _study(writer)
    writer.claim_trials(study_id, [{"params": {"x": 0.1}}], seed_of=lambda k: k)
    with writer.write_lock():  # a writer in the middle of a transaction
        writer.claim_trials(study_id, [{"params": {"x": 0.2}}], seed_of=lambda k: k)
        reader = Storage(path, read_only=True, timeout=1.0)
        assert [t.params for t in reader.trials(study_id)] == [{"x": 0.1}]
    assert len(reader.trials(study_id)) == 2
    with pytest.raises(sqlite3.OperationalError, match="readonly"):
        reader.claim_trials(study_id, [{"params": {"x": 0.3}}], seed_of=lambda k: k)
    with pytest.raises(ValueError, match="path must be an existing database file"):
        Storage(tmp_path / "missing.db", read_only=True)


def test_storage_recovers_a_transaction_left_open_by_an_interrupt(tmp_path):
    # A KeyboardInterrupt between BEGIN and the bookkeeping after it leaves the connection in
    # a transaction that no block owns; the next block rolls it back and goes on, instead of
    # failing with "cannot start a transaction within a transaction".
    with Storage(tmp_path / "t.db") as storage:
        study_id = _study(storage)
        storage._conn.execute("BEGIN IMMEDIATE")
        storage._conn.execute("UPDATE studies SET seed = 99 WHERE id = ?", (study_id,))
        assert storage._conn.in_transaction and storage._depth == 0
        (number,) = storage.claim_trials(
            study_id, [{"params": {"x": 0.5}}], seed_of=lambda k: k, clock=0.0
        )
        assert not storage._conn.in_transaction
        assert storage.get_study("s")["seed"] == 7  # the orphan's write was rolled back
    with Storage(tmp_path / "t.db") as storage:
        assert [t.number for t in storage.trials(study_id)] == [number]
