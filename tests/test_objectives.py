"""Objectives: outcomes of plain callables, the params -> train() mapping, the MLP objective."""

from __future__ import annotations

import numpy as np
import pytest

from tunecore.objectives import (
    CallableObjective,
    MLPObjective,
    as_objective,
    config_to_params,
    outcome_from_result,
    params_to_config,
)
from tunecore.trial import COMPLETE, DIVERGED, FAILED


def test_callable_float_result_is_complete():
    outcome = CallableObjective(lambda p: p["x"] * 2).evaluate({"x": 1.5}, seed=0)
    assert (outcome.status, outcome.value, outcome.reason) == (COMPLETE, 3.0, None)
    assert outcome.duration is not None and outcome.duration >= 0


def test_callable_dict_result_splits_metrics_history_and_epochs():
    fn = lambda p: {"loss": 0.5, "acc": 0.9, "curve": [3.0, 2.0], "epochs": 2}  # noqa: E731
    outcome = CallableObjective(fn, metric="loss").evaluate({}, seed=0)
    assert outcome.value == 0.5
    assert outcome.metrics == {"loss": 0.5, "acc": 0.9}
    assert outcome.history == {"curve": [3.0, 2.0]}
    assert outcome.epochs == 2


def test_callable_dict_without_metric_fails_with_reason():
    outcome = CallableObjective(lambda p: {"acc": 1.0}, metric="loss").evaluate({}, seed=0)
    assert outcome.status == FAILED
    assert outcome.reason == "the objective's dict must hold 'loss', got keys ['acc']"


@pytest.mark.parametrize("value", [float("nan"), float("inf"), -float("inf")])
def test_callable_non_finite_value_diverges(value):
    outcome = outcome_from_result(value, "value", 0.0)
    assert outcome.status == DIVERGED and outcome.value is None
    assert outcome.reason == f"the objective returned {value!r}"


def test_callable_exception_fails_with_type_and_message():
    def boom(params):
        raise ZeroDivisionError("no")

    outcome = CallableObjective(boom).evaluate({}, seed=0)
    assert (outcome.status, outcome.reason) == (FAILED, "ZeroDivisionError: no")


def test_callable_receives_seed_when_it_asks_for_it():
    assert CallableObjective(lambda p, seed: seed).evaluate({}, seed=17).value == 17.0
    assert CallableObjective(lambda p, **kw: kw["seed"]).evaluate({}, seed=5).value == 5.0
    assert not CallableObjective(lambda p: 0.0).pass_seed


def test_as_objective_checks_type():
    assert isinstance(as_objective(lambda p: 0.0), CallableObjective)
    with pytest.raises(TypeError, match="objective must be an Objective or a callable"):
        as_objective(3)


def test_params_to_config_maps_units_and_layers_to_hidden():
    base = {"epochs": 5, "hidden": (32, 32, 32)}
    assert params_to_config({"units": 16, "layers": 2, "lr": 0.1}, base) == {
        "epochs": 5,
        "hidden": (16, 16),
        "lr": 0.1,
    }
    assert params_to_config({"units": 8}, base)["hidden"] == (8, 8, 8)
    assert params_to_config({"layers": 1}, base)["hidden"] == (32,)
    assert params_to_config({"lr": 0.1, "batch_size": np.int64(64)}) == {
        "lr": 0.1,
        "batch_size": 64,
    }
    assert type(params_to_config({"batch_size": np.int64(64)})["batch_size"]) is int
    assert config_to_params({"hidden": (16, 16), "lr": 0.1}) == {
        "lr": 0.1,
        "units": 16,
        "layers": 2,
    }


def test_mlp_objective_checks_arguments():
    X = np.zeros((10, 3))
    with pytest.raises(ValueError, match=r"y must be a 1-d array with one entry per row of X"):
        MLPObjective(X, np.zeros(9))
    with pytest.raises(ValueError, match="X_val and y_val must be given together"):
        MLPObjective(X, np.zeros(10), X_val=X)
    with pytest.raises(ValueError, match="base must not set 'seed'"):
        MLPObjective(X, np.zeros(10), base={"seed": 1})
    with pytest.raises(ValueError, match=r"val_fraction must be in \(0, 1\)"):
        MLPObjective(X, np.zeros(10), val_fraction=1.5)


def test_mlp_objective_split_is_stratified_and_seeded():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(200, 4))
    y = np.repeat(np.arange(4), 50)
    objective = MLPObjective(X, y, val_fraction=0.2, split_seed=3)
    assert np.bincount(objective.y_val).tolist() == [10, 10, 10, 10]
    assert objective.X.shape == (160, 4)
    again = MLPObjective(X, y, val_fraction=0.2, split_seed=3)
    assert np.array_equal(objective.X_val, again.X_val)
    assert objective.base["n_classes"] == 4
    assert objective.direction == "minimize"
    assert MLPObjective(X, y, metric="val_accuracy").direction == "maximize"
