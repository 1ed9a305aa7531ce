"""Bad input everywhere: hypothesis drives every public entry point with random values, shapes
and types (NaN, inf, empty, huge, wrong types). The outcome must always be a result, or a
ValueError / TypeError whose message names the argument that was wrong.

Every test draws a fixed number of examples, derandomized, so the suite takes the same time and
finds the same things on every run; ``EXAMPLES`` counts what ran (printed at the end of the
module with ``-s``).
"""

from __future__ import annotations

import contextlib
import math
import numbers
import os
import sys
import tempfile
import warnings
from collections import Counter
from typing import Any, Callable

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import tunecore
from tunecore import samplers
from tunecore.space import Choice, Fixed, Float, Int, Space, dimension_from_dict
from tunecore.strategies import (
    Budget,
    CoarseToFine,
    GridSearch,
    RandomSearch,
    Tier,
    TierBudget,
    default_tiers,
)
from tunecore.study import Study
from tunecore.training import DEFAULTS

# The keys a dimension's dict may hold (and a few it may not), for the generated specs.
DIMENSION_KEYS = ["type", "low", "high", "scale", "options", "value", "log", "default", "kind"]

EXAMPLES: Counter = Counter()

#: Multiplies every test's example count; raise it for a longer hunt by hand, e.g.
#: ``TUNECORE_FUZZ_SCALE=20 python -m pytest tests/test_hardening_inputs.py``.
SCALE = float(os.environ.get("TUNECORE_FUZZ_SCALE", "5"))


def fuzz(max_examples: int) -> Callable:
    return settings(
        max_examples=max(1, int(max_examples * SCALE)),
        deadline=None,
        database=None,
        derandomize=True,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
    )


@pytest.fixture(scope="module", autouse=True)
def _report_examples():
    yield
    total = sum(EXAMPLES.values())
    print(f"\nhypothesis examples run: {total} {dict(EXAMPLES)}", file=sys.stderr)


def outcome(call: Callable[[], Any], names: tuple[str, ...] | list[str]) -> Any:
    """Run ``call``; a ValueError or TypeError must name one of ``names``. Anything else
    (OverflowError, RuntimeError, SystemError, a crash) fails the test."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return call()
    except (ValueError, TypeError) as exc:
        message = str(exc)
        assert any(name in message for name in names), (
            f"{type(exc).__name__} names none of {names}: {message!r}"
        )
        return exc


# Values of every kind a user might pass by mistake.
WILD = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.integers(min_value=-3, max_value=70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.floats(min_value=-2.0, max_value=2.0),
    st.sampled_from([float("nan"), float("inf"), -float("inf"), 0.0, -0.0, 1e308, 5e-324]),
    st.text(max_size=6),
    st.binary(max_size=4),
    st.complex_numbers(max_magnitude=10, allow_nan=False),
    st.lists(st.integers(-5, 70), max_size=3),
    st.tuples(st.integers(-5, 70), st.floats(allow_nan=True)),
    st.dictionaries(st.text(max_size=3), st.integers(), max_size=2),
    st.sampled_from(
        [np.float32("nan"), np.int64(3), np.uint8(200), np.bool_(True), np.float64(0.5)]
    ),
    st.sampled_from([np.zeros(0), np.ones((2, 2)), np.array(["a"]), object(), 1j, Ellipsis]),
)

# Plausible values of train()'s keywords, so that fuzzed configurations sometimes train.
PLAUSIBLE = {
    "hidden": st.one_of(st.integers(1, 8), st.lists(st.integers(1, 8), max_size=3)),
    "activation": st.sampled_from(["relu", "leaky_relu", "tanh", "sigmoid", "identity"]),
    "loss": st.sampled_from(["cross_entropy", "binary_cross_entropy", "mse"]),
    "optimizer": st.sampled_from(["sgd", "momentum", "rmsprop", "adam"]),
    "lr": st.floats(1e-6, 10.0),
    "momentum": st.floats(0.0, 0.999),
    "beta1": st.floats(0.0, 0.999),
    "beta2": st.floats(0.0, 0.999),
    "eps": st.floats(1e-12, 1.0),
    "rho": st.floats(0.0, 0.999),
    "batch_size": st.integers(1, 10**9),
    "epochs": st.integers(1, 3),
    "lr_decay": st.sampled_from(["none", "inverse_time", "exponential", "step", "cosine"]),
    "decay_rate": st.floats(0.0, 1.0),
    "decay_steps": st.integers(1, 5),
    "batch_norm": st.booleans(),
    "bn_momentum": st.floats(0.0, 0.999),
    "bn_eps": st.floats(1e-8, 1.0),
    "l2": st.floats(0.0, 10.0),
    "n_classes": st.one_of(st.none(), st.integers(1, 5)),
    "seed": st.one_of(st.none(), st.integers(0, 2**63 - 1)),
}
KEYWORDS = sorted(DEFAULTS)


def _affordable(config: dict[str, Any]) -> bool:
    """Skip valid configurations that would train for long or allocate a lot (those are
    checked separately): many epochs, very wide layers."""
    epochs = config.get("epochs", 1)
    if _int(epochs) and epochs > 3:
        return False
    hidden = config.get("hidden", (8,))
    widths = [hidden] if isinstance(hidden, (int, np.integer)) else hidden
    if isinstance(widths, (list, tuple)) and (
        any(_int(w) and w > 64 for w in widths) or len(widths) > 4
    ):
        return False
    n_classes = config.get("n_classes")
    return not (_int(n_classes) and n_classes > 1000)


def _int(value: Any) -> bool:
    return isinstance(value, numbers.Integral) and not isinstance(value, (bool, np.bool_))


def _keyword_value(name: str) -> st.SearchStrategy:
    return st.one_of(PLAUSIBLE[name], WILD)


configs = st.dictionaries(st.sampled_from(KEYWORDS), st.none(), max_size=6).flatmap(
    lambda d: st.fixed_dictionaries({k: _keyword_value(k) for k in d})
)

_rng = np.random.default_rng(0)
X_SMALL = _rng.normal(size=(12, 3))
Y_LABELS = _rng.integers(0, 3, size=12)


def _y_for(config: dict[str, Any]) -> np.ndarray:
    loss = config.get("loss")
    if loss == "binary_cross_entropy":
        return (Y_LABELS > 0).astype(float)
    if loss == "mse":
        return X_SMALL[:, 0].copy()
    return Y_LABELS


# ------------------------------------------------------------------------------------------
# train and train_many


@fuzz(400)
@given(config=configs)
def test_train_with_random_keywords(config):
    assume(_affordable(config))
    EXAMPLES["train keywords"] += 1
    config.setdefault("epochs", 1)
    result = outcome(
        lambda: tunecore.train(X_SMALL, _y_for(config), **config), list(config) + ["y"]
    )
    if isinstance(result, tunecore.TrainResult):
        assert result.status in ("ok", "diverged")
        assert len(result.history["train_loss"]) == result.epochs_run
        assert result.model.predict(X_SMALL).shape[0] == len(X_SMALL)


@fuzz(250)
@given(name=st.sampled_from(KEYWORDS), value=WILD)
def test_train_with_one_wild_keyword_names_it(name, value):
    config = {name: value}
    assume(_affordable(config))
    EXAMPLES["train one keyword"] += 1
    if name != "epochs":
        config["epochs"] = 1
    y = _y_for(config) if isinstance(value, str) else Y_LABELS
    result = outcome(lambda: tunecore.train(X_SMALL, y, **config), [name])
    if isinstance(result, tunecore.TrainResult):
        assert result.status in ("ok", "diverged")


float_dtypes = st.sampled_from(
    [np.float16, np.float32, np.float64, np.int8, np.uint8, np.int64, np.bool_, np.complex64]
)


@st.composite
def data(draw):
    dtype = draw(float_dtypes)
    shape = draw(hnp.array_shapes(min_dims=0, max_dims=3, min_side=0, max_side=6))
    elements = None
    if np.dtype(dtype).kind == "f":
        elements = st.floats(
            allow_nan=True, allow_infinity=True, width=np.dtype(dtype).itemsize * 8
        )
    X = draw(hnp.arrays(dtype, shape, elements=elements))
    layout = draw(st.sampled_from(["c", "fortran", "reversed", "list"]))
    if layout == "fortran":
        X = np.asfortranarray(X)
    elif layout == "reversed" and X.ndim:
        X = X[::-1]
    elif layout == "list":
        X = X.tolist()
    n = len(X) if np.ndim(X) else 1
    y = draw(
        st.one_of(
            hnp.arrays(
                np.int64,
                st.sampled_from([(n,), (max(n - 1, 0),), (n, 1)]),
                elements=st.integers(-1, 4),
            ),
            hnp.arrays(np.float64, (n,), elements=st.floats(allow_nan=True)),
            st.lists(st.integers(0, 3), min_size=n, max_size=n),
            WILD,
        )
    )
    return X, y


@fuzz(300)
@given(
    xy=data(),
    loss=st.sampled_from(["cross_entropy", "binary_cross_entropy", "mse"]),
    validation=st.booleans(),
)
def test_train_and_train_many_with_random_data(xy, loss, validation):
    EXAMPLES["train data"] += 1
    X, y = xy
    val = {"X_val": X, "y_val": y} if validation else {}
    names = ["X", "y"] + (["X_val", "y_val"] if validation else [])
    one = outcome(lambda: tunecore.train(X, y, loss=loss, epochs=1, hidden=(3,), **val), names)
    many = outcome(
        lambda: tunecore.train_many(X, y, [{"loss": loss, "epochs": 1, "hidden": (3,)}], **val),
        names + ["configs[0]"],
    )
    if isinstance(one, tunecore.TrainResult):
        assert isinstance(many, list) and len(many) == 1
        np.testing.assert_array_equal(one.history["train_loss"], many[0].history["train_loss"])
    else:
        # The same data is refused the same way by both.
        assert type(many) is type(one)


@fuzz(200)
@given(
    cfgs=st.one_of(st.lists(configs, max_size=3), WILD),
    threads=st.one_of(st.none(), st.integers(1, 3), WILD),
    deadline=st.one_of(st.none(), st.floats(allow_nan=True, allow_infinity=True), WILD),
)
def test_train_many_with_random_configs_threads_and_deadline(cfgs, threads, deadline):
    if isinstance(cfgs, list):
        for c in cfgs:
            if isinstance(c, dict):
                assume(_affordable(c))
                c.setdefault("epochs", 1)
    EXAMPLES["train_many"] += 1
    names = ["configs", "threads", "deadline"]
    result = outcome(
        lambda: tunecore.train_many(X_SMALL, Y_LABELS, cfgs, threads=threads, deadline=deadline),
        names,
    )
    if isinstance(result, list):
        assert len(result) == len(cfgs)
        assert all(r.status in ("ok", "diverged", "stopped") for r in result)


@fuzz(60)
@given(n=WILD)
def test_thread_setting_names_n(n):
    EXAMPLES["set_num_threads"] += 1
    before = tunecore.get_num_threads()
    try:
        outcome(lambda: tunecore.set_num_threads(n), ["n"])
    finally:
        tunecore.set_num_threads(before)


# ------------------------------------------------------------------------------------------
# Spaces

SCALES = st.one_of(st.sampled_from(["linear", "log", "reverse_log"]), WILD)
NUMBERS = st.one_of(st.floats(-10, 10), st.integers(-10, 10), WILD)


@fuzz(300)
@given(
    low=NUMBERS,
    high=NUMBERS,
    scale=SCALES,
    default=st.one_of(st.none(), NUMBERS),
    log=st.one_of(st.booleans(), WILD),
    kind=st.sampled_from(["float", "int"]),
)
def test_float_and_int_dimensions(low, high, scale, default, log, kind):
    EXAMPLES["Float/Int"] += 1
    if kind == "float":
        dim = outcome(
            lambda: Float(low, high, scale=scale, default=default),
            ["low", "high", "scale", "default"],
        )
    else:
        dim = outcome(
            lambda: Int(low, high, log=log, default=default), ["low", "high", "log", "default"]
        )
    if isinstance(dim, Exception):
        return
    _exercise_dimension(dim)


def _exercise_dimension(dim) -> None:
    """Use a valid dimension with random arguments: every method keeps to the contract."""
    rng = np.random.default_rng(1)
    u = rng.uniform(size=7)
    values = dim.from_unit(u)
    assert len(values) == 7
    back = dim.to_unit(values)
    assert back.shape == (7,) and np.all((back >= 0) & (back <= 1))
    assert dim_equal(dim.from_unit(back), values)
    assert dimension_from_dict(dim.to_dict()) == dim
    for bad_u in (np.array([np.nan]), np.array([1.5]), np.ones((2, 2)), "x", [[0.1]]):
        outcome(lambda bad_u=bad_u: dim.from_unit(bad_u), ["u"])
    for bad_k in (0, -1, 2.5, "3", None, True):
        outcome(lambda bad_k=bad_k: dim.grid(bad_k), ["k"])
    for bad_values in ([float("nan")], [1e300], "abc", None, [[1]], [object()]):
        outcome(lambda bad_values=bad_values: dim.to_unit(bad_values), ["values", "value"])
    for bad_bounds in ((1, 0), (float("nan"), 1), "ab", None, (1,), [1e300, 1e301]):
        outcome(
            lambda bad_bounds=bad_bounds: dim.restrict(bad_bounds),
            ["bounds", "low", "high", "options", "value"],
        )


def dim_equal(a: list, b: list) -> bool:
    return all(
        (x == y) or (isinstance(x, float) and isinstance(y, float) and math.isclose(x, y))
        for x, y in zip(a, b)
    )


OPTIONS = st.one_of(
    st.lists(
        st.one_of(
            st.integers(-3, 3),
            st.text(max_size=2),
            st.floats(allow_nan=True),
            st.none(),
            st.booleans(),
        ),
        max_size=4,
    ),
    WILD,
)


@fuzz(200)
@given(options=OPTIONS, default=st.one_of(st.none(), WILD), value=WILD)
def test_choice_and_fixed_dimensions(options, default, value):
    EXAMPLES["Choice/Fixed"] += 1
    choice = outcome(lambda: Choice(options, default=default), ["options", "default"])
    if not isinstance(choice, Exception):
        _exercise_dimension(choice)
    fixed = outcome(lambda: Fixed(value, default=default), ["value", "default"])
    if not isinstance(fixed, Exception):
        assert fixed.from_unit(np.zeros(3)) == [fixed.value] * 3
        assert dimension_from_dict(fixed.to_dict()) == fixed


VALID_SPACE = Space(
    {
        "lr": Float(1e-4, 1.0, scale="log"),
        "beta": Float(0.8, 0.999, scale="reverse_log"),
        "units": Int(4, 64, log=True),
        "act": Choice(["relu", "tanh"]),
        "epochs": Fixed(2),
    }
)


@fuzz(300)
@given(
    n=st.one_of(st.integers(0, 40), WILD),
    sampler=st.one_of(st.sampled_from(["random", "sobol", "halton", "lhs"]), WILD),
    seed=st.one_of(st.none(), st.integers(0, 2**63 - 1), WILD),
    start=st.one_of(st.integers(0, 2**40), WILD),
    points=st.one_of(
        st.integers(1, 4),
        st.dictionaries(st.sampled_from(["lr", "units", "x"]), WILD, max_size=2),
        WILD,
    ),
    bounds=st.one_of(
        st.dictionaries(st.sampled_from(["lr", "units", "act", "x"]), WILD, max_size=2), WILD
    ),
    u=st.one_of(hnp.arrays(np.float64, hnp.array_shapes(max_dims=3, max_side=5)), WILD),
)
def test_space_methods(n, sampler, seed, start, points, bounds, u):
    space = VALID_SPACE
    if _int(n):
        assume(n <= 10**4)
    # Grids beyond 10**7 points are refused; between 10**4 and that they are merely slow.
    if _int(points):
        assume(points <= 10 or points > 10**7)
    if isinstance(points, dict):
        assume(all(not _int(v) or v <= 10 or v > 10**7 for v in points.values()))
    EXAMPLES["Space"] += 1
    drawn = outcome(
        lambda: space.sample(n, sampler=sampler, seed=seed, start=start),
        ["n", "sampler", "seed", "start"],
    )
    if isinstance(drawn, list):
        assert len(drawn) == n and all(space.contains(p) for p in drawn)
        np.testing.assert_array_less(-1e-12, space.to_unit(drawn) if drawn else 0.0)
    grid = outcome(lambda: space.grid(points), ["points", "k", "dimension"])
    if isinstance(grid, list):
        assert all(space.contains(p) for p in grid)
    narrowed = outcome(lambda: space.restrict(bounds), ["bounds", "dimension"])
    if isinstance(narrowed, Space):
        assert narrowed.names == space.names
    rows = outcome(lambda: space.from_unit(u), ["u", "dimension"])
    if isinstance(rows, list):
        assert all(space.contains(p) for p in rows)
    outcome(lambda: space.to_unit(u), ["params_list", "dimension"])


@fuzz(150)
@given(
    spec=st.one_of(
        st.dictionaries(
            st.one_of(st.text(max_size=3), st.integers(), st.none(), st.floats()),
            st.one_of(
                st.dictionaries(
                    st.sampled_from(DIMENSION_KEYS),
                    st.one_of(st.sampled_from(["float", "int", "choice", "fixed", "log"]), WILD),
                    max_size=5,
                ),
                WILD,
            ),
            max_size=3,
        ),
        WILD,
    )
)
def test_space_from_dict_and_constructor(spec):
    EXAMPLES["Space.from_dict"] += 1
    names = ["space", "dimension", "d", *DIMENSION_KEYS]
    outcome(lambda: Space.from_dict(spec), names)
    outcome(lambda: Space(spec), ["dimension"])


# ------------------------------------------------------------------------------------------
# Samplers


ENGINES = {
    "Random": lambda d, opt, seed: samplers.Random(d, seed=seed),
    "Sobol": lambda d, opt, seed: samplers.Sobol(d, scramble=opt, seed=seed),
    "Halton": lambda d, opt, seed: samplers.Halton(d, scramble=opt, seed=seed),
    "LatinHypercube": lambda d, opt, seed: samplers.LatinHypercube(d, centered=opt, seed=seed),
}


@fuzz(300)
@given(
    kind=st.sampled_from(sorted(ENGINES)),
    d=st.one_of(st.integers(1, 30), WILD),
    option=st.one_of(st.booleans(), WILD),
    seed=st.one_of(st.none(), st.integers(0, 2**63 - 1), WILD),
    n=st.one_of(st.integers(0, 300), WILD),
    skip=st.one_of(st.integers(0, 2**62), WILD),
    m=st.one_of(st.integers(0, 8), WILD),
    optimization=st.one_of(st.none(), st.sampled_from(["random-cd", "maximin"]), WILD),
)
def test_samplers(kind, d, option, seed, n, skip, m, optimization):
    if _int(d):
        assume(d <= 10**5 or d > 2**31 - 1)  # wide but valid: slow, not wrong
    names = ["d", "scramble", "centered", "seed"]
    engine = outcome(lambda: ENGINES[kind](d, option, seed), names)
    outcome(lambda: samplers.make_sampler(kind.lower(), d, seed), ["name", "d", "seed"])
    if kind == "LatinHypercube":
        outcome(
            lambda: samplers.LatinHypercube(2, optimization=optimization, seed=0), ["optimization"]
        )
    if isinstance(engine, Exception):
        EXAMPLES["samplers"] += 1
        return
    if _int(n):
        assume(n * engine.d <= 10**5 or n * engine.d > 2**59)
    EXAMPLES["samplers"] += 1
    points = outcome(lambda: engine.random(n), ["n"])
    if isinstance(points, np.ndarray):
        assert points.shape == (n, engine.d)
        assert np.all((points >= 0) & (points < 1))
    moved = outcome(lambda: engine.fast_forward(skip), ["n"])
    if moved is engine:
        after = outcome(lambda: engine.random(1), ["n"])
        if isinstance(after, np.ndarray):
            assert np.all((after >= 0) & (after < 1))
    if kind == "Sobol":
        engine.reset()
        if not (_int(m) and 8 < m < 64):  # 2**m points of d columns would be slow, not wrong
            base2 = outcome(lambda: engine.random_base2(m), ["m"])
            if isinstance(base2, np.ndarray):
                assert base2.shape == (2**m, engine.d)


# ------------------------------------------------------------------------------------------
# Strategies and Study.create


@contextlib.contextmanager
def _chdir(path: str):
    before = os.getcwd()
    os.chdir(path)
    try:
        yield
    finally:
        os.chdir(before)


def quick(params):
    return sum(float(v) for v in params.values() if isinstance(v, (int, float)))


STRATEGY_ARGS = {
    "grid": (lambda a: GridSearch(VALID_SPACE, a["points"]), ["points", "k", "dimension"]),
    "random": (
        lambda a: RandomSearch(a["space"], a["count"], sampler=a["sampler"], seed=a["seed"]),
        ["space", "n_trials", "sampler", "seed", "dimension"],
    ),
    "c2f": (
        lambda a: CoarseToFine(
            a["space"],
            a["count"],
            a["count2"],
            keep=a["fraction"],
            margin=a["margin"],
            sampler=a["sampler"],
            seed=a["seed"],
        ),
        ["space", "rounds", "trials_per_round", "keep", "margin", "sampler", "seed", "dimension"],
    ),
    "tiers": (
        lambda a: TierBudget(
            a["tiers"],
            shares=a["shares"],
            budget=a["budget"],
            patience=a["count"],
            min_improvement=a["margin"],
        ),
        [
            "tiers",
            "shares",
            "budget",
            "patience",
            "min_improvement",
            "trials",
            "epochs",
            "seconds",
        ],
    ),
    "tier": (
        lambda a: Tier(
            a["name"],
            a["space"],
            defaults=a["defaults"],
            search=a["sampler"],
            round_size=a["count"],
        ),
        ["name", "space", "defaults", "search", "sampler", "round_size", "dimension"],
    ),
    "default_tiers": (lambda a: default_tiers(a["name"]), ["optimizer"]),
}


@fuzz(400)
@given(
    which=st.sampled_from(sorted(STRATEGY_ARGS)),
    args=st.fixed_dictionaries(
        {
            "points": st.one_of(st.integers(1, 3), WILD),
            "space": st.one_of(st.just(VALID_SPACE), st.just(Space({})), WILD),
            "count": st.one_of(st.integers(1, 5), WILD),
            "count2": st.one_of(st.integers(1, 5), WILD),
            "sampler": st.one_of(st.sampled_from(["random", "sobol", "coarse_to_fine"]), WILD),
            "seed": st.one_of(st.none(), st.integers(0, 100), WILD),
            "fraction": st.one_of(st.floats(0, 1), WILD),
            "margin": st.one_of(st.floats(0, 1), WILD),
            "tiers": st.one_of(st.just(default_tiers()), st.lists(WILD, max_size=2), WILD),
            "shares": st.one_of(st.none(), st.lists(st.floats(allow_nan=True), max_size=4), WILD),
            "budget": st.one_of(
                st.none(),
                st.builds(Budget, trials=st.integers(1, 20)),
                st.dictionaries(
                    st.sampled_from(["trials", "epochs", "seconds", "x"]), WILD, max_size=2
                ),
                WILD,
            ),
            "name": st.one_of(st.sampled_from(["t", "adam", "sgd", "momentum"]), WILD),
            "defaults": st.one_of(
                st.none(), st.dictionaries(st.sampled_from(["lr", "z"]), WILD, max_size=2), WILD
            ),
        }
    ),
)
def test_strategies(which, args):
    if which == "grid" and _int(args["points"]):
        assume(args["points"] <= 10 or args["points"] > 10**7)  # big grids: slow, not wrong
    EXAMPLES["strategies"] += 1
    make, names = STRATEGY_ARGS[which]
    outcome(lambda: make(args), names)


@fuzz(200)
@given(
    name=st.one_of(st.just("s"), WILD),
    strategy=st.sampled_from(["random", "grid", "tiers", "none"]),
    direction=st.one_of(st.none(), st.sampled_from(["minimize", "maximize"]), WILD),
    seed=st.one_of(st.none(), st.integers(0, 2**63 - 1), WILD),
    budget=st.one_of(
        st.none(),
        st.builds(Budget, trials=st.integers(1, 6)),
        st.dictionaries(st.sampled_from(["trials", "seconds", "epochs", "x"]), WILD, max_size=2),
        WILD,
    ),
    objective=st.one_of(st.just(quick), WILD),
    storage=st.one_of(st.just(":memory:"), WILD),
)
def test_study_create_and_a_short_run(
    name, strategy, direction, seed, budget, objective, storage, tmp_path_factory
):
    if isinstance(budget, dict):
        for key in ("trials", "epochs"):
            value = budget.get(key)
            if _int(value):
                assume(value <= 50)
    EXAMPLES["Study.create"] += 1
    made = {
        "random": lambda: RandomSearch(VALID_SPACE, 4),
        "grid": lambda: GridSearch(VALID_SPACE, 2),
        "tiers": lambda: TierBudget(default_tiers(), patience=2),
        "none": lambda: None,
    }[strategy]()
    names = [
        "name",
        "objective",
        "strategy",
        "storage",
        "direction",
        "seed",
        "budget",
        "trials",
        "epochs",
        "seconds",
    ]
    with tempfile.TemporaryDirectory() as tmp, _chdir(tmp):
        study = outcome(
            lambda: Study.create(
                name,
                objective,
                made,
                storage=storage,
                direction=direction,
                seed=seed,
                budget=budget,
            ),
            names,
        )
        # A str names a file; anything else must not be turned into a file name (storage=5
        # once created a database called "5").
        if not isinstance(storage, str):
            assert os.listdir(tmp) == []
        if isinstance(study, Study):
            study.run(budget=Budget(trials=4, seconds=5.0), progress=False)
            assert 1 <= len(study.trials) <= 4
            assert study.best_trial is None or study.best_trial.ok
            study.storage.close()


@fuzz(100)
@given(trials=WILD, epochs=WILD, seconds=WILD)
def test_budget(trials, epochs, seconds):
    EXAMPLES["Budget"] += 1
    outcome(
        lambda: Budget(trials=trials, epochs=epochs, seconds=seconds),
        ["trials", "epochs", "seconds"],
    )


# ------------------------------------------------------------------------------------------
# What the fuzzing found, pinned as plain tests.


@pytest.mark.parametrize(
    "options",
    [
        {"n_classes": 2**40},  # once allocated the output layer and was killed for memory
        {"hidden": (2**31 - 1,) * 3},  # parameter offsets overflowed int64 in the core
        {"hidden": (2**20, 2**20)},
    ],
)
def test_networks_too_large_for_memory_are_refused_before_allocating(options):
    with pytest.raises(ValueError, match=r"must make a network that fits in memory"):
        tunecore.train(X_SMALL, Y_LABELS, epochs=1, **options)
    with pytest.raises(ValueError, match=r"configs\[0\]: .*must make a network that fits"):
        tunecore.train_many(X_SMALL, Y_LABELS, [dict(options, epochs=1)])


def test_the_core_refuses_parameter_counts_that_overflow_its_offsets():
    from tunecore import _core, training

    config = training._core_config(training._resolve_config({"hidden": (2**31 - 1,) * 3}), 2)
    with pytest.raises(ValueError, match=r"network too large to index"):
        _core._init_params(config, 3)


def test_grids_beyond_ten_million_points_are_refused():
    with pytest.raises(ValueError, match=r"points must make a grid of at most 10,000,000"):
        VALID_SPACE.grid(400)  # 400 x 400 x 61 x 2 x 1
    with pytest.raises(ValueError, match=r"dimension 'lr': points must be at most"):
        VALID_SPACE.grid({"lr": 10**9, "units": 2, "beta": 2})
    assert len(VALID_SPACE.grid(3)) == 3 * 3 * 3 * 2


@pytest.mark.parametrize("storage", [5, True, ["a"], np.array(["a"]), b"x.db", 1.5])
def test_a_storage_that_is_not_a_path_creates_no_file(storage, tmp_path):
    expected = r"storage must be a path, ':memory:' or a Storage"
    with _chdir(str(tmp_path)), pytest.raises(TypeError, match=expected):
        Study.create("s", quick, RandomSearch(VALID_SPACE, 2), storage=storage)
    assert os.listdir(tmp_path) == []


def test_a_path_that_is_not_a_database_is_named(tmp_path):
    text = tmp_path / "notes.txt"
    text.write_text("not a database\n" * 100)
    with pytest.raises(ValueError, match=r"storage: path must name a SQLite database file"):
        Study.create("s", quick, RandomSearch(VALID_SPACE, 2), storage=text)
    with pytest.raises(ValueError, match=r"path must name a SQLite database file .*notes.txt"):
        tunecore.storage.Storage(text, read_only=True)
    with pytest.raises(ValueError, match=r"path must name a SQLite database file"):
        tunecore.storage.Storage(tmp_path)  # a directory


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"tiers": 5}, r"tiers must be a list of Tier objects, got 5"),
        ({"shares": "abcd"}, r"shares must be a list of 4 numbers, got 'abcd'"),
        ({"shares": [1, "a", 1, 1]}, r"shares must be a list of 4 numbers"),
        ({"shares": 0.5}, r"shares must be a list of 4 numbers, got 0.5"),
    ],
)
def test_tier_budget_names_tiers_and_shares_of_the_wrong_type(kwargs, match):
    args = {"tiers": default_tiers(), **kwargs}
    with pytest.raises(TypeError, match=match):
        TierBudget(args.pop("tiers"), **args)


def test_tier_defaults_of_the_wrong_type_are_named():
    with pytest.raises(TypeError, match=r"defaults must be a dict of parameter -> value, got 5"):
        Tier("t", VALID_SPACE, defaults=5)


@pytest.mark.parametrize(
    ("options", "match"),
    [
        ({"decay_steps": 2**63}, r"decay_steps must be <= 9223372036854775807"),
        ({"epochs": 2**63}, r"epochs must be <= 9223372036854775807"),
        ({"batch_size": 2**64}, r"batch_size must be <= 9223372036854775807"),
        ({"threads": 2**40}, r"threads must be <= 2147483647"),
    ],
)
def test_integers_beyond_the_cores_width_are_named(options, match):
    # These once reached pybind11 and came back as an unnamed RuntimeError or TypeError.
    with pytest.raises(ValueError, match=match):
        tunecore.train(X_SMALL, Y_LABELS, **options)


@pytest.mark.parametrize(
    ("make", "match"),
    [
        (lambda: samplers.Halton(2**31), r"d must be at most 2147483647"),
        (lambda: samplers.LatinHypercube(2**70), r"d must be at most 2147483647"),
        (lambda: samplers.Random(3).random(2**62), r"n must keep a draw below 2\*\*59"),
        (lambda: samplers.Sobol(2).random_base2(2**40), r"m must be at most 62"),
    ],
)
def test_sampler_sizes_beyond_the_cores_width_are_named(make, match):
    with pytest.raises(ValueError, match=match):
        make()
