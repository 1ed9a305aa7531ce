"""Tests of tunecore.space: scales, integer rules, grids, sampling, narrowing, serialization."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from scipy import stats

from tunecore.space import Choice, Fixed, Float, Int, Space, dimension_from_dict

# Statistical tests run at a fixed seed, so they are deterministic; the threshold only says
# how surprising a correct implementation's draw may look.
ALPHA = 1e-3


def _draws(dim, n: int, seed: int, sampler: str = "random") -> list:
    return [p["x"] for p in Space({"x": dim}).sample(n, sampler=sampler, seed=seed)]


# --- distributions --------------------------------------------------------------------------


def test_int_linear_every_integer_equally_likely():
    dim = Int(3, 12)
    values = np.array(_draws(dim, 20_000, seed=11))
    counts = np.bincount(values - 3, minlength=10)
    assert counts.sum() == 20_000 and values.min() == 3 and values.max() == 12
    assert stats.chisquare(counts).pvalue > ALPHA


def test_int_linear_chisquare_detects_rounding_bias_at_the_ends():
    # The test above has power: rounding low + u (high - low) gives each end half a cell, and
    # the same chi-square test on as many draws rejects that.
    u = np.random.default_rng(11).random(20_000)
    values = np.rint(3 + u * 9).astype(int)
    counts = np.bincount(values - 3, minlength=10)
    assert stats.chisquare(counts).pvalue < 1e-10


def test_int_log_probability_proportional_to_log_width():
    dim = Int(1, 40, log=True)
    values = np.array(_draws(dim, 40_000, seed=5))
    k = np.arange(1, 41)
    width = np.log(k + 0.5) - np.log(k - 0.5)
    expected = 40_000 * width / width.sum()
    counts = np.bincount(values - 1, minlength=40)
    assert stats.chisquare(counts, expected).pvalue > ALPHA
    # and it is not the uniform distribution
    assert stats.chisquare(counts).pvalue < 1e-10


def test_float_log_matches_log_uniform_cdf():
    low, high = 1e-4, 1.0
    x = np.array(_draws(Float(low, high, scale="log"), 5_000, seed=2))
    cdf = lambda v: (np.log(v) - math.log(low)) / (math.log(high) - math.log(low))
    assert stats.kstest(x, cdf).pvalue > ALPHA
    assert stats.kstest(x, stats.uniform(low, high - low).cdf).pvalue < 1e-10


def test_float_reverse_log_matches_its_cdf_and_splits_decades_evenly():
    low, high = 0.9, 0.999
    x = np.array(_draws(Float(low, high, scale="reverse_log"), 5_000, seed=3))
    a, b = math.log(1 - low), math.log(1 - high)
    cdf = lambda v: (a - np.log(1 - v)) / (a - b)
    assert stats.kstest(x, cdf).pvalue > ALPHA
    in_last_decade = np.count_nonzero(x >= 0.99)
    assert abs(in_last_decade / x.size - 0.5) < 0.03


def test_float_linear_matches_uniform_cdf_with_sobol():
    x = np.array(_draws(Float(-2.0, 5.0), 1024, seed=4, sampler="sobol"))
    assert stats.kstest(x, stats.uniform(-2.0, 7.0).cdf).pvalue > ALPHA


def test_choice_options_equally_likely():
    dim = Choice(["a", "b", "c", 7])
    values = _draws(dim, 12_000, seed=8)
    counts = [values.count(o) for o in dim.options]
    assert sum(counts) == 12_000
    assert stats.chisquare(counts).pvalue > ALPHA


# --- unit maps ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "dim",
    [
        Float(-1.0, 3.0),
        Float(1e-5, 10.0, scale="log"),
        Float(0.5, 0.9999, scale="reverse_log"),
    ],
)
def test_float_unit_round_trip_and_endpoints(dim):
    u = np.random.default_rng(0).random(200)
    x = dim.from_unit(u)
    assert all(dim.low <= v <= dim.high for v in x)
    np.testing.assert_allclose(dim.to_unit(x), u, rtol=0, atol=1e-12)
    assert dim.from_unit([0.0, 1.0]) == [dim.low, dim.high]


@pytest.mark.parametrize("dim", [Int(-3, 9), Int(1, 300, log=True), Int(2, 3, log=True)])
def test_int_to_unit_is_the_centre_of_each_cell(dim):
    k = list(range(dim.low, dim.high + 1))
    u = dim.to_unit(k)
    assert dim.from_unit(u) == k
    assert np.all(np.diff(u) > 0) and u[0] > 0 and u[-1] < 1
    assert dim.from_unit([0.0, 1.0]) == [dim.low, dim.high]


def test_choice_unit_codes():
    dim = Choice(["relu", "tanh", "sigmoid", "identity"])
    np.testing.assert_array_equal(dim.to_unit(["relu", "identity"]), [0.125, 0.875])
    assert dim.from_unit([0.0, 0.2499, 0.25, 0.999, 1.0]) == [
        "relu",
        "relu",
        "tanh",
        "identity",
        "identity",
    ]


def test_space_unit_columns_skip_fixed_dimensions():
    space = Space({"a": Float(0, 1), "f": Fixed("x"), "b": Int(0, 1)})
    assert space.sampled_names == ("a", "b")
    assert len(space) == 3
    params = space.from_unit(np.array([[0.25, 0.75]]))
    assert params == [{"a": 0.25, "f": "x", "b": 1}]
    np.testing.assert_allclose(space.to_unit(params), [[0.25, 0.75]])


def test_to_unit_out_of_range_raises_unless_clipped():
    dim = Float(1.0, 2.0)
    with pytest.raises(ValueError, match=r"value must lie in \[1.0, 2.0\], got 3.0"):
        dim.to_unit([3.0])
    np.testing.assert_array_equal(dim.to_unit([3.0, 0.0], clip=True), [1.0, 0.0])
    space = Space({"n": Int(1, 4)})
    with pytest.raises(ValueError, match=r"dimension 'n': value must lie in \[1, 4\], got 9"):
        space.to_unit([{"n": 9}])
    with pytest.raises(ValueError, match=r"dimension 'n': missing from params"):
        space.to_unit([{"m": 1}])
    with pytest.raises(ValueError, match=r"dimension 'n': value must be a whole number"):
        space.to_unit([{"n": 1.5}])
    with pytest.raises(ValueError, match=r"value must be one of \['a', 'b'\], got 'c'"):
        Choice(["a", "b"]).to_unit(["c"])


def test_from_unit_shape_checked():
    space = Space({"a": Float(0, 1), "b": Float(0, 1)})
    with pytest.raises(ValueError, match=r"u must be an \(n, 2\) array"):
        space.from_unit(np.zeros((3, 3)))
    with pytest.raises(ValueError, match=r"u must hold values in \[0, 1\], got 1.5"):
        space.from_unit(np.array([[0.5, 1.5]]))


# --- sampling -------------------------------------------------------------------------------


@pytest.mark.parametrize("sampler", ["random", "sobol", "halton"])
def test_sample_point_k_same_alone_and_in_batch(sampler):
    space = Space(
        {
            "lr": Float(1e-4, 1.0, scale="log"),
            "fixed": Fixed(1),
            "units": Int(16, 512, log=True),
            "act": Choice(["relu", "tanh"]),
            "beta": Float(0.8, 0.999, scale="reverse_log"),
        }
    )
    batch = space.sample(16, sampler=sampler, seed=123)
    for k in (0, 5, 15):
        assert space.sample(1, sampler=sampler, seed=123, start=k) == [batch[k]]
    assert space.sample(6, sampler=sampler, seed=123, start=10) == batch[10:]
    assert space.sample(16, sampler=sampler, seed=124) != batch
    assert all(space.contains(p) for p in batch)


def test_sample_lhs_and_all_fixed():
    space = Space({"x": Float(0.0, 1.0), "y": Float(0.0, 1.0)})
    points = np.array([[p["x"], p["y"]] for p in space.sample(10, sampler="lhs", seed=1)])
    for col in points.T:
        assert sorted(np.floor(col * 10).astype(int)) == list(range(10))
    assert Space({"f": Fixed(2)}).sample(3, seed=0) == [{"f": 2}] * 3
    assert Space({}).sample(2, seed=0) == [{}, {}]


def test_sample_argument_errors():
    space = Space({"x": Float(0.0, 1.0)})
    with pytest.raises(ValueError, match=r"sampler must be one of .*got 'qmc'"):
        space.sample(2, sampler="qmc")
    with pytest.raises(TypeError, match=r"sampler must be a str"):
        space.sample(2, sampler=3)
    with pytest.raises(ValueError, match=r"n must be >= 0, got -1"):
        space.sample(-1)
    with pytest.raises(TypeError, match=r"n must be an int, got 2.0"):
        space.sample(2.0)
    with pytest.raises(ValueError, match=r"start must be >= 0, got -2"):
        space.sample(1, start=-2)
    with pytest.raises(TypeError, match=r"seed must be an int or None"):
        space.sample(1, seed="a")


# --- grids ----------------------------------------------------------------------------------


def test_log_grid_is_decades():
    grid = Float(1e-4, 1.0, scale="log").grid(5)
    np.testing.assert_allclose(grid, [1e-4, 1e-3, 1e-2, 1e-1, 1.0], rtol=1e-12)


def test_grids_include_endpoints_and_are_even_on_their_scale():
    for dim in (
        Float(-1, 1),
        Float(1e-3, 5.0, scale="log"),
        Float(0.8, 0.999, scale="reverse_log"),
    ):
        grid = dim.grid(7)
        assert grid[0] == dim.low and grid[-1] == dim.high and len(grid) == 7
        np.testing.assert_allclose(np.diff(dim.to_unit(grid)), 1 / 6, atol=1e-12)
    np.testing.assert_allclose(
        Float(0.9, 0.999, scale="reverse_log").grid(3), [0.9, 0.99, 0.999], rtol=1e-12
    )


def test_int_grid_unique_with_warning_when_too_few():
    assert Int(16, 512, log=True).grid(6) == [16, 32, 64, 128, 256, 512]
    assert Int(0, 10).grid(6) == [0, 2, 4, 6, 8, 10]
    with pytest.warns(UserWarning, match=r"only 4 distinct grid points for k=10"):
        grid = Int(1, 4).grid(10)
    assert grid == [1, 2, 3, 4]
    with pytest.warns(UserWarning, match=r"distinct grid points"):
        grid = Int(1, 8, log=True).grid(8)
    assert grid == sorted(set(grid)) and grid[0] == 1 and grid[-1] == 8


def test_space_grid_is_sorted_cartesian_product():
    space = Space(
        {
            "lr": Float(1e-3, 1e-1, scale="log"),
            "act": Choice(["tanh", "relu"]),
            "epochs": Fixed(5),
            "layers": Int(1, 3),
        }
    )
    grid = space.grid({"lr": 3, "layers": 3})
    assert len(grid) == 3 * 2 * 1 * 3
    assert len({json.dumps(p, sort_keys=True) for p in grid}) == len(grid)
    assert grid[0] == {"lr": 1e-3, "act": "tanh", "epochs": 5, "layers": 1}
    assert grid[1] == {"lr": 1e-3, "act": "tanh", "epochs": 5, "layers": 2}
    assert grid[-1] == {"lr": 1e-1, "act": "relu", "epochs": 5, "layers": 3}
    assert space.grid(3) == grid
    with pytest.raises(ValueError, match=r"dimension 'layers': points must give a count"):
        space.grid({"lr": 3})
    with pytest.raises(ValueError, match=r"points names a dimension .*'beta'"):
        space.grid({"beta": 3, "lr": 3, "layers": 3})
    with pytest.raises(ValueError, match=r"dimension 'lr': k must be >= 1, got 0"):
        space.grid({"lr": 0, "layers": 2})


# --- restrict -------------------------------------------------------------------------------


def test_restrict_never_wider_than_original():
    space = Space(
        {
            "lr": Float(1e-4, 1.0, scale="log", default=1e-3),
            "units": Int(16, 512, log=True),
            "act": Choice(["relu", "tanh", "sigmoid"], default="tanh"),
            "layers": Int(1, 4),
            "epochs": Fixed(10),
        }
    )
    narrow = space.restrict(
        {
            "lr": (1e-6, 1e-2),
            "units": (20.4, 1000.0),
            "act": ["sigmoid", "relu"],
            "layers": (2.5, 2.9),
            "epochs": (5, 20),
        }
    )
    assert narrow["lr"] == Float(1e-4, 1e-2, scale="log", default=1e-3)
    assert narrow["units"] == Int(20, 512, log=True)
    assert narrow["act"] == Choice(["relu", "sigmoid"])  # order kept, default dropped
    assert narrow["layers"] == Int(2, 3)
    assert narrow["epochs"] == Fixed(10)
    rng = np.random.default_rng(0)
    for params in narrow.sample(200, seed=int(rng.integers(1000))):
        assert space.contains(params)
    collapsed = space.restrict({"layers": (3, 3), "lr": (1e-2, 1e-2)})
    assert collapsed["layers"] == Fixed(3) and collapsed["lr"] == Fixed(1e-2)
    assert collapsed.sampled_names == ("units", "act")


def test_restrict_errors():
    space = Space(
        {
            "lr": Float(1e-4, 1.0, scale="log"),
            "act": Choice(["relu", "tanh"]),
            "n": Int(1, 3),
            "f": Fixed(2),
        }
    )
    with pytest.raises(ValueError, match=r"dimension 'lr': bounds must overlap"):
        space.restrict({"lr": (2.0, 3.0)})
    with pytest.raises(ValueError, match=r"dimension 'lr': bounds must have low <= high"):
        space.restrict({"lr": (0.1, 0.01)})
    with pytest.raises(ValueError, match=r"dimension 'lr': bounds must be a \(low, high\) pair"):
        space.restrict({"lr": (0.1, 0.2, 0.3)})
    with pytest.raises(ValueError, match=r"dimension 'act': value must be one of"):
        space.restrict({"act": ["gelu"]})
    with pytest.raises(ValueError, match=r"dimension 'act': bounds must list at least one"):
        space.restrict({"act": []})
    with pytest.raises(ValueError, match=r"dimension 'n': bounds must overlap"):
        space.restrict({"n": (4.2, 9)})
    with pytest.raises(ValueError, match=r"dimension 'f': bounds must admit the fixed value 2"):
        space.restrict({"f": (3, 4)})
    with pytest.raises(ValueError, match=r"bounds names a dimension .*'beta'"):
        space.restrict({"beta": (0.1, 0.2)})
    with pytest.raises(TypeError, match=r"bounds must be a dict"):
        space.restrict([("lr", (0.1, 0.2))])


# --- serialization, equality, repr ----------------------------------------------------------


def test_to_dict_round_trip_through_json():
    space = Space(
        {
            "lr": Float(1e-4, 1.0, scale="log", default=1e-3),
            "beta1": Float(0.8, 0.999, scale="reverse_log"),
            "x": Float(-1.5, 2.5),
            "units": Int(16, 512, log=True, default=64),
            "layers": Int(1, 4),
            "hidden": Choice([[64], [64, 64], None, True, 1, 2.5, "a"], default=[64, 64]),
            "epochs": Fixed(10),
            "shape": Fixed([3, 4]),
        }
    )
    d = space.to_dict()
    assert json.loads(json.dumps(d)) == d
    again = Space.from_dict(json.loads(json.dumps(d)))
    assert again == space
    assert again.to_dict() == d
    assert list(again.names) == list(space.names)
    assert again["hidden"].default == (64, 64)
    assert "default" not in d["x"]
    assert dimension_from_dict({"type": "float", "low": 1, "high": 2}) == Float(1.0, 2.0)


def test_from_dict_errors_name_the_dimension():
    with pytest.raises(ValueError, match=r"dimension 'lr': type must be one of .*got 'real'"):
        Space.from_dict({"lr": {"type": "real", "low": 0, "high": 1}})
    with pytest.raises(ValueError, match=r"dimension 'lr': a float dimension needs key 'high'"):
        Space.from_dict({"lr": {"type": "float", "low": 0}})
    with pytest.raises(ValueError, match=r"dimension 'lr': .*unknown key 'step'"):
        Space.from_dict({"lr": {"type": "float", "low": 0, "high": 1, "step": 2}})
    with pytest.raises(ValueError, match=r"dimension 'lr': low must be > 0 on a log scale"):
        Space.from_dict({"lr": {"type": "float", "low": 0, "high": 1, "scale": "log"}})
    with pytest.raises(TypeError, match=r"dimension 'lr': a dimension must be given as a dict"):
        Space.from_dict({"lr": 3})


def test_equality_and_repr():
    assert Float(1, 2) == Float(1.0, 2.0)
    assert Float(1, 2) != Float(1, 2, scale="log")
    assert Choice([True]) != Choice([1])
    assert Space({"a": Int(1, 2), "b": Int(1, 2)}) != Space({"b": Int(1, 2), "a": Int(1, 2)})
    space = Space({"lr": Float(1e-4, 1.0, scale="log", default=0.01), "n": Int(1, 8, log=True)})
    assert repr(space) == (
        "Space({'lr': Float(low=0.0001, high=1.0, scale='log', default=0.01), "
        "'n': Int(low=1, high=8, log=True)})"
    )
    assert eval(repr(space)) == space
    with pytest.raises(KeyError, match=r"no dimension named 'x'"):
        space["x"]


def test_dimensions_are_frozen():
    dim = Float(0.0, 1.0)
    with pytest.raises(AttributeError):
        dim.low = 0.5  # type: ignore[misc]


def test_scales_and_defaults():
    space = Space(
        {
            "a": Float(0.1, 1.0, scale="log", default=0.5),
            "b": Int(1, 9),
            "c": Int(1, 9, log=True, default=3),
            "d": Choice(["x", "y"], default="y"),
            "e": Fixed(4),
        }
    )
    assert [space[n].scale for n in space] == ["log", "linear", "log", "categorical", "fixed"]
    assert space.defaults == {"a": 0.5, "c": 3, "d": "y", "e": 4}
    assert space["b"].default is None


# --- construction errors --------------------------------------------------------------------


@pytest.mark.parametrize(
    "make, error, match",
    [
        (
            lambda: Float(0.0, 1.0, scale="log"),
            ValueError,
            r"low must be > 0 on a log scale, got 0.0",
        ),
        (lambda: Float(-1.0, 1.0, scale="log"), ValueError, r"low must be > 0 on a log scale"),
        (lambda: Float(1.0, 1.0), ValueError, r"low must be < high, got low=1.0 and high=1.0"),
        (lambda: Float(2.0, 1.0), ValueError, r"low must be < high"),
        (
            lambda: Float(0.9, 1.0, scale="reverse_log"),
            ValueError,
            r"high must be < 1 on a reverse_log scale, got 1.0",
        ),
        (lambda: Float(0.0, math.inf), ValueError, r"high must be finite, got inf"),
        (lambda: Float(math.nan, 1.0), ValueError, r"low must be finite, got nan"),
        (lambda: Float(0.0, 1.0, scale="logit"), ValueError, r"scale must be one of .*'logit'"),
        (
            lambda: Float(0.0, 1.0, default=2.0),
            ValueError,
            r"default must lie in \[low, high\] = \[0.0, 1.0\], got 2.0",
        ),
        (lambda: Float("0", 1.0), TypeError, r"low must be a real number, got '0'"),
        (lambda: Float(0.0, True), TypeError, r"high must be a real number, got True"),
        (lambda: Float(0.0, 1.0, scale=2), TypeError, r"scale must be a str"),
        (lambda: Int(0, 10, log=True), ValueError, r"low must be >= 1 on a log scale"),
        (lambda: Int(5, 5), ValueError, r"low must be < high, got low=5 and high=5"),
        (lambda: Int(1.5, 5), ValueError, r"low must be a whole number, got 1.5"),
        (lambda: Int(1, math.inf), ValueError, r"high must be finite, got inf"),
        (lambda: Int("1", 5), TypeError, r"low must be an int, got '1'"),
        (lambda: Int(1, 5, log="yes"), TypeError, r"log must be a bool, got 'yes'"),
        (lambda: Int(1, 5, default=6), ValueError, r"default must lie in \[low, high\]"),
        (lambda: Choice([]), ValueError, r"options must hold at least one value"),
        (lambda: Choice(["a", "b", "a"]), ValueError, r"options must be distinct, got 'a' twice"),
        (lambda: Choice([1, 1.0]), ValueError, r"options must be distinct, got 1.0 twice"),
        (lambda: Choice("abc"), TypeError, r"options must be a list of values, got 'abc'"),
        (lambda: Choice([{"a": 1}]), TypeError, r"options must be None, a bool, int, float"),
        (lambda: Choice([math.nan]), ValueError, r"options must be finite, got nan"),
        (
            lambda: Choice(["a"], default="b"),
            ValueError,
            r"default must be one of \('a',\), got 'b'",
        ),
        (lambda: Fixed(object()), TypeError, r"value must be None, a bool, int, float"),
        (lambda: Fixed(1, default=2), ValueError, r"default must equal value 1, got 2"),
        (lambda: Space({"a": 1.0}), TypeError, r"dimension 'a': must be a Float, Int, Choice"),
        (lambda: Space({"": Float(0, 1)}), TypeError, r"dimension names must be non-empty str"),
        (lambda: Space([Float(0, 1)]), TypeError, r"dimensions must be a dict"),
    ],
)
def test_construction_errors(make, error, match):
    with pytest.raises(error, match=match):
        make()
