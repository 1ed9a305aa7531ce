"""Tests of tunecore.training: optimizers, schedules, batches, real data, determinism, errors.

References are written here in NumPy (float64) or taken from PyTorch when it is installed;
gradient checks live in test_training_grad.py.
"""

from __future__ import annotations

import math
import os
import signal
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest
from child_env import child_env

import tunecore
from tunecore import _core, training
from tunecore.training import LR_DECAYS, OPTIMIZERS, _core_config, _resolve_config

try:
    import torch
except ImportError:  # pragma: no cover - depends on the environment
    torch = None

needs_torch = pytest.mark.skipif(torch is None, reason="PyTorch is not installed")


def core_config(n_outputs: int, **options) -> dict:
    return _core_config(_resolve_config(options), n_outputs)


def blobs(n: int = 60, d: int = 5, k: int = 3, seed: int = 0):
    rng = np.random.default_rng(seed)
    centers = rng.normal(scale=3.0, size=(k, d))
    y = rng.integers(0, k, size=n)
    return centers[y] + rng.normal(size=(n, d)), y


# ------------------------------------------------------------------------------------------
# One optimizer step and the schedules against NumPy


def numpy_step(name, lr, w, g, m, v, t, momentum=0.9, beta1=0.9, beta2=0.999, eps=1e-8, rho=0.9):
    """One step in float64, as written in tunecore.training's docstring; t counts from 1."""
    if name == "sgd":
        return w - lr * g, m, v
    if name == "momentum":
        m = momentum * m + g
        return w - lr * m, m, v
    if name == "rmsprop":
        v = rho * v + (1 - rho) * g * g
        return w - lr * g / (np.sqrt(v) + eps), m, v
    m = beta1 * m + (1 - beta1) * g
    v = beta2 * v + (1 - beta2) * g * g
    mhat = m / (1 - beta1**t)
    vhat = v / (1 - beta2**t)
    return w - lr * mhat / (np.sqrt(vhat) + eps), m, v


@pytest.mark.parametrize("optimizer", OPTIMIZERS)
def test_one_optimizer_step_matches_numpy(optimizer):
    rng = np.random.default_rng(1)
    w, g = rng.normal(size=50), rng.normal(size=50)
    m, v = rng.normal(size=50), rng.uniform(0.1, 2.0, size=50)
    options = {
        "optimizer": optimizer,
        "momentum": 0.8,
        "beta1": 0.85,
        "beta2": 0.99,
        "eps": 1e-6,
        "rho": 0.7,
    }
    config = core_config(1, **options)
    f32 = [a.astype(np.float32) for a in (w, g, m, v)]
    new_w, new_m, new_v = _core._optimizer_step(config, 0.05, *f32, 4)  # 4 steps done: t = 5
    ref_w, ref_m, ref_v = numpy_step(
        optimizer, 0.05, *(a.astype(np.float64) for a in f32), t=5, momentum=0.8, beta1=0.85,
        beta2=0.99, eps=1e-6, rho=0.7,
    )  # fmt: skip
    np.testing.assert_allclose(new_w, ref_w, rtol=1e-6, atol=1e-7)
    if new_m is not None:
        np.testing.assert_allclose(new_m, ref_m, rtol=1e-6, atol=1e-7)
    if new_v is not None:
        np.testing.assert_allclose(new_v, ref_v, rtol=1e-6, atol=1e-7)
    assert not np.array_equal(new_w, f32[0])


def numpy_lr(decay, lr, k, s, epochs, e):
    return {
        "none": lr,
        "inverse_time": lr / (1 + k * e),
        "exponential": lr * k**e,
        "step": lr * k ** (e // s),
        "cosine": lr * (k + (1 - k) * (1 + math.cos(math.pi * e / epochs)) / 2),
    }[decay]


@pytest.mark.parametrize("decay", LR_DECAYS)
def test_schedule_matches_numpy(decay):
    options = {"lr": 0.2, "lr_decay": decay, "decay_rate": 0.5, "decay_steps": 3, "epochs": 10}
    config = core_config(1, **options)
    for e in range(10):
        expected = numpy_lr(decay, 0.2, 0.5, 3, 10, e)
        assert _core._scheduled_lr(config, e) == pytest.approx(expected, rel=1e-15)


def softmax_regression_reference(X, y, W, b, options):
    """Mini-batch training of a linear softmax model in float64, with the core's row order."""
    optimizer, epochs, batch, seed = (
        options[k] for k in ("optimizer", "epochs", "batch_size", "seed")
    )
    lr0 = options["lr"]
    params = np.concatenate([W.ravel(), b])
    m = np.zeros_like(params)
    v = np.zeros_like(params)
    t = 0
    n = len(X)
    for e in range(epochs):
        lr = numpy_lr(
            options.get("lr_decay", "none"), lr0, options.get("decay_rate", 0.0),
            options.get("decay_steps", 1), epochs, e,
        )  # fmt: skip
        order = _core._permutation(seed, e, n)
        assert sorted(order) == list(range(n))
        for start in range(0, n, batch):
            idx = order[start : start + batch]
            Wc = params[: W.size].reshape(W.shape)
            z = X[idx] @ Wc + params[W.size :]
            p = np.exp(z - z.max(axis=1, keepdims=True))
            p /= p.sum(axis=1, keepdims=True)
            p[np.arange(len(idx)), y[idx]] -= 1
            p /= len(idx)
            grad = np.concatenate([(X[idx].T @ p).ravel(), p.sum(axis=0)])
            grad[: W.size] += options.get("l2", 0.0) * params[: W.size]
            t += 1
            params, m, v = numpy_step(optimizer, lr, params, grad, m, v, t)
    return params[: W.size].reshape(W.shape), params[W.size :]


@pytest.mark.parametrize(
    "optimizer,decay,batch_size",
    [(o, "none", 5) for o in OPTIMIZERS]
    + [("sgd", d, 5) for d in LR_DECAYS if d != "none"]
    + [("adam", "cosine", 50)],
)
def test_training_loop_matches_numpy_reference(optimizer, decay, batch_size):
    # 23 rows in batches of 5: four full batches and a short one of 3, in the core's order;
    # a batch of 50 is one batch of all 23 rows.
    X, y = blobs(n=23, d=4, k=3, seed=4)
    options = {
        "hidden": (), "optimizer": optimizer, "lr": 0.05, "lr_decay": decay, "decay_rate": 0.5,
        "decay_steps": 2, "l2": 0.01, "batch_size": batch_size, "epochs": 4, "seed": 9,
    }  # fmt: skip
    init = _core._init_params(core_config(3, **options), 4)
    result = tunecore.train(X, y, **options)
    W, b = softmax_regression_reference(
        X.astype(np.float32).astype(np.float64), y, init["weights"][0].astype(np.float64),
        init["biases"][0].astype(np.float64), options,
    )  # fmt: skip
    np.testing.assert_allclose(result.model.weights[0], W, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(result.model.biases[0], b, rtol=1e-4, atol=1e-5)


M64 = (1 << 64) - 1
GOLDEN = 0x9E3779B97F4A7C15


def mix64(z: int) -> int:
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & M64
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & M64
    return z ^ (z >> 31)


def random_unit(seed: int, stream: int, counter: int) -> float:
    key = mix64(seed ^ mix64((stream + GOLDEN) & M64))
    return (mix64((key + counter * GOLDEN) & M64) >> 11) * 2.0**-53


def test_initial_weights_follow_the_documented_generator():
    # Integer arithmetic and one correctly rounded sqrt: the same bits on every platform.
    seed = 2**40 + 123
    config = core_config(4, hidden=(5, 3), activation="relu", seed=seed)
    params = _core._init_params(config, 6)
    for layer, W in enumerate(params["weights"]):
        fan_in, fan_out = W.shape
        he = layer < 2
        bound = math.sqrt(6.0 / (fan_in if he else fan_in + fan_out))
        expected = [
            (2.0 * random_unit(seed, layer, i) - 1.0) * bound for i in range(fan_in * fan_out)
        ]
        np.testing.assert_array_equal(W.ravel(), np.array(expected, dtype=np.float32))
    assert all(np.array_equal(b, np.zeros_like(b)) for b in params["biases"])


def test_epochs_use_different_row_orders():
    orders = [_core._permutation(3, e, 50) for e in range(3)]
    assert all(sorted(o) == list(range(50)) for o in orders)
    assert not np.array_equal(orders[0], orders[1])
    assert not np.array_equal(orders[1], orders[2])
    np.testing.assert_array_equal(_core._permutation(3, 1, 50), orders[1])


# ------------------------------------------------------------------------------------------
# PyTorch


def torch_model(init, activation, batch_norm, bn_momentum, bn_eps):
    layers = []
    acts = {
        "relu": torch.nn.ReLU, "leaky_relu": torch.nn.LeakyReLU, "tanh": torch.nn.Tanh,
        "sigmoid": torch.nn.Sigmoid, "identity": torch.nn.Identity,
    }  # fmt: skip
    n_layers = len(init["weights"])
    for i, W in enumerate(init["weights"]):
        hidden = i + 1 < n_layers
        bn = batch_norm and hidden
        lin = torch.nn.Linear(W.shape[0], W.shape[1], bias=not bn)
        with torch.no_grad():
            lin.weight.copy_(torch.from_numpy(W.T.copy()))
            if not bn:
                lin.bias.copy_(torch.from_numpy(init["biases"][i]))
        layers.append(lin)
        if bn:
            layers.append(torch.nn.BatchNorm1d(W.shape[1], eps=bn_eps, momentum=1 - bn_momentum))
        if hidden:
            layers.append(acts[activation]())
    return torch.nn.Sequential(*layers)


TORCH_CASES = [
    {"optimizer": "sgd", "lr": 0.1},
    {"optimizer": "momentum", "lr": 0.05, "momentum": 0.9},
    {"optimizer": "rmsprop", "lr": 1e-3, "rho": 0.9},
    {"optimizer": "adam", "lr": 1e-2},
    {"optimizer": "adam", "lr": 1e-2, "activation": "tanh", "batch_norm": True, "l2": 1e-2},
    {"optimizer": "sgd", "lr": 0.1, "activation": "sigmoid", "loss": "binary_cross_entropy"},
    {"optimizer": "momentum", "lr": 0.01, "activation": "leaky_relu", "loss": "mse"},
]


@needs_torch
@pytest.mark.parametrize("case", TORCH_CASES, ids=lambda c: "-".join(map(str, c.values())))
def test_twenty_steps_follow_torch(case):
    torch.manual_seed(0)
    X, y = blobs(n=64, d=6, k=3, seed=2)
    X = X.astype(np.float32)
    loss = case.get("loss", "cross_entropy")
    if loss == "binary_cross_entropy":
        target = (y == 1).astype(np.float32)
    elif loss == "mse":
        target = X[:, :2] @ np.array([1.0, -2.0], np.float32)
    else:
        target = y
    # Full batches: 20 epochs are 20 steps, whatever the row order.
    options = dict(hidden=(16, 8), batch_size=64, epochs=20, seed=5, **case)
    n_out = 3 if loss == "cross_entropy" else 1
    init = _core._init_params(core_config(n_out, **options), 6)
    result = tunecore.train(X, target, **options)

    model = torch_model(
        init, case.get("activation", "relu"), case.get("batch_norm", False), 0.9, 1e-5
    )
    l2 = case.get("l2", 0.0)
    decayed = [
        p for name, p in model.named_parameters() if name.endswith("weight") and p.ndim == 2
    ]
    others = [
        p for name, p in model.named_parameters() if not (name.endswith("weight") and p.ndim == 2)
    ]
    groups = [{"params": decayed, "weight_decay": l2}, {"params": others, "weight_decay": 0.0}]
    opt = {
        "sgd": lambda: torch.optim.SGD(groups, lr=case["lr"]),
        "momentum": lambda: torch.optim.SGD(
            groups, lr=case["lr"], momentum=case.get("momentum", 0.9)
        ),
        "rmsprop": lambda: torch.optim.RMSprop(
            groups, lr=case["lr"], alpha=case.get("rho", 0.9), eps=1e-8
        ),
        "adam": lambda: torch.optim.Adam(groups, lr=case["lr"], betas=(0.9, 0.999), eps=1e-8),
    }[case["optimizer"]]()
    xt = torch.from_numpy(X)
    if loss == "cross_entropy":
        yt, criterion = torch.from_numpy(y), torch.nn.CrossEntropyLoss()
    elif loss == "binary_cross_entropy":
        yt, criterion = torch.from_numpy(target)[:, None], torch.nn.BCEWithLogitsLoss()
    else:
        yt, criterion = torch.from_numpy(target)[:, None], torch.nn.MSELoss()
    losses = []
    for _ in range(20):
        opt.zero_grad()
        out = criterion(model(xt), yt)
        losses.append(out.item())
        out.backward()
        opt.step()
    np.testing.assert_allclose(result.history["train_loss"], losses, rtol=2e-4, atol=1e-6)
    assert losses[-1] < losses[0]
    last = [m for m in model if isinstance(m, torch.nn.Linear)][-1]
    np.testing.assert_allclose(
        result.model.weights[-1], last.weight.detach().numpy().T, rtol=2e-3, atol=2e-4
    )


# ------------------------------------------------------------------------------------------
# Real data


@pytest.fixture(scope="module")
def digits():
    sklearn_datasets = pytest.importorskip("sklearn.datasets")
    model_selection = pytest.importorskip("sklearn.model_selection")
    X, y = sklearn_datasets.load_digits(return_X_y=True)
    return model_selection.train_test_split(X / 16.0, y, test_size=0.2, random_state=0, stratify=y)


@pytest.mark.parametrize("hidden", [(64,), (64, 64)])
def test_digits_accuracy_with_relu_and_adam(digits, hidden):
    X_train, X_test, y_train, y_test = digits
    result = tunecore.train(
        X_train, y_train, hidden=hidden, activation="relu", optimizer="adam", lr=1e-3,
        epochs=30, batch_size=32, seed=0, X_val=X_test, y_val=y_test,
    )  # fmt: skip
    accuracy = result.model.score(X_test, y_test)
    assert result.status == "ok"
    assert accuracy >= 0.95
    assert result.history["val_accuracy"][-1] == pytest.approx(accuracy)
    assert result.history["train_loss"][-1] < 0.2 * result.history["train_loss"][0]


def test_digits_batch_norm_learns(digits):
    X_train, X_test, y_train, y_test = digits
    result = tunecore.train(
        X_train, y_train, hidden=(64,), batch_norm=True, epochs=10, seed=1,
        X_val=X_test, y_val=y_test,
    )  # fmt: skip
    assert result.model.score(X_test, y_test) >= 0.93


def test_batch_norm_eval_mode_uses_running_statistics():
    X, y = blobs(n=50, d=4, k=3, seed=7)
    result = tunecore.train(
        X, y, hidden=(6,), batch_norm=True, activation="tanh", epochs=3, batch_size=8
    )
    mlp = result.model
    z = X @ mlp.weights[0].astype(np.float64)
    a = np.tanh(
        mlp.gamma[0] * (z - mlp.running_mean[0]) / np.sqrt(mlp.running_var[0] + 1e-5) + mlp.beta[0]
    )
    logits = a @ mlp.weights[1] + mlp.biases[1]
    np.testing.assert_allclose(mlp.decision_function(X), logits, rtol=1e-4, atol=1e-5)
    assert not np.allclose(mlp.running_var[0], 1.0)


# ------------------------------------------------------------------------------------------
# Determinism, train_many, divergence


def test_same_seed_same_weights_bitwise_with_one_and_two_threads(digits):
    X_train, _, y_train, _ = digits
    configs = [{"seed": s, "epochs": 2, "hidden": (32, 16)} for s in (0, 1, 2)]
    alone = [tunecore.train(X_train, y_train, **c) for c in configs]
    again = tunecore.train(X_train, y_train, **configs[0])
    one = tunecore.train_many(X_train, y_train, configs, threads=1)
    two = tunecore.train_many(X_train, y_train, configs, threads=2)
    for a, b, c in zip(alone, one, two):
        for wa, wb, wc in zip(a.model.weights, b.model.weights, c.model.weights):
            assert wa.tobytes() == wb.tobytes() == wc.tobytes()
        assert a.history["train_loss"].tobytes() == c.history["train_loss"].tobytes()
    assert again.model.weights[0].tobytes() == alone[0].model.weights[0].tobytes()
    assert alone[0].model.weights[0].tobytes() != alone[1].model.weights[0].tobytes()


def test_threads_inside_one_training_change_no_bit():
    rng = np.random.default_rng(12)
    X = rng.normal(size=(300, 520)).astype(np.float32)
    y = rng.integers(0, 10, size=300)
    # 150 x 520 x 256 multiply-adds per product: large enough to be split between threads.
    options = {"hidden": (256, 64), "batch_size": 150, "epochs": 2, "batch_norm": True}
    one = tunecore.train(X, y, threads=1, **options)
    two = tunecore.train(X, y, threads=2, **options)
    for w1, w2 in zip(one.model.weights, two.model.weights):
        assert w1.tobytes() == w2.tobytes()


def test_train_many_equals_train_and_keeps_order():
    X, y = blobs(n=80, d=5, k=3, seed=3)
    X_val, y_val = blobs(n=30, d=5, k=3, seed=4)
    configs = [
        {"optimizer": "sgd", "lr": 0.05, "hidden": (8,)},
        {"optimizer": "rmsprop", "hidden": (), "epochs": 3},
        {"activation": "tanh", "batch_norm": True, "batch_size": 7},
        {"loss": "mse", "hidden": (4,)},
    ]
    many = tunecore.train_many(X, y, configs, X_val=X_val, y_val=y_val, threads=2)
    for config, r in zip(configs, many):
        alone = tunecore.train(X, y, X_val=X_val, y_val=y_val, **config)
        assert r.config == alone.config
        for key, series in alone.history.items():
            assert series.tobytes() == r.history[key].tobytes()
        assert alone.model.weights[-1].tobytes() == r.model.weights[-1].tobytes()
    assert "val_r2" in many[3].history and "val_accuracy" in many[0].history


def test_divergence_is_reported_and_does_not_disturb_other_trials():
    X, y = blobs(n=40, d=3, k=2, seed=5)
    good = {"lr": 0.01, "epochs": 4, "seed": 2}
    bad = {"loss": "mse", "optimizer": "sgd", "lr": 1e6, "epochs": 4, "seed": 2}
    r_bad = tunecore.train(X, X[:, 0], **bad)
    assert r_bad.status == "diverged"
    assert r_bad.diverged_epoch == r_bad.epochs_run < 4
    assert np.isnan(r_bad.history["train_loss"][-1])
    results = tunecore.train_many(
        X, y, [good, dict(good, optimizer="sgd", lr=1e30), good], threads=2
    )
    assert [r.status for r in results] == ["ok", "diverged", "ok"]
    assert results[1].diverged_epoch is not None and results[0].diverged_epoch is None
    alone = tunecore.train(X, y, **good)
    assert results[0].model.weights[0].tobytes() == alone.model.weights[0].tobytes()
    assert results[2].history["train_loss"].tobytes() == alone.history["train_loss"].tobytes()


def test_train_many_deadline_stops_at_an_epoch_boundary():
    X, y = blobs(n=400, d=8, k=3, seed=10)
    configs = [{"hidden": (32,), "epochs": 10**6, "seed": s} for s in range(3)]
    start = time.monotonic()
    results = tunecore.train_many(X, y, configs, threads=2, deadline=start + 0.3)
    assert time.monotonic() - start < 10
    assert [r.status for r in results] == ["stopped"] * 3
    assert all(r.epochs_run < 10**6 and r.diverged_epoch is None for r in results)
    assert results[2].epochs_run == 0  # never started: both threads were busy until the end
    assert results[0].epochs_run >= 1
    # A stopped trial holds exactly the weights of a training that many epochs long.
    alone = tunecore.train(X, y, **dict(configs[0], epochs=results[0].epochs_run))
    assert alone.model.weights[0].tobytes() == results[0].model.weights[0].tobytes()
    past = tunecore.train_many(X, y, configs[:1], deadline=start - 1.0)
    assert past[0].status == "stopped" and past[0].epochs_run == 0
    with pytest.raises(TypeError, match="deadline must be a real number"):
        tunecore.train_many(X, y, configs, deadline="soon")


def test_inputs_of_any_dtype_and_layout_give_the_same_result():
    X, y = blobs(n=40, d=4, k=3, seed=6)
    Xi = np.round(X * 4).astype(np.int16)
    base = tunecore.train(Xi.astype(np.float32), y, epochs=2)
    wide = np.zeros((40, 8), np.int64)
    wide[:, ::2] = Xi
    for variant, labels in [
        (Xi, y), (np.asfortranarray(Xi), y.astype(np.float64)), (wide[:, ::2], y.astype(np.uint8)),
        (Xi.astype(np.float64).tolist(), list(y)),
    ]:  # fmt: skip
        r = tunecore.train(variant, labels, epochs=2)
        assert r.model.weights[0].tobytes() == base.model.weights[0].tobytes()


def test_result_fields_and_model_predictions():
    X, y = blobs(n=60, d=4, k=3, seed=8)
    r = tunecore.train(X, y, hidden=[10, 5], epochs=3, seed=None, X_val=X, y_val=y)
    assert r.epochs_run == 3 and r.status == "ok" and r.diverged_epoch is None
    assert set(r.history) == {"train_loss", "val_loss", "val_accuracy"}
    assert all(len(s) == 3 for s in r.history.values())
    assert r.config["hidden"] == (10, 5) and r.config["n_classes"] == 3
    assert isinstance(r.config["seed"], int) and r.seconds > 0
    assert [w.shape for w in r.model.weights] == [(4, 10), (10, 5), (5, 3)]
    proba = r.model.predict_proba(X)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-12)
    np.testing.assert_array_equal(proba.argmax(axis=1), r.model.predict(X))
    assert r.model.score(X, y) == pytest.approx(r.history["val_accuracy"][-1])
    # Validation loss from the core equals the loss of the model's own probabilities.
    ce = -np.mean(np.log(proba[np.arange(60), y]))
    assert r.history["val_loss"][-1] == pytest.approx(ce, rel=1e-4)


def test_regression_and_binary_models():
    rng = np.random.default_rng(9)
    X = rng.normal(size=(200, 3))
    y = X @ np.array([1.0, -1.0, 0.5])
    r = tunecore.train(X, y, loss="mse", hidden=(16,), lr=1e-2, epochs=30, X_val=X, y_val=y)
    assert r.model.predict(X).shape == (200,)
    assert r.model.score(X, y) == pytest.approx(r.history["val_r2"][-1], abs=1e-5)
    assert r.model.score(X, y) > 0.95
    with pytest.raises(ValueError, match="predict_proba needs a classification model"):
        r.model.predict_proba(X)
    b = tunecore.train(X, y > 0, loss="binary_cross_entropy", lr=1e-2, epochs=20)
    assert b.model.predict_proba(X).shape == (200, 2)
    assert b.model.score(X, y > 0) > 0.9
    assert b.config["n_classes"] == 2


def test_several_outputs_for_mse_and_binary_cross_entropy():
    rng = np.random.default_rng(14)
    X = rng.normal(size=(300, 4))
    Y = np.column_stack([X[:, 0] - X[:, 1], 2 * X[:, 2], 0.5 * X[:, 3] + 3.0])
    X_val = np.asfortranarray(X[::2])  # Fortran order, then every other row
    r = tunecore.train(
        X, Y, loss="mse", hidden=(32,), lr=1e-2, epochs=40, X_val=X_val, y_val=Y[::2]
    )
    assert r.model.predict(X).shape == (300, 3)
    assert r.model.score(X_val, Y[::2]) == pytest.approx(r.history["val_r2"][-1], abs=1e-5)
    assert r.model.score(X, Y) > 0.9
    labels = (Y[:, :2] > 0).astype(np.float32)
    b = tunecore.train(X, labels, loss="binary_cross_entropy", lr=1e-2, epochs=20)
    assert b.model.predict(X).shape == (300, 2)
    assert b.model.predict_proba(X).shape == (300, 2)
    assert b.model.score(X, labels) == pytest.approx(np.mean(b.model.predict(X) == labels))
    assert b.model.score(X, labels) > 0.9


def test_threads_settings():
    before = training._num_threads
    try:
        training._num_threads = None
        if "OMP_NUM_THREADS" not in os.environ:
            assert training._training_threads() == 1  # train() alone: one thread by default
        tunecore.set_num_threads(3)
        assert tunecore.get_num_threads() == training._training_threads() == 3
        tunecore.set_num_threads(1)
        assert tunecore.get_num_threads() == 1
        with pytest.raises(ValueError, match="n must be >= 1"):
            tunecore.set_num_threads(0)
        with pytest.raises(TypeError, match="n must be an int"):
            tunecore.set_num_threads(1.5)
    finally:
        training._num_threads = before  # also "never set", which train() tells apart


def test_omp_num_threads_sets_the_default():
    code = (
        "import tunecore; print(tunecore.get_num_threads(), tunecore.training._training_threads())"
    )
    env = child_env(OMP_NUM_THREADS="3")
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=False
    )
    assert out.stdout.split() == ["3", "3"], out.stderr


# ------------------------------------------------------------------------------------------
# Bad input

X_OK, Y_OK = blobs(n=20, d=3, k=3, seed=0)


@pytest.mark.parametrize(
    "X,y,options,error,match",
    [
        (X_OK[0], Y_OK, {}, ValueError, "X must be a 2-D array"),
        (X_OK, Y_OK[:-1], {}, ValueError, "y must have one entry per row of X"),
        (np.where(X_OK > 1, np.nan, X_OK), Y_OK, {}, ValueError, "X must not contain NaN"),
        (np.where(X_OK > 1, np.inf, X_OK), Y_OK, {}, ValueError, "X must not contain NaN or inf"),
        (X_OK * 1e300, Y_OK, {}, ValueError, "X holds values beyond float32"),
        (X_OK, Y_OK + 0.5, {}, ValueError, "y must hold integer class labels"),
        (X_OK, Y_OK - 1, {}, ValueError, r"y must hold class labels in \[0, n_classes\)"),
        (X_OK, Y_OK, {"n_classes": 2}, ValueError, r"class labels in \[0, 2\)"),
        (X_OK, Y_OK * 10**6, {}, ValueError, "relabel the classes 0..k-1 or pass n_classes"),
        (X_OK, np.where(Y_OK > 1, np.nan, Y_OK), {}, ValueError, "y must not contain NaN"),
        (X_OK[:0], Y_OK[:0], {}, ValueError, "X must have at least one row"),
        (X_OK[:, :0], Y_OK, {}, ValueError, "X must have at least one row and one column"),
        (X_OK, Y_OK, {"batch_size": 0}, ValueError, "batch_size must be >= 1, got 0"),
        (X_OK, Y_OK, {"lr": 0.0}, ValueError, "lr must be a finite number > 0"),
        (X_OK, Y_OK, {"lr": -1e-3}, ValueError, "lr must be a finite number > 0"),
        (X_OK, Y_OK, {"lr": float("nan")}, ValueError, "lr must be a finite number > 0"),
        (X_OK, Y_OK, {"lr": float("inf")}, ValueError, "lr must be a finite number > 0"),
        (X_OK, Y_OK, {"beta1": 1.0}, ValueError, r"beta1 must be in \[0, 1\)"),
        (X_OK, Y_OK, {"beta2": -0.1}, ValueError, r"beta2 must be in \[0, 1\)"),
        (X_OK, Y_OK, {"momentum": 1.5}, ValueError, r"momentum must be in \[0, 1\)"),
        (
            X_OK,
            Y_OK,
            {"activation": "gelu"},
            ValueError,
            "activation must be one of relu, leaky_relu",
        ),
        (X_OK, Y_OK, {"loss": "hinge"}, ValueError, "loss must be one of cross_entropy"),
        (X_OK, Y_OK, {"optimizer": "lbfgs"}, ValueError, "optimizer must be one of sgd, momentum"),
        (X_OK, Y_OK, {"lr_decay": "linear"}, ValueError, "lr_decay must be one of none"),
        (X_OK, Y_OK, {"hidden": (4, 0)}, ValueError, "hidden widths must be >= 1"),
        (X_OK, Y_OK, {"hidden": -3}, ValueError, "hidden widths must be >= 1"),
        (X_OK, Y_OK, {"epochs": 0}, ValueError, "epochs must be >= 1"),
        (X_OK, Y_OK, {"lr_decay": "exponential", "decay_rate": 0.0}, ValueError, "decay_rate"),
        (X_OK, Y_OK, {"l2": -1.0}, ValueError, "l2 must be a finite number >= 0"),
        (X_OK, Y_OK, {"loss": "binary_cross_entropy"}, ValueError, r"targets in \[0, 1\]"),
        (X_OK, Y_OK, {"loss": "mse", "n_classes": 3}, ValueError, "n_classes must be None"),
        (X_OK, Y_OK, {"X_val": X_OK}, ValueError, "X_val and y_val must be given together"),
        (X_OK, Y_OK, {"X_val": X_OK[:, :2], "y_val": Y_OK}, ValueError, "X_val must have as many"),
        (X_OK, Y_OK, {"lr": "0.1"}, TypeError, "lr must be a real number, got '0.1'"),
        (X_OK, Y_OK, {"lr": True}, TypeError, "lr must be a real number, got True"),
        (X_OK, Y_OK, {"batch_size": 32.0}, TypeError, "batch_size must be an int"),
        (X_OK, Y_OK, {"epochs": True}, TypeError, "epochs must be an int"),
        (X_OK, Y_OK, {"hidden": "64"}, TypeError, "hidden must be an int or a sequence"),
        (X_OK, Y_OK, {"activation": 1}, TypeError, "activation must be a str"),
        (X_OK, Y_OK, {"batch_norm": 1}, TypeError, "batch_norm must be a bool"),
        (X_OK, Y_OK, {"seed": 1.5}, TypeError, "seed must be an int or None"),
        (X_OK, Y_OK, {"threads": 0}, ValueError, "threads must be >= 1"),
        (X_OK.astype(str), Y_OK, {}, TypeError, "X must hold numbers"),
        (X_OK + 1j, Y_OK, {}, TypeError, "X must hold numbers"),
    ],
)
def test_bad_input_raises_naming_the_argument(X, y, options, error, match):
    with pytest.raises(error, match=match):
        tunecore.train(X, y, **{"epochs": 1, **options})


def test_train_many_checks_every_config_first():
    X, y = blobs(n=20, d=3, k=3)
    with pytest.raises(ValueError, match=r"configs\[2\]: lr must be a finite number > 0"):
        tunecore.train_many(X, y, [{}, {"epochs": 1}, {"lr": -1.0}])
    with pytest.raises(ValueError, match=r"configs\[0\]: unknown option 'learning_rate'"):
        tunecore.train_many(X, y, [{"learning_rate": 0.1}])
    with pytest.raises(TypeError, match=r"configs\[1\]: beta1 must be a real number"):
        tunecore.train_many(X, y, [{}, {"beta1": "x"}])
    with pytest.raises(TypeError, match=r"configs\[1\] must be a dict"):
        tunecore.train_many(X, y, [{}, 3])
    with pytest.raises(TypeError, match="configs must be a list of dicts"):
        tunecore.train_many(X, y, {"lr": 0.1})
    with pytest.raises(ValueError, match=r"configs\[1\]: n_classes must be None"):
        tunecore.train_many(X, y, [{}, {"loss": "mse", "n_classes": 3}])
    assert tunecore.train_many(X, y, []) == []


# ------------------------------------------------------------------------------------------
# Random input never crashes


hypothesis = pytest.importorskip("hypothesis")
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

DTYPES = [np.float16, np.float32, np.float64, np.int8, np.int64, np.uint8, np.bool_]
VALUES = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True, width=64),
    st.integers(-(2**40), 2**40),
)


@st.composite
def random_training(draw):
    n = draw(st.integers(0, 7))
    d = draw(st.integers(0, 4))
    dtype = draw(st.sampled_from(DTYPES))
    values = draw(st.lists(VALUES, min_size=n * d, max_size=n * d))
    with np.errstate(all="ignore"):
        X = np.array(values, dtype=np.float64).reshape(n, d)
        X = X.astype(dtype) if dtype is not np.float64 else X
    if draw(st.booleans()) and X.ndim == 2 and d > 1:
        X = np.asfortranarray(X)
    ny = draw(st.sampled_from([n, max(n - 1, 0), n + 1]))
    y = np.array(
        draw(st.lists(st.one_of(st.integers(-2, 5), st.floats(-3, 3)), min_size=ny, max_size=ny))
    )
    options = draw(
        st.fixed_dictionaries(
            {},
            optional={
                "hidden": st.one_of(st.integers(-1, 5), st.lists(st.integers(0, 5), max_size=2)),
                "activation": st.sampled_from(["relu", "tanh", "sigmoid", "bogus"]),
                "loss": st.sampled_from(["cross_entropy", "binary_cross_entropy", "mse", "x"]),
                "optimizer": st.sampled_from(["sgd", "momentum", "rmsprop", "adam", "y"]),
                "lr": st.one_of(st.floats(allow_nan=True), st.just("a"), st.booleans()),
                "batch_size": st.one_of(st.integers(-1, 9), st.floats(0, 5)),
                "epochs": st.integers(-1, 2),
                "beta1": st.floats(-1, 2),
                "batch_norm": st.one_of(st.booleans(), st.integers(0, 1)),
                "l2": st.floats(allow_nan=True),
                "lr_decay": st.sampled_from(["none", "cosine", "step", "z"]),
                "decay_rate": st.floats(-1, 2),
                "n_classes": st.one_of(st.none(), st.integers(-1, 7)),
            },
        )
    )
    return X, y, options, draw(st.booleans())


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(random_training())
def test_random_input_gives_a_result_or_a_clean_error(case):
    X, y, options, many = case
    try:
        if many:
            results = tunecore.train_many(X, y, [options, {"epochs": 1}], threads=2)
        else:
            results = [tunecore.train(X, y, **options)]
    except (ValueError, TypeError) as exc:
        assert str(exc)
        return
    for result in results:
        assert result.status in ("ok", "diverged")
        assert len(result.history["train_loss"]) == result.epochs_run >= 1


# ------------------------------------------------------------------------------------------
# Ctrl-C

CHILD = textwrap.dedent(
    """
    import sys, time
    import numpy as np
    import tunecore
    rng = np.random.default_rng(0)
    X = rng.normal(size=(20000, 256)).astype(np.float32)
    y = rng.integers(0, 10, size=20000)
    print("ready", flush=True)
    try:
        if sys.argv[1] == "train":
            tunecore.train(X, y, hidden=(512, 512), batch_size=2048, epochs=10000)
        else:
            tunecore.train_many(X, y, [dict(hidden=(256,), epochs=10000)] * 4, threads=2)
    except KeyboardInterrupt:
        print("interrupted", time.time(), flush=True)
        # The core is usable again afterwards.
        r = tunecore.train(X[:50], y[:50], epochs=1)
        print("after", r.status, flush=True)
    """
)


def test_training_off_the_main_thread_gives_the_same_result():
    import threading

    X, y = blobs(n=60, d=4, k=3, seed=15)
    here = tunecore.train(X, y, epochs=3, hidden=(8,))
    out = {}
    worker = threading.Thread(
        target=lambda: out.update(r=tunecore.train(X, y, epochs=3, hidden=(8,)))
    )
    worker.start()
    worker.join()
    assert out["r"].model.weights[0].tobytes() == here.model.weights[0].tobytes()


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX wakeup fd")
def test_training_restores_the_signal_wakeup_fd():
    import signal as signal_module

    read_end, write_end = os.pipe()
    os.set_blocking(write_end, False)
    previous = signal_module.set_wakeup_fd(write_end)
    try:
        X, y = blobs(n=30, d=3, k=2, seed=16)
        tunecore.train(X, y, epochs=1)
        tunecore.train_many(X, y, [{"epochs": 1}] * 2, threads=2)
        assert signal_module.set_wakeup_fd(previous) == write_end
    finally:
        os.close(read_end)
        os.close(write_end)


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")
def test_other_signals_reach_their_handler_and_do_not_stop_training():
    import signal as signal_module
    import threading

    seen = []
    old_handler = signal_module.signal(signal_module.SIGUSR1, lambda s, f: seen.append(s))
    read_end, write_end = os.pipe()
    os.set_blocking(read_end, False)
    os.set_blocking(write_end, False)
    previous = signal_module.set_wakeup_fd(write_end)
    try:
        rng = np.random.default_rng(17)
        X = rng.normal(size=(4000, 64)).astype(np.float32)
        y = rng.integers(0, 5, size=4000)
        sent = []

        def send():
            sent.append(time.monotonic())
            os.kill(os.getpid(), signal_module.SIGUSR1)

        timer = threading.Timer(0.05, send)
        timer.start()
        result = tunecore.train(X, y, hidden=(256, 256), epochs=12)
        finished = time.monotonic()
        timer.join()
        assert result.status == "ok" and result.epochs_run == 12
        if sent[0] >= finished:
            pytest.skip("the training ended before the signal was sent")
        assert seen == [signal_module.SIGUSR1]
        # The byte Python wrote for SIGUSR1 went on to the wakeup fd that was set before.
        assert os.read(read_end, 16) == bytes([signal_module.SIGUSR1])
    finally:
        signal_module.set_wakeup_fd(previous)
        signal_module.signal(signal_module.SIGUSR1, old_handler)
        os.close(read_end)
        os.close(write_end)


@pytest.mark.skipif(sys.platform == "win32", reason="SIGINT to a child process is POSIX only")
@pytest.mark.parametrize("entry", ["train", "train_many"])
def test_ctrl_c_raises_keyboard_interrupt_quickly(entry):
    env = child_env()
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, entry], stdout=subprocess.PIPE, text=True, env=env
    )
    try:
        assert child.stdout.readline().strip() == "ready"
        time.sleep(0.6)  # well inside the training
        sent = time.time()
        child.send_signal(signal.SIGINT)
        line = child.stdout.readline().split()
        assert line and line[0] == "interrupted"
        assert float(line[1]) - sent < 0.5
        assert child.stdout.readline().strip() == "after ok"
        assert child.wait(timeout=30) == 0
    finally:
        if child.poll() is None:
            child.kill()


def test_finiteness_check_survives_a_sum_that_overflows():
    # The check sums first; a sum that overflows from large finite values must not reject X.
    X = np.full((4, 3), 3e38, dtype=np.float32)
    assert training._all_finite(X)
    for bad in (np.inf, -np.inf, np.nan):
        Y = X.copy()
        Y[2, 1] = bad
        assert not training._all_finite(Y)
    Z = np.array([[1e38, -np.inf], [np.inf, 0.0]], dtype=np.float32)  # sum is NaN
    assert not training._all_finite(Z)
    result = tunecore.train(X, [0, 1, 0, 1], hidden=(), epochs=1, optimizer="sgd", lr=1e-40)
    assert result.epochs_run == 1


def test_train_many_shares_one_copy_of_the_data():
    # Peak memory of a fresh process: the trials (two at a time, each with its own small
    # workspace) must add far less than one more copy of X; a copy per trial would add 8.
    code = textwrap.dedent(
        """
        import resource
        import numpy as np
        import tunecore

        def peak_mb():
            return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

        rng = np.random.default_rng(0)
        X = rng.normal(size=(16000, 512)).astype(np.float32)
        y = rng.integers(0, 3, size=16000)
        tunecore.train(X[:50], y[:50], hidden=(8,), epochs=1)
        before = peak_mb()
        configs = [{"hidden": (8,), "batch_size": 256, "epochs": 1, "seed": s} for s in range(8)]
        results = tunecore.train_many(X, y, configs, X_val=X[:2000], y_val=y[:2000], threads=2)
        assert all(r.status == "ok" for r in results)
        print(peak_mb() - before, X.nbytes / 2**20)
        """
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        env=child_env(),
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert out.returncode == 0, out.stderr
    growth, data_mb = (float(v) for v in out.stdout.split())
    assert data_mb > 30
    assert growth < 0.25 * data_mb, (growth, data_mb)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_core_finiteness_test_agrees_with_numpy(dtype):
    # The core reads exponent bits; NumPy's isfinite is the reference, on arrays of every
    # length around a vector's width with one special value at every position.
    info = np.finfo(dtype)
    specials = [np.nan, np.inf, -np.inf, info.max, -info.max, info.tiny / 4, -0.0, 0.0]
    rng = np.random.default_rng(9)
    for n in [1, 2, 7, 15, 16, 17, 33, 100]:
        for value in specials:
            for position in range(n):
                a = rng.normal(size=n).astype(dtype)
                a[position] = value
                assert _core._all_finite(a) == bool(np.isfinite(a).all()), (n, value, position)
    with pytest.raises(TypeError, match="C-contiguous"):
        _core._all_finite(np.zeros((4, 4), dtype)[:, ::2])
    with pytest.raises(TypeError, match="float32 or float64"):
        _core._all_finite(np.zeros(4, np.int32))


def test_every_buffer_of_a_trial_starts_on_a_cache_line():
    # Rows of 64 floats that straddle cache lines made the same training up to 20% slower
    # in one process than in the next; every buffer is aligned to 64 bytes, whatever its size.
    for hidden, features, capacity in [((64,), 64, 32), ((7, 3), 5, 1), ((130, 33), 29, 17)]:
        config = _core_config(_resolve_config({"hidden": hidden}), 3)
        offsets = _core._workspace_alignments(config, features, capacity)
        assert len(offsets) >= 6
        assert offsets == [0] * len(offsets)


@pytest.mark.skipif(
    os.environ.get("TUNECORE_SANITIZED") == "1",
    reason="AddressSanitizer's operator new takes the place of the core's counting one",
)
def test_no_heap_allocation_inside_a_training_step():
    # The core's operator new counts calls on a thread while its audit is open; train() opens
    # it around every step (gather, forward, loss, backward, optimizer) when audits are on.
    config = _core_config(_resolve_config({"hidden": (64, 32)}), 3)
    # Positive control: building a workspace allocates, and the counter sees it.
    assert _core._workspace_allocations(config, 20, 32) >= 10
    if not _core._set_step_audit(True):
        pytest.skip("this build cannot count allocations")
    rng = np.random.default_rng(14)
    X = rng.normal(size=(300, 20)).astype(np.float32)
    y = rng.integers(0, 3, size=300).astype(np.int32)
    cases = [
        ({"hidden": (64, 32)}, 1),
        ({"hidden": (40,), "batch_norm": True, "optimizer": "rmsprop", "l2": 0.01}, 1),
        # 300 x 600 x 100 multiply-adds: the second layer's products are split between threads.
        ({"hidden": (600, 100), "batch_size": 300, "optimizer": "momentum"}, 2),
    ]
    try:
        for options, threads in cases:
            core = _core_config(_resolve_config(dict(options, epochs=2)), 3)
            raw = _core.train(X, y, None, core, X[:50], y[:50], None, threads)
            assert raw["status"] == "ok"
            assert raw["step_allocations"] == 0, options
    finally:
        _core._set_step_audit(False)
    raw = _core.train(X, y, None, config, None, None, None, 1)
    assert raw["step_allocations"] == -1  # not counted when the audit is off
