"""The study loop: ask a batch, claim it, run it, store each result, tell the strategy.

One loop, one place where budgets are counted::

    while the budget allows and the strategy has proposals:
        proposals = strategy.ask(free slots)        # params + tier / round
        storage.claim_trials(...)                   # inserted as "running", numbered
        executor.submit(...)                        # in-core batch, process pool or serial
        for each finished trial:
            storage.finish_trial(...)               # its own transaction
            strategy.tell([trial])

Trial k runs with seed ``child_seed(study seed, k)``. A study killed at any moment keeps every
finished trial; :meth:`Study.load` rebuilds the strategy from the stored trials, and
:meth:`Study.run` first re-runs the trials left ``running`` or ``interrupted`` (same number,
params and seed), so a resumed study ends with the trials an uninterrupted one would have.

>>> from tunecore.space import Float, Space
>>> from tunecore.strategies import RandomSearch
>>> space = Space({"x": Float(-2.0, 2.0)})
>>> study = Study.create("doc", lambda p: (p["x"] - 1.0) ** 2, RandomSearch(space, 16),
...                      storage=":memory:", seed=0)
>>> abs(study.run(progress=False).best_params["x"] - 1.0) < 0.25
True
"""

from __future__ import annotations

import csv
import json
import logging
import math
import os
import sys
import time
from collections.abc import Mapping
from typing import Any, Callable

from tunecore._seeding import child_seed, resolve_seed
from tunecore.executors import Job, make_executor
from tunecore.objectives import Objective, Outcome, as_objective
from tunecore.storage import Storage
from tunecore.strategies.base import (
    Budget,
    Strategy,
    Usage,
    best_of,
    check_count,
    check_direction,
    strategy_from_dict,
)
from tunecore.trial import COMPLETE, DIVERGED, FAILED, INTERRUPTED, RUNNING, Trial

logger = logging.getLogger(__name__)

#: Reason stored for trials a dead process left running.
STALE_REASON = "the process running it stopped before it finished"

#: Seconds between looks at the storage while waiting for other processes' trials.
POLL_SECONDS = 0.1

__all__ = ["Budget", "Study", "Usage"]


class Study:
    """A named hyperparameter study stored in SQLite.

    Make one with :meth:`create` or :meth:`load`, then :meth:`run` it.

    Attributes
    ----------
    name : str
    seed : int
        Trial k runs with ``child_seed(seed, k)``; strategies without a seed use it.
    direction : str
        ``minimize`` or ``maximize``.
    strategy : Strategy
        Rebuilt from the stored trials on load.
    space : Space
        The strategy's space.
    storage : Storage
    budget : Budget or None
        The study's total budget, over every run.
    objective : Objective or None
        None for a study loaded only to read it.
    """

    def __init__(
        self,
        storage: Storage,
        record: Mapping[str, Any],
        strategy: Strategy,
        objective: Objective | None,
        seen: tuple[int, int] | None = None,
    ) -> None:
        self.storage = storage
        self.id = int(record["id"])
        self.name = str(record["name"])
        self.seed = int(record["seed"])
        self.direction = str(record["direction"])
        self.budget = Budget.from_dict(record.get("budget"))
        self.strategy = strategy
        self.objective = objective
        # (trials stored, trials not running) the strategy has learnt from; see _sync.
        self._seen = seen if seen is not None else storage.progress(self.id)

    def _sync(self) -> bool:
        """Rebuild the strategy from storage when other processes stored trials since it last
        looked (several processes may run one study); True when it did."""
        now = self.storage.progress(self.id)
        if now == self._seen:
            return False
        self.strategy, self._seen = _restored(self.storage, self.storage.get_study(self.name))
        return True

    # -- construction -----------------------------------------------------------------------

    @classmethod
    def create(
        cls,
        name: str,
        objective: Any,
        strategy: Strategy,
        *,
        storage: Any = "tunecore.db",
        direction: str | None = None,
        seed: int | None = 0,
        budget: Budget | Mapping[str, Any] | None = None,
        load_if_exists: bool = False,
    ) -> Study:
        """Create a new study in ``storage``.

        Parameters
        ----------
        name : str
            Unique within the storage file.
        objective : Objective or callable
            A plain callable ``params -> float | dict`` is wrapped in
            :class:`tunecore.objectives.CallableObjective`. May be None to only store it.
        strategy : Strategy
            GridSearch, RandomSearch, CoarseToFine or TierBudget, freshly made: it becomes the
            study's (``study.strategy``) and must not be shared with another study.
        storage : str, os.PathLike or Storage
            SQLite file (created when missing) or ``":memory:"``.
        direction : {"minimize", "maximize"}, optional
            Default: the objective's natural direction (``maximize`` for an MLPObjective on
            ``val_accuracy``), else ``minimize``.
        seed : int or None
            None draws one from the OS (stored, so a resume reproduces it).
        budget : Budget, optional
            Total over every run of the study; None runs until the strategy is finished.
        load_if_exists : bool
            Load the stored study of that name instead of raising ValueError.

        Examples
        --------
        >>> from tunecore.space import Float, Space
        >>> from tunecore.strategies import GridSearch
        >>> study = Study.create("demo", lambda p: p["x"] ** 2,
        ...                      GridSearch(Space({"x": Float(-1.0, 1.0)}), 5),
        ...                      storage=":memory:")
        >>> study.run(progress=False).best_trial.params
        {'x': 0.0}
        """
        store = _as_storage(storage)
        if load_if_exists and name in store.study_names():
            return cls.load(store, name, objective)
        if not isinstance(strategy, Strategy):
            raise TypeError(f"strategy must be a tunecore strategy, got {strategy!r}")
        wrapped = None if objective is None else as_objective(objective)
        if direction is None:
            direction = (wrapped.direction if wrapped is not None else None) or "minimize"
        direction = check_direction(direction)
        seed = resolve_seed(seed)
        budget = Budget.coerce(budget)
        strategy.bind(seed=seed, direction=direction, budget=budget)
        study_id = store.create_study(
            name,
            space=strategy.space.to_dict(),
            strategy=strategy.to_dict(),
            seed=seed,
            direction=direction,
            budget=None if budget is None else budget.to_dict(),
            objective=None if wrapped is None else wrapped.describe(),
        )
        logger.info("created study %r in %s", name, store.path)
        return cls(store, store.get_study(name) | {"id": study_id}, strategy, wrapped)

    @classmethod
    def load(cls, storage: Any, name: str, objective: Any = None) -> Study:
        """Open a stored study; give ``objective`` to continue running it.

        The strategy is rebuilt from the stored trials. Nothing is written: trials left
        ``running`` by a dead process are turned ``interrupted`` and re-run by :meth:`run`.
        """
        store = _as_storage(storage)
        record = store.get_study(name)
        strategy, seen = _restored(store, record)
        wrapped = None if objective is None else as_objective(objective)
        logger.info("loaded study %r with %d trials", name, seen[0])
        return cls(store, record, strategy, wrapped, seen)

    # -- the loop ---------------------------------------------------------------------------

    def run(
        self,
        budget: Budget | Mapping[str, Any] | None = None,
        n_jobs: int = 1,
        progress: bool = True,
        *,
        start_method: str = "spawn",
        callbacks: list[Callable[[Study, Trial], None]] | None = None,
    ) -> Study:
        """Run trials until the strategy is finished or a budget is spent.

        Parameters
        ----------
        budget : Budget, optional
            A limit for this call only (counted from the call), on top of the study's total
            budget.
        n_jobs : int
            Trials in parallel: threads of one ``train_many`` batch for the MLP objective,
            worker processes for plain callables (1 runs them here, one by one).
        progress : bool
            Show a tqdm bar on stderr (trials done, budget used, best so far).
        start_method : {"spawn", "forkserver"}
            How worker processes start when ``n_jobs > 1`` for a plain callable.
        callbacks : list of callable, optional
            Each called as ``callback(study, trial)`` after a trial is stored.

        Returns
        -------
        Study
            ``self``.
        """
        if self.objective is None:
            raise RuntimeError(
                "objective must be given to run a study loaded from storage, got None "
                "(pass Study.load(storage, name, objective=...))"
            )
        n_jobs = check_count(n_jobs, "n_jobs")
        run_budget = Budget.coerce(budget)
        loop = _Loop(self, run_budget, n_jobs, progress, start_method, callbacks or [])
        loop.run()
        return self

    # -- results ----------------------------------------------------------------------------

    @property
    def space(self) -> Any:
        """The search space (the strategy's)."""
        return self.strategy.space

    @property
    def trials(self) -> list[Trial]:
        """Every stored trial, in number order (read from storage each time)."""
        return self.storage.trials(self.id)

    @property
    def best_trial(self) -> Trial | None:
        """The best complete trial with a finite value (lowest number among ties)."""
        return best_of(self.storage.trials(self.id, statuses=[COMPLETE]), self.direction)

    @property
    def best_value(self) -> float | None:
        """The best trial's value (None before any trial is complete)."""
        best = self.best_trial
        return None if best is None else best.value

    @property
    def best_params(self) -> dict[str, Any] | None:
        """The best trial's params (None before any trial is complete)."""
        best = self.best_trial
        return None if best is None else dict(best.params)

    def usage(self) -> Usage:
        """What the study has consumed, over every run."""
        return Usage(
            trials=self.storage.count_trials(self.id),
            epochs=self.storage.epochs_used(self.id),
            seconds=self.storage.seconds_used(self.id),
        )

    def __repr__(self) -> str:
        return (
            f"Study(name={self.name!r}, strategy={type(self.strategy).__name__}, "
            f"direction={self.direction!r}, seed={self.seed}, storage={self.storage.path!r})"
        )

    # -- exports ----------------------------------------------------------------------------

    def _rows(self) -> tuple[list[str], list[dict[str, Any]]]:
        trials = self.trials
        fixed = ["number", "status", "value"]
        tail = ["seed", "duration", "epochs", "tier", "round", "reason"]
        params: list[str] = list(self.space.names)
        metrics: list[str] = []
        for trial in trials:
            params.extend(k for k in trial.params if k not in params)
            metrics.extend(k for k in trial.metrics if k not in metrics)
        taken = set(fixed) | set(tail) | set(params)
        metric_columns = {m: (f"metric_{m}" if m in taken else m) for m in metrics}
        columns = fixed + params + list(metric_columns.values()) + tail
        rows = []
        for trial in trials:
            row: dict[str, Any] = {
                "number": trial.number,
                "status": trial.status,
                "value": trial.value,
                "seed": trial.seed,
                "duration": trial.duration,
                "epochs": trial.epochs,
                "tier": trial.tier,
                "round": trial.round,
                "reason": trial.reason,
            }
            for name in params:
                row[name] = trial.params.get(name)
            for name, column in metric_columns.items():
                row[column] = trial.metrics.get(name)
            rows.append(row)
        return columns, rows

    def export_csv(self, path: Any) -> None:
        """Write one row per trial: number, status, value, each param, each metric, then
        seed, duration, epochs, tier, round, reason (params and metrics keep their names)."""
        columns, rows = self._rows()
        with open(path, "w", newline="", encoding="utf-8") as handle:
            writer = csv.DictWriter(handle, fieldnames=columns)
            writer.writeheader()
            for row in rows:
                writer.writerow({k: ("" if v is None else v) for k, v in row.items()})

    def export_json(self, path: Any) -> None:
        """Write the study (name, seed, direction, space, strategy, budget) and every trial
        with its params, metrics and history, as strict JSON (NaN and inf become null)."""
        record = self.storage.get_study(self.name)
        data = {
            "study": {
                "name": self.name,
                "seed": self.seed,
                "direction": self.direction,
                "space": record["space"],
                "strategy": record["strategy"],
                "budget": record["budget"],
                "seconds_used": record["seconds_used"],
            },
            "trials": [
                {
                    "number": t.number,
                    "params": dict(t.params),
                    "status": t.status,
                    "value": t.value,
                    "metrics": dict(t.metrics),
                    "history": dict(t.history),
                    "seed": t.seed,
                    "duration": t.duration,
                    "epochs": t.epochs,
                    "tier": t.tier,
                    "round": t.round,
                    "reason": t.reason,
                }
                for t in self.trials
            ],
        }
        with open(path, "w", encoding="utf-8") as handle:
            json.dump(_finite(data), handle, indent=1, allow_nan=False)

    def to_dataframe(self) -> Any:
        """The trials as a pandas DataFrame with the columns of :meth:`export_csv`."""
        try:
            import pandas as pd
        except ImportError as exc:  # pragma: no cover - pandas is optional
            raise ImportError(
                "to_dataframe needs pandas; install it with `pip install pandas`"
            ) from exc
        columns, rows = self._rows()
        return pd.DataFrame(rows, columns=columns)


def _restored(storage: Storage, record: Mapping[str, Any]) -> tuple[Strategy, tuple[int, int]]:
    """The study's strategy rebuilt from one read of its trials, and the (trials stored,
    trials not running) of that read."""
    strategy = strategy_from_dict(record["strategy"])
    pairs = storage.trials_with_times(record["id"])
    strategy.restore([t for t, _ in pairs], {t.number: times for t, times in pairs})
    return strategy, (len(pairs), sum(t.status != RUNNING for t, _ in pairs))


def _finite(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(v) for v in value]
    return value


def _as_storage(storage: Any) -> Storage:
    if isinstance(storage, Storage):
        return storage
    if isinstance(storage, bytes) or not isinstance(storage, (str, os.PathLike)):
        raise TypeError(f"storage must be a path, ':memory:' or a Storage, got {storage!r}")
    try:
        return Storage(storage)
    except ValueError as exc:
        raise ValueError(f"storage: {exc}") from None


class _Loop:
    """One call of :meth:`Study.run`: the counters, the executor, the progress bar."""

    def __init__(
        self,
        study: Study,
        run_budget: Budget | None,
        n_jobs: int,
        progress: bool,
        start_method: str,
        callbacks: list[Callable[[Study, Trial], None]],
    ) -> None:
        self.study = study
        self.storage = study.storage
        self.run_budget = run_budget
        self.n_jobs = n_jobs
        self.progress = progress
        self.start_method = start_method
        self.callbacks = callbacks
        self.t0 = time.monotonic()
        self.accounted = self.t0
        self.seconds_base = self.storage.seconds_used(study.id)
        self.trials_total = self.storage.count_trials(study.id)
        self.epochs_total = self.storage.epochs_used(study.id)
        self.run_trials = 0
        self.run_epochs = 0
        # Trials this loop claimed and has not stored yet: on an exception they are marked
        # interrupted, wherever it struck (between the claim and the executor, or between
        # the executor and storage).
        self.open: set[int] = set()
        best = study.best_trial
        self.best = None if best is None else best.value

    # -- counters ---------------------------------------------------------------------------

    def used(self) -> Usage:
        return Usage(
            self.trials_total,
            self.epochs_total,
            self.seconds_base + (time.monotonic() - self.t0),
        )

    def run_used(self) -> Usage:
        return Usage(self.run_trials, self.run_epochs, time.monotonic() - self.t0)

    def spent(self) -> bool:
        budget, run_budget = self.study.budget, self.run_budget
        return bool(
            (budget is not None and budget.spent(self.used()))
            or (run_budget is not None and run_budget.spent(self.run_used()))
        )

    def remaining_trials(self) -> int | None:
        limits = []
        if self.study.budget is not None and self.study.budget.trials is not None:
            limits.append(self.study.budget.remaining_trials(self.used()))
        if self.run_budget is not None and self.run_budget.trials is not None:
            limits.append(self.run_budget.remaining_trials(self.run_used()))
        return min(limits) if limits else None

    def deadline(self) -> float | None:
        """The monotonic instant the tightest time budget runs out (None without one)."""
        ends = []
        if self.study.budget is not None and self.study.budget.seconds is not None:
            ends.append(self.t0 + self.study.budget.seconds - self.seconds_base)
        if self.run_budget is not None and self.run_budget.seconds is not None:
            ends.append(self.t0 + self.run_budget.seconds)
        return min(ends) if ends else None

    def budget_fraction(self) -> float | None:
        fractions = []
        if self.study.budget is not None:
            fractions.append(self.study.budget.fraction(self.used()))
        if self.run_budget is not None:
            fractions.append(self.run_budget.fraction(self.run_used()))
        return min(1.0, max(fractions)) if fractions else None

    # -- the loop ---------------------------------------------------------------------------

    def run(self) -> None:
        study, storage = self.study, self.storage
        stale = storage.mark_interrupted(
            study.id, storage.stale_running(study.id), reason=STALE_REASON
        )
        study._sync()  # other processes may have stored trials since the study was loaded
        if stale:
            logger.warning(
                "%d trial(s) of %r were left running; re-running them", len(stale), study.name
            )
        requeue = storage.trials(study.id, statuses=[INTERRUPTED])
        executor = make_executor(
            study.objective,
            self.n_jobs,  # type: ignore[arg-type]
            start_method=self.start_method,
        )
        bar = self._make_bar()
        try:
            while True:
                free = executor.capacity - executor.in_flight
                if free > 0 and not self.spent():
                    jobs = self._next_jobs(free, requeue)
                    if jobs:
                        executor.submit(jobs)
                if executor.in_flight == 0:
                    if not self._others_running():
                        break
                    time.sleep(POLL_SECONDS)  # another process runs trials we must wait for
                    continue
                finished = executor.wait(self.deadline())
                self._record(finished, bar)
        except BaseException:
            # The strategy may have proposed what was never stored, or missed a stored result:
            # the next run rebuilds it from storage.
            study._seen = (-1, -1)
            unfinished = self.open | {j.number for j in executor.pending_jobs()}
            executor.cancel()
            if unfinished:
                storage.mark_interrupted(
                    study.id,
                    sorted(unfinished),
                    reason="stopped by an exception in the study loop (e.g. Ctrl-C)",
                )
            raise
        finally:
            now = time.monotonic()
            storage.add_seconds(study.id, now - self.accounted)
            self.accounted = now
            executor.close()
            if bar is not None:
                bar.close()
        logger.info("study %r: %d trials, best %s", study.name, self.trials_total, self.best)

    def _next_jobs(self, free: int, requeue: list[Trial]) -> list[Job]:
        study, storage = self.study, self.storage
        jobs: list[Job] = []
        clock = self.used().seconds
        while requeue and len(jobs) < free:
            trial = requeue.pop(0)
            if storage.reclaim_trial(study.id, trial.number, clock=clock):
                self.open.add(trial.number)
                rows, done = study._seen
                study._seen = (rows, done - 1)
                jobs.append(
                    Job(
                        trial.number,
                        dict(trial.params),
                        trial.seed,
                        trial.tier,
                        trial.round,
                        clock,
                    )
                )
        room = free - len(jobs)
        if room <= 0 or requeue:
            return jobs
        # Catch up with other processes, ask and claim under one write lock, so no two
        # processes claim the same proposal.
        with storage.write_lock():
            if study._sync():
                self.trials_total = storage.count_trials(study.id)
                self.epochs_total = storage.epochs_used(study.id)
            remaining = self.remaining_trials()
            if remaining is not None:
                room = min(room, remaining)
            if room <= 0:
                return jobs
            proposals = study.strategy.ask(room, self.used())
            if not proposals:
                return jobs
            numbers = storage.claim_trials(
                study.id,
                [{"params": p.params, "tier": p.tier, "round": p.round} for p in proposals],
                seed_of=lambda k: child_seed(study.seed, k),
                clock=clock,
            )
            self.open.update(numbers)
            rows, done = study._seen
            study._seen = (rows + len(numbers), done)
        for number, proposal in zip(numbers, proposals):
            jobs.append(
                Job(
                    number,
                    dict(proposal.params),
                    child_seed(study.seed, number),
                    proposal.tier,
                    proposal.round,
                    clock,
                )
            )
        self.trials_total += len(numbers)
        self.run_trials += len(numbers)
        return jobs

    def _record(self, finished: list[tuple[Job, Outcome]], bar: Any) -> None:
        study, storage = self.study, self.storage
        told = []
        for job, outcome in sorted(finished, key=lambda pair: pair[0].number):
            status = outcome.status
            if status not in (COMPLETE, FAILED, DIVERGED, INTERRUPTED):
                status, outcome.reason = FAILED, f"unknown outcome status {status!r}"
            trial = Trial(
                number=job.number,
                params=job.params,
                status=status,
                value=outcome.value if status == COMPLETE else None,
                metrics=outcome.metrics,
                history=outcome.history,
                seed=job.seed,
                duration=outcome.duration,
                epochs=int(outcome.epochs),
                tier=job.tier,
                round=job.round,
                reason=outcome.reason,
            )
            now = time.monotonic()
            storage.finish_trial(
                study.id, trial, clock=self.used().seconds, seconds=now - self.accounted
            )
            self.open.discard(job.number)
            self.accounted = now
            rows, done = study._seen
            study._seen = (rows, done + 1)
            self.epochs_total += trial.epochs
            self.run_epochs += trial.epochs
            if trial.status != INTERRUPTED:
                told.append(trial)
            if trial.ok and (
                self.best is None or _better(trial.value, self.best, study.direction)
            ):
                self.best = trial.value
            if trial.status in (FAILED, DIVERGED):
                logger.info("trial %d %s: %s", trial.number, trial.status, trial.reason)
            else:
                logger.debug("trial %d %s: %s", trial.number, trial.status, trial.value)
            if bar is not None:
                bar.update(1)
            for callback in self.callbacks:
                callback(study, trial)
        if told:
            study.strategy.tell(told)
        if bar is not None:
            postfix = {"best": "-" if self.best is None else f"{self.best:.4g}"}
            fraction = self.budget_fraction()
            if fraction is not None:
                postfix["budget"] = f"{100 * fraction:.0f}%"
            bar.set_postfix(postfix, refresh=False)

    def _others_running(self) -> bool:
        """True when trials claimed by other live processes are still running and this
        study's strategy may need their results."""
        if self.spent() or self.study.strategy.finished:
            return False
        rows, done = self.storage.progress(self.study.id)
        return rows - done > 0

    def _make_bar(self) -> Any:
        if not self.progress:
            return None
        try:
            from tqdm.auto import tqdm
        except ImportError:  # pragma: no cover - tqdm is in the "study" extra
            logger.warning("tqdm is not installed; running without a progress bar")
            return None
        done = (
            self.storage.count_trials(self.study.id)
            - self.storage.count_trials(self.study.id, status=INTERRUPTED)
            - self.storage.count_trials(self.study.id, status=RUNNING)
        )
        totals = []
        strategy_total = self.study.strategy.total
        if strategy_total is not None:
            totals.append(strategy_total)
        if self.study.budget is not None and self.study.budget.trials is not None:
            totals.append(self.study.budget.trials)
        if self.run_budget is not None and self.run_budget.trials is not None:
            totals.append(self.trials_total + self.run_budget.trials)
        return tqdm(
            total=min(totals) if totals else None,
            initial=done,
            desc=self.study.name,
            unit="trial",
            file=sys.stderr,
            dynamic_ncols=True,
        )


def _better(a: float | None, b: float, direction: str) -> bool:
    if a is None:
        return False
    return a < b if direction == "minimize" else a > b
