"""Random search: trial k is point k of a random or quasi-random sequence."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from tunecore.strategies.base import (
    Proposal,
    Strategy,
    Usage,
    check_count,
    check_sampler,
    check_space,
    register,
    sample_points,
)
from tunecore.trial import Trial


@register
class RandomSearch(Strategy):
    """Sample the space with a random or low-discrepancy sequence.

    Trial k is point k of the sequence (``Space.sample(..., start=k)``), so the proposals do
    not depend on batch sizes, parallelism or resume.

    Parameters
    ----------
    space : Space
        The search space.
    n_trials : int or None
        Trials to propose; None proposes until the study's budget stops it.
    sampler : {"random", "sobol", "halton", "lhs"}
        The sequence (see :mod:`tunecore.samplers`).
    seed : int or None
        Seed of the sequence; the study's seed when None.

    Examples
    --------
    >>> from tunecore.space import Float, Space
    >>> search = RandomSearch(Space({"x": Float(0.0, 1.0)}), 4, sampler="sobol", seed=0)
    >>> len(search.ask(10))
    4
    """

    name = "random"

    def __init__(
        self,
        space: Any,
        n_trials: int | None = None,
        sampler: str = "random",
        seed: int | None = None,
    ) -> None:
        super().__init__(check_space(space), seed=seed)
        self.n_trials = check_count(n_trials, "n_trials", none=True)
        self.sampler = check_sampler(sampler)
        self._issued = 0

    def ask(self, n: int, used: Usage | None = None) -> list[Proposal]:
        n = max(0, int(n))
        if self.n_trials is not None:
            n = min(n, self.n_trials - self._issued)
        if n <= 0:
            return []
        if self.seed is None:
            raise RuntimeError("seed must be set before ask (a study sets it), got None")
        points = sample_points(self.space, n, self.sampler, self.seed, self._issued)
        self._issued += n
        return [Proposal(params=dict(p)) for p in points]

    def _account(self, trial: Trial) -> None:
        self._issued += 1

    @property
    def finished(self) -> bool:
        return self.n_trials is not None and self._issued >= self.n_trials

    @property
    def total(self) -> int | None:
        return self.n_trials

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "space": self.space.to_dict(),
            "n_trials": self.n_trials,
            "sampler": self.sampler,
            "seed": self.seed,
            "direction": self.direction,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> RandomSearch:
        from tunecore.space import Space

        strategy = cls(
            Space.from_dict(data["space"]),
            data.get("n_trials"),
            sampler=data.get("sampler", "random"),
            seed=data.get("seed"),
        )
        strategy.direction = data.get("direction", "minimize")
        return strategy
