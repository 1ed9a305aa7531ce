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
from tunecore.space import Fixed, Float, Space
from tunecore.trial import COMPLETE, DIVERGED, FAILED, INTERRUPTED


def test_callable_float_result_is_complete():
    outcome = CallableObjective(lambda p: p["x"] * 2).evaluate({"x": 1.5}, seed=0)
    assert (outcome.status, outcome.value, outcome.reason) == (COMPLETE, 3.0, None)
    assert outcome.duration is not None and outcome.duration >= 0


def test_callable_dict_result_splits_metrics_history_and_epochs():
    fn = lambda p: {"loss": 0.5, "acc": 0.9, "curve": [3.0, 2.0], "epochs": 2}
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
    assert params_to_config({"lr_decay": "step", "epochs": 20}) == {
        "lr_decay": "step",
        "epochs": 20,
        "decay_rate": 0.5,
        "decay_steps": 5,
    }
    assert params_to_config({"lr_decay": "exponential"}, {"decay_rate": 0.7}) == {
        "decay_rate": 0.7,
        "lr_decay": "exponential",
    }
    assert "decay_rate" not in params_to_config({"lr_decay": "none"})
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


# -- the MLP objective on the core --------------------------------------------------------


@pytest.fixture(scope="module")
def digits():
    datasets = pytest.importorskip("sklearn.datasets")
    pytest.importorskip("tunecore._core")
    X, y = datasets.load_digits(return_X_y=True)
    return X / 16.0, y


def test_mlp_objective_study_on_digits(digits):
    from tunecore import train
    from tunecore.strategies import RandomSearch
    from tunecore.study import Study

    X, y = digits
    objective = MLPObjective(X, y, base={"epochs": 8, "hidden": (32,)})
    space = Space({"lr": Float(1e-3, 1e-1, scale="log"), "units": Fixed(48)})
    study = Study.create(
        "digits", objective, RandomSearch(space, 8, sampler="halton"), storage=":memory:", seed=4
    )
    study.run(n_jobs=2, progress=False)
    trials = study.trials
    assert [t.status for t in trials] == [COMPLETE] * 8
    assert all(t.epochs == 8 and len(t.history["val_loss"]) == 8 for t in trials)
    assert study.usage().epochs == 64
    best = study.best_trial
    assert best.metrics["val_accuracy"] >= 0.95
    assert best.value == best.metrics["val_loss"] == best.history["val_loss"][-1]
    # The stored trial is exactly what train() gives for the mapped config and trial seed.
    again = train(
        objective.X,
        objective.y,
        X_val=objective.X_val,
        y_val=objective.y_val,
        **objective.config(best.params, best.seed),
    )
    assert again.config["hidden"] == (48,)
    assert float(again.history["val_loss"][-1]) == pytest.approx(best.value, rel=1e-12)


def test_mlp_objective_divergence_and_bad_config_are_per_trial(digits):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(120, 5))
    y = X @ rng.normal(size=5)
    objective = MLPObjective(
        X, y, base={"epochs": 3, "loss": "mse", "optimizer": "sgd", "activation": "identity"}
    )
    outcomes = objective.evaluate_batch(
        [{"lr": 1e-2}, {"lr": 1e5}, {"lr": 1e-2, "batch_size": 0}], [1, 2, 3]
    )
    assert outcomes[0].status == COMPLETE and np.isfinite(outcomes[0].value)
    assert (outcomes[1].status, outcomes[1].reason) == (DIVERGED, "training diverged at epoch 1")
    assert outcomes[1].value is None
    assert outcomes[2].status == FAILED
    assert outcomes[2].reason == "ValueError: batch_size must be >= 1, got 0"


def test_mlp_outcome_of_a_training_cut_short_is_interrupted():
    from types import SimpleNamespace

    objective = MLPObjective(np.zeros((10, 2)), np.arange(10) % 2)
    cut = SimpleNamespace(
        history={"train_loss": np.array([0.9, 0.8]), "val_loss": np.array([1.0, 0.7])},
        status="ok",
        diverged_epoch=None,
        epochs_run=2,
        seconds=0.5,
        config={"epochs": 10},
    )
    outcome = objective._outcome(cut)
    assert outcome.status == INTERRUPTED and outcome.value is None
    assert outcome.reason == "stopped by the time budget after 2 of 10 epochs"
    assert outcome.epochs == 2 and outcome.history["val_loss"] == [1.0, 0.7]
    full = SimpleNamespace(**{**vars(cut), "config": {"epochs": 2}})
    assert objective._outcome(full).value == 0.7
