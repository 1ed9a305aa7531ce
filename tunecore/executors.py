"""Executors: where a study's trials run.

Three kinds, one interface (``capacity``, ``submit(jobs)``, ``wait(deadline)``,
``cancel()``, ``close()``):

- :class:`SerialExecutor`: one trial at a time in this process.
- :class:`BatchExecutor`: a batched objective (the built-in MLP objective) gets a whole batch
  in one call, which ``train_many`` trains in parallel inside the C++ core.
- :class:`ProcessExecutor`: plain callables in a :class:`concurrent.futures.ProcessPoolExecutor`
  whose workers start with "spawn" (or "forkserver" when asked). Never "fork": a process
  forked after OpenMP threads have run can hang in the OpenMP runtime; the rule for users is
  the same (use ``multiprocessing.get_context("spawn")`` or "forkserver" around tunecore).
"""

from __future__ import annotations

import concurrent.futures as cf
import multiprocessing
import time
from collections.abc import Mapping
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from typing import Any

from tunecore.objectives import Objective, Outcome
from tunecore.trial import FAILED


@dataclass
class Job:
    """A claimed trial waiting to run (or running)."""

    number: int
    params: Mapping[str, Any]
    seed: int
    tier: int | None = None
    round: int | None = None
    clock_start: float = 0.0
    extra: dict[str, Any] = field(default_factory=dict)


class SerialExecutor:
    """Run one trial at a time in this process."""

    capacity = 1

    def __init__(self, objective: Objective) -> None:
        self.objective = objective
        self._pending: list[Job] = []

    @property
    def in_flight(self) -> int:
        return len(self._pending)

    def submit(self, jobs: list[Job]) -> None:
        self._pending.extend(jobs)

    def wait(self, deadline: float | None = None) -> list[tuple[Job, Outcome]]:
        """Run the oldest pending trial and return it with its outcome."""
        if not self._pending:
            return []
        job = self._pending[0]  # stays pending while it runs, so an interrupt can mark it
        outcome = _timed(self.objective.evaluate, job)
        self._pending.pop(0)
        return [(job, outcome)]

    def pending_jobs(self) -> list[Job]:
        return list(self._pending)

    def cancel(self) -> None:
        self._pending.clear()

    def close(self) -> None:
        self._pending.clear()


class BatchExecutor(SerialExecutor):
    """Hand every pending trial to the objective's ``evaluate_batch`` in one call."""

    def __init__(self, objective: Objective, capacity: int, threads: int | None = None) -> None:
        super().__init__(objective)
        self.capacity = max(1, int(capacity))
        self.threads = threads

    def wait(self, deadline: float | None = None) -> list[tuple[Job, Outcome]]:
        jobs = list(self._pending)
        if not jobs:
            return []
        start = time.perf_counter()
        try:
            outcomes = self.objective.evaluate_batch(
                [j.params for j in jobs],
                [j.seed for j in jobs],
                deadline=deadline,
                threads=self.threads,
            )
        except Exception as exc:  # noqa: BLE001 - a broken batch fails its trials only
            reason = f"{type(exc).__name__}: {exc}"
            outcomes = [Outcome(FAILED, reason=reason) for _ in jobs]
        elapsed = time.perf_counter() - start
        for outcome in outcomes:
            if outcome.duration is None:
                outcome.duration = elapsed
        self._pending = []
        return list(zip(jobs, outcomes))


def _timed(evaluate: Any, job: Job) -> Outcome:
    start = time.perf_counter()
    outcome = evaluate(job.params, job.seed)
    if outcome.duration is None:
        outcome.duration = time.perf_counter() - start
    return outcome


def _evaluate_in_worker(objective: Objective, params: Mapping[str, Any], seed: int) -> Outcome:
    """What a worker process runs (module level, so it pickles by reference)."""
    return objective.evaluate(params, seed)


class ProcessExecutor:
    """Run trials of a picklable objective in worker processes.

    Parameters
    ----------
    objective : Objective
        Pickled to the workers (a module-level function inside it pickles by reference).
    n_jobs : int
        Worker processes, also the number of trials in flight.
    start_method : {"spawn", "forkserver"}
        How workers start; "fork" is refused (see the module docstring).
    """

    def __init__(self, objective: Objective, n_jobs: int, start_method: str = "spawn") -> None:
        if not isinstance(start_method, str) or start_method not in ("spawn", "forkserver"):
            raise ValueError(f"start_method must be 'spawn' or 'forkserver', got {start_method!r}")
        self.objective = objective
        self.capacity = int(n_jobs)
        self._context = multiprocessing.get_context(start_method)
        self._pool = cf.ProcessPoolExecutor(max_workers=self.capacity, mp_context=self._context)
        self._futures: dict[cf.Future, Job] = {}
        self._cancelled = False

    @property
    def in_flight(self) -> int:
        return len(self._futures)

    def submit(self, jobs: list[Job]) -> None:
        for job in jobs:
            try:
                future = self._pool.submit(
                    _evaluate_in_worker, self.objective, dict(job.params), job.seed
                )
            except BrokenProcessPool:
                # A worker died (an objective that crashed its interpreter): the trials it
                # broke come back failed from wait(); the study goes on in a fresh pool.
                self._pool.shutdown(wait=False, cancel_futures=True)
                self._pool = cf.ProcessPoolExecutor(
                    max_workers=self.capacity, mp_context=self._context
                )
                future = self._pool.submit(
                    _evaluate_in_worker, self.objective, dict(job.params), job.seed
                )
            self._futures[future] = job

    def wait(self, deadline: float | None = None) -> list[tuple[Job, Outcome]]:
        """Block until at least one trial finishes; return every finished one."""
        if not self._futures:
            return []
        done, _ = cf.wait(list(self._futures), return_when=cf.FIRST_COMPLETED)
        out = []
        for future in sorted(done, key=lambda f: self._futures[f].number):
            job = self._futures.pop(future)
            try:
                outcome = future.result()
            except BrokenProcessPool as exc:
                reason = (
                    "a worker process died while this trial ran or waited (an objective may "
                    f"have crashed its interpreter): {exc}"
                )
                outcome = Outcome(FAILED, reason=reason)
            except Exception as exc:  # noqa: BLE001 - e.g. an unpicklable result
                outcome = Outcome(FAILED, reason=f"{type(exc).__name__}: {exc}")
            out.append((job, outcome))
        return out

    def pending_jobs(self) -> list[Job]:
        return list(self._futures.values())

    def cancel(self) -> None:
        for future in self._futures:
            future.cancel()
        self._pool.shutdown(wait=False, cancel_futures=True)
        self._futures.clear()
        self._cancelled = True

    def close(self) -> None:
        # After cancel() the workers may still be finishing a trial nobody will read: do not
        # wait for them.
        self._pool.shutdown(wait=not self._cancelled, cancel_futures=True)


def make_executor(objective: Objective, n_jobs: int, *, start_method: str = "spawn") -> Any:
    """The executor a study uses for ``objective`` with ``n_jobs`` parallel trials."""
    if objective.batched:
        # n_jobs > 1 asks for that many trials at once: the batch's threads too.
        return BatchExecutor(
            objective, objective.batch_size(n_jobs), n_jobs if n_jobs > 1 else None
        )
    if n_jobs > 1:
        return ProcessExecutor(objective, n_jobs, start_method)
    return SerialExecutor(objective)


__all__ = ["BatchExecutor", "Job", "ProcessExecutor", "SerialExecutor", "make_executor"]
