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
from tunecore.trial import FAILED, INTERRUPTED


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

    A worker that dies (an objective that crashed its interpreter, ran out of memory or called
    ``os._exit``) breaks the whole pool, and with it every trial in flight there. Those trials
    are not failed on the spot: the pool is replaced and each of them runs again, one at a
    time, alone in a one-worker pool of its own. Only a trial that kills that worker too is
    failed, so a crash costs the trial that caused it and nothing else. Trials re-run from
    their own seed and give what they would have given the first time.

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
        self._pool = self._new_pool(self.capacity)
        self._alone: cf.ProcessPoolExecutor | None = None  # where suspects re-run, one by one
        self._futures: dict[cf.Future, tuple[Job, cf.ProcessPoolExecutor]] = {}
        self._suspects: list[Job] = []  # broken by a dead worker, waiting to re-run alone
        self._cancelled = False

    def _new_pool(self, workers: int) -> cf.ProcessPoolExecutor:
        return cf.ProcessPoolExecutor(max_workers=workers, mp_context=self._context)

    @property
    def in_flight(self) -> int:
        return len(self._futures) + len(self._suspects)

    def _submit_to(self, pool: cf.ProcessPoolExecutor, job: Job) -> cf.Future:
        future = pool.submit(_evaluate_in_worker, self.objective, dict(job.params), job.seed)
        self._futures[future] = (job, pool)
        return future

    def submit(self, jobs: list[Job]) -> None:
        for job in jobs:
            try:
                self._submit_to(self._pool, job)
            except (BrokenProcessPool, OSError, ValueError, RuntimeError):
                # A worker died. The pool says so (BrokenProcessPool), or, caught while it
                # tears itself down, fails to start a replacement worker (OSError "handle is
                # closed", ValueError "bad value(s) in fds_to_keep"). One more failure, in a
                # fresh pool, is not the pool's doing and propagates.
                self._renew_pool()
                self._submit_to(self._pool, job)

    def _renew_pool(self) -> None:
        _abandon(self._pool)
        self._pool = self._new_pool(self.capacity)

    def _run_next_suspect(self) -> None:
        if not self._suspects or any(p is self._alone for _, p in self._futures.values()):
            return
        if self._alone is None:
            self._alone = self._new_pool(1)
        self._submit_to(self._alone, self._suspects.pop(0))

    def wait(self, deadline: float | None = None) -> list[tuple[Job, Outcome]]:
        """Block until at least one trial finishes; return every finished one.

        May return an empty list when what finished were trials broken by a dead worker: they
        stay in flight until their re-run alone ends.
        """
        out = self._next_suspect(deadline)
        if not self._futures:
            return out
        done, _ = cf.wait(list(self._futures), return_when=cf.FIRST_COMPLETED)
        for future in sorted(done, key=lambda f: self._futures[f][0].number):
            job, pool = self._futures.pop(future)
            try:
                outcome = future.result()
            except BrokenProcessPool as exc:
                if pool is self._alone:
                    # It ran alone, so its own run killed the worker.
                    _abandon(self._alone)
                    self._alone = None
                    reason = (
                        "the worker process died while this trial ran alone (the objective "
                        f"crashed its interpreter or was killed): {exc}"
                    )
                    outcome = Outcome(FAILED, reason=reason)
                else:
                    if pool is self._pool:
                        self._renew_pool()
                    self._suspects.append(job)
                    continue
            except Exception as exc:  # noqa: BLE001 - e.g. an unpicklable result
                outcome = Outcome(FAILED, reason=f"{type(exc).__name__}: {exc}")
            out.append((job, outcome))
        self._suspects.sort(key=lambda j: j.number)
        return out + self._next_suspect(deadline)

    def _next_suspect(self, deadline: float | None) -> list[tuple[Job, Outcome]]:
        """Start the next re-run alone; or, once the budget is spent, give up every waiting
        one as interrupted (no trial starts after the budget, re-runs included; a resumed
        study runs them)."""
        if self._suspects and deadline is not None and time.monotonic() >= deadline:
            reason = "a worker died beside it and the budget's time ran out before its re-run"
            out = [(job, Outcome(INTERRUPTED, reason=reason)) for job in self._suspects]
            self._suspects.clear()
            return out
        self._run_next_suspect()
        return []

    def pending_jobs(self) -> list[Job]:
        return [job for job, _ in self._futures.values()] + list(self._suspects)

    def _pools(self) -> list[cf.ProcessPoolExecutor]:
        return [p for p in (self._pool, self._alone) if p is not None]

    def cancel(self) -> None:
        for future in self._futures:
            future.cancel()
        for pool in self._pools():
            _abandon(pool)  # the running trials are recorded interrupted: end them
        self._futures.clear()
        self._suspects.clear()
        self._cancelled = True

    def close(self) -> None:
        # After cancel() the workers are being ended: do not wait for them.
        for pool in self._pools():
            pool.shutdown(wait=not self._cancelled, cancel_futures=True)


def _abandon(pool: cf.ProcessPoolExecutor) -> None:
    """Give up a broken pool without waiting for it, and end the workers it still has.

    A worker the pool started while it was breaking (a trial submitted just before the break
    showed) can be missed by the pool's own teardown, which then waits for it forever, and
    at exit so does the interpreter. ``_processes`` is the pool's private map of its workers
    (taken before ``shutdown``, which drops it); where it is missing, the pool is left to its
    own teardown.
    """
    workers = getattr(pool, "_processes", None) or {}
    pool.shutdown(wait=False, cancel_futures=True)
    for process in list(workers.values()):
        if process.is_alive():
            process.terminate()


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
