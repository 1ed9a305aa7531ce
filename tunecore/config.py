"""Study configs in TOML: parse, validate, and build the objects a study runs on.

A config has six tables. Only ``[data]`` and ``[strategy]`` are required; ``[space]`` is
required unless the strategy is ``tiers`` (which brings its own spaces)::

    [study]                  # all optional
    name = "digits-random"   # default: the config file's name without .toml
    seed = 0
    storage = "tunecore.db"  # relative to the config file's directory; ":memory:" allowed
    metric = "val_loss"      # val_loss | val_accuracy | val_r2 | train_loss
    direction = "minimize"   # default: maximize for val_accuracy and val_r2, else minimize

    [data]
    source = "csv"           # digits | csv | npz
    path = "data.csv"        # csv and npz; relative to the config file's directory
    target = "label"         # csv: the target column's name (or 0-based index)
    delimiter = ","          # csv only
    header = true            # csv only
    x_key = "X"              # npz only
    y_key = "y"              # npz only
    test_fraction = 0.2      # held out for the final score, never seen by the study
    val_fraction = 0.2       # the study's validation set

    [space]                  # one inline table per dimension, named as train()'s keyword
    lr = { type = "float", low = 1e-4, high = 1.0, scale = "log" }  # linear|log|reverse_log
    batch_size = { type = "int", low = 16, high = 256, log = true }
    optimizer = { type = "choice", options = ["adam", "momentum"] }
    hidden = { type = "choice", options = [[64], [128, 64]] }
    activation = { type = "fixed", value = "relu" }
    # also "units" and "layers" (hidden = (units,) * layers); any dimension may give default=

    [strategy]
    kind = "random"          # grid | random | coarse_to_fine | tiers
    n_trials = 50
    # grid:           points (int, or a table dimension -> int)
    # random:         n_trials, sampler (random | sobol | halton | lhs)
    # coarse_to_fine: rounds, trials_per_round, keep, margin, sampler
    # tiers:          optimizer (adam | momentum | ...), shares, patience

    [budget]                 # any of trials, epochs, seconds; tiers needs exactly one
    seconds = 60

    [train]                  # fixed train() keywords for every trial (not in [space])
    epochs = 10
    loss = "cross_entropy"   # "mse" for a regression (float targets); scored by R^2

Every problem is a :class:`ConfigError` (a ValueError) whose one-line message names the file
and the key path, e.g. ``study.toml: strategy.rounds must be an int >= 1, got 'three'``.

>>> cfg = parse_config({"data": {"source": "digits"},
...                     "space": {"lr": {"type": "float", "low": 1e-3, "high": 1.0,
...                                      "scale": "log"}},
...                     "strategy": {"kind": "random", "n_trials": 4}})
>>> cfg.strategy.kind, cfg.strategy.options["n_trials"], cfg.direction
('random', 4, 'minimize')
"""

from __future__ import annotations

import math
import os
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python < 3.11 reads TOML with the tomli backport
    import tomli as tomllib

__all__ = [
    "BudgetConfig",
    "ConfigError",
    "DataConfig",
    "StrategyConfig",
    "StudyConfig",
    "load_config",
    "parse_config",
]

METRICS = ("val_loss", "val_accuracy", "val_r2", "train_loss")
DIRECTIONS = ("minimize", "maximize")
SOURCES = ("digits", "csv", "npz")
KINDS = ("grid", "random", "coarse_to_fine", "tiers")
SAMPLERS = ("random", "sobol", "halton", "lhs")
SCALES = ("linear", "log", "reverse_log")
DIMENSION_TYPES = ("float", "int", "choice", "fixed")

ACTIVATIONS = ("relu", "leaky_relu", "tanh", "sigmoid", "identity")
LOSSES = ("cross_entropy", "binary_cross_entropy", "mse")
OPTIMIZERS = ("sgd", "momentum", "rmsprop", "adam")
LR_DECAYS = ("none", "inverse_time", "exponential", "step", "cosine")


class ConfigError(ValueError):
    """A study config that cannot be run; the message is one line naming the key path."""


# --------------------------------------------------------------------------------------------
# value checks: each returns the checked value or raises ConfigError naming the key path


def _show(value: Any) -> str:
    return repr(value)


def _fail(key: str, requirement: str, value: Any) -> ConfigError:
    return ConfigError(f"{key} must be {requirement}, got {_show(value)}")


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _int(key: str, value: Any, *, low: int | None = None, high: int | None = None) -> int:
    requirement = "an int"
    if low is not None and high is not None:
        requirement = f"an int in [{low}, {high}]"
    elif low is not None:
        requirement = f"an int >= {low}"
    if not _is_int(value):
        raise _fail(key, requirement, value)
    if (low is not None and value < low) or (high is not None and value > high):
        raise _fail(key, requirement, value)
    return value


def _number(
    key: str,
    value: Any,
    *,
    low: float | None = None,
    high: float | None = None,
    low_open: bool = False,
    high_open: bool = False,
) -> float:
    if low is not None and high is not None:
        requirement = (
            f"a number in {'(' if low_open else '['}{low:g}, {high:g}{')' if high_open else ']'}"
        )
    elif low is not None:
        requirement = f"a number {'>' if low_open else '>='} {low:g}"
    else:
        requirement = "a finite number"
    if not _is_number(value) or not math.isfinite(value):
        raise _fail(key, requirement, value)
    if low is not None and (value < low or (low_open and value == low)):
        raise _fail(key, requirement, value)
    if high is not None and (value > high or (high_open and value == high)):
        raise _fail(key, requirement, value)
    return value


def _str(key: str, value: Any) -> str:
    if not isinstance(value, str):
        raise _fail(key, "a string", value)
    return value


def _nonempty_str(key: str, value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise _fail(key, "a non-empty string", value)
    return value


def _bool(key: str, value: Any) -> bool:
    if not isinstance(value, bool):
        raise _fail(key, "true or false", value)
    return value


def _one_of(key: str, value: Any, options: tuple[str, ...]) -> str:
    if value not in options or not isinstance(value, str):
        raise _fail(key, f"one of {', '.join(repr(o) for o in options)}", value)
    return value


def _table(key: str, value: Any) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise _fail(key, "a table", value)
    return value


def _known_keys(key: str, table: Mapping[str, Any], allowed: tuple[str, ...]) -> None:
    for name in table:
        if name not in allowed:
            where = f"{key}.{name}" if key else name
            raise ConfigError(
                f"{where} is not a known key; the keys of [{key}] are {', '.join(allowed)}"
                if key
                else f"[{name}] is not a known table; the tables are {', '.join(allowed)}"
            )


def _hidden(key: str, value: Any) -> int | list[int]:
    if _is_int(value):
        return _int(key, value, low=1)
    if isinstance(value, list) and all(_is_int(v) and v >= 1 for v in value):
        return list(value)
    raise _fail(key, "an int >= 1 or an array of ints >= 1", value)


# Checks of train()'s keywords, so a typo or a bad value is caught before any training runs.
TRAIN_CHECKS: dict[str, Callable[[str, Any], Any]] = {
    "hidden": _hidden,
    "activation": lambda k, v: _one_of(k, v, ACTIVATIONS),
    "loss": lambda k, v: _one_of(k, v, LOSSES),
    "optimizer": lambda k, v: _one_of(k, v, OPTIMIZERS),
    "lr": lambda k, v: _number(k, v, low=0.0, low_open=True),
    "momentum": lambda k, v: _number(k, v, low=0.0, high=1.0, high_open=True),
    "beta1": lambda k, v: _number(k, v, low=0.0, high=1.0, high_open=True),
    "beta2": lambda k, v: _number(k, v, low=0.0, high=1.0, high_open=True),
    "eps": lambda k, v: _number(k, v, low=0.0, low_open=True),
    "rho": lambda k, v: _number(k, v, low=0.0, high=1.0, high_open=True),
    "batch_size": lambda k, v: _int(k, v, low=1),
    "epochs": lambda k, v: _int(k, v, low=1),
    "lr_decay": lambda k, v: _one_of(k, v, LR_DECAYS),
    "decay_rate": lambda k, v: _number(k, v, low=0.0),
    "decay_steps": lambda k, v: _int(k, v, low=1),
    "batch_norm": _bool,
    "bn_momentum": lambda k, v: _number(k, v, low=0.0, high=1.0, high_open=True),
    "bn_eps": lambda k, v: _number(k, v, low=0.0, low_open=True),
    "l2": lambda k, v: _number(k, v, low=0.0),
    "n_classes": lambda k, v: _int(k, v, low=2),
    "threads": lambda k, v: _int(k, v, low=1),
}

#: train() keywords that take no numbers and ints: neither has a 'float' dimension.
CATEGORICAL_KEYWORDS = ("activation", "loss", "optimizer", "lr_decay", "batch_norm")
INT_KEYWORDS = ("hidden", "batch_size", "epochs", "decay_steps", "n_classes", "threads")

#: Names a space may tune besides train()'s keywords: the MLP objective builds ``hidden`` from
#: ``units`` (width of every hidden layer) and ``layers`` (how many).
EXTRA_DIMENSIONS: dict[str, Callable[[str, Any], Any]] = {
    "units": lambda k, v: _int(k, v, low=1),
    "layers": lambda k, v: _int(k, v, low=0),
}
INT_KEYWORDS += tuple(EXTRA_DIMENSIONS)


# --------------------------------------------------------------------------------------------
# the config objects


@dataclass(frozen=True)
class DataConfig:
    """The ``[data]`` table: where the data comes from and how it is split."""

    source: str
    path: Path | None = None
    target: str | int | None = None
    delimiter: str = ","
    header: bool = True
    x_key: str = "X"
    y_key: str = "y"
    test_fraction: float = 0.2
    val_fraction: float = 0.2

    def load(self) -> tuple[Any, Any]:
        """Load ``(X, y)`` with :func:`tunecore.datasets.load`."""
        from tunecore import datasets

        if self.source == "digits":
            return datasets.load_digits()
        if self.source == "csv":
            return datasets.load_csv(
                self.path, self.target, delimiter=self.delimiter, header=self.header
            )
        return datasets.load_npz(self.path, x_key=self.x_key, y_key=self.y_key)


@dataclass(frozen=True)
class StrategyConfig:
    """The ``[strategy]`` table: the kind and its keyword options."""

    kind: str
    options: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class BudgetConfig:
    """The ``[budget]`` table; None means no limit of that kind."""

    trials: int | None = None
    epochs: int | None = None
    seconds: float | None = None

    @property
    def empty(self) -> bool:
        """True when no limit is set."""
        return self.trials is None and self.epochs is None and self.seconds is None


@dataclass(frozen=True)
class StudyConfig:
    """A validated study config; :func:`load_config` and :func:`parse_config` make one."""

    name: str
    seed: int
    storage: str
    metric: str
    direction: str
    data: DataConfig
    space: dict[str, dict[str, Any]] | None
    strategy: StrategyConfig
    budget: BudgetConfig
    train: dict[str, Any]
    source: str | None = None

    def build_space(self) -> Any:
        """Return the :class:`tunecore.space.Space` of ``[space]`` (None for tier studies)."""
        if self.space is None:
            return None
        from tunecore.space import Space, dimension_from_dict

        dims = {}
        for name, spec in self.space.items():
            try:
                dims[name] = dimension_from_dict(spec)
            except (TypeError, ValueError) as exc:
                raise self._error(f"space.{name}: {exc}") from None
        return Space(dims)

    def build_strategy(self, space: Any = None) -> Any:
        """Return the strategy object of ``[strategy]`` over ``space``."""
        from tunecore import strategies

        options = dict(self.strategy.options)
        kind = self.strategy.kind
        if space is None and kind != "tiers":
            space = self.build_space()
        try:
            if kind == "grid":
                return strategies.GridSearch(space, options["points"])
            if kind == "random":
                n_trials = options.pop("n_trials", None)
                if n_trials is None:
                    n_trials = self.budget.trials
                return strategies.RandomSearch(space, n_trials, **options)
            if kind == "coarse_to_fine":
                return strategies.CoarseToFine(space, **options)
            tiers = strategies.default_tiers(optimizer=options.pop("optimizer", "adam"))
            budget = self.budget_object()
            return strategies.TierBudget(tiers, budget=budget, **options)
        except (TypeError, ValueError) as exc:
            raise self._error(f"strategy: {exc}") from None

    def budget_object(self) -> Any:
        """Return the :class:`tunecore.study.Budget` of ``[budget]``, or None when empty."""
        if self.budget.empty:
            return None
        from tunecore.study import Budget

        return Budget(
            trials=self.budget.trials, epochs=self.budget.epochs, seconds=self.budget.seconds
        )

    def _error(self, message: str) -> ConfigError:
        return ConfigError(f"{self.source}: {message}" if self.source else message)


# --------------------------------------------------------------------------------------------
# parsing


def load_config(path: str | os.PathLike[str]) -> StudyConfig:
    """Read and validate a TOML study config.

    Relative paths inside the config (``data.path``, ``study.storage``) are resolved against
    the config file's directory.

    Raises
    ------
    ConfigError
        For a missing or unreadable file, invalid TOML, or any invalid key; the message names
        the file and the key path.
    """
    p = Path(path)
    try:
        raw = p.read_bytes()
    except FileNotFoundError:
        raise ConfigError(f"config file {str(p)!r} does not exist") from None
    except OSError as exc:
        raise ConfigError(f"config file {str(p)!r} cannot be read: {exc.strerror}") from None
    try:
        table = tomllib.loads(raw.decode("utf-8"))
    except UnicodeDecodeError:
        raise ConfigError(f"{p}: not UTF-8 text, so not a TOML file") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{p}: invalid TOML: {exc}") from None
    default_name = p.stem
    return parse_config(table, source=str(p), base_dir=p.parent, default_name=default_name)


def parse_config(
    table: Mapping[str, Any],
    *,
    source: str | None = None,
    base_dir: str | os.PathLike[str] | None = None,
    default_name: str = "study",
    check_files: bool = True,
) -> StudyConfig:
    """Validate a config already read into a mapping (e.g. by ``tomllib``).

    Parameters
    ----------
    table : mapping
        The whole config.
    source : str, optional
        The file name to put before every error message.
    base_dir : str or path, optional
        Directory for relative paths; default the working directory.
    default_name : str, default "study"
        The study's name when ``study.name`` is absent.
    check_files : bool, default True
        Whether to check that ``data.path`` exists.
    """
    try:
        config = _parse(
            table, Path(base_dir) if base_dir is not None else None, default_name, check_files
        )
    except ConfigError as exc:
        if source is None:
            raise
        raise ConfigError(f"{source}: {exc}") from None
    return replace(config, source=source)


def _parse(
    table: Mapping[str, Any], base_dir: Path | None, default_name: str, check_files: bool
) -> StudyConfig:
    _table("config", table)
    _known_keys("", table, ("study", "data", "space", "strategy", "budget", "train"))
    for required in ("data", "strategy"):
        if required not in table:
            raise ConfigError(f"[{required}] is required")

    def resolve(value: str) -> Path:
        p = Path(value).expanduser()
        if base_dir is not None and not p.is_absolute():
            p = base_dir / p
        return p

    study = _table("study", table.get("study", {}))
    _known_keys("study", study, ("name", "seed", "storage", "metric", "direction"))
    name = _nonempty_str("study.name", study.get("name", default_name))
    seed = _int("study.seed", study.get("seed", 0), low=0, high=2**63 - 1)
    storage = _nonempty_str("study.storage", study.get("storage", "tunecore.db"))
    if storage != ":memory:":
        storage = str(resolve(storage))
    metric = _one_of("study.metric", study.get("metric", "val_loss"), METRICS)
    default_direction = "maximize" if metric in ("val_accuracy", "val_r2") else "minimize"
    direction = _one_of("study.direction", study.get("direction", default_direction), DIRECTIONS)

    data = _parse_data(_table("data", table["data"]), resolve, check_files)
    strategy = _parse_strategy(_table("strategy", table["strategy"]))
    budget = _parse_budget(_table("budget", table.get("budget", {})))
    train = _parse_train(_table("train", table.get("train", {})))

    space = None
    if strategy.kind == "tiers":
        if "space" in table:
            raise ConfigError(
                "[space] must be omitted when strategy.kind is 'tiers' (each tier has its own)"
            )
        given = [k for k in ("trials", "epochs", "seconds") if getattr(budget, k) is not None]
        if len(given) != 1:
            raise ConfigError(
                "[budget] must set exactly one of trials, epochs or seconds when "
                f"strategy.kind is 'tiers' (the tiers share it), got {given or 'none'}"
            )
    else:
        if "space" not in table:
            raise ConfigError(f"[space] is required when strategy.kind is {strategy.kind!r}")
        space = _parse_space(_table("space", table["space"]))
        for key in space:
            if key in train:
                raise ConfigError(f"train.{key} is also a dimension of [space]; keep one of them")
        points = strategy.options.get("points")
        if isinstance(points, dict):
            for key in points:
                if key not in space:
                    raise ConfigError(
                        f"strategy.points.{key} names no dimension of [space]; "
                        f"the dimensions are {', '.join(space)}"
                    )
            for key, spec in space.items():
                if spec["type"] in ("float", "int") and key not in points:
                    raise ConfigError(
                        f"strategy.points.{key} is required: a grid needs a count for every "
                        "float and int dimension (choices use all their options)"
                    )
        no_trials = "n_trials" not in strategy.options and budget.trials is None
        if strategy.kind == "random" and no_trials:
            raise ConfigError(
                "strategy.n_trials is required for a random search unless budget.trials is given"
            )

    return StudyConfig(
        name=name,
        seed=seed,
        storage=storage,
        metric=metric,
        direction=direction,
        data=data,
        space=space,
        strategy=strategy,
        budget=budget,
        train=train,
    )


def _parse_data(
    data: Mapping[str, Any], resolve: Callable[[str], Path], check_files: bool
) -> DataConfig:
    if "source" not in data:
        raise ConfigError(f"data.source is required; one of {', '.join(map(repr, SOURCES))}")
    source = _one_of("data.source", data["source"], SOURCES)
    per_source = {
        "digits": (),
        "csv": ("path", "target", "delimiter", "header"),
        "npz": ("path", "x_key", "y_key"),
    }
    allowed = ("source", "test_fraction", "val_fraction") + per_source[source]
    for key in data:
        if key not in allowed:
            if any(key in keys for keys in per_source.values()):
                raise ConfigError(f"data.{key} does not apply to data.source = {source!r}")
            raise ConfigError(
                f"data.{key} is not a known key; the keys of [data] for {source!r} are "
                f"{', '.join(allowed)}"
            )

    test_fraction = _number(
        "data.test_fraction", data.get("test_fraction", 0.2), low=0.0, high=1.0, high_open=True
    )
    val_fraction = _number(
        "data.val_fraction",
        data.get("val_fraction", 0.2),
        low=0.0,
        high=1.0,
        low_open=True,
        high_open=True,
    )
    if test_fraction + val_fraction >= 1.0:
        raise ConfigError(
            f"data.test_fraction + data.val_fraction must be < 1, got {test_fraction!r} + "
            f"{val_fraction!r}"
        )
    if source == "digits":
        return DataConfig(source, test_fraction=test_fraction, val_fraction=val_fraction)

    if "path" not in data:
        raise ConfigError(f"data.path is required when data.source is {source!r}")
    path = resolve(_nonempty_str("data.path", data["path"]))
    if check_files:
        if not path.exists():
            raise ConfigError(f"data.path: data file {str(path)!r} does not exist")
        if not path.is_file():
            raise ConfigError(f"data.path: {str(path)!r} is not a regular file")

    if source == "npz":
        return DataConfig(
            source,
            path=path,
            x_key=_nonempty_str("data.x_key", data.get("x_key", "X")),
            y_key=_nonempty_str("data.y_key", data.get("y_key", "y")),
            test_fraction=test_fraction,
            val_fraction=val_fraction,
        )

    header = _bool("data.header", data.get("header", True))
    if "target" not in data:
        raise ConfigError("data.target is required when data.source is 'csv'")
    target = data["target"]
    if header and not (isinstance(target, str) and target) and not _is_int(target):
        raise _fail("data.target", "a column name or a 0-based column index", target)
    if not header and not (_is_int(target) and target >= 0):
        raise _fail(
            "data.target", "a 0-based column index (an int >= 0) when header is false", target
        )
    delimiter = data.get("delimiter", ",")
    if not isinstance(delimiter, str) or len(delimiter) != 1:
        raise _fail("data.delimiter", "a single character", delimiter)
    return DataConfig(
        source,
        path=path,
        target=target,
        delimiter=delimiter,
        header=header,
        test_fraction=test_fraction,
        val_fraction=val_fraction,
    )


def _parse_strategy(strategy: Mapping[str, Any]) -> StrategyConfig:
    if "kind" not in strategy:
        raise ConfigError(f"strategy.kind is required; one of {', '.join(map(repr, KINDS))}")
    kind = _one_of("strategy.kind", strategy["kind"], KINDS)
    allowed = {
        "grid": ("kind", "points"),
        "random": ("kind", "n_trials", "sampler"),
        "coarse_to_fine": ("kind", "rounds", "trials_per_round", "keep", "margin", "sampler"),
        "tiers": ("kind", "optimizer", "shares", "patience"),
    }[kind]
    for key in strategy:
        if key not in allowed:
            raise ConfigError(
                f"strategy.{key} is not a known key for kind {kind!r}; the keys are "
                f"{', '.join(allowed)}"
            )

    options: dict[str, Any] = {}
    if kind == "grid":
        if "points" not in strategy:
            raise ConfigError("strategy.points is required when strategy.kind is 'grid'")
        points = strategy["points"]
        if isinstance(points, Mapping):
            options["points"] = {
                k: _int(f"strategy.points.{k}", v, low=1) for k, v in points.items()
            }
        elif _is_int(points):
            options["points"] = _int("strategy.points", points, low=1)
        else:
            raise _fail("strategy.points", "an int >= 1 or a table of ints >= 1", points)
    elif kind == "random":
        if "n_trials" in strategy:
            options["n_trials"] = _int("strategy.n_trials", strategy["n_trials"], low=1)
        if "sampler" in strategy:
            options["sampler"] = _one_of("strategy.sampler", strategy["sampler"], SAMPLERS)
    elif kind == "coarse_to_fine":
        for key in ("rounds", "trials_per_round"):
            if key not in strategy:
                raise ConfigError(
                    f"strategy.{key} is required when strategy.kind is 'coarse_to_fine'"
                )
            options[key] = _int(f"strategy.{key}", strategy[key], low=1)
        if "keep" in strategy:
            options["keep"] = _number(
                "strategy.keep", strategy["keep"], low=0.0, high=1.0, low_open=True
            )
        if "margin" in strategy:
            options["margin"] = _number("strategy.margin", strategy["margin"], low=0.0)
        if "sampler" in strategy:
            options["sampler"] = _one_of("strategy.sampler", strategy["sampler"], SAMPLERS)
    else:
        if "optimizer" in strategy:
            options["optimizer"] = _one_of("strategy.optimizer", strategy["optimizer"], OPTIMIZERS)
        if "shares" in strategy:
            shares = strategy["shares"]
            if (
                not isinstance(shares, list)
                or not shares
                or not all(_is_number(s) and math.isfinite(s) and s > 0 for s in shares)
            ):
                raise _fail("strategy.shares", "a non-empty array of numbers > 0", shares)
            if abs(sum(shares) - 1.0) > 1e-6:
                raise _fail("strategy.shares", "numbers that sum to 1", shares)
            options["shares"] = tuple(float(s) for s in shares)
        if "patience" in strategy:
            options["patience"] = _int("strategy.patience", strategy["patience"], low=1)
    return StrategyConfig(kind, options)


def _parse_budget(budget: Mapping[str, Any]) -> BudgetConfig:
    _known_keys("budget", budget, ("trials", "epochs", "seconds"))
    trials = epochs = seconds = None
    if "trials" in budget:
        trials = _int("budget.trials", budget["trials"], low=1)
    if "epochs" in budget:
        epochs = _int("budget.epochs", budget["epochs"], low=1)
    if "seconds" in budget:
        seconds = float(_number("budget.seconds", budget["seconds"], low=0.0, low_open=True))
    return BudgetConfig(trials, epochs, seconds)


def _parse_train(train: Mapping[str, Any]) -> dict[str, Any]:
    out = {}
    for key, value in train.items():
        if key == "seed":
            raise ConfigError("train.seed is set per trial by the study; use study.seed")
        if key not in TRAIN_CHECKS:
            raise ConfigError(
                f"train.{key} is not a train() keyword; the keywords are {', '.join(TRAIN_CHECKS)}"
            )
        out[key] = TRAIN_CHECKS[key](f"train.{key}", value)
    return out


def _parse_space(space: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    if not space:
        raise ConfigError("[space] must name at least one dimension")
    checks = {**TRAIN_CHECKS, **EXTRA_DIMENSIONS}
    out = {}
    for name, spec in space.items():
        key = f"space.{name}"
        if name == "seed":
            raise ConfigError(f"{key}: the seed is set per trial by the study; use study.seed")
        if name not in checks:
            raise ConfigError(
                f"{key} names no train() keyword; the names a space may tune are "
                f"{', '.join(checks)}"
            )
        out[name] = _parse_dimension(key, _table(key, spec), checks[name])
    return out


def _parse_dimension(
    key: str, spec: Mapping[str, Any], check: Callable[[str, Any], Any]
) -> dict[str, Any]:
    if "type" not in spec:
        raise ConfigError(
            f"{key}.type is required; one of {', '.join(map(repr, DIMENSION_TYPES))}"
        )
    kind = _one_of(f"{key}.type", spec["type"], DIMENSION_TYPES)
    allowed = {
        "float": ("type", "low", "high", "scale", "default"),
        "int": ("type", "low", "high", "log", "default"),
        "choice": ("type", "options", "default"),
        "fixed": ("type", "value"),
    }[kind]
    for name in spec:
        if name not in allowed:
            raise ConfigError(
                f"{key}.{name} is not a key of a {kind!r} dimension; its keys are "
                f"{', '.join(allowed)}"
            )
    for name in allowed:
        if name not in ("scale", "log", "default") and name not in spec:
            raise ConfigError(f"{key}.{name} is required for a {kind!r} dimension")

    out: dict[str, Any] = {"type": kind}
    if kind == "fixed":
        out["value"] = check(f"{key}.value", spec["value"])
        return out
    if kind == "choice":
        options = spec["options"]
        if not isinstance(options, list) or not options:
            raise _fail(f"{key}.options", "a non-empty array", options)
        out["options"] = [check(f"{key}.options[{i}]", v) for i, v in enumerate(options)]
        if "default" in spec:
            if spec["default"] not in out["options"]:
                raise _fail(f"{key}.default", f"one of {key}.options", spec["default"])
            out["default"] = spec["default"]
        return out

    # float or int: the keyword must take numbers (ints for an int keyword), both bounds must be
    # legal values of it, and low < high
    name = key.rsplit(".", 1)[-1]
    if name in CATEGORICAL_KEYWORDS:
        raise _fail(f"{key}.type", f"'choice' or 'fixed' for {name}", kind)
    if kind == "float" and name in INT_KEYWORDS:
        raise _fail(f"{key}.type", f"'int', 'choice' or 'fixed' for {name}", kind)
    if kind == "int":
        for bound in ("low", "high"):
            if not _is_int(spec[bound]):
                raise _fail(f"{key}.{bound}", "an int", spec[bound])
    for bound in ("low", "high"):
        out[bound] = check(f"{key}.{bound}", spec[bound])
    if not out["low"] < out["high"]:
        raise ConfigError(
            f"{key}.low must be < {key}.high, got {out['low']!r} and {out['high']!r}"
        )
    if kind == "float":
        scale = _one_of(f"{key}.scale", spec.get("scale", "linear"), SCALES)
        if scale == "log" and out["low"] <= 0:
            raise _fail(f"{key}.low", "> 0 for a log scale", out["low"])
        if scale == "reverse_log" and out["high"] >= 1:
            raise _fail(f"{key}.high", "< 1 for a reverse_log scale", out["high"])
        out["scale"] = scale
    else:
        log = _bool(f"{key}.log", spec.get("log", False))
        if log and out["low"] <= 0:
            raise _fail(f"{key}.low", "> 0 for a log scale", out["low"])
        out["log"] = log
    if "default" in spec:
        default = spec["default"]
        if not _is_number(default) or (kind == "int" and not _is_int(default)):
            raise _fail(f"{key}.default", f"{'an int' if kind == 'int' else 'a number'}", default)
        if not out["low"] <= default <= out["high"]:
            raise _fail(f"{key}.default", f"in [{out['low']!r}, {out['high']!r}]", default)
        out["default"] = default
    return out
