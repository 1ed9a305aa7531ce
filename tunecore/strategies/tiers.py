"""The tier-budget scheduler: search the hyperparameters that matter most first.

Tiers run strictly in order. Tier i searches only its own parameters, with every earlier tier
fixed at the values of its best trial and every later tier at its defaults. Each tier gets a
share of one budget (trials, epochs or seconds).

Allotments
    With a budget of B units and shares s_0..s_{T-1} (normalized to sum to 1), tier i is
    allotted ``round(B * (s_0 + .. + s_i)) - round(B * (s_0 + .. + s_{i-1}))`` trials for a
    trial budget (so the allotments add up to B exactly), ``B * s_i`` epochs or seconds
    otherwise, plus the carry from the tier before it.

Spending
    Trials: trials proposed by the tier. Epochs: epochs of its finished trials. Seconds: the
    study's wall-clock time since the tier started. A tier stops proposing once it has spent
    its allotment (every tier runs at least one trial); it *closes* when its last trial has
    finished, and the next tier starts then, never before.

Carry
    When a tier closes, ``allotment - spent`` passes to the next tier: positive when the tier
    converged early (below), negative when trials in flight ran past a time or epoch
    allotment, so the shares stay right over the whole study.

Patience (early convergence), exactly
    The tier reads its finished trials in trial-number order (within each batch it is told).
    A trial *improves* the tier when it is complete with a finite value and either no earlier
    trial of the tier was, or its value beats the tier's best so far by more than
    ``min_improvement * |best|`` (a relative amount; 0.01 = 1%). The tier converges at the
    first trial after which ``patience`` trials in a row (failed ones included) have not
    improved it; it then proposes nothing more and hands the rest of its allotment on. When
    the last tier converges the strategy is finished and the budget left is not spent.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from tunecore._seeding import child_seed
from tunecore.strategies.base import (
    Budget,
    Proposal,
    Strategy,
    Usage,
    best_of,
    check_count,
    check_sampler,
    check_space,
    register,
    sample_points,
)
from tunecore.strategies.coarse_to_fine import RoundEngine
from tunecore.trial import Trial

SEARCHES = ("random", "coarse_to_fine")
DEFAULT_SHARES = (0.5, 0.2, 0.2, 0.1)


@dataclass(frozen=True)
class Tier:
    """One tier: a name, the parameters it searches and their defaults.

    Parameters
    ----------
    name : str
        A label for tables and plots.
    space : Space or dict
        The tier's own parameters (disjoint from every other tier's).
    defaults : dict, optional
        The value of each parameter while the tier has not run yet. Missing entries come
        from the dimensions' ``default`` (a Fixed dimension's value counts); a parameter with
        neither raises ValueError.
    search : {"random", "coarse_to_fine"}
        How the tier searches its parameters: one quasi-random sequence, or coarse-to-fine
        rounds of ``round_size`` trials that keep shrinking until the allotment is spent.
    sampler : {"random", "sobol", "halton", "lhs"}
        The sequence sampled.
    round_size : int, optional
        Trials per coarse-to-fine round; ``max(8, 4 * d)`` for d searched parameters.
    keep, margin : float
        The coarse-to-fine rule (see :class:`tunecore.strategies.CoarseToFine`).

    Examples
    --------
    >>> from tunecore.space import Float
    >>> Tier("learning rate", {"lr": Float(1e-4, 1.0, scale="log", default=1e-3)}).defaults
    {'lr': 0.001}
    """

    name: str
    space: Any
    defaults: Mapping[str, Any] = field(default=None)  # type: ignore[assignment]
    search: str = "random"
    sampler: str = "sobol"
    round_size: int | None = None
    keep: float = 0.2
    margin: float = 0.1

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name:
            raise ValueError(f"name must be a non-empty string, got {self.name!r}")
        space = check_space(self.space, "space")
        object.__setattr__(self, "space", space)
        if self.defaults is not None and not isinstance(self.defaults, Mapping):
            raise TypeError(
                f"defaults must be a dict of parameter -> value, got {self.defaults!r}"
            )
        given = dict(self.defaults or {})
        unknown = [k for k in given if k not in space]
        if unknown:
            raise ValueError(
                f"defaults must name parameters of tier {self.name!r} ({list(space.names)}), "
                f"got {unknown[0]!r}"
            )
        defaults = {**space.defaults, **given}
        missing = [n for n in space.names if n not in defaults]
        if missing:
            raise ValueError(
                f"defaults must give a value for every parameter of tier {self.name!r}; "
                f"{missing[0]!r} has none"
            )
        object.__setattr__(self, "defaults", {n: defaults[n] for n in space.names})
        if not isinstance(self.search, str) or self.search not in SEARCHES:
            raise ValueError(f"search must be one of {SEARCHES}, got {self.search!r}")
        check_sampler(self.sampler)
        check_count(self.round_size, "round_size", none=True)

    @property
    def per_round(self) -> int:
        """Trials per coarse-to-fine round."""
        return self.round_size or max(8, 4 * len(self.space.sampled_names))

    def to_dict(self) -> dict[str, Any]:
        """A plain description (see :meth:`from_dict`)."""
        return {
            "name": self.name,
            "space": self.space.to_dict(),
            "defaults": dict(self.defaults),
            "search": self.search,
            "sampler": self.sampler,
            "round_size": self.round_size,
            "keep": self.keep,
            "margin": self.margin,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Tier:
        """Rebuild a tier from :meth:`to_dict`."""
        from tunecore.space import Space

        args = dict(data)
        args["space"] = Space.from_dict(args["space"])
        return cls(**args)


def default_tiers(optimizer: str = "adam") -> list[Tier]:
    """The built-in hierarchy, most important first (use with shares (0.5, 0.2, 0.2, 0.1)).

    1. ``learning rate``: ``lr`` log 1e-4..1 (default 1e-3); ``optimizer`` fixed.
    2. ``momentum and batch``: Adam's ``beta1`` (adam), ``momentum`` (momentum) or
       ``rho`` (rmsprop), reverse_log 0.8..0.999 (default 0.9); ``batch_size`` 32..512 in
       powers of two (default 32).
    3. ``network size``: ``units`` per hidden layer log-int 16..512 (default 64) and
       ``layers`` 1..4 (default 1).
    4. ``fine details``: ``lr_decay`` (default "none"); for adam ``beta2`` reverse_log
       0.9..0.9999 (default 0.999) and ``eps`` log 1e-10..1e-6 (default 1e-8); for rmsprop
       ``eps``.

    Parameters
    ----------
    optimizer : {"adam", "momentum", "sgd", "rmsprop"}

    Examples
    --------
    >>> [t.name for t in default_tiers()]
    ['learning rate', 'momentum and batch', 'network size', 'fine details']
    """
    from tunecore.space import Choice, Fixed, Float, Int

    optimizers = ("adam", "momentum", "sgd", "rmsprop")
    if not isinstance(optimizer, str) or optimizer not in optimizers:
        raise ValueError(f"optimizer must be one of {optimizers}, got {optimizer!r}")
    tier1 = {"lr": Float(1e-4, 1.0, scale="log", default=1e-3), "optimizer": Fixed(optimizer)}
    tier2: dict[str, Any] = {}
    first_moment = {"adam": "beta1", "momentum": "momentum", "rmsprop": "rho"}.get(optimizer)
    if first_moment is not None:
        tier2[first_moment] = Float(0.8, 0.999, scale="reverse_log", default=0.9)
    tier2["batch_size"] = Choice([32, 64, 128, 256, 512], default=32)
    tier3 = {"units": Int(16, 512, log=True, default=64), "layers": Int(1, 4, default=1)}
    tier4: dict[str, Any] = {
        "lr_decay": Choice(
            ["none", "inverse_time", "exponential", "step", "cosine"], default="none"
        )
    }
    if optimizer == "adam":
        tier4["beta2"] = Float(0.9, 0.9999, scale="reverse_log", default=0.999)
    if optimizer in ("adam", "rmsprop"):
        tier4["eps"] = Float(1e-10, 1e-6, scale="log", default=1e-8)
    from tunecore.space import Space

    return [
        Tier("learning rate", Space(tier1)),
        Tier("momentum and batch", Space(tier2)),
        Tier("network size", Space(tier3)),
        Tier("fine details", Space(tier4)),
    ]


@dataclass
class _TierState:
    allotted: float = 0.0
    start: float | None = None
    end: float | None = None
    issued: int = 0
    told: list[Trial] = field(default_factory=list)
    epochs: int = 0
    stopped: bool = False
    converged_at: int | None = None  # trial number after which patience ran out
    since_improvement: int = 0
    best_value: float | None = None
    base: dict[str, Any] | None = None  # params of the other tiers while this one runs
    engine: RoundEngine | None = None
    first_clock: float | None = None
    last_clock: float | None = None


@register
class TierBudget(Strategy):
    """Run tiers one after another, each on its share of one budget.

    See the module docstring for the exact allotment, carry and patience rules.

    Parameters
    ----------
    tiers : sequence of Tier
        In order of importance; their parameter names must not overlap.
    shares : sequence of float, optional
        One positive weight per tier (normalized to sum to 1). Default (0.5, 0.2, 0.2, 0.1)
        for four tiers, equal shares otherwise.
    budget : Budget, optional
        Exactly one of trials, epochs or seconds. When None, the study's budget is used (it
        must then have exactly one unit).
    patience : int
        Trials without a relative improvement of ``min_improvement`` after which a tier
        converges. Sampling a tier's space quasi-randomly, the chance that its n-th trial is
        the best so far falls like 1/n, so a tier that converges typically ran between one and
        two times ``patience`` trials; 20 suits tiers of one to three parameters.
    min_improvement : float
        The relative improvement (>= 0) that resets patience.
    seed : int, optional
        Tier i samples with ``child_seed(seed, i)``; the study's seed when None.

    Attributes
    ----------
    timeline : list of dict
        One entry per started tier (see :attr:`timeline`).

    Examples
    --------
    >>> tb = TierBudget(default_tiers(), budget=Budget(trials=20), patience=5)
    >>> [t["allotted"] for t in tb.plan]
    [10, 4, 4, 2]
    """

    name = "tiers"

    def __init__(
        self,
        tiers: Sequence[Tier],
        shares: Sequence[float] | None = None,
        budget: Budget | Mapping[str, Any] | None = None,
        patience: int = 20,
        min_improvement: float = 0.01,
        seed: int | None = None,
    ) -> None:
        from tunecore.space import Space

        if isinstance(tiers, (str, bytes, Mapping, Tier)) or not isinstance(tiers, Iterable):
            raise TypeError(f"tiers must be a list of Tier objects, got {tiers!r}")
        tiers = list(tiers)
        if not tiers:
            raise ValueError("tiers must hold at least one Tier, got an empty list")
        for tier in tiers:
            if not isinstance(tier, Tier):
                raise TypeError(f"tiers must hold Tier objects, got {tier!r}")
        dims: dict[str, Any] = {}
        for tier in tiers:
            for name, dim in tier.space.dimensions.items():
                if name in dims:
                    raise ValueError(
                        f"tiers must search disjoint parameters, got {name!r} in two tiers"
                    )
                dims[name] = dim
        super().__init__(Space(dims), seed=seed)
        self.tiers = tiers
        if shares is None:
            shares = DEFAULT_SHARES if len(tiers) == 4 else (1.0,) * len(tiers)
        if isinstance(shares, (str, bytes, Mapping)) or not isinstance(shares, Iterable):
            raise TypeError(f"shares must be a list of {len(tiers)} numbers, got {shares!r}")
        shares = list(shares)
        if not all(isinstance(s, numbers.Real) and not isinstance(s, bool) for s in shares):
            raise TypeError(f"shares must be a list of {len(tiers)} numbers, got {shares!r}")
        shares = [float(s) for s in shares]
        if len(shares) != len(tiers) or not all(math.isfinite(s) and s > 0 for s in shares):
            raise ValueError(
                f"shares must be {len(tiers)} positive numbers (one per tier), got {shares!r}"
            )
        total = sum(shares)
        # Shares that already sum to 1 are kept as written, so tables show 0.5, not 0.50..01.
        self.shares = tuple(shares if abs(total - 1.0) < 1e-9 else (s / total for s in shares))
        self.budget = None
        if budget is not None:
            self._set_budget(Budget.coerce(budget))
        self.patience = check_count(patience, "patience")
        if not (isinstance(min_improvement, numbers.Real) and min_improvement >= 0):
            raise ValueError(f"min_improvement must be a number >= 0, got {min_improvement!r}")
        self.min_improvement = float(min_improvement)
        self._states: list[_TierState] = []
        self._current = 0
        self._carry = 0.0

    def _set_budget(self, budget: Budget | None) -> None:
        if budget is None or len(budget.units) != 1:
            raise ValueError(
                "budget must limit exactly one of trials, epochs or seconds for a TierBudget, "
                f"got {budget!r}"
            )
        self.budget = budget
        self.unit = budget.units[0]
        self.total_budget = getattr(budget, self.unit)

    def bind(self, *, seed: int, direction: str, budget: Any = None) -> None:
        super().bind(seed=seed, direction=direction)
        if self.budget is None:
            self._set_budget(Budget.coerce(budget))

    # -- the plan ---------------------------------------------------------------------------

    def _base_allotment(self, i: int) -> float:
        if self.unit == "trials":
            cum = [0.0]
            for s in self.shares:
                cum.append(cum[-1] + s)
            return int(round(self.total_budget * cum[i + 1]) - round(self.total_budget * cum[i]))
        return self.total_budget * self.shares[i]

    @property
    def plan(self) -> list[dict[str, Any]]:
        """Each tier's name, share and allotment before any carry."""
        if self.budget is None:
            raise RuntimeError("budget must be set to plan a TierBudget, got None")
        return [
            {
                "tier": i,
                "name": t.name,
                "share": self.shares[i],
                "allotted": self._base_allotment(i),
                "unit": self.unit,
            }
            for i, t in enumerate(self.tiers)
        ]

    # -- state ------------------------------------------------------------------------------

    def _position(self, used: Usage | None) -> float:
        """Where the study stands in the budget's unit, from the tiers' own accounts."""
        if self.unit == "seconds":
            return float(used.seconds) if used is not None else 0.0
        if self.unit == "trials":
            return float(sum(s.issued for s in self._states))
        return float(sum(s.epochs for s in self._states))

    def _spent(self, i: int, used: Usage | None) -> float:
        state = self._states[i]
        if self.unit == "trials":
            return float(state.issued)
        if self.unit == "epochs":
            return float(state.epochs)
        if used is None or state.start is None:
            return 0.0
        return float(used.seconds) - state.start

    def _best_params(self, i: int) -> dict[str, Any]:
        """Tier i's own parameters at its best trial (its defaults when none is ok)."""
        tier = self.tiers[i]
        best = best_of(self._states[i].told, self.direction) if i < len(self._states) else None
        if best is None:
            return dict(tier.defaults)
        return {name: best.params[name] for name in tier.space.names}

    def _start_tier(self, i: int, position: float) -> None:
        base: dict[str, Any] = {}
        for j, tier in enumerate(self.tiers):
            if j < i:
                base.update(self._best_params(j))
            elif j > i:
                base.update(tier.defaults)
        tier = self.tiers[i]
        state = _TierState(
            allotted=self._base_allotment(i) + self._carry, start=position, base=base
        )
        if tier.search == "coarse_to_fine":
            state.engine = RoundEngine(
                tier.space,
                tier.per_round,
                keep=tier.keep,
                margin=tier.margin,
                sampler=tier.sampler,
                seed=child_seed(self._seed(), i),
                direction=self.direction,
                max_rounds=None,
            )
        self._states.append(state)

    def _close_tier(self, i: int, position: float) -> None:
        state = self._states[i]
        state.end = position
        spent = (
            state.end - state.start
            if self.unit == "seconds"
            else (state.issued if self.unit == "trials" else state.epochs)
        )
        self._carry = state.allotted - spent
        self._current = i + 1

    def _seed(self) -> int:
        if self.seed is None:
            raise RuntimeError("seed must be set before ask (a study sets it), got None")
        return self.seed

    def _in_flight(self, i: int) -> int:
        return self._states[i].issued - len(self._states[i].told)

    # -- protocol ---------------------------------------------------------------------------

    def ask(self, n: int, used: Usage | None = None) -> list[Proposal]:
        if self.budget is None:
            raise RuntimeError(
                "budget must be set before ask (give one or run in a study "
                "with a budget), got None"
            )
        n = max(0, int(n))
        while self._current < len(self.tiers) and n > 0:
            i = self._current
            if i == len(self._states):
                self._start_tier(i, self._position(used))
            state = self._states[i]
            exhausted = state.converged_at is not None or self._spent(i, used) >= state.allotted
            if not state.stopped and state.issued > 0 and exhausted:
                state.stopped = True
            if state.stopped:
                if self._in_flight(i) > 0:
                    return []
                self._close_tier(i, self._position(used))
                continue
            k = n
            if self.unit == "trials":
                k = max(1, min(n, int(state.allotted) - state.issued))
            return self._propose(i, k)
        return []

    def _propose(self, i: int, k: int) -> list[Proposal]:
        tier, state = self.tiers[i], self._states[i]
        if state.engine is not None:
            pairs = state.engine.ask(k)
        else:
            points = sample_points(
                tier.space, k, tier.sampler, child_seed(self._seed(), i), state.issued
            )
            pairs = [(p, None) for p in points]
        state.issued += len(pairs)
        return [Proposal(params={**state.base, **p}, tier=i, round=r) for p, r in pairs]

    def _learn(self, trial: Trial) -> None:
        i = trial.tier
        if i is None or i >= len(self._states):
            return
        state = self._states[i]
        state.told.append(trial)
        state.epochs += int(trial.epochs)
        if state.engine is not None:
            state.engine.learn(trial)
        if state.converged_at is not None:
            return
        value = float(trial.value) if trial.ok else None  # type: ignore[arg-type]
        if value is not None and (
            state.best_value is None or self._improves(value, state.best_value)
        ):
            state.best_value = value
            state.since_improvement = 0
        else:
            if value is not None and self._beats(value, state.best_value):  # type: ignore
                state.best_value = value
            state.since_improvement += 1
        if state.since_improvement >= self.patience:
            state.converged_at = trial.number

    def _beats(self, value: float, best: float | None) -> bool:
        if best is None:
            return True
        return value < best if self.direction == "minimize" else value > best

    def _improves(self, value: float, best: float) -> bool:
        delta = self.min_improvement * abs(best)
        if self.direction == "minimize":
            return value < best - delta
        return value > best + delta

    def _account(self, trial: Trial) -> None:
        times = getattr(self, "_restore_times", {}) or {}
        i = trial.tier if trial.tier is not None else 0
        clock = times.get(trial.number, {})
        while len(self._states) <= i:
            j = len(self._states)
            if j > 0:  # a trial of tier j means tier j - 1 had closed
                self._close_tier(j - 1, self._restore_position_end(j - 1))
            self._start_tier(j, self._restore_position_start(j, clock))
        state = self._states[i]
        state.issued += 1
        if state.engine is not None:
            state.engine.account(trial.round if trial.round is not None else 0)
        start, end = clock.get("clock_start"), clock.get("clock_end")
        if start is not None and state.first_clock is None:
            state.first_clock = float(start)
        if end is not None:
            state.last_clock = max(state.last_clock or 0.0, float(end))

    def _restore_position_start(self, j: int, clock: Mapping[str, Any]) -> float:
        if self.unit == "seconds":
            if j == 0:
                return 0.0
            start = clock.get("clock_start")
            previous_end = self._states[j - 1].end
            return float(start) if start is not None else float(previous_end or 0.0)
        return self._position(None)

    def _restore_position_end(self, j: int) -> float:
        if self.unit == "seconds":
            state = self._states[j]
            return float(state.last_clock if state.last_clock is not None else state.start)
        return self._position(None)

    def restore(self, trials: Sequence[Trial], times: Any = None) -> None:
        # Tiers only start when asked, and the asks of a live run happened once the tier
        # before had closed: replay that by accounting trials in number order, each tier's
        # told right after it (its trials were all finished before the next tier began).
        self._restore_times = dict(times or {})
        ordered = sorted(trials, key=lambda t: t.number)
        for trial in ordered:
            self._account(trial)
            if trial.status in ("complete", "failed", "diverged"):
                self.tell([trial])
        for i, state in enumerate(self._states):
            if state.converged_at is not None or (
                self.unit != "seconds" and self._spent(i, None) >= state.allotted
            ):
                state.stopped = state.issued > 0

    @property
    def finished(self) -> bool:
        return self._current >= len(self.tiers)

    @property
    def total(self) -> int | None:
        return (
            int(self.total_budget) if self.budget is not None and self.unit == "trials" else None
        )

    @property
    def current_tier(self) -> int | None:
        """Index of the tier running now (None once all have closed)."""
        return self._current if self._current < len(self.tiers) else None

    @property
    def timeline(self) -> list[dict[str, Any]]:
        """One dict per started tier: ``tier``, ``name``, ``share``, ``allotted`` (with the
        carry), ``start`` and ``end`` (budget units: trials started, epochs, or study
        seconds; ``end`` None while open), ``used`` (``end - start`` or spent so far),
        ``trials``, ``converged`` (True when patience ended it) and ``unit``."""
        out = []
        for i, state in enumerate(self._states):
            if state.end is not None:
                used = (
                    state.end - state.start
                    if self.unit == "seconds"
                    else (state.issued if self.unit == "trials" else state.epochs)
                )
            else:
                used = (
                    state.issued
                    if self.unit == "trials"
                    else (state.epochs if self.unit == "epochs" else None)
                )
            out.append(
                {
                    "tier": i,
                    "name": self.tiers[i].name,
                    "share": self.shares[i],
                    "allotted": state.allotted,
                    "start": state.start,
                    "end": state.end,
                    "used": used,
                    "trials": state.issued,
                    "converged": state.converged_at is not None,
                    "unit": self.unit,
                }
            )
        return out

    def timeline_fractions(self, now: float | None = None) -> list[dict[str, Any]]:
        """The timeline as :func:`tunecore.plots.plot_tiers` takes it.

        ``start`` and ``end`` stay in budget units; ``used`` becomes a fraction of the whole
        budget. A tier still open ends at ``now`` (study seconds, for a time budget) or where
        its spending stands (trials, epochs).
        """
        rows = []
        for row, state in zip(self.timeline, self._states):
            end = row["end"]
            if end is None:
                if self.unit == "seconds":
                    end = max(row["start"], now if now is not None else (state.last_clock or 0.0))
                else:
                    end = row["start"] + (row["used"] or 0)
            rows.append(
                {
                    **row,
                    "end": float(end),
                    "used": (float(end) - float(row["start"])) / float(self.total_budget),
                }
            )
        return rows

    @property
    def tier_best(self) -> list[dict[str, Any]]:
        """Each started tier's own parameters at its best trial (defaults when none is ok)."""
        return [self._best_params(i) for i in range(len(self._states))]

    @property
    def boxes(self) -> dict[int, list[dict[str, Any]]]:
        """Coarse-to-fine boxes of the tiers that search that way, by tier index."""
        return {i: s.engine.boxes for i, s in enumerate(self._states) if s.engine is not None}

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "space": self.space.to_dict(),
            "tiers": [t.to_dict() for t in self.tiers],
            "shares": list(self.shares),
            "budget": None if self.budget is None else self.budget.to_dict(),
            "patience": self.patience,
            "min_improvement": self.min_improvement,
            "seed": self.seed,
            "direction": self.direction,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> TierBudget:
        strategy = cls(
            [Tier.from_dict(t) for t in data["tiers"]],
            shares=data.get("shares"),
            budget=Budget.from_dict(data.get("budget")),
            patience=data.get("patience", 20),
            min_improvement=data.get("min_improvement", 0.01),
            seed=data.get("seed"),
        )
        strategy.direction = data.get("direction", "minimize")
        return strategy
