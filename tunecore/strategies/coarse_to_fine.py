"""Coarse-to-fine search: rounds of quasi-random sampling in a box that shrinks round by round.

How the next round's box is made, for each dimension of the original space:

1. Take the round's complete trials with a finite value and keep the best
   ``max(1, round(keep * count))`` of them (ties broken by trial number).
2. Map their values to unit coordinates of the *original* dimension, on that dimension's own
   scale (``Float(..., scale="log")`` and ``Int(..., log=True)`` in log space, reverse_log in
   log(1 - x) space), and take the interval they span.
3. Widen it by ``margin`` times the width of the current round's box on each side (so a
   single best point still gives a box), clip it to [0, 1], and map it back to values.
4. ``Choice`` dimensions keep the options seen among the kept trials (in their original
   order); ``Fixed`` dimensions stay as they are.

The next round samples ``original_space.restrict(box)``, so no box is ever wider than the
original space. A round whose trials all failed keeps the current box. Round r draws from the
sequence seeded ``child_seed(seed, r)``; the round's trial j is point j of that sequence.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from tunecore._seeding import child_seed
from tunecore.strategies.base import (
    Proposal,
    Strategy,
    Usage,
    check_count,
    check_sampler,
    check_space,
    register,
    sample_points,
    sort_key,
)
from tunecore.trial import Trial


def _kind(dim: Any) -> str:
    """``choice``, ``fixed`` or ``numeric`` for a dimension of :mod:`tunecore.space`."""
    from tunecore.space import Choice, Fixed

    if isinstance(dim, Fixed):
        return "fixed"
    if isinstance(dim, Choice):
        return "choice"
    return "numeric"


def _plain(value: Any) -> Any:
    """A NumPy scalar as the Python scalar it holds (other values unchanged)."""
    return value.item() if isinstance(value, np.generic) else value


def box_values(
    space: Any, unit_box: Mapping[str, tuple[float, float]], options: Mapping[str, list]
) -> dict[str, Any]:
    """The box in values: name -> [low, high] for numeric dims, the options for Choice ones."""
    box: dict[str, Any] = {}
    for name, dim in space.dimensions.items():
        kind = _kind(dim)
        if kind == "fixed":
            continue
        if kind == "choice":
            box[name] = list(options[name])
            continue
        lo, hi = unit_box[name]
        values = [_plain(v) for v in dim.from_unit(np.array([lo, hi], dtype=float))]
        box[name] = [min(values), max(values)]
    return box


def shrink_box(
    space: Any,
    unit_box: Mapping[str, tuple[float, float]],
    best: list[Trial],
    *,
    margin: float,
) -> tuple[dict[str, tuple[float, float]], dict[str, list]]:
    """The next round's box (unit coordinates, Choice options) from the kept ``best`` trials."""
    new_unit: dict[str, tuple[float, float]] = {}
    new_options: dict[str, list] = {}
    for name, dim in space.dimensions.items():
        kind = _kind(dim)
        if kind == "fixed":
            continue
        values = [trial.params[name] for trial in best]
        if kind == "choice":
            new_options[name] = [o for o in dim.options if o in values]
            continue
        u = np.asarray(dim.to_unit(values), dtype=float)
        width = unit_box[name][1] - unit_box[name][0]
        lo = max(0.0, float(u.min()) - margin * width)
        hi = min(1.0, float(u.max()) + margin * width)
        new_unit[name] = (lo, hi)
    return new_unit, new_options


@dataclass
class _Round:
    index: int
    space: Any
    unit_box: dict[str, tuple[float, float]]
    options: dict[str, list]
    issued: int = 0
    told: list[Trial] = field(default_factory=list)


class RoundEngine:
    """The round bookkeeping shared by :class:`CoarseToFine` and coarse-to-fine tiers.

    Only the names of ``space`` are read from a trial's params, so a tier can run it on its
    own parameters while the proposals carry the others.
    """

    def __init__(
        self,
        space: Any,
        per_round: int,
        *,
        keep: float,
        margin: float,
        sampler: str,
        seed: int,
        direction: str,
        max_rounds: int | None,
    ) -> None:
        self.space = space
        self.per_round = per_round
        self.keep = keep
        self.margin = margin
        self.sampler = sampler
        self.seed = seed
        self.direction = direction
        self.max_rounds = max_rounds
        unit = {n: (0.0, 1.0) for n, d in space.dimensions.items() if _kind(d) == "numeric"}
        options = {n: list(d.options) for n, d in space.dimensions.items() if _kind(d) == "choice"}
        self.rounds = [_Round(0, space, unit, options)]

    def _advance(self) -> None:
        last = self.rounds[-1]
        ok = sorted((t for t in last.told if t.ok), key=sort_key(self.direction))
        if not ok:
            unit, options, space = dict(last.unit_box), dict(last.options), last.space
        else:
            kept = ok[: max(1, round(self.keep * len(ok)))]
            unit, options = shrink_box(self.space, last.unit_box, kept, margin=self.margin)
            space = self.space.restrict(box_values(self.space, unit, options))
        self.rounds.append(_Round(last.index + 1, space, unit, options))

    def ask(self, n: int) -> list[tuple[dict, int]]:
        """Up to ``n`` (params, round) pairs; [] while a round's results are awaited."""
        current = self.rounds[-1]
        if current.issued >= self.per_round:
            if len(current.told) < self.per_round:
                return []
            if self.max_rounds is not None and len(self.rounds) >= self.max_rounds:
                return []
            self._advance()
            current = self.rounds[-1]
        n = min(int(n), self.per_round - current.issued)
        if n <= 0:
            return []
        points = sample_points(
            current.space, n, self.sampler, child_seed(self.seed, current.index), current.issued
        )
        current.issued += n
        return [(dict(p), current.index) for p in points]

    def account(self, round_index: int) -> None:
        """Count a stored trial of round ``round_index`` as proposed."""
        while len(self.rounds) <= round_index:
            self._advance()
        self.rounds[round_index].issued += 1

    def learn(self, trial: Trial) -> None:
        """Take a finished trial of one of the rounds."""
        if trial.round is not None and trial.round < len(self.rounds):
            self.rounds[trial.round].told.append(trial)

    @property
    def finished(self) -> bool:
        return (
            self.max_rounds is not None
            and len(self.rounds) >= self.max_rounds
            and self.rounds[-1].issued >= self.per_round
        )

    @property
    def boxes(self) -> list[dict[str, Any]]:
        """Each started round's box: name -> [low, high] or the Choice options kept."""
        return [box_values(self.space, r.unit_box, r.options) for r in self.rounds]


@register
class CoarseToFine(Strategy):
    """Rounds of quasi-random search, each in the box the previous round's best spanned.

    See the module docstring for the exact rule. ``rounds * trials_per_round`` trials in all;
    a round starts only when every trial of the previous one has finished.

    Parameters
    ----------
    space : Space
        The original search space; every box stays inside it.
    rounds : int
        Number of rounds (>= 1).
    trials_per_round : int
        Trials per round (>= 1; a power of two suits ``sampler="sobol"``).
    keep : float
        Fraction in (0, 1] of a round's complete trials whose span makes the next box.
    margin : float
        Widening on each side, as a fraction (>= 0) of the current box's width.
    sampler : {"random", "sobol", "halton", "lhs"}
        The sequence each round samples from.
    seed : int or None
        The study's seed when None.

    Attributes
    ----------
    boxes : list of dict
        The box of every round started so far (round 0 is the whole space).

    Examples
    --------
    >>> from tunecore.space import Float, Space
    >>> c2f = CoarseToFine(Space({"x": Float(0.0, 1.0)}), rounds=3, trials_per_round=8, seed=0)
    >>> len(c2f.ask(100))  # one round at a time
    8
    """

    name = "coarse_to_fine"

    def __init__(
        self,
        space: Any,
        rounds: int,
        trials_per_round: int,
        keep: float = 0.2,
        margin: float = 0.1,
        sampler: str = "sobol",
        seed: int | None = None,
    ) -> None:
        super().__init__(check_space(space), seed=seed)
        self.rounds = check_count(rounds, "rounds")
        self.trials_per_round = check_count(trials_per_round, "trials_per_round")
        if not (isinstance(keep, (int, float)) and 0.0 < keep <= 1.0):
            raise ValueError(f"keep must be a fraction in (0, 1], got {keep!r}")
        if not (isinstance(margin, (int, float)) and margin >= 0.0):
            raise ValueError(f"margin must be a number >= 0, got {margin!r}")
        self.keep = float(keep)
        self.margin = float(margin)
        self.sampler = check_sampler(sampler)
        self._engine: RoundEngine | None = None

    def _get_engine(self) -> RoundEngine:
        if self._engine is None:
            if self.seed is None:
                raise RuntimeError("seed must be set before ask (a study sets it), got None")
            self._engine = RoundEngine(
                self.space,
                self.trials_per_round,
                keep=self.keep,
                margin=self.margin,
                sampler=self.sampler,
                seed=self.seed,
                direction=self.direction,
                max_rounds=self.rounds,
            )
        return self._engine

    def ask(self, n: int, used: Usage | None = None) -> list[Proposal]:
        return [Proposal(params=p, round=r) for p, r in self._get_engine().ask(n)]

    def _account(self, trial: Trial) -> None:
        self._get_engine().account(trial.round if trial.round is not None else 0)

    def _learn(self, trial: Trial) -> None:
        self._get_engine().learn(trial)

    @property
    def finished(self) -> bool:
        return self._get_engine().finished if self.seed is not None else False

    @property
    def total(self) -> int:
        return self.rounds * self.trials_per_round

    @property
    def boxes(self) -> list[dict[str, Any]]:
        """The box of every round started so far (round 0 is the whole space)."""
        return self._get_engine().boxes

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "space": self.space.to_dict(),
            "rounds": self.rounds,
            "trials_per_round": self.trials_per_round,
            "keep": self.keep,
            "margin": self.margin,
            "sampler": self.sampler,
            "seed": self.seed,
            "direction": self.direction,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> CoarseToFine:
        from tunecore.space import Space

        strategy = cls(
            Space.from_dict(data["space"]),
            data["rounds"],
            data["trials_per_round"],
            keep=data.get("keep", 0.2),
            margin=data.get("margin", 0.1),
            sampler=data.get("sampler", "sobol"),
            seed=data.get("seed"),
        )
        strategy.direction = data.get("direction", "minimize")
        return strategy
