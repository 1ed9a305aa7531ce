"""What every strategy shares: proposals, budgets, the ask / tell protocol, descriptions.

A strategy's state is a pure function of the trials it has proposed (every proposal becomes a
stored trial) and of the results it has been told. That is what makes resume exact:
:meth:`Strategy.restore` rebuilds the state from the stored trials, and the strategy then asks
what it would have asked had the process never stopped.
"""

from __future__ import annotations

import math
import numbers
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

from tunecore.trial import COMPLETE, DIVERGED, FAILED, Trial

if TYPE_CHECKING:  # pragma: no cover
    from tunecore.space import Space

DIRECTIONS = ("minimize", "maximize")
SAMPLERS = ("random", "sobol", "halton", "lhs")
#: Statuses of a trial whose result the strategy has learnt (interrupted ones are re-run).
TOLD_STATUSES = (COMPLETE, FAILED, DIVERGED)


@dataclass(frozen=True)
class Proposal:
    """One configuration a strategy asks the study to evaluate.

    Attributes
    ----------
    params : dict
        Hyperparameter values by name, every name of the strategy's space.
    tier : int or None
        Index of the tier that proposed it (tier-budget studies).
    round : int or None
        Coarse-to-fine round it belongs to.
    """

    params: Mapping[str, Any]
    tier: int | None = None
    round: int | None = None


@dataclass(frozen=True)
class Usage:
    """What a study has consumed so far, in each unit a budget may count.

    ``trials`` counts trials started (whatever their outcome), ``epochs`` the epochs of
    finished trials, ``seconds`` the study's wall-clock time over every session.
    """

    trials: int = 0
    epochs: int = 0
    seconds: float = 0.0

    def get(self, unit: str) -> float:
        """The amount used in ``unit`` (``"trials"``, ``"epochs"`` or ``"seconds"``)."""
        return getattr(self, unit)


@dataclass(frozen=True)
class Budget:
    """A limit on a study, in trials, epochs or wall-clock seconds (any combination).

    The study loop is the only place that counts it. A trial budget counts trials started; an
    epoch budget counts epochs of finished trials, so a batch in flight may overshoot it by
    that batch; with a seconds budget no trial starts once the time is spent and a running
    batch of the built-in MLP objective stops at the next epoch boundary after it.

    Examples
    --------
    >>> Budget(trials=50).spent(Usage(trials=50))
    True
    """

    trials: int | None = None
    epochs: int | None = None
    seconds: float | None = None

    def __post_init__(self) -> None:
        for unit in ("trials", "epochs"):
            value = getattr(self, unit)
            if value is None:
                continue
            if isinstance(value, bool) or not isinstance(value, numbers.Integral):
                raise TypeError(f"{unit} must be an int or None, got {value!r}")
            if value < 1:
                raise ValueError(f"{unit} must be >= 1, got {value!r}")
            object.__setattr__(self, unit, int(value))
        if self.seconds is not None:
            if isinstance(self.seconds, bool) or not isinstance(self.seconds, numbers.Real):
                raise TypeError(f"seconds must be a number or None, got {self.seconds!r}")
            if not (math.isfinite(self.seconds) and self.seconds > 0):
                raise ValueError(f"seconds must be a finite number > 0, got {self.seconds!r}")
            object.__setattr__(self, "seconds", float(self.seconds))

    @property
    def units(self) -> tuple[str, ...]:
        """The units this budget limits, among ``trials``, ``epochs``, ``seconds``."""
        return tuple(u for u in ("trials", "epochs", "seconds") if getattr(self, u) is not None)

    def spent(self, used: Usage) -> bool:
        """True when ``used`` has reached any of the limits."""
        return any(used.get(u) >= getattr(self, u) for u in self.units)

    def fraction(self, used: Usage) -> float:
        """The largest fraction used over the limited units (0 when unlimited)."""
        return max((used.get(u) / getattr(self, u) for u in self.units), default=0.0)

    def remaining_trials(self, used: Usage) -> int | None:
        """Trials that may still start under a trial limit (None without one)."""
        return None if self.trials is None else max(0, self.trials - used.trials)

    def to_dict(self) -> dict[str, Any]:
        """The budget as a plain dict (only the limited units)."""
        return {u: getattr(self, u) for u in self.units}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any] | None) -> Budget | None:
        """Inverse of :meth:`to_dict` (None stays None)."""
        if data is None:
            return None
        unknown = set(data) - {"trials", "epochs", "seconds"}
        if unknown:
            raise ValueError(
                f"budget keys must be among 'trials', 'epochs', 'seconds', got {sorted(unknown)!r}"
            )
        return cls(**data)

    @classmethod
    def coerce(cls, value: Any, *, argument: str = "budget") -> Budget | None:
        """Accept a Budget, a dict of its fields, or None."""
        if value is None or isinstance(value, Budget):
            return value
        if isinstance(value, Mapping):
            return cls.from_dict(value)
        raise TypeError(f"{argument} must be a Budget, a dict or None, got {value!r}")


def check_direction(direction: Any) -> str:
    """Return ``direction`` checked against ``minimize`` / ``maximize``."""
    if not isinstance(direction, str) or direction not in DIRECTIONS:
        raise ValueError(f"direction must be 'minimize' or 'maximize', got {direction!r}")
    return direction


def check_sampler(sampler: Any) -> str:
    """Return ``sampler`` checked against the sampler names of :mod:`tunecore.samplers`."""
    if not isinstance(sampler, str) or sampler not in SAMPLERS:
        raise ValueError(f"sampler must be one of {SAMPLERS}, got {sampler!r}")
    return sampler


def check_count(value: Any, argument: str, *, minimum: int = 1, none: bool = False) -> Any:
    """Return ``value`` checked as an int >= ``minimum`` (or None when ``none``)."""
    if value is None and none:
        return None
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{argument} must be an int{' or None' if none else ''}, got {value!r}")
    if value < minimum:
        raise ValueError(f"{argument} must be >= {minimum}, got {value!r}")
    return int(value)


def check_space(space: Any, argument: str = "space") -> Space:
    """Return ``space`` checked to be a :class:`tunecore.space.Space` with a dimension."""
    from tunecore.space import Space

    if isinstance(space, Mapping) and not isinstance(space, Space):
        space = Space(space)
    if not isinstance(space, Space):
        raise TypeError(f"{argument} must be a tunecore.space.Space, got {space!r}")
    if len(space) == 0:
        raise ValueError(f"{argument} must have at least one dimension, got {space!r}")
    return space


def sample_points(space: Space, n: int, sampler: str, seed: int, start: int) -> list[dict]:
    """Points ``start .. start + n - 1`` of the sequence, as params dicts.

    Strategies draw Sobol' points in batches of any size; point k is the same whatever the
    batch, and the balance a power-of-two count gives is the sequence's, so the sampler's
    warning about batch sizes does not apply here and is silenced.
    """
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="The balance properties of Sobol")
        return space.sample(n, sampler=sampler, seed=seed, start=start)


def better(a: float, b: float, direction: str) -> bool:
    """True when value ``a`` is strictly better than ``b`` for ``direction``."""
    return a < b if direction == "minimize" else a > b


def sort_key(direction: str):
    """Key sorting ok trials best first (ties broken by trial number)."""
    sign = 1.0 if direction == "minimize" else -1.0
    return lambda trial: (sign * trial.value, trial.number)


def best_of(trials: Sequence[Trial], direction: str) -> Trial | None:
    """The best ok trial of ``trials`` (lowest number among ties), None when none is ok."""
    ok = [t for t in trials if t.ok]
    return min(ok, key=sort_key(direction)) if ok else None


class Strategy:
    """Base class of search strategies: ``ask(n)`` proposes, ``tell(trials)`` learns.

    Subclasses implement :meth:`ask`, :meth:`_account` (count a stored trial as proposed),
    :meth:`_learn` (take a finished trial's result), :attr:`finished` and :meth:`to_dict`.

    Attributes
    ----------
    space : Space
        Every parameter a proposal holds.
    seed : int or None
        Seed of the strategy's sequences; a study sets it to its own seed when None.
    direction : str
        ``minimize`` or ``maximize``; set by the study.
    """

    name: ClassVar[str] = "strategy"

    def __init__(self, space: Space, *, seed: int | None = None) -> None:
        from tunecore._seeding import resolve_seed

        self.space = space
        self.seed = None if seed is None else resolve_seed(seed)
        self.direction = "minimize"
        self._told: dict[int, Trial] = {}

    # -- binding to a study -----------------------------------------------------------------

    def bind(self, *, seed: int, direction: str, budget: Any = None) -> None:
        """Called by the study: fill the seed when unset and set the direction."""
        if self.seed is None:
            self.seed = int(seed)
        self.direction = check_direction(direction)

    # -- the protocol -----------------------------------------------------------------------

    def ask(self, n: int, used: Usage | None = None) -> list[Proposal]:
        """Return up to ``n`` proposals; [] when finished or waiting for results in flight.

        ``used`` is what the study has consumed so far (strategies that share a budget read
        it); every returned proposal must be run and stored by the caller.
        """
        raise NotImplementedError

    def tell(self, trials: Sequence[Trial]) -> None:
        """Learn the results of finished trials (complete, failed or diverged)."""
        for trial in sorted(trials, key=lambda t: t.number):
            if trial.status not in TOLD_STATUSES:
                raise ValueError(
                    f"trials must be finished (one of {TOLD_STATUSES}), got trial "
                    f"{trial.number} with status {trial.status!r}"
                )
            if trial.number in self._told:
                continue
            self._told[trial.number] = trial
            self._learn(trial)

    def restore(
        self,
        trials: Sequence[Trial],
        times: Mapping[int, Mapping[str, float | None]] | None = None,
    ) -> None:
        """Rebuild the state from a fresh strategy and every stored trial of its study.

        Each trial counts as proposed; finished ones are told. Running and interrupted trials
        stay proposed-but-unknown until the study re-runs them and tells the result.
        ``times`` maps trial numbers to their stored times (used by time budgets).
        """
        ordered = sorted(trials, key=lambda t: t.number)
        self._restore_times = dict(times or {})
        for trial in ordered:
            self._account(trial)
            if trial.status in TOLD_STATUSES:
                self.tell([trial])

    def _account(self, trial: Trial) -> None:
        raise NotImplementedError

    def _learn(self, trial: Trial) -> None:
        """Hook for subclasses: a finished trial arrived (in number order within a tell)."""

    @property
    def finished(self) -> bool:
        """True when the strategy will propose nothing more."""
        raise NotImplementedError

    @property
    def total(self) -> int | None:
        """Number of trials the strategy will propose in all, when known in advance."""
        return None

    @property
    def told(self) -> list[Trial]:
        """The finished trials learnt so far, in number order."""
        return [self._told[k] for k in sorted(self._told)]

    def to_dict(self) -> dict[str, Any]:
        """A plain, JSON-ready description from which :func:`strategy_from_dict` rebuilds it."""
        raise NotImplementedError

    def __repr__(self) -> str:
        args = {k: v for k, v in self.to_dict().items() if k not in ("name", "space", "tiers")}
        inner = ", ".join(f"{k}={v!r}" for k, v in args.items())
        return f"{type(self).__name__}({inner})"


_REGISTRY: dict[str, type[Strategy]] = {}


def register(cls: type[Strategy]) -> type[Strategy]:
    """Class decorator: make ``cls`` rebuildable by :func:`strategy_from_dict`."""
    _REGISTRY[cls.name] = cls
    return cls


def strategy_from_dict(data: Mapping[str, Any]) -> Strategy:
    """Rebuild a strategy from its :meth:`Strategy.to_dict` description (seed included)."""
    if not isinstance(data, Mapping) or "name" not in data:
        raise ValueError(f"data must be a dict with a 'name' key, got {data!r}")
    cls = _REGISTRY.get(data["name"])
    if cls is None:
        raise ValueError(f"data['name'] must be one of {sorted(_REGISTRY)}, got {data['name']!r}")
    return cls.from_dict(data)  # type: ignore[attr-defined]


__all__ = [
    "Budget",
    "Proposal",
    "Strategy",
    "Usage",
    "best_of",
    "better",
    "register",
    "strategy_from_dict",
]
