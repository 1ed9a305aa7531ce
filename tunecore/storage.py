"""SQLite storage of studies and their trials (the standard library's sqlite3).

One file holds any number of studies. Two tables:

``studies``
    ``id``, ``name`` (unique), ``space`` (JSON of ``Space.to_dict()``), ``strategy`` (JSON
    description of the strategy, enough to rebuild it), ``seed``, ``direction``, ``budget``
    (JSON), ``objective`` (JSON description, informative only), ``seconds_used`` (wall-clock
    seconds spent running the study, over every session), ``created`` (Unix time).
``trials``
    ``study_id``, ``number`` (unique per study), ``params`` (JSON; hyperparameters keep the
    names they have in the space and in ``train()``), ``status``, ``value``, ``metrics``
    (JSON), ``history`` (JSON, per-epoch series), ``seed``, ``duration``, ``epochs``,
    ``tier``, ``round``, ``reason``, ``started`` and ``finished`` (Unix time),
    ``clock_start`` and ``clock_end`` (study seconds, the clock the time budget counts).

Several processes may run one study: a process asks its strategy and claims the proposals
while holding the write lock (:meth:`Storage.write_lock`), after catching up with the trials
the others stored, so no two processes take the same number or the same proposal. Each
trial records its ``owner`` (``host:pid``) so a resumed run re-runs only the trials whose
process is gone.

Durability: the database runs in WAL mode with a busy timeout, so a reader never blocks the
writer and several processes may write one file. A trial is *claimed* (inserted as
``running``) before it runs and written when it finishes, each in its own transaction, so a
process killed at any moment loses at most the trials it was running; those stay
``running`` in the file and :meth:`Storage.mark_interrupted` turns them into ``interrupted``
when the study is loaded again.

>>> storage = Storage(":memory:")
>>> study_id = storage.create_study("demo", space={}, strategy={}, seed=0,
...                                 direction="minimize", budget=None)
>>> storage.study_names()
['demo']
"""

from __future__ import annotations

import json
import logging
import math
import os
import socket
import sqlite3
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any

import numpy as np

from tunecore.trial import COMPLETE, INTERRUPTED, RUNNING, STATUSES, Trial

logger = logging.getLogger(__name__)

#: Seconds a writer waits for a lock held by another connection before giving up.
BUSY_TIMEOUT_S = 60.0

SCHEMA_VERSION = 1

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS studies (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL UNIQUE,
    space TEXT NOT NULL,
    strategy TEXT NOT NULL,
    seed INTEGER NOT NULL,
    direction TEXT NOT NULL CHECK (direction IN ('minimize', 'maximize')),
    budget TEXT,
    objective TEXT,
    seconds_used REAL NOT NULL DEFAULT 0,
    created REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS trials (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    study_id INTEGER NOT NULL REFERENCES studies(id) ON DELETE CASCADE,
    number INTEGER NOT NULL,
    params TEXT NOT NULL,
    status TEXT NOT NULL,
    value REAL,
    metrics TEXT NOT NULL DEFAULT '{}',
    history TEXT NOT NULL DEFAULT '{}',
    seed INTEGER NOT NULL,
    duration REAL,
    epochs INTEGER NOT NULL DEFAULT 0,
    tier INTEGER,
    round INTEGER,
    reason TEXT,
    started REAL,
    finished REAL,
    clock_start REAL,
    clock_end REAL,
    owner TEXT,
    UNIQUE (study_id, number)
);
CREATE INDEX IF NOT EXISTS trials_by_study ON trials (study_id, number);
"""

_TRIAL_COLUMNS = (
    "number, params, status, value, metrics, history, seed, duration, epochs, tier, round, "
    "reason, started, finished, clock_start, clock_end, owner"
)


def this_owner() -> str:
    """``host:pid`` of this process, stored with the trials it claims."""
    return f"{socket.gethostname()}:{os.getpid()}"


def _owner_alive(owner: str | None) -> bool | None:
    """True / False when ``owner`` is a process of this host that is / is not running; None
    when it runs elsewhere (or is unknown), which this process cannot tell."""
    if not owner or ":" not in owner:
        return False
    host, _, pid = owner.rpartition(":")
    if host != socket.gethostname():
        return None
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except (PermissionError, ValueError, OSError):
        return True
    return True


def _jsonable(value: Any) -> Any:
    """Return ``value`` with NumPy scalars and arrays turned into plain Python objects."""
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, np.ndarray):
        return _jsonable(value.tolist())
    if isinstance(value, np.bool_):
        return bool(value)
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.floating):
        return float(value)
    return value


def dumps(value: Any) -> str:
    """Serialize ``value`` to JSON, accepting NumPy types (NaN and inf are kept as such)."""
    return json.dumps(_jsonable(value), sort_keys=False)


def loads(text: str | None) -> Any:
    """Parse JSON written by :func:`dumps` (None for a NULL column)."""
    return None if text is None else json.loads(text)


def _real_or_none(value: float | None) -> float | None:
    """Return ``value`` as a float for a REAL column; NaN becomes NULL."""
    if value is None:
        return None
    value = float(value)
    return None if math.isnan(value) else value


class Storage:
    """Studies and trials in one SQLite file.

    Parameters
    ----------
    path : str or os.PathLike
        The database file, created when missing; ``":memory:"`` for a database that lives
        as long as this object.
    timeout : float
        Seconds to wait for a lock held by another process before raising.
    read_only : bool
        Open an existing file for reading only (reports on a study another process is
        writing); every write then raises ``sqlite3.OperationalError``.

    Examples
    --------
    >>> storage = Storage(":memory:")
    >>> storage.study_names()
    []
    """

    def __init__(
        self,
        path: Any = "tunecore.db",
        *,
        timeout: float = BUSY_TIMEOUT_S,
        read_only: bool = False,
    ) -> None:
        if isinstance(path, bytes) or not isinstance(path, (str, os.PathLike)):
            # str() of anything would name a file: storage=5 must not create a database "5".
            raise TypeError(f"path must be a str or os.PathLike (a file name), got {path!r}")
        self.path = os.fspath(path)
        if not isinstance(self.path, str):
            raise TypeError(f"path must be a str or os.PathLike (a file name), got {path!r}")
        self.read_only = bool(read_only)
        memory = self.path == ":memory:" or self.path.startswith("file::memory:")
        if self.read_only and (memory or not os.path.exists(self.path)):
            raise ValueError(
                f"path must be an existing database file to open read-only, got {self.path!r}"
            )
        try:
            self._connect(timeout, memory)
        except (sqlite3.DatabaseError, ValueError) as exc:
            if "locked" in str(exc) or "busy" in str(exc):
                raise  # another process holds the file past the timeout: not the path's fault
            conn = getattr(self, "_conn", None)
            if conn is not None:
                conn.close()
            raise ValueError(
                f"path must name a SQLite database file that can be "
                f"{'read' if self.read_only else 'opened or created'}, got {self.path!r} ({exc})"
            ) from None

    def _connect(self, timeout: float, memory: bool) -> None:
        if self.read_only:
            # isolation_level=None: autocommit; every transaction below is an explicit BEGIN.
            self._conn = sqlite3.connect(
                f"file:{os.path.abspath(self.path)}?mode=ro",
                uri=True,
                timeout=timeout,
                isolation_level=None,
            )
        else:
            self._conn = sqlite3.connect(self.path, timeout=timeout, isolation_level=None)
        self._depth = 0  # nesting of _Transaction blocks; only the outermost one commits
        self._conn.row_factory = sqlite3.Row
        self._conn.execute(f"PRAGMA busy_timeout = {int(timeout * 1000)}")
        if self.read_only:
            self._conn.execute("SELECT COUNT(*) FROM sqlite_master").fetchone()  # a database?
            return
        if not memory:
            mode = self._conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
            if str(mode).lower() != "wal":  # pragma: no cover - e.g. a network file system
                logger.warning("SQLite refused WAL mode for %s (got %s)", self.path, mode)
            # In WAL mode NORMAL loses no committed transaction when a process dies; only a
            # power cut may drop the last few, which FULL would keep at a cost per trial.
            self._conn.execute("PRAGMA synchronous = NORMAL")
        self._conn.execute("PRAGMA foreign_keys = ON")
        exists = self._conn.execute(
            "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = 'trials'"
        ).fetchone()[0]
        if exists:
            return  # opening a study file takes no write lock (a writer may be busy with it)
        # One script, one transaction: two processes opening a new file at once both succeed.
        self._conn.executescript(
            "BEGIN IMMEDIATE;\n"
            + _SCHEMA
            + f"INSERT OR IGNORE INTO meta (key, value) VALUES ('schema_version', "
            f"'{SCHEMA_VERSION}');\nCOMMIT;"
        )

    # -- plumbing ---------------------------------------------------------------------------

    def _transaction(self, *, immediate: bool = False) -> _Transaction:
        return _Transaction(self, immediate=immediate)

    def write_lock(self) -> _Transaction:
        """A transaction holding SQLite's write lock: what runs inside (read the trials, ask
        the strategy, claim the proposals) is atomic with respect to other processes."""
        return _Transaction(self, immediate=True)

    def close(self) -> None:
        """Close the connection (the object is unusable afterwards)."""
        self._conn.close()

    def __enter__(self) -> Storage:  # noqa: PYI034 - Python 3.9 has no typing.Self
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Storage({self.path!r})"

    # -- studies ----------------------------------------------------------------------------

    def create_study(
        self,
        name: str,
        *,
        space: Mapping[str, Any],
        strategy: Mapping[str, Any],
        seed: int,
        direction: str,
        budget: Mapping[str, Any] | None,
        objective: Mapping[str, Any] | None = None,
    ) -> int:
        """Insert a study and return its id; ValueError when ``name`` is taken."""
        if not isinstance(name, str) or not name:
            raise ValueError(f"name must be a non-empty string, got {name!r}")
        try:
            with self._transaction():
                cursor = self._conn.execute(
                    "INSERT INTO studies (name, space, strategy, seed, direction, budget, "
                    "objective, created) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    (
                        name,
                        dumps(space),
                        dumps(strategy),
                        int(seed),
                        direction,
                        None if budget is None else dumps(budget),
                        None if objective is None else dumps(objective),
                        time.time(),
                    ),
                )
        except sqlite3.IntegrityError as exc:
            if "UNIQUE" in str(exc):
                raise ValueError(
                    f"name must be a study name not yet in {self.path!r}, got {name!r} "
                    "(use Study.load to continue it)"
                ) from None
            raise
        return int(cursor.lastrowid)

    def study_names(self) -> list[str]:
        """Names of the stored studies, oldest first."""
        rows = self._conn.execute("SELECT name FROM studies ORDER BY id").fetchall()
        return [row["name"] for row in rows]

    def get_study(self, name: str) -> dict[str, Any]:
        """The stored record of study ``name`` as a dict; ValueError when there is none."""
        row = self._conn.execute("SELECT * FROM studies WHERE name = ?", (name,)).fetchone()
        if row is None:
            raise ValueError(
                f"name must be one of the studies in {self.path!r} "
                f"({', '.join(map(repr, self.study_names())) or 'none stored'}), got {name!r}"
            )
        return {
            "id": row["id"],
            "name": row["name"],
            "space": loads(row["space"]),
            "strategy": loads(row["strategy"]),
            "seed": row["seed"],
            "direction": row["direction"],
            "budget": loads(row["budget"]),
            "objective": loads(row["objective"]),
            "seconds_used": row["seconds_used"],
            "created": row["created"],
        }

    def delete_study(self, name: str) -> None:
        """Remove study ``name`` and its trials."""
        study_id = self.get_study(name)["id"]
        with self._transaction():
            self._conn.execute("DELETE FROM trials WHERE study_id = ?", (study_id,))
            self._conn.execute("DELETE FROM studies WHERE id = ?", (study_id,))

    def add_seconds(self, study_id: int, seconds: float) -> None:
        """Add ``seconds`` of wall-clock time to the study's running total."""
        with self._transaction():
            self._conn.execute(
                "UPDATE studies SET seconds_used = seconds_used + ? WHERE id = ?",
                (float(seconds), study_id),
            )

    def seconds_used(self, study_id: int) -> float:
        """Wall-clock seconds the study has run, over every session."""
        row = self._conn.execute(
            "SELECT seconds_used FROM studies WHERE id = ?", (study_id,)
        ).fetchone()
        return float(row[0])

    # -- trials -----------------------------------------------------------------------------

    def claim_trials(
        self,
        study_id: int,
        entries: Sequence[Mapping[str, Any]],
        *,
        seed_of: Any,
        clock: float | None = None,
        owner: str | None = None,
    ) -> list[int]:
        """Insert trials as ``running`` in one transaction and return their numbers.

        Numbers continue after the largest stored one, allocated under the write lock so
        several processes never take the same number. ``entries`` hold ``params`` and
        optionally ``tier`` and ``round``; ``seed_of(number)`` gives each trial's seed;
        ``owner`` defaults to this process (:func:`this_owner`).
        """
        now = time.time()
        owner = owner or this_owner()
        numbers: list[int] = []
        with self._transaction(immediate=True):
            row = self._conn.execute(
                "SELECT COALESCE(MAX(number), -1) FROM trials WHERE study_id = ?", (study_id,)
            ).fetchone()
            first = int(row[0]) + 1
            for offset, entry in enumerate(entries):
                number = first + offset
                self._conn.execute(
                    "INSERT INTO trials (study_id, number, params, status, seed, tier, round, "
                    "started, clock_start, owner) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (
                        study_id,
                        number,
                        dumps(entry["params"]),
                        RUNNING,
                        int(seed_of(number)),
                        entry.get("tier"),
                        entry.get("round"),
                        now,
                        clock,
                        owner,
                    ),
                )
                numbers.append(number)
        return numbers

    def reclaim_trial(self, study_id: int, number: int, *, clock: float | None = None) -> bool:
        """Mark an ``interrupted`` trial ``running`` again; False if another process has it."""
        with self._transaction(immediate=True):
            cursor = self._conn.execute(
                "UPDATE trials SET status = ?, started = ?, clock_start = ?, reason = NULL, "
                "owner = ? WHERE study_id = ? AND number = ? AND status = ?",
                (RUNNING, time.time(), clock, this_owner(), study_id, number, INTERRUPTED),
            )
        return cursor.rowcount == 1

    def finish_trial(
        self,
        study_id: int,
        trial: Trial,
        *,
        clock: float | None = None,
        seconds: float | None = None,
    ) -> None:
        """Write a finished trial (any status but running) in its own transaction.

        ``seconds``, when given, is added to the study's wall-clock total in the same
        transaction, so the time budget survives a kill as well as the trial does.
        """
        if trial.status == RUNNING:
            raise ValueError(f"trial.status must not be {RUNNING!r} when finishing, got it")
        with self._transaction(immediate=True):
            cursor = self._conn.execute(
                "UPDATE trials SET status = ?, value = ?, metrics = ?, history = ?, "
                "duration = ?, epochs = ?, reason = ?, finished = ?, clock_end = ? "
                "WHERE study_id = ? AND number = ?",
                (
                    trial.status,
                    _real_or_none(trial.value),
                    dumps(trial.metrics),
                    dumps(trial.history),
                    _real_or_none(trial.duration),
                    int(trial.epochs),
                    trial.reason,
                    time.time(),
                    clock,
                    study_id,
                    trial.number,
                ),
            )
            if cursor.rowcount != 1:
                raise ValueError(
                    f"trial.number must be a claimed trial of study {study_id}, "
                    f"got {trial.number!r}"
                )
            if seconds is not None:
                self._conn.execute(
                    "UPDATE studies SET seconds_used = seconds_used + ? WHERE id = ?",
                    (float(seconds), study_id),
                )

    def mark_interrupted(
        self, study_id: int, numbers: Iterable[int] | None = None, *, reason: str
    ) -> list[int]:
        """Turn ``running`` trials (all, or those in ``numbers``) into ``interrupted``."""
        with self._transaction(immediate=True):
            if numbers is None:
                rows = self._conn.execute(
                    "SELECT number FROM trials WHERE study_id = ? AND status = ?",
                    (study_id, RUNNING),
                ).fetchall()
                numbers = [row[0] for row in rows]
            numbers = list(numbers)
            for number in numbers:
                self._conn.execute(
                    "UPDATE trials SET status = ?, reason = ?, finished = ? "
                    "WHERE study_id = ? AND number = ? AND status = ?",
                    (INTERRUPTED, reason, time.time(), study_id, int(number), RUNNING),
                )
        return numbers

    def stale_running(self, study_id: int) -> list[int]:
        """Numbers of ``running`` trials whose process is gone: claimed by a process of this
        host that no longer runs, or by this very process (left over from an earlier run).

        Trials claimed on another host are never called stale: this process cannot see
        whether their owner lives (a study shared across machines must be resumed there).
        """
        rows = self._conn.execute(
            "SELECT number, owner FROM trials WHERE study_id = ? AND status = ?",
            (study_id, RUNNING),
        ).fetchall()
        me = this_owner()
        return [
            int(row["number"])
            for row in rows
            if row["owner"] == me or _owner_alive(row["owner"]) is False
        ]

    def progress(self, study_id: int) -> tuple[int, int]:
        """(trials stored, trials no longer running) of the study: a cheap change detector."""
        row = self._conn.execute(
            "SELECT COUNT(*), COALESCE(SUM(status != ?), 0) FROM trials WHERE study_id = ?",
            (RUNNING, study_id),
        ).fetchone()
        return int(row[0]), int(row[1])

    def trials(self, study_id: int, *, statuses: Sequence[str] | None = None) -> list[Trial]:
        """The study's trials in number order, optionally only those with given statuses."""
        return [trial for trial, _ in self.trials_with_times(study_id, statuses=statuses)]

    def trials_with_times(
        self, study_id: int, *, statuses: Sequence[str] | None = None
    ) -> list[tuple[Trial, dict[str, float | None]]]:
        """Like :meth:`trials`, each with its ``started``/``finished``/``clock_*`` times."""
        query = f"SELECT {_TRIAL_COLUMNS} FROM trials WHERE study_id = ?"
        args: list[Any] = [study_id]
        if statuses is not None:
            bad = [s for s in statuses if s not in STATUSES]
            if bad:
                raise ValueError(f"statuses must be among {STATUSES}, got {bad!r}")
            query += f" AND status IN ({', '.join('?' * len(statuses))})"
            args.extend(statuses)
        rows = self._conn.execute(query + " ORDER BY number", args).fetchall()
        return [(_row_to_trial(row), _row_times(row)) for row in rows]

    def iter_trials(self, study_id: int) -> Iterator[Trial]:
        """Iterate over the study's trials in number order without loading them all."""
        cursor = self._conn.execute(
            f"SELECT {_TRIAL_COLUMNS} FROM trials WHERE study_id = ? ORDER BY number",
            (study_id,),
        )
        for row in cursor:
            yield _row_to_trial(row)

    def count_trials(self, study_id: int, *, status: str | None = None) -> int:
        """Number of stored trials of the study (of one status when given)."""
        if status is None:
            row = self._conn.execute(
                "SELECT COUNT(*) FROM trials WHERE study_id = ?", (study_id,)
            ).fetchone()
        else:
            row = self._conn.execute(
                "SELECT COUNT(*) FROM trials WHERE study_id = ? AND status = ?",
                (study_id, status),
            ).fetchone()
        return int(row[0])

    def epochs_used(self, study_id: int) -> int:
        """Epochs consumed by the study's finished trials."""
        row = self._conn.execute(
            "SELECT COALESCE(SUM(epochs), 0) FROM trials WHERE study_id = ?", (study_id,)
        ).fetchone()
        return int(row[0])


class _Transaction:
    """``BEGIN`` ... ``COMMIT`` on success, ``ROLLBACK`` on any exception; nested blocks join
    the outermost one."""

    def __init__(self, storage: Storage, *, immediate: bool = False) -> None:
        self._storage = storage
        self._immediate = immediate

    def __enter__(self) -> sqlite3.Connection:
        conn = self._storage._conn
        if self._storage._depth == 0:
            if conn.in_transaction:
                # Left open by a KeyboardInterrupt that struck between a BEGIN and the count
                # below (or between the count and a COMMIT). None of it was committed; rolling
                # it back leaves the file as it was before, and later transactions can begin.
                # (A trial whose result it held stays running, then interrupted: it runs
                # again, nothing finished is lost.)
                conn.execute("ROLLBACK")
            # IMMEDIATE takes the write lock at once: two writers wait on the busy timeout
            # instead of failing half-way with SQLITE_BUSY on lock upgrade.
            conn.execute("BEGIN IMMEDIATE" if self._immediate else "BEGIN")
        self._storage._depth += 1
        return conn

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        self._storage._depth -= 1
        if self._storage._depth > 0:
            return
        if exc_type is None:
            self._storage._conn.execute("COMMIT")
        else:
            self._storage._conn.execute("ROLLBACK")


def _row_to_trial(row: sqlite3.Row) -> Trial:
    value = row["value"]
    return Trial(
        number=int(row["number"]),
        params=loads(row["params"]),
        status=row["status"],
        value=None if value is None else float(value),
        metrics=loads(row["metrics"]) or {},
        history=loads(row["history"]) or {},
        seed=int(row["seed"]),
        duration=row["duration"],
        epochs=int(row["epochs"] or 0),
        tier=row["tier"],
        round=row["round"],
        reason=row["reason"],
    )


def _row_times(row: sqlite3.Row) -> dict[str, Any]:
    return {
        "started": row["started"],
        "finished": row["finished"],
        "clock_start": row["clock_start"],
        "clock_end": row["clock_end"],
        "owner": row["owner"],
    }


__all__ = ["COMPLETE", "Storage", "dumps", "loads"]
