"""Objectives: what a trial evaluates. The built-in MLP objective and any Python callable.

An objective turns params (and the trial's seed) into an :class:`Outcome`. Whatever goes wrong
inside becomes the outcome's status and reason, never an exception out of the study: an
exception gives ``failed`` (reason: the exception's type and message), a NaN or infinite value
or a diverged training gives ``diverged`` (reason: where).

The mapping from study parameters to :func:`tunecore.train` keywords lives here and only
here (:func:`params_to_config`): ``units`` and ``layers`` become ``hidden=(units,) * layers``;
every other parameter keeps its name, which is the keyword of ``train()``, the key in the
config, the column in exports and the label in plots.
"""

from __future__ import annotations

import inspect
import logging
import math
import numbers
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np

from tunecore.trial import COMPLETE, DIVERGED, FAILED, INTERRUPTED

logger = logging.getLogger(__name__)

#: Metrics that are better when larger; any other metric is minimized by default.
MAXIMIZED_METRICS = ("val_accuracy", "val_r2", "accuracy", "r2", "score")

#: Study parameters that are not train() keywords but make its ``hidden`` argument.
NETWORK_PARAMS = ("units", "layers")

#: The rate each schedule gets when ``lr_decay`` is searched without a ``decay_rate``:
#: inverse_time lr / (1 + e), exponential lr * 0.9**e, step halves the rate (every quarter of
#: the epochs, see :func:`params_to_config`), cosine anneals to 0. train()'s default rate 0
#: is invalid for exponential and step and means no decay for inverse_time.
DECAY_RATES = {"inverse_time": 1.0, "exponential": 0.9, "step": 0.5, "cosine": 0.0}


@dataclass
class Outcome:
    """What evaluating one trial produced.

    Attributes
    ----------
    status : str
        ``complete``, ``failed`` or ``diverged`` (``interrupted`` for a trial that never
        started because the time budget ran out; a resumed study runs it).
    value : float or None
        The value the study optimizes (None unless complete).
    metrics : dict
        Every scalar reported (the value's metric included).
    history : dict
        Per-epoch series by name.
    epochs : int
        Epochs consumed.
    duration : float or None
        Wall-clock seconds of the evaluation.
    reason : str or None
        Why the trial failed or diverged.
    """

    status: str
    value: float | None = None
    metrics: dict[str, float] = field(default_factory=dict)
    history: dict[str, list] = field(default_factory=dict)
    epochs: int = 0
    duration: float | None = None
    reason: str | None = None


def _describe_exception(exc: BaseException) -> str:
    message = str(exc)
    return f"{type(exc).__name__}: {message}" if message else type(exc).__name__


def outcome_from_result(result: Any, metric: str, duration: float | None) -> Outcome:
    """Turn what a callable returned (a number or a dict) into an :class:`Outcome`.

    A dict must hold ``metric``; its other numbers become metrics, its sequences history, and
    an ``epochs`` entry counts toward an epoch budget. A number too large for a float (an
    int of 10**400, say) makes the trial diverged; anything else that cannot be read as
    numbers (a ragged history) makes it failed. Either way the study goes on.
    """
    try:
        return _read_result(result, metric, duration)
    except OverflowError as exc:
        return Outcome(
            DIVERGED,
            duration=duration,
            reason=f"the objective returned {_describe_exception(exc)}",
        )
    except (TypeError, ValueError) as exc:
        return Outcome(
            FAILED,
            duration=duration,
            reason=f"the objective's result is not numbers: {_describe_exception(exc)}",
        )


def _read_result(result: Any, metric: str, duration: float | None) -> Outcome:
    metrics: dict[str, float] = {}
    history: dict[str, list] = {}
    epochs = 0
    if isinstance(result, Mapping):
        for key, item in result.items():
            key = str(key)
            if key == "epochs" and isinstance(item, numbers.Integral):
                epochs = int(item)
            elif isinstance(item, (bool, np.bool_, numbers.Real)):
                metrics[key] = float(item)
            elif isinstance(item, (list, tuple, np.ndarray)):
                history[key] = np.asarray(item, dtype=float).tolist()
        if metric not in result:
            return Outcome(
                FAILED,
                metrics=metrics,
                history=history,
                epochs=epochs,
                duration=duration,
                reason=f"the objective's dict must hold {metric!r}, got keys {sorted(result)!r}",
            )
        raw = result[metric]
    else:
        raw = result
    if isinstance(raw, (bool, np.bool_)) or not isinstance(raw, numbers.Real):
        return Outcome(
            FAILED,
            metrics=metrics,
            history=history,
            epochs=epochs,
            duration=duration,
            reason=f"the objective must return a number or a dict, got {raw!r}",
        )
    value = float(raw)
    if not math.isfinite(value):
        return Outcome(
            DIVERGED,
            metrics=metrics,
            history=history,
            epochs=epochs,
            duration=duration,
            reason=f"the objective returned {value!r}",
        )
    return Outcome(COMPLETE, value, metrics, history, epochs, duration)


class Objective:
    """Base class: ``evaluate(params, seed) -> Outcome``, optionally batched.

    Attributes
    ----------
    direction : str or None
        The direction this objective's value is naturally optimized in (a study uses it when
        given no direction).
    batched : bool
        True when :meth:`evaluate_batch` runs a whole batch in-core (the study then hands it
        batches instead of using a process pool).
    """

    direction: str | None = None
    batched: bool = False

    def evaluate(self, params: Mapping[str, Any], seed: int) -> Outcome:
        """Evaluate one trial."""
        raise NotImplementedError

    def evaluate_batch(
        self,
        params_list: Sequence[Mapping[str, Any]],
        seeds: Sequence[int],
        *,
        deadline: float | None = None,
        threads: int | None = None,
    ) -> list[Outcome]:
        """Evaluate several trials (one by one unless a subclass does better).

        ``deadline`` is a :func:`time.monotonic` instant after which no new trial starts;
        ``threads`` how many trials may run at once (None: the objective decides).
        """
        return [self.evaluate(p, s) for p, s in zip(params_list, seeds)]

    def batch_size(self, n_jobs: int) -> int:
        """How many trials one batch holds when the study runs with ``n_jobs``."""
        return max(1, n_jobs)

    def describe(self) -> dict[str, Any]:
        """A plain description stored with the study (informative only)."""
        return {"type": type(self).__name__}


class CallableObjective(Objective):
    """Tune any Python callable ``fn(params) -> float | dict``.

    Parameters
    ----------
    fn : callable
        Receives the params dict (and ``seed=`` when its signature has a ``seed`` parameter or
        ``**kwargs``). Returns a number, or a dict holding ``metric`` (other numbers become
        metrics, sequences per-epoch history, ``epochs`` counts toward epoch budgets).
    metric : str
        The key of the value in a returned dict.
    direction : {"minimize", "maximize"}, optional
        The natural direction, used when the study is given none.
    pass_seed : bool, optional
        Force passing (or not) ``seed=``; by default decided from the signature.

    Notes
    -----
    With ``n_jobs > 1`` the callable runs in worker processes started with the "spawn"
    method, so ``fn`` must be importable (a module-level function, not a lambda).

    Examples
    --------
    >>> objective = CallableObjective(lambda p: (p["x"] - 1.0) ** 2)
    >>> objective.evaluate({"x": 3.0}, seed=0).value
    4.0
    """

    def __init__(
        self,
        fn: Callable[..., Any],
        *,
        metric: str = "value",
        direction: str | None = None,
        pass_seed: bool | None = None,
    ) -> None:
        if not callable(fn):
            raise TypeError(f"fn must be callable, got {fn!r}")
        if not isinstance(metric, str):
            raise TypeError(f"metric must be a str, got {metric!r}")
        if direction is not None and (
            not isinstance(direction, str) or direction not in ("minimize", "maximize")
        ):
            raise ValueError(f"direction must be 'minimize' or 'maximize', got {direction!r}")
        self.fn = fn
        self.metric = metric
        self.direction = direction
        if pass_seed is None:
            pass_seed = _accepts_seed(fn)
        self.pass_seed = bool(pass_seed)

    def evaluate(self, params: Mapping[str, Any], seed: int) -> Outcome:
        start = time.perf_counter()
        try:
            if self.pass_seed:
                result = self.fn(dict(params), seed=seed)
            else:
                result = self.fn(dict(params))
        except Exception as exc:
            logger.debug("trial failed", exc_info=True)
            return Outcome(
                FAILED,
                duration=time.perf_counter() - start,
                reason=_describe_exception(exc),
            )
        return outcome_from_result(result, self.metric, time.perf_counter() - start)

    def describe(self) -> dict[str, Any]:
        name = getattr(self.fn, "__qualname__", repr(self.fn))
        module = getattr(self.fn, "__module__", None)
        return {
            "type": "CallableObjective",
            "fn": f"{module}.{name}" if module else name,
            "metric": self.metric,
        }


def _accepts_seed(fn: Callable[..., Any]) -> bool:
    try:
        parameters = inspect.signature(fn).parameters.values()
    except (TypeError, ValueError):
        return False
    return any(p.name == "seed" or p.kind == inspect.Parameter.VAR_KEYWORD for p in parameters)


def as_objective(objective: Any) -> Objective:
    """Return ``objective`` as an :class:`Objective` (a plain callable is wrapped)."""
    if isinstance(objective, Objective):
        return objective
    if callable(objective):
        return CallableObjective(objective)
    raise TypeError(f"objective must be an Objective or a callable, got {objective!r}")


def params_to_config(
    params: Mapping[str, Any], base: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """The :func:`tunecore.train` keywords for a trial's params on top of ``base``.

    ``units`` and ``layers`` make ``hidden=(units,) * layers`` (a missing one comes from
    ``base["hidden"]``: its first width, its length); every other param is a keyword as is.
    When ``lr_decay`` is a param and neither params nor base set ``decay_rate``, the rate is
    :data:`DECAY_RATES` for that schedule (and ``decay_steps``, unless set, is a quarter of
    ``epochs``), so a searched schedule always means a real decay.

    Examples
    --------
    >>> params_to_config({"lr": 0.01, "units": 32, "layers": 2})
    {'lr': 0.01, 'hidden': (32, 32)}
    """
    config = dict(base or {})
    for name, value in params.items():
        if name not in NETWORK_PARAMS:
            config[name] = value.item() if isinstance(value, np.generic) else value
    if any(name in params for name in NETWORK_PARAMS):
        hidden = config.get("hidden", (64,))
        hidden = (int(hidden),) if isinstance(hidden, numbers.Integral) else tuple(hidden)
        units = int(params.get("units", hidden[0] if hidden else 64))
        layers = int(params.get("layers", len(hidden)))
        config["hidden"] = (units,) * layers
    decay = params.get("lr_decay")
    if decay in DECAY_RATES and "decay_rate" not in params and "decay_rate" not in (base or {}):
        config["decay_rate"] = DECAY_RATES[decay]
        if decay == "step" and "decay_steps" not in config:
            config["decay_steps"] = max(1, int(config.get("epochs", 10)) // 4)
    return config


def config_to_params(config: Mapping[str, Any]) -> dict[str, Any]:
    """Inverse of :func:`params_to_config` for equal-width networks (for reports)."""
    params = {k: v for k, v in config.items() if k != "hidden"}
    hidden = config.get("hidden")
    if hidden is not None:
        hidden = (int(hidden),) if isinstance(hidden, numbers.Integral) else tuple(hidden)
        if hidden and len(set(hidden)) == 1:
            params["units"], params["layers"] = int(hidden[0]), len(hidden)
    return params


class MLPObjective(Objective):
    """Train tunecore's MLP on (X, y) and report a validation metric.

    Parameters
    ----------
    X, y : array_like
        Training data (y: class labels for classification, targets for ``loss="mse"``).
    X_val, y_val : array_like, optional
        Validation data; when None, a ``val_fraction`` of (X, y) is held out (a random split
        seeded by ``split_seed``, stratified by class for classification).
    val_fraction : float
        Fraction held out when no validation data is given.
    metric : str
        The history entry whose last value is the trial's value: ``val_loss`` (default),
        ``val_accuracy``, ``val_r2`` or ``train_loss``.
    base : dict, optional
        :func:`tunecore.train` keywords shared by every trial (e.g. ``epochs``); trial
        params override them.
    threads : int, optional
        OpenMP threads for ``train_many`` (None: the core's setting).
    split_seed : int
        Seed of the validation split.

    Notes
    -----
    A batch goes to :func:`tunecore.train_many` in one call (one trial per thread), or to
    :func:`tunecore.train` one by one when ``train_many`` is not available.

    Examples
    --------
    >>> from sklearn.datasets import load_digits  # doctest: +SKIP
    >>> X, y = load_digits(return_X_y=True)  # doctest: +SKIP
    >>> objective = MLPObjective(X / 16, y, base={"epochs": 5})  # doctest: +SKIP
    """

    batched = True

    def __init__(
        self,
        X: Any,
        y: Any,
        *,
        X_val: Any = None,
        y_val: Any = None,
        val_fraction: float = 0.2,
        metric: str = "val_loss",
        base: Mapping[str, Any] | None = None,
        threads: int | None = None,
        split_seed: int = 0,
    ) -> None:
        X = np.asarray(X)
        y = np.asarray(y)
        if X.ndim != 2:
            raise ValueError(f"X must be a 2-d array, got shape {X.shape!r}")
        if y.ndim != 1 or y.shape[0] != X.shape[0]:
            raise ValueError(
                f"y must be a 1-d array with one entry per row of X ({X.shape[0]}), "
                f"got shape {y.shape!r}"
            )
        if (X_val is None) != (y_val is None):
            raise ValueError("X_val and y_val must be given together, got only one of them")
        if base is not None and not isinstance(base, Mapping):
            raise TypeError(f"base must be a dict of train() keywords, got {base!r}")
        self.base = dict(base or {})
        for key in ("seed", "X_val", "y_val"):
            if key in self.base:
                raise ValueError(f"base must not set {key!r} (the study sets it), got it")
        if not isinstance(metric, str):
            raise TypeError(f"metric must be a str, got {metric!r}")
        self.metric = metric
        self.direction = "maximize" if metric in MAXIMIZED_METRICS else "minimize"
        self.threads = threads
        classification = self.base.get("loss", "cross_entropy") != "mse"
        if X_val is None:
            if not (isinstance(val_fraction, numbers.Real) and 0.0 < val_fraction < 1.0):
                raise ValueError(f"val_fraction must be in (0, 1), got {val_fraction!r}")
            train_idx, val_idx = _split(y, float(val_fraction), split_seed, classification)
            X_val, y_val = X[val_idx], y[val_idx]
            X, y = X[train_idx], y[train_idx]
        self.X, self.y = X, y
        self.X_val, self.y_val = np.asarray(X_val), np.asarray(y_val)
        if classification and "n_classes" not in self.base:
            # Both halves must agree on the number of classes even if a split misses one.
            self.base["n_classes"] = int(max(np.max(y), np.max(self.y_val))) + 1

    def batch_size(self, n_jobs: int) -> int:
        """Trials per train_many call: ``n_jobs``, or the core's thread count when 1."""
        if n_jobs > 1:
            return n_jobs
        try:
            from tunecore.training import get_num_threads

            return max(1, int(get_num_threads()))
        except Exception:  # noqa: BLE001 - the core may be missing in a pure-Python install
            return 1

    def config(self, params: Mapping[str, Any], seed: int) -> dict[str, Any]:
        """The full train() keywords of a trial."""
        config = params_to_config(params, self.base)
        config["seed"] = int(seed)
        return config

    def evaluate(self, params: Mapping[str, Any], seed: int) -> Outcome:
        return self.evaluate_batch([params], [seed])[0]

    def evaluate_batch(
        self,
        params_list: Sequence[Mapping[str, Any]],
        seeds: Sequence[int],
        *,
        deadline: float | None = None,
        threads: int | None = None,
    ) -> list[Outcome]:
        from tunecore import training

        configs = []
        outcomes: list[Outcome | None] = []
        for params, seed in zip(params_list, seeds):
            try:
                configs.append(self.config(params, seed))
                outcomes.append(None)
            except Exception as exc:  # noqa: BLE001
                outcomes.append(Outcome(FAILED, reason=_describe_exception(exc)))
        results = self._train(training, configs, deadline, threads or self.threads)
        it = iter(results)
        return [o if o is not None else self._outcome(next(it)) for o in outcomes]

    def _train(
        self, training: Any, configs: list[dict], deadline: float | None, threads: int | None
    ) -> list[Any]:
        """TrainResults or exceptions, one per config."""
        if not configs:
            return []
        kwargs: dict[str, Any] = {"X_val": self.X_val, "y_val": self.y_val}
        if threads is not None:
            kwargs["threads"] = threads
        train_many = getattr(training, "train_many", None)
        if train_many is not None:
            if deadline is not None and _accepts(train_many, "deadline"):
                kwargs["deadline"] = deadline
            try:
                return list(train_many(self.X, self.y, configs, **kwargs))
            except Exception as exc:  # noqa: BLE001 - fall back to one by one, per trial
                # One by one, each trial fails (or not) with train's own message, which
                # names the argument rather than its place in the batch.
                if len(configs) > 1:
                    logger.warning("train_many failed (%s); training the batch one by one", exc)
        out: list[Any] = []
        single = {k: v for k, v in kwargs.items() if k not in ("deadline", "threads")}
        for config in configs:
            if deadline is not None and time.monotonic() >= deadline and out:
                out.append(TimeoutError("the budget's time ran out before this trial started"))
                continue
            try:
                out.append(training.train(self.X, self.y, **config, **single))
            except Exception as exc:  # noqa: BLE001
                out.append(exc)
        return out

    def _outcome(self, result: Any) -> Outcome:
        if isinstance(result, TimeoutError):
            # Never started: interrupted, so a resumed study runs it.
            return Outcome(INTERRUPTED, reason=str(result))
        if isinstance(result, BaseException):
            return Outcome(FAILED, reason=_describe_exception(result))
        history = {k: np.asarray(v, dtype=float).tolist() for k, v in result.history.items()}
        metrics = {k: float(v[-1]) for k, v in history.items() if len(v)}
        epochs = int(result.epochs_run)
        duration = float(result.seconds)
        if getattr(result, "status", "ok") == "diverged":
            epoch = getattr(result, "diverged_epoch", None)
            return Outcome(
                DIVERGED,
                metrics=metrics,
                history=history,
                epochs=epochs,
                duration=duration,
                reason=f"training diverged at epoch {epoch}",
            )
        planned = int(getattr(result, "config", {}).get("epochs", epochs))
        if epochs < planned:
            # Stopped early by a deadline (a train_many that takes one stops every trial at an
            # epoch boundary): the trial did not run its course, so it is interrupted and a
            # resumed study trains it again from the start.
            return Outcome(
                INTERRUPTED,
                metrics=metrics,
                history=history,
                epochs=epochs,
                duration=duration,
                reason=f"stopped by the time budget after {epochs} of {planned} epochs",
            )
        if getattr(result, "status", "ok") not in ("ok", COMPLETE):
            return Outcome(
                FAILED,
                metrics=metrics,
                history=history,
                epochs=epochs,
                duration=duration,
                reason=f"training stopped with status {result.status!r}",
            )
        if self.metric not in metrics:
            return Outcome(
                FAILED,
                metrics=metrics,
                history=history,
                epochs=epochs,
                duration=duration,
                reason=f"metric {self.metric!r} is not in the history {sorted(history)!r}",
            )
        outcome = outcome_from_result(metrics[self.metric], self.metric, duration)
        outcome.metrics = {**metrics, **outcome.metrics}
        outcome.history = history
        outcome.epochs = epochs
        return outcome

    def describe(self) -> dict[str, Any]:
        return {
            "type": "MLPObjective",
            "metric": self.metric,
            "base": {k: v for k, v in self.base.items()},
            "n_train": int(self.X.shape[0]),
            "n_val": int(self.X_val.shape[0]),
        }


def _accepts(fn: Callable[..., Any], name: str) -> bool:
    try:
        return name in inspect.signature(fn).parameters
    except (TypeError, ValueError):
        return False


def _split(
    y: np.ndarray, fraction: float, seed: int, stratify: bool
) -> tuple[np.ndarray, np.ndarray]:
    """Indices of a seeded train / validation split (stratified by class when asked)."""
    from tunecore._seeding import resolve_seed

    rng = np.random.default_rng(resolve_seed(seed, argument="split_seed"))
    n = y.shape[0]
    if not stratify:
        order = rng.permutation(n)
        n_val = max(1, round(fraction * n))
        return np.sort(order[n_val:]), np.sort(order[:n_val])
    val: list[np.ndarray] = []
    train: list[np.ndarray] = []
    for label in np.unique(y):
        idx = rng.permutation(np.flatnonzero(y == label))
        n_val = round(fraction * idx.size)
        val.append(idx[:n_val])
        train.append(idx[n_val:])
    return np.sort(np.concatenate(train)), np.sort(np.concatenate(val))


__all__ = [
    "CallableObjective",
    "MLPObjective",
    "Objective",
    "Outcome",
    "as_objective",
    "config_to_params",
    "params_to_config",
]
