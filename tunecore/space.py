"""Search spaces: the dimensions a study searches and the scales it searches them on.

A dimension turns a coordinate ``u`` of the unit interval into a hyperparameter value and back.
The scale decides where trials land: on a ``log`` scale as many trials fall in 1e-4..1e-3 as in
1e-1..1; on a ``reverse_log`` scale (for momentum and Adam's betas) as many fall in 0.99..0.999
as in 0.9..0.99, because ``1 - value`` is what is spread evenly on a log scale.

A :class:`Space` is an ordered mapping of names to dimensions. Only the dimensions that vary
(every kind but :class:`Fixed`) take a column of the unit cube; :attr:`Space.sampled_names`
lists them in order, and :meth:`Space.to_unit` / :meth:`Space.from_unit` work on those columns.

>>> from tunecore.space import Float, Int, Choice, Fixed, Space
>>> space = Space({
...     "lr": Float(1e-4, 1.0, scale="log"),
...     "beta1": Float(0.8, 0.999, scale="reverse_log", default=0.9),
...     "batch_size": Int(32, 512, log=True),
...     "activation": Choice(["relu", "tanh"]),
...     "epochs": Fixed(20),
... })
>>> space.sampled_names
('lr', 'beta1', 'batch_size', 'activation')
>>> len(space.sample(8, sampler="sobol", seed=0))
8
"""

from __future__ import annotations

import itertools
import math
import numbers
import warnings
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Union

import numpy as np

from tunecore._seeding import resolve_seed

__all__ = [
    "Choice",
    "Dimension",
    "Fixed",
    "Float",
    "Int",
    "Space",
    "dimension_from_dict",
]

FLOAT_SCALES = ("linear", "log", "reverse_log")
SAMPLERS = ("random", "sobol", "halton", "lhs")

# Values a user may write in a unit array that came from floating-point arithmetic: a
# coordinate a hair outside [0, 1] is clipped, one further out is an error.
_UNIT_TOL = 1e-9

#: The largest grid :meth:`Space.grid` builds: beyond it the list of dicts alone would take
#: gigabytes, and no study runs that many trials.
MAX_GRID_POINTS = 10_000_000


# ---------------------------------------------------------------------------------------------
# Argument checks shared by the dimensions


def _check_real(value: Any, argument: str) -> float:
    """Return ``value`` as a finite float, or raise naming ``argument``."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise TypeError(f"{argument} must be a real number, got {value!r}")
    value = float(value)
    if not math.isfinite(value):
        raise ValueError(f"{argument} must be finite, got {value!r}")
    return value


def _check_integer(value: Any, argument: str) -> int:
    """Return ``value`` as an int; integral floats (e.g. 64.0 read back from JSON) pass."""
    if isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{argument} must be an int, got {value!r}")
    if isinstance(value, numbers.Integral):
        return int(value)
    if isinstance(value, numbers.Real):
        if not math.isfinite(float(value)):
            raise ValueError(f"{argument} must be finite, got {value!r}")
        if float(value) != int(value):
            raise ValueError(f"{argument} must be a whole number, got {value!r}")
        return int(value)
    raise TypeError(f"{argument} must be an int, got {value!r}")


def _check_count(value: Any, argument: str, minimum: int) -> int:
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{argument} must be an int, got {value!r}")
    if value < minimum:
        raise ValueError(f"{argument} must be >= {minimum}, got {value!r}")
    return int(value)


def _unit_array(u: Any, argument: str = "u") -> np.ndarray:
    """Return ``u`` as a 1-d float64 array in [0, 1], clipping float round-off only."""
    arr = np.asarray(u, dtype=np.float64)
    if arr.ndim == 0:
        arr = arr.reshape(1)
    if arr.ndim != 1:
        raise ValueError(
            f"{argument} must be a 1-d array of unit coordinates, got shape {arr.shape!r}"
        )
    if arr.size and not (
        np.all(np.isfinite(arr)) and arr.min() >= -_UNIT_TOL and arr.max() <= 1.0 + _UNIT_TOL
    ):
        bad = arr[~(np.isfinite(arr) & (arr >= -_UNIT_TOL) & (arr <= 1.0 + _UNIT_TOL))][0]
        raise ValueError(f"{argument} must hold values in [0, 1], got {float(bad)!r}")
    return np.clip(arr, 0.0, 1.0)


def _values_list(values: Any) -> list:
    if isinstance(values, np.ndarray):
        return values.reshape(-1).tolist() if values.ndim else [values.item()]
    if isinstance(values, (str, bytes)) or not isinstance(values, Iterable):
        raise TypeError(f"values must be a sequence of values, got {values!r}")
    return list(values)


# Choice options are plain JSON-able values: None, bool, int, float, str, or (nested)
# sequences of those. Sequences are stored as tuples so that dimensions stay hashable; to_dict
# writes them as lists and from_dict turns them back into tuples.
def _normalize_option(value: Any, argument: str) -> Any:
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, np.bool_):
        return bool(value)
    if isinstance(value, numbers.Integral):
        return int(value)
    if isinstance(value, numbers.Real):
        value = float(value)
        if not math.isfinite(value):
            raise ValueError(f"{argument} must be finite, got {value!r}")
        return value
    if isinstance(value, (list, tuple)):
        return tuple(_normalize_option(v, argument) for v in value)
    raise TypeError(
        f"{argument} must be None, a bool, int, float, str or a list of those, got {value!r}"
    )


def _option_key(value: Any) -> Any:
    """A hashable key under which equal options collide: 1 and 1.0 do, True and 1 do not."""
    if value is None:
        return ("none",)
    if isinstance(value, (bool, np.bool_)):
        return ("bool", bool(value))
    if isinstance(value, numbers.Real):
        return ("num", float(value))
    if isinstance(value, str):
        return ("str", value)
    if isinstance(value, (list, tuple)):
        return ("seq", tuple(_option_key(v) for v in value))
    return ("other", repr(value))


def _option_to_json(value: Any) -> Any:
    if isinstance(value, tuple):
        return [_option_to_json(v) for v in value]
    return value


# ---------------------------------------------------------------------------------------------
# Dimensions


class Dimension:
    """Base class of the dimensions; a dimension is immutable and validated on construction.

    Every dimension has ``scale`` (str), ``default`` (None unless given), ``from_unit(u)``,
    ``to_unit(values)``, ``grid(k)``, ``contains(value)``, ``restrict(bounds)`` and
    ``to_dict()``.
    """

    #: Whether the dimension takes a column of the unit cube (False only for Fixed).
    sampled: bool = True

    @property
    def scale(self) -> str:  # pragma: no cover - overridden
        raise NotImplementedError

    def from_unit(self, u: Any) -> list:  # pragma: no cover - overridden
        raise NotImplementedError

    def to_unit(self, values: Any, *, clip: bool = False) -> np.ndarray:  # pragma: no cover
        raise NotImplementedError

    def grid(self, k: int) -> list:  # pragma: no cover - overridden
        raise NotImplementedError

    def contains(self, value: Any) -> bool:  # pragma: no cover - overridden
        raise NotImplementedError

    def restrict(self, bounds: Any) -> Dimension:  # pragma: no cover - overridden
        raise NotImplementedError

    def to_dict(self) -> dict:  # pragma: no cover - overridden
        raise NotImplementedError


def _repr(obj: Dimension, fields: list[tuple[str, Any]]) -> str:
    parts = [f"{name}={value!r}" for name, value in fields]
    if obj.default is not None:  # type: ignore[attr-defined]
        parts.append(f"default={obj.default!r}")  # type: ignore[attr-defined]
    return f"{type(obj).__name__}({', '.join(parts)})"


@dataclass(frozen=True, eq=True, repr=False)
class Float(Dimension):
    """A real-valued hyperparameter in ``[low, high]``.

    Parameters
    ----------
    low, high : float
        Finite bounds, ``low < high``; both are values the dimension can take.
    scale : {"linear", "log", "reverse_log"}
        ``linear`` spreads trials evenly over ``[low, high]``; ``log`` spreads ``log(value)``
        evenly and needs ``low > 0``; ``reverse_log`` spreads ``log(1 - value)`` evenly and
        needs ``high < 1``, so Float(0.9, 0.999, scale="reverse_log") spends as many trials in
        0.99..0.999 as in 0.9..0.99.
    default : float, optional
        The value used when the dimension is not searched; must lie in ``[low, high]``.

    Notes
    -----
    The unit coordinate ``u`` grows with the value on every scale:
    ``linear``: ``x = low + u (high - low)``;
    ``log``: ``x = exp(log low + u (log high - log low))``;
    ``reverse_log``: ``x = 1 - exp(log(1 - low) + u (log(1 - high) - log(1 - low)))``.

    Examples
    --------
    >>> Float(1e-4, 1.0, scale="log").grid(5)
    [0.0001, 0.001, 0.01, 0.1, 1.0]
    """

    low: float
    high: float
    scale: str = "linear"  # type: ignore[assignment]
    default: float | None = None

    def __post_init__(self) -> None:
        low = _check_real(self.low, "low")
        high = _check_real(self.high, "high")
        if not isinstance(self.scale, str):
            raise TypeError(f"scale must be a str, one of {FLOAT_SCALES}, got {self.scale!r}")
        if self.scale not in FLOAT_SCALES:
            raise ValueError(f"scale must be one of {FLOAT_SCALES}, got {self.scale!r}")
        if low >= high:
            raise ValueError(f"low must be < high, got low={low!r} and high={high!r}")
        if self.scale == "log" and low <= 0:
            raise ValueError(f"low must be > 0 on a log scale, got {low!r}")
        if self.scale == "reverse_log" and high >= 1:
            raise ValueError(f"high must be < 1 on a reverse_log scale, got {high!r}")
        object.__setattr__(self, "low", low)
        object.__setattr__(self, "high", high)
        if self.default is not None:
            default = _check_real(self.default, "default")
            if not low <= default <= high:
                raise ValueError(
                    f"default must lie in [low, high] = [{low!r}, {high!r}], got {default!r}"
                )
            object.__setattr__(self, "default", default)

    def __repr__(self) -> str:
        return _repr(self, [("low", self.low), ("high", self.high), ("scale", self.scale)])

    # The scale as an increasing affine map between the unit interval and a warped axis t:
    # linear t = x, log t = log x, reverse_log t = -log(1 - x).
    def _warp(self, x: np.ndarray) -> np.ndarray:
        if self.scale == "log":
            return np.log(x)
        if self.scale == "reverse_log":
            return -np.log1p(-x)
        return x

    def _unwarp(self, t: np.ndarray) -> np.ndarray:
        if self.scale == "log":
            return np.exp(t)
        if self.scale == "reverse_log":
            return -np.expm1(-t)
        return t

    def _warped_bounds(self) -> tuple[float, float]:
        t = self._warp(np.array([self.low, self.high]))
        return float(t[0]), float(t[1])

    def from_unit(self, u: Any) -> list[float]:
        """Return the values at unit coordinates ``u`` (1-d, in [0, 1]) as a list of floats."""
        u = _unit_array(u)
        t0, t1 = self._warped_bounds()
        x = self._unwarp(t0 + u * (t1 - t0))
        # exp(log(high)) can land one ulp outside the bounds; the bounds are exact values.
        x = np.clip(x, self.low, self.high)
        x[u == 0.0] = self.low
        x[u == 1.0] = self.high
        return x.tolist()

    def to_unit(self, values: Any, *, clip: bool = False) -> np.ndarray:
        """Return the unit coordinates of ``values``.

        Values outside ``[low, high]`` raise ValueError, unless ``clip=True`` (then they map
        to 0 or 1).
        """
        vals = _values_list(values)
        x = np.array([_check_real(v, "value") for v in vals], dtype=np.float64)
        if not clip and x.size:
            slack = 1e-12 * (self.high - self.low)
            outside = (x < self.low - slack) | (x > self.high + slack)
            if outside.any():
                raise ValueError(
                    f"value must lie in [{self.low!r}, {self.high!r}], "
                    f"got {vals[int(np.argmax(outside))]!r}"
                )
        x = np.clip(x, self.low, self.high)
        t0, t1 = self._warped_bounds()
        return np.clip((self._warp(x) - t0) / (t1 - t0), 0.0, 1.0)

    def grid(self, k: int) -> list[float]:
        """Return ``k`` values evenly spaced on the dimension's scale, endpoints included.

        ``k = 1`` gives the middle of the scale (``from_unit(0.5)``).
        """
        k = _check_count(k, "k", 1)
        if k == 1:
            return self.from_unit([0.5])
        # Base-10 exponents make a decade grid exact: 10.0 ** -3 is the double nearest 1e-3,
        # where exp(log(1e-4) + 0.25 * log(1e4)) is a few ulps off.
        if self.scale == "log":
            x = 10.0 ** np.linspace(math.log10(self.low), math.log10(self.high), k)
        elif self.scale == "reverse_log":
            x = 1.0 - 10.0 ** np.linspace(math.log10(1 - self.low), math.log10(1 - self.high), k)
        else:
            x = np.linspace(self.low, self.high, k)
        x = np.clip(x, self.low, self.high)
        x[0], x[-1] = self.low, self.high
        return x.tolist()

    def contains(self, value: Any) -> bool:
        """Return True when ``value`` is a real number in ``[low, high]``."""
        if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
            return False
        return self.low <= float(value) <= self.high

    def restrict(self, bounds: Any) -> Float | Fixed:
        """Return the dimension over ``bounds = (low, high)`` intersected with this one.

        Bounds are values (not unit coordinates); the result keeps the scale and is never
        wider than this dimension. Bounds that meet in one point give a :class:`Fixed`; bounds
        that miss the dimension raise ValueError. The default is kept when it lies inside the
        new bounds and dropped otherwise.
        """
        low, high = _check_bounds_pair(bounds)
        new_low, new_high = max(low, self.low), min(high, self.high)
        if new_low > new_high:
            raise ValueError(
                f"bounds must overlap [{self.low!r}, {self.high!r}], got {tuple(bounds)!r}"
            )
        default = self.default
        if default is not None and not new_low <= default <= new_high:
            default = None
        if new_low == new_high:
            return Fixed(new_low, default=default)
        return Float(new_low, new_high, scale=self.scale, default=default)

    def to_dict(self) -> dict:
        """Return a plain dict (JSON and TOML types only); ``default`` only when set."""
        out: dict[str, Any] = {
            "type": "float",
            "low": self.low,
            "high": self.high,
            "scale": self.scale,
        }
        if self.default is not None:
            out["default"] = self.default
        return out


@dataclass(frozen=True, eq=True, repr=False)
class Int(Dimension):
    """An integer hyperparameter in ``[low, high]``, both included.

    Parameters
    ----------
    low, high : int
        Bounds, ``low < high``.
    log : bool
        With False every integer of ``[low, high]`` is equally likely. With True the
        probability of ``k`` is proportional to the width of ``[k - 0.5, k + 0.5]`` on the log
        scale, ``log(k + 0.5) - log(k - 0.5)``, which needs ``low >= 1``.
    default : int, optional
        The value used when the dimension is not searched; must lie in ``[low, high]``.

    Notes
    -----
    The rule from a unit coordinate ``u`` in [0, 1) to an integer, with ``m = high - low + 1``:

    - ``log=False``: ``k = low + floor(u m)``, clipped to ``high`` (``u = 1`` only). Each
      integer owns a cell of width ``1 / m``, so none is favoured at the ends.
    - ``log=True``: ``x = exp(log(low - 0.5) + u (log(high + 0.5) - log(low - 0.5)))`` and
      ``k = floor(x + 0.5)``, clipped to ``[low, high]``. Integer ``k`` owns the cell
      ``[k - 0.5, k + 0.5)`` of the log axis, of width ``log((k + 0.5) / (k - 0.5))``.

    ``to_unit(k)`` returns the centre of ``k``'s cell, so ``from_unit(to_unit(k)) == k``.
    """

    low: int
    high: int
    log: bool = False
    default: int | None = None

    def __post_init__(self) -> None:
        low = _check_integer(self.low, "low")
        high = _check_integer(self.high, "high")
        if not isinstance(self.log, (bool, np.bool_)):
            raise TypeError(f"log must be a bool, got {self.log!r}")
        if low >= high:
            raise ValueError(f"low must be < high, got low={low!r} and high={high!r}")
        if self.log and low < 1:
            raise ValueError(
                f"low must be >= 1 on a log scale (k owns [k - 0.5, k + 0.5]), got {low!r}"
            )
        object.__setattr__(self, "low", low)
        object.__setattr__(self, "high", high)
        object.__setattr__(self, "log", bool(self.log))
        if self.default is not None:
            default = _check_integer(self.default, "default")
            if not low <= default <= high:
                raise ValueError(
                    f"default must lie in [low, high] = [{low!r}, {high!r}], got {default!r}"
                )
            object.__setattr__(self, "default", default)

    def __repr__(self) -> str:
        fields: list[tuple[str, Any]] = [("low", self.low), ("high", self.high)]
        if self.log:
            fields.append(("log", True))
        return _repr(self, fields)

    @property
    def scale(self) -> str:  # type: ignore[override]
        """``"log"`` or ``"linear"``."""
        return "log" if self.log else "linear"

    def _log_edges(self) -> tuple[float, float]:
        return math.log(self.low - 0.5), math.log(self.high + 0.5)

    def from_unit(self, u: Any) -> list[int]:
        """Return the integers at unit coordinates ``u`` (1-d, in [0, 1]), by the rule above."""
        u = _unit_array(u)
        if self.log:
            a, b = self._log_edges()
            k = np.floor(np.exp(a + u * (b - a)) + 0.5)
        else:
            k = self.low + np.floor(u * (self.high - self.low + 1))
        return [int(v) for v in np.clip(k, self.low, self.high)]

    def to_unit(self, values: Any, *, clip: bool = False) -> np.ndarray:
        """Return the centre of each value's cell on the unit interval.

        Values outside ``[low, high]`` raise ValueError unless ``clip=True``; non-integers
        raise ValueError unless ``clip=True`` (then they are rounded to the nearest integer).
        """
        vals = _values_list(values)
        if clip:
            k = np.array([round(_check_real(v, "value")) for v in vals], dtype=np.float64)
            k = np.clip(k, self.low, self.high)
        else:
            k = np.array([_check_integer(v, "value") for v in vals], dtype=np.float64)
            outside = (k < self.low) | (k > self.high)
            if outside.any():
                raise ValueError(
                    f"value must lie in [{self.low!r}, {self.high!r}], got {int(k[outside][0])!r}"
                )
        if self.log:
            a, b = self._log_edges()
            centre = 0.5 * (np.log(k - 0.5) + np.log(k + 0.5))
            return np.clip((centre - a) / (b - a), 0.0, 1.0)
        return (k - self.low + 0.5) / (self.high - self.low + 1)

    def grid(self, k: int) -> list[int]:
        """Return up to ``k`` distinct integers evenly spaced on the scale, endpoints included.

        Points are ``linspace`` (or ``geomspace`` when ``log``) from ``low`` to ``high``,
        rounded to the nearest integer. When rounding leaves fewer than ``k`` distinct
        integers a warning says so and the distinct ones are returned.
        """
        k = _check_count(k, "k", 1)
        if k == 1:
            middle = math.sqrt(self.low * self.high) if self.log else (self.low + self.high) / 2
            return [round(middle)]
        if self.log:
            points = np.geomspace(self.low, self.high, k)
        else:
            points = np.linspace(self.low, self.high, k)
        values = sorted({int(v) for v in np.rint(points)})
        if len(values) < k:
            warnings.warn(
                f"Int({self.low}, {self.high}{', log=True' if self.log else ''}) has only "
                f"{len(values)} distinct grid points for k={k}; returning those",
                UserWarning,
                stacklevel=2,
            )
        return values

    def contains(self, value: Any) -> bool:
        """Return True when ``value`` is a whole number in ``[low, high]``."""
        try:
            k = _check_integer(value, "value")
        except (TypeError, ValueError):
            return False
        return self.low <= k <= self.high

    def restrict(self, bounds: Any) -> Int | Fixed:
        """Return the dimension over ``bounds = (low, high)`` intersected with this one.

        Bounds are rounded outward (``floor(low)``, ``ceil(high)``) and clipped to this
        dimension, so the result is never wider. One integer left gives a :class:`Fixed`;
        no integer left raises ValueError. The default is kept when inside, else dropped.
        """
        low, high = _check_bounds_pair(bounds)
        new_low = max(math.floor(low), self.low)
        new_high = min(math.ceil(high), self.high)
        if new_low > new_high:
            raise ValueError(
                f"bounds must overlap [{self.low!r}, {self.high!r}], got {tuple(bounds)!r}"
            )
        default = self.default
        if default is not None and not new_low <= default <= new_high:
            default = None
        if new_low == new_high:
            return Fixed(int(new_low), default=default)
        return Int(int(new_low), int(new_high), log=self.log, default=default)

    def to_dict(self) -> dict:
        """Return a plain dict (JSON and TOML types only); ``default`` only when set."""
        out: dict[str, Any] = {"type": "int", "low": self.low, "high": self.high, "log": self.log}
        if self.default is not None:
            out["default"] = self.default
        return out


@dataclass(frozen=True, eq=True, repr=False)
class Choice(Dimension):
    """A categorical hyperparameter: one of ``options``, all equally likely.

    Parameters
    ----------
    options : sequence
        Distinct plain values (None, bool, int, float, str, or lists of those; lists are kept
        as tuples). ``1`` and ``1.0`` count as duplicates, ``True`` and ``1`` do not.
    default : optional
        One of the options, used when the dimension is not searched.

    Notes
    -----
    Option ``i`` of ``m`` owns the unit cell ``[i / m, (i + 1) / m)``: ``from_unit(u)`` is
    option ``floor(u m)`` and ``to_unit`` gives the centre ``(i + 0.5) / m``. The order of the
    options is arbitrary, so distances on this axis mean nothing; a random forest (as used by
    :func:`tunecore.report.importance`) copes with that, a Gaussian process would not.
    """

    options: tuple
    default: Any = None

    def __post_init__(self) -> None:
        if isinstance(self.options, (str, bytes, Mapping)) or not isinstance(
            self.options, Iterable
        ):
            raise TypeError(f"options must be a list of values, got {self.options!r}")
        options = tuple(_normalize_option(v, "options") for v in self.options)
        if not options:
            raise ValueError("options must hold at least one value, got an empty list")
        keys = [_option_key(v) for v in options]
        if len(set(keys)) != len(keys):
            seen: set = set()
            duplicate = next(v for v, key in zip(options, keys) if key in seen or seen.add(key))
            raise ValueError(f"options must be distinct, got {duplicate!r} twice in {options!r}")
        object.__setattr__(self, "options", options)
        object.__setattr__(self, "_index", {key: i for i, key in enumerate(keys)})
        if self.default is not None:
            default = _normalize_option(self.default, "default")
            if _option_key(default) not in self._index:  # type: ignore[attr-defined]
                raise ValueError(f"default must be one of {options!r}, got {default!r}")
            object.__setattr__(self, "default", options[self.index(default)])

    def __repr__(self) -> str:
        return _repr(self, [("options", list(self.options))])

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Choice):
            return NotImplemented
        # Compare by option keys so that Choice([True]) != Choice([1]) although True == 1.
        return [_option_key(v) for v in self.options] == [
            _option_key(v) for v in other.options
        ] and _option_key(self.default) == _option_key(other.default)

    def __hash__(self) -> int:
        return hash((Choice, tuple(_option_key(v) for v in self.options)))

    @property
    def scale(self) -> str:  # type: ignore[override]
        """``"categorical"``."""
        return "categorical"

    def index(self, value: Any) -> int:
        """Return the position of ``value`` among the options, or raise ValueError."""
        try:
            return self._index[_option_key(_normalize_option(value, "value"))]  # type: ignore
        except (KeyError, TypeError):
            raise ValueError(
                f"value must be one of {list(self.options)!r}, got {value!r}"
            ) from None

    def from_unit(self, u: Any) -> list:
        """Return option ``floor(u m)`` for each unit coordinate ``u``."""
        u = _unit_array(u)
        m = len(self.options)
        idx = np.minimum(np.floor(u * m).astype(np.int64), m - 1)
        return [self.options[i] for i in idx]

    def to_unit(self, values: Any, *, clip: bool = False) -> np.ndarray:
        """Return ``(i + 0.5) / m`` for each value, option ``i`` of ``m``.

        A value that is not an option raises ValueError (``clip`` does not change that).
        """
        m = len(self.options)
        idx = np.array([self.index(v) for v in _values_list(values)], dtype=np.float64)
        return (idx + 0.5) / m

    def grid(self, k: int = 0) -> list:
        """Return every option, in order (``k`` is accepted for symmetry and ignored)."""
        if isinstance(k, (bool, np.bool_)) or not isinstance(k, numbers.Integral):
            raise TypeError(f"k must be an int, got {k!r}")
        return list(self.options)

    def contains(self, value: Any) -> bool:
        """Return True when ``value`` is one of the options."""
        try:
            self.index(value)
        except (TypeError, ValueError):
            return False
        return True

    def restrict(self, bounds: Any) -> Choice:
        """Return the Choice of the options listed in ``bounds`` (a non-empty subset).

        The options keep their original order; an option that is not in this dimension raises
        ValueError. The default is kept when it remains an option, else dropped.
        """
        if isinstance(bounds, (str, bytes, Mapping)) or not isinstance(bounds, Iterable):
            raise TypeError(f"bounds must be a list of options, got {bounds!r}")
        wanted = {self.index(v) for v in bounds}
        if not wanted:
            raise ValueError(f"bounds must list at least one option, got {bounds!r}")
        options = [self.options[i] for i in sorted(wanted)]
        default = (
            self.default
            if self.default is not None and self.index(self.default) in wanted
            else None
        )
        return Choice(options, default=default)

    def to_dict(self) -> dict:
        """Return a plain dict (JSON types; tuples written as lists)."""
        out: dict[str, Any] = {
            "type": "choice",
            "options": [_option_to_json(v) for v in self.options],
        }
        if self.default is not None:
            out["default"] = _option_to_json(self.default)
        return out


@dataclass(frozen=True, eq=True, repr=False)
class Fixed(Dimension):
    """A hyperparameter held at one value; it takes no column of the unit cube.

    Parameters
    ----------
    value
        A plain value (None, bool, int, float, str, or a list of those, kept as a tuple).
    default : optional
        None, or equal to ``value``.
    """

    value: Any
    default: Any = None

    sampled = False

    def __post_init__(self) -> None:
        value = _normalize_option(self.value, "value")
        object.__setattr__(self, "value", value)
        if self.default is not None:
            default = _normalize_option(self.default, "default")
            if _option_key(default) != _option_key(value):
                raise ValueError(f"default must equal value {value!r}, got {default!r}")
            object.__setattr__(self, "default", value)

    def __repr__(self) -> str:
        return _repr(self, [("value", self.value)])

    @property
    def scale(self) -> str:  # type: ignore[override]
        """``"fixed"``."""
        return "fixed"

    def from_unit(self, u: Any) -> list:
        """Return ``value`` once per entry of ``u``."""
        return [self.value] * _unit_array(u).shape[0]

    def to_unit(self, values: Any, *, clip: bool = False) -> np.ndarray:
        """Return 0.5 for each value equal to ``value``; any other value raises ValueError."""
        vals = _values_list(values)
        for v in vals:
            if not self.contains(v):
                raise ValueError(f"value must be {self.value!r}, got {v!r}")
        return np.full(len(vals), 0.5)

    def grid(self, k: int = 1) -> list:
        """Return ``[value]``."""
        return [self.value]

    def contains(self, value: Any) -> bool:
        """Return True when ``value`` equals the fixed value."""
        try:
            return _option_key(_normalize_option(value, "value")) == _option_key(self.value)
        except (TypeError, ValueError):
            return False

    def restrict(self, bounds: Any) -> Fixed:
        """Return self when ``bounds`` (a ``(low, high)`` pair or a list of options) admits
        the value; raise ValueError otherwise."""
        if isinstance(bounds, (str, bytes, Mapping)) or not isinstance(bounds, Iterable):
            raise TypeError(
                f"bounds must be a (low, high) pair or a list of options, got {bounds!r}"
            )
        bounds = list(bounds)
        if any(self.contains(b) for b in bounds):
            return self
        if (
            len(bounds) == 2
            and isinstance(self.value, numbers.Real)
            and not isinstance(self.value, bool)
            and all(isinstance(b, numbers.Real) and not isinstance(b, bool) for b in bounds)
            and bounds[0] <= self.value <= bounds[1]
        ):
            return self
        raise ValueError(f"bounds must admit the fixed value {self.value!r}, got {bounds!r}")

    def to_dict(self) -> dict:
        """Return a plain dict (JSON types; tuples written as lists)."""
        out: dict[str, Any] = {"type": "fixed", "value": _option_to_json(self.value)}
        if self.default is not None:
            out["default"] = _option_to_json(self.default)
        return out


def _check_bounds_pair(bounds: Any) -> tuple[float, float]:
    if isinstance(bounds, (str, bytes, Mapping)) or not isinstance(bounds, Iterable):
        raise TypeError(f"bounds must be a (low, high) pair, got {bounds!r}")
    pair = list(bounds)
    if len(pair) != 2:
        raise ValueError(f"bounds must be a (low, high) pair, got {bounds!r}")
    low, high = _check_real(pair[0], "bounds[0]"), _check_real(pair[1], "bounds[1]")
    if low > high:
        raise ValueError(f"bounds must have low <= high, got {tuple(pair)!r}")
    return low, high


_DIMENSION_KEYS = {
    "float": (Float, {"low", "high"}, {"scale", "default"}),
    "int": (Int, {"low", "high"}, {"log", "default"}),
    "choice": (Choice, {"options"}, {"default"}),
    "fixed": (Fixed, {"value"}, {"default"}),
}


def dimension_from_dict(d: Mapping[str, Any]) -> Dimension:
    """Build a dimension from the dict :meth:`Dimension.to_dict` writes.

    ``type`` is one of ``float``, ``int``, ``choice``, ``fixed``; the other keys are the
    dimension's keywords (``scale`` defaults to ``"linear"``, ``log`` to False). Choice
    options and Fixed values written as lists come back as tuples, as the dimension stores
    them.

    Examples
    --------
    >>> dimension_from_dict({"type": "float", "low": 1e-4, "high": 1.0, "scale": "log"})
    Float(low=0.0001, high=1.0, scale='log')
    """
    if not isinstance(d, Mapping):
        raise TypeError(f"a dimension must be given as a dict, got {d!r}")
    kind = d.get("type")
    if not isinstance(kind, str) or kind not in _DIMENSION_KEYS:
        raise ValueError(f"type must be one of {tuple(_DIMENSION_KEYS)}, got {kind!r}")
    cls, required, optional = _DIMENSION_KEYS[kind]
    keys = set(d) - {"type"}
    missing = sorted(required - keys)
    if missing:
        raise ValueError(f"a {kind} dimension needs key {missing[0]!r}, got keys {sorted(d)!r}")
    unknown = sorted(keys - required - optional)
    if unknown:
        raise ValueError(
            f"a {kind} dimension takes keys {sorted(required | optional)!r}, "
            f"got unknown key {unknown[0]!r}"
        )
    return cls(**{k: v for k, v in d.items() if k != "type"})


# ---------------------------------------------------------------------------------------------
# Space

Bounds = Union[Sequence[float], Sequence[Any]]


def _prefixed(name: str, exc: Exception) -> Exception:
    return type(exc)(f"dimension {name!r}: {exc}")


class Space:
    """An ordered mapping of hyperparameter names to dimensions.

    Parameters
    ----------
    dimensions : mapping
        Name (a non-empty str) to :class:`Float`, :class:`Int`, :class:`Choice` or
        :class:`Fixed`, in the order the space keeps.

    Notes
    -----
    Unit arrays (``to_unit``, ``from_unit``, the samplers) have one column per *sampled*
    dimension, every kind but :class:`Fixed`, in the order of :attr:`sampled_names`. Fixed
    values are added back by ``from_unit``, ``sample`` and ``grid``.

    Examples
    --------
    >>> space = Space({"lr": Float(1e-3, 1e-1, scale="log"), "layers": Int(1, 3)})
    >>> space.grid({"lr": 3, "layers": 3})[:2]
    [{'lr': 0.001, 'layers': 1}, {'lr': 0.001, 'layers': 2}]
    """

    def __init__(self, dimensions: Mapping[str, Dimension]) -> None:
        if isinstance(dimensions, Space):
            dimensions = dimensions.dimensions
        if not isinstance(dimensions, Mapping):
            raise TypeError(f"dimensions must be a dict of name -> dimension, got {dimensions!r}")
        dims: dict[str, Dimension] = {}
        for name, dim in dimensions.items():
            if not isinstance(name, str) or not name:
                raise TypeError(f"dimension names must be non-empty str, got {name!r}")
            if not isinstance(dim, Dimension):
                raise TypeError(
                    f"dimension {name!r}: must be a Float, Int, Choice or Fixed, got {dim!r}"
                )
            dims[name] = dim
        self._dims = dims
        self._sampled = tuple(n for n, d in dims.items() if d.sampled)

    # --- mapping-like access ---------------------------------------------------------------

    @property
    def names(self) -> tuple[str, ...]:
        """Every dimension's name, in order."""
        return tuple(self._dims)

    @property
    def sampled_names(self) -> tuple[str, ...]:
        """Names of the dimensions that take a unit-cube column (all but Fixed), in order."""
        return self._sampled

    @property
    def dimensions(self) -> dict[str, Dimension]:
        """A copy of the name -> dimension mapping."""
        return dict(self._dims)

    @property
    def defaults(self) -> dict[str, Any]:
        """Name -> default for each dimension that has one (a Fixed's value counts)."""
        out = {}
        for name, dim in self._dims.items():
            if dim.default is not None:  # type: ignore[attr-defined]
                out[name] = dim.default  # type: ignore[attr-defined]
            elif isinstance(dim, Fixed):
                out[name] = dim.value
        return out

    def __len__(self) -> int:
        return len(self._dims)

    def __iter__(self) -> Iterator[str]:
        return iter(self._dims)

    def __contains__(self, name: object) -> bool:
        return name in self._dims

    def __getitem__(self, name: str) -> Dimension:
        try:
            return self._dims[name]
        except KeyError:
            raise KeyError(f"no dimension named {name!r}; the space has {list(self._dims)!r}")

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Space):
            return NotImplemented
        return list(self._dims.items()) == list(other._dims.items())

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        inner = ", ".join(f"{name!r}: {dim!r}" for name, dim in self._dims.items())
        return f"Space({{{inner}}})"

    # --- unit cube -------------------------------------------------------------------------

    def from_unit(self, u: Any) -> list[dict[str, Any]]:
        """Return one params dict per row of ``u``, an (n, d) array with ``d`` the number of
        sampled dimensions; Fixed dimensions get their value."""
        arr = np.asarray(u, dtype=np.float64)
        d = len(self._sampled)
        if arr.ndim == 1 and d > 0 and arr.shape[0] == d:
            arr = arr.reshape(1, d)
        if arr.ndim != 2 or arr.shape[1] != d:
            raise ValueError(
                f"u must be an (n, {d}) array (one column per sampled dimension "
                f"{list(self._sampled)!r}), got shape {arr.shape!r}"
            )
        n = arr.shape[0]
        columns: dict[str, list] = {}
        j = 0
        for name, dim in self._dims.items():
            if dim.sampled:
                try:
                    columns[name] = dim.from_unit(arr[:, j])
                except (TypeError, ValueError) as exc:
                    raise _prefixed(name, exc) from None
                j += 1
            else:
                columns[name] = [dim.value] * n  # type: ignore[attr-defined]
        return [{name: columns[name][i] for name in self._dims} for i in range(n)]

    def to_unit(self, params_list: Any, *, clip: bool = False) -> np.ndarray:
        """Return the (n, d) unit array of a list of params dicts (one column per sampled
        dimension; keys that are not sampled dimensions are ignored).

        With ``clip=True`` values outside a dimension map to its nearest end instead of
        raising ValueError (useful for trials from a wider space).
        """
        if isinstance(params_list, Mapping):
            params_list = [params_list]
        if isinstance(params_list, (str, bytes)) or not isinstance(params_list, Iterable):
            raise TypeError(f"params_list must be a list of dicts, got {params_list!r}")
        rows = list(params_list)
        for row in rows:
            if not isinstance(row, Mapping):
                raise TypeError(f"params_list must hold dicts, got {row!r}")
        out = np.empty((len(rows), len(self._sampled)), dtype=np.float64)
        for j, name in enumerate(self._sampled):
            values = []
            for row in rows:
                if name not in row:
                    raise ValueError(f"dimension {name!r}: missing from params {dict(row)!r}")
                values.append(row[name])
            try:
                out[:, j] = self._dims[name].to_unit(values, clip=clip)
            except (TypeError, ValueError) as exc:
                raise _prefixed(name, exc) from None
        return out

    # --- sampling and grids ----------------------------------------------------------------

    def sample(
        self, n: int, sampler: str = "random", seed: int | None = None, start: int = 0
    ) -> list[dict[str, Any]]:
        """Return ``n`` params dicts from points ``start .. start + n - 1`` of a sampler.

        Parameters
        ----------
        n : int
            Number of points, >= 0.
        sampler : {"random", "sobol", "halton", "lhs"}
            Made by :func:`tunecore.samplers.make_sampler` over the sampled dimensions.
        seed : int, optional
            Passed through :func:`tunecore._seeding.resolve_seed` (None draws a fresh one).
        start : int
            Points skipped first (``fast_forward``), so point ``k`` of a study is the same
            whether drawn alone with ``start=k`` or as row ``k`` of a batch (for "lhs", whose
            points depend on the batch size, this holds only for equal batches).
        """
        n = _check_count(n, "n", 0)
        start = _check_count(start, "start", 0)
        if not isinstance(sampler, str):
            raise TypeError(f"sampler must be a str, one of {SAMPLERS}, got {sampler!r}")
        if sampler not in SAMPLERS:
            raise ValueError(f"sampler must be one of {SAMPLERS}, got {sampler!r}")
        seed = resolve_seed(seed)
        d = len(self._sampled)
        if d == 0 or n == 0:
            return self.from_unit(np.empty((n, d)))
        from tunecore.samplers import make_sampler

        engine = make_sampler(sampler, d, seed)
        if start:
            engine.fast_forward(start)
        return self.from_unit(engine.random(n))

    def grid(self, points: int | Mapping[str, int]) -> list[dict[str, Any]]:
        """Return the Cartesian product of every dimension's grid.

        Parameters
        ----------
        points : int or dict
            Points per Float / Int dimension (one int for all, or name -> int). Choice
            dimensions always give every option and Fixed its value, so they may be left out
            of the dict.

        Returns
        -------
        list of dict
            Deterministic order: the first dimension varies slowest, each dimension's values
            in increasing order (Choice options in their given order).
        """
        if isinstance(points, Mapping):
            unknown = [k for k in points if k not in self._dims]
            if unknown:
                raise ValueError(
                    f"points names a dimension the space does not have: {unknown[0]!r}; "
                    f"the space has {list(self._dims)!r}"
                )
            counts = dict(points)
        else:
            _check_count(points, "points", 1)
            counts = {name: points for name in self._dims}
        axes = []
        for name, dim in self._dims.items():
            if isinstance(dim, (Choice, Fixed)):
                axes.append(dim.grid(counts.get(name, 1)))
                continue
            if name not in counts:
                raise ValueError(f"dimension {name!r}: points must give a count, got none")
            count = counts[name]
            if isinstance(count, numbers.Integral) and count > MAX_GRID_POINTS:
                raise ValueError(
                    f"dimension {name!r}: points must be at most {MAX_GRID_POINTS:,} per "
                    f"dimension, got {count!r}"
                )
            try:
                axes.append(dim.grid(count))
            except (TypeError, ValueError) as exc:
                raise _prefixed(name, exc) from None
        size = math.prod(len(axis) for axis in axes)
        if size > MAX_GRID_POINTS:
            raise ValueError(
                f"points must make a grid of at most {MAX_GRID_POINTS:,} points, got "
                f"{' x '.join(str(len(axis)) for axis in axes)} = {size:,}"
            )
        names = list(self._dims)
        return [dict(zip(names, combo)) for combo in itertools.product(*axes)]

    # --- narrowing and serialization -------------------------------------------------------

    def restrict(self, bounds: Mapping[str, Bounds]) -> Space:
        """Return a space narrowed to ``bounds``, never wider than this one.

        Parameters
        ----------
        bounds : dict
            Name -> ``(low, high)`` (values, not unit coordinates) for Float and Int, or a
            list of options for Choice. Unlisted dimensions stay as they are. Float bounds are
            clipped to the dimension, Int bounds rounded outward to integers and clipped, so
            the result lies inside this space; bounds that collapse to one value give a
            :class:`Fixed`; bounds that miss a dimension raise ValueError.
        """
        if not isinstance(bounds, Mapping):
            raise TypeError(f"bounds must be a dict of name -> bounds, got {bounds!r}")
        unknown = [k for k in bounds if k not in self._dims]
        if unknown:
            raise ValueError(
                f"bounds names a dimension the space does not have: {unknown[0]!r}; "
                f"the space has {list(self._dims)!r}"
            )
        dims = {}
        for name, dim in self._dims.items():
            if name in bounds:
                try:
                    dims[name] = dim.restrict(bounds[name])
                except (TypeError, ValueError) as exc:
                    raise _prefixed(name, exc) from None
            else:
                dims[name] = dim
        return Space(dims)

    def contains(self, params: Mapping[str, Any]) -> bool:
        """Return True when ``params`` has every dimension with a value inside it."""
        return all(
            name in params and dim.contains(params[name]) for name, dim in self._dims.items()
        )

    def to_dict(self) -> dict[str, dict]:
        """Return ``{name: dimension.to_dict()}`` in order (plain JSON / TOML types)."""
        return {name: dim.to_dict() for name, dim in self._dims.items()}

    @classmethod
    def from_dict(cls, d: Mapping[str, Mapping[str, Any]]) -> Space:
        """Build a space from the dict :meth:`to_dict` writes (or a TOML table of tables)."""
        if not isinstance(d, Mapping):
            raise TypeError(f"a space must be given as a dict of name -> dict, got {d!r}")
        dims = {}
        for name, spec in d.items():
            try:
                dims[name] = dimension_from_dict(spec)
            except (TypeError, ValueError) as exc:
                raise _prefixed(name, exc) from None
        return cls(dims)
