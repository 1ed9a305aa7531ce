"""Gradients and losses of the C++ core against central finite differences.

The finite differences run on a float64 build of the core's own code: the network, losses and
batch norm are C++ templates instantiated for float and double, and the private binding
``_core._loss_grad64`` runs the double instantiation (with the reference matrix product). So
the check is of the very code the trainer runs, in float64, where central differences are
accurate to about 1e-9. The float32 instantiation (packed kernels, on every micro-kernel this
CPU supports) is then compared with the float64 gradient at float32 tolerance.
"""

from __future__ import annotations

import itertools
import zlib

import numpy as np
import pytest

from tunecore import _core
from tunecore.training import ACTIVATIONS, LOSSES, _core_config, _resolve_config

N_ROWS = 6
N_FEATURES = 4
N_OUTPUTS = 3


def core_config(n_outputs: int = N_OUTPUTS, **options) -> dict:
    return _core_config(_resolve_config(options), n_outputs)


def random_params(config: dict, rng: np.random.Generator) -> dict:
    """Initial parameters with every bias, gamma and beta moved off its default."""
    params = _core._init_params(config, N_FEATURES)
    out = {}
    for key, entries in params.items():
        out[key] = []
        for entry in entries:
            if entry is None:
                out[key].append(None)
                continue
            a = entry.astype(np.float64)
            if key in ("biases", "beta"):
                a = a + rng.normal(scale=0.3, size=a.shape)
            elif key == "gamma":
                a = a + rng.uniform(-0.4, 0.4, size=a.shape)
            elif key == "weights":
                a = a + rng.normal(scale=0.05, size=a.shape)
            out[key].append(a)
    return out


def random_data(loss: str, rng: np.random.Generator, rows: int = N_ROWS):
    X = rng.normal(size=(rows, N_FEATURES))
    if loss == "cross_entropy":
        return X, rng.integers(0, N_OUTPUTS, size=rows).astype(np.int32), None
    if loss == "binary_cross_entropy":
        return X, None, rng.uniform(0, 1, size=(rows, N_OUTPUTS))
    return X, None, rng.normal(size=(rows, N_OUTPUTS))


def numeric_gradient(config, params, X, labels, targets, h=1e-6) -> dict:
    grads = {}
    for key in ("weights", "biases", "gamma", "beta"):
        grads[key] = []
        for entry in params[key]:
            if entry is None:
                grads[key].append(None)
                continue
            g = np.zeros_like(entry)
            for idx in np.ndindex(entry.shape):
                old = entry[idx]
                entry[idx] = old + h
                up = _core._loss_grad64(config, params, X, labels, targets)[0]
                entry[idx] = old - h
                down = _core._loss_grad64(config, params, X, labels, targets)[0]
                entry[idx] = old
                g[idx] = (up - down) / (2 * h)
            grads[key].append(g)
    return grads


def assert_grads_close(actual: dict, expected: dict, rtol: float, atol: float) -> None:
    for key in ("weights", "biases", "gamma", "beta"):
        assert len(actual[key]) == len(expected[key])
        for layer, (a, e) in enumerate(zip(actual[key], expected[key])):
            assert (a is None) == (e is None), (key, layer)
            if a is not None:
                np.testing.assert_allclose(a, e, rtol=rtol, atol=atol, err_msg=f"{key}[{layer}]")


CASES = [
    (act, loss, bn, hidden)
    for act, loss, bn in itertools.product(ACTIVATIONS, LOSSES, (False, True))
    for hidden in ((5, 4),)
] + [("relu", loss, False, ()) for loss in LOSSES]


@pytest.mark.parametrize("activation,loss,batch_norm,hidden", CASES)
def test_gradient_matches_finite_differences(activation, loss, batch_norm, hidden):
    # A seed from the case's text: hash() of strings changes with every process, which drew
    # new data each run and now and then put a pre-activation within h of leaky_relu's kink.
    rng = np.random.default_rng(zlib.crc32(repr((activation, loss, batch_norm, hidden)).encode()))
    config = core_config(
        hidden=hidden, activation=activation, loss=loss, batch_norm=batch_norm,
        l2=0.05 if batch_norm else 0.0, seed=3,
    )  # fmt: skip
    params = random_params(config, rng)
    X, labels, targets = random_data(loss, rng)
    loss_value, grads, _ = _core._loss_grad64(config, params, X, labels, targets)
    assert np.isfinite(loss_value)
    expected = numeric_gradient(config, params, X, labels, targets)
    assert_grads_close(grads, expected, rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize("kernel", _core._gemm_kernels())
@pytest.mark.parametrize("batch_norm", [False, True])
def test_float32_gradient_matches_float64_on_every_kernel(kernel, batch_norm):
    rng = np.random.default_rng(11)
    # Wide enough layers that every micro-kernel runs full and edge tiles.
    config = _core_config(
        _resolve_config({"hidden": (37, 50), "activation": "tanh", "batch_norm": batch_norm}), 10
    )
    params = _core._init_params(config, 29)
    X = rng.normal(size=(45, 29)).astype(np.float32)
    labels = rng.integers(0, 10, size=45).astype(np.int32)
    params64 = {
        k: [None if a is None else a.astype(np.float64) for a in v] for k, v in params.items()
    }
    loss64, g64, _ = _core._loss_grad64(config, params64, X.astype(np.float64), labels, None)
    before = _core.gemm_kernel()
    try:
        _core._set_gemm_kernel(kernel)
        loss32, g32, _ = _core._loss_grad32(config, params, X, labels, None)
    finally:
        _core._set_gemm_kernel(before)
    assert loss32 == pytest.approx(loss64, rel=1e-5)
    assert_grads_close(g32, g64, rtol=1e-3, atol=2e-6)


def test_loss_values_match_numpy_formulas():
    rng = np.random.default_rng(5)
    for loss in LOSSES:
        config = core_config(hidden=(), loss=loss)
        params = random_params(config, rng)
        X, labels, targets = random_data(loss, rng, rows=9)
        z = X @ params["weights"][0] + params["biases"][0]
        if loss == "cross_entropy":
            lse = np.log(np.exp(z).sum(axis=1))
            expected = np.mean(lse - z[np.arange(9), labels])
        elif loss == "binary_cross_entropy":
            p = 1 / (1 + np.exp(-z))
            expected = np.mean(-(targets * np.log(p) + (1 - targets) * np.log(1 - p)))
        else:
            expected = np.mean((z - targets) ** 2)
        got = _core._loss_grad64(config, params, X, labels, targets)[0]
        assert got == pytest.approx(expected, rel=1e-12)


@pytest.mark.parametrize("loss", LOSSES)
def test_losses_stay_finite_for_logits_of_1e4(loss):
    config = core_config(hidden=(), loss=loss, n_outputs=2)
    params = {
        "weights": [np.eye(2, dtype=np.float32)],
        "biases": [np.zeros(2, np.float32)],
        "gamma": [None], "beta": [None], "running_mean": [None], "running_var": [None],
    }  # fmt: skip
    X = np.array([[1e4, -1e4], [-1e4, 1e4]], np.float32)
    labels = np.array([1, 1], np.int32)
    targets = np.array([[0.0, 1.0], [1.0, 0.0]], np.float32)
    value, grads, _ = _core._loss_grad32(config, params, X, labels, targets)
    expected = {
        "cross_entropy": 1e4,  # row 0 is off by 2e4, row 1 right: mean 1e4
        "binary_cross_entropy": 1e4,  # every element off by 1e4: mean 1e4
        "mse": np.mean((X.astype(np.float64) - targets) ** 2),
    }[loss]
    assert np.isfinite(value)
    assert value == pytest.approx(expected, rel=1e-6)
    assert np.isfinite(grads["weights"][0]).all()


def test_float32_softmax_loss_and_gradient_match_float64_over_a_wide_range_of_logits():
    # The float32 softmax exponentiates with its own vectorized exp (polynomial, clamped at
    # -87); compared here with float64 NumPy where logits spread from 1e-3 to 300, so that
    # some shifted logits fall in every part of its range, the clamp included.
    rng = np.random.default_rng(17)
    k, rows = 10, 64
    config = core_config(hidden=(), loss="cross_entropy", n_outputs=k)
    params = {
        "weights": [np.eye(k, dtype=np.float32)],
        "biases": [np.zeros(k, np.float32)],
        "gamma": [None], "beta": [None], "running_mean": [None], "running_var": [None],
    }  # fmt: skip
    spread = np.logspace(-3, np.log10(300), rows)[:, None]
    X = (rng.normal(size=(rows, k)) * spread).astype(np.float32)
    labels = rng.integers(0, k, size=rows).astype(np.int32)
    value, grads, _ = _core._loss_grad32(config, params, X, labels, None)

    z = X.astype(np.float64)
    shifted = z - z.max(axis=1, keepdims=True)
    p = np.exp(shifted) / np.exp(shifted).sum(axis=1, keepdims=True)
    expected = np.mean(np.log(np.exp(shifted).sum(axis=1)) - shifted[np.arange(rows), labels])
    assert value == pytest.approx(expected, rel=2e-6)
    delta = (p - np.eye(k)[labels]) / rows
    np.testing.assert_allclose(grads["biases"][0], delta.sum(axis=0), rtol=0, atol=1e-7)
    np.testing.assert_allclose(grads["weights"][0], z.T @ delta, rtol=1e-5, atol=1e-6)


def test_batch_norm_running_statistics_use_the_unbiased_variance():
    rng = np.random.default_rng(8)
    config = core_config(hidden=(5,), batch_norm=True, bn_momentum=0.8)
    params = random_params(config, rng)
    X, labels, targets = random_data("cross_entropy", rng, rows=7)
    _, _, after = _core._loss_grad64(config, params, X, labels, targets)
    z = X @ params["weights"][0]
    np.testing.assert_allclose(after["running_mean"][0], 0.2 * z.mean(axis=0), rtol=1e-12)
    np.testing.assert_allclose(
        after["running_var"][0], 0.8 + 0.2 * z.var(axis=0, ddof=1), rtol=1e-12
    )


@pytest.mark.parametrize("kernel", _core._gemm_kernels())
@pytest.mark.parametrize("trans_a,trans_b", list(itertools.product([False, True], repeat=2)))
def test_packed_product_matches_reference(kernel, trans_a, trans_b):
    rng = np.random.default_rng(2)
    # Shapes around the block sizes (MC 144, KC 256, NC 512) and the micro-tiles; small row-major
    # B (k * n <= 8192) is read in place, with and without a partial panel and over two KC blocks.
    shapes = [(1, 1, 1), (7, 33, 5), (97, 17, 257), (13, 2049, 3), (200, 64, 520)]
    for m, n, k in shapes + [(20, 16, 300), (5, 64, 127), (9, 48, 100)]:
        a = rng.normal(size=(k, m) if trans_a else (m, k)).astype(np.float32)
        b = rng.normal(size=(n, k) if trans_b else (k, n)).astype(np.float32)
        expected = (a.T if trans_a else a).astype(np.float64) @ (b.T if trans_b else b)
        got = _core._gemm(a, b, trans_a, trans_b, False, kernel)
        ref = _core._gemm(a, b, trans_a, trans_b, True, "")
        np.testing.assert_allclose(got, expected, rtol=0, atol=2e-6 * k)
        np.testing.assert_allclose(ref, expected, rtol=0, atol=2e-6 * k)


@pytest.mark.skipif(
    not {"avx512", "avx2"} <= set(_core._gemm_kernels()), reason="needs AVX-512 and AVX2"
)
def test_avx512_and_avx2_kernels_agree_bitwise():
    # Every kernel does one fused multiply-add per element and step, in the same order; the
    # AVX-512 path hands narrow products (n <= 16) to its 16 x 16 kernel on that promise.
    rng = np.random.default_rng(13)
    for m, n, k in [(50, 10, 300), (33, 70, 129), (9, 16, 1000), (40, 16, 784)]:
        a = rng.normal(size=(m, k)).astype(np.float32)
        b = rng.normal(size=(k, n)).astype(np.float32)
        wide = _core._gemm(a, b, False, False, False, "avx512")
        narrow = _core._gemm(a, b, False, False, False, "avx2")
        assert wide.tobytes() == narrow.tobytes()


@pytest.mark.skipif(
    not {"avx512", "avx2"} <= set(_core._gemm_kernels()), reason="needs AVX-512 and AVX2"
)
@pytest.mark.parametrize("activation", ["relu", "leaky_relu", "tanh", "sigmoid", "identity"])
def test_epilogues_in_registers_change_no_bit(activation):
    # The AVX-512 kernel finishes full tiles in registers (bias + activation forward, the
    # activation derivative backward); the AVX2 path finishes every tile apart, in plain C++.
    # Products are the same on both, so losses, gradients and eval-mode outputs (batch norm
    # folded into a scale and shift) must match bit for bit.
    rng = np.random.default_rng(21)
    X = rng.normal(size=(50, 29)).astype(np.float32)
    X[:, 0] = 0.0  # exact zeros before the activation: relu's and leaky_relu's kink
    labels = rng.integers(0, 10, size=50).astype(np.int32)
    for batch_norm in (False, True):
        options = {"hidden": (70, 40), "activation": activation, "batch_norm": batch_norm}
        config = _core_config(_resolve_config(options), 10)
        params = _core._init_params(config, 29)
        if batch_norm:
            for key in ("running_mean", "running_var"):
                params[key] = [
                    None if a is None else (a + rng.uniform(0.1, 0.5, a.shape)).astype(np.float32)
                    for a in params[key]
                ]
        out = {}
        before = _core.gemm_kernel()
        try:
            for kernel in ("avx512", "avx2"):
                _core._set_gemm_kernel(kernel)
                loss, grads, _ = _core._loss_grad32(config, params, X, labels, None)
                logits = _core.predict_logits(config, params, X)
                out[kernel] = (loss, grads, logits)
        finally:
            _core._set_gemm_kernel(before)
        (loss_a, grads_a, logits_a), (loss_b, grads_b, logits_b) = out["avx512"], out["avx2"]
        assert loss_a == loss_b
        assert logits_a.tobytes() == logits_b.tobytes()
        for key in grads_a:
            for ga, gb in zip(grads_a[key], grads_b[key]):
                assert (ga is None and gb is None) or ga.tobytes() == gb.tobytes(), key


@pytest.mark.parametrize("kernel", _core._gemm_kernels())
def test_threaded_product_is_bitwise_the_single_threaded_one(kernel):
    rng = np.random.default_rng(6)
    # At least 16 M multiply-adds each, so the product is split.
    shapes = [(130, 600, 257, False), (300, 260, 257, True), (97, 4200, 48, False)]
    for m, n, k, trans_a in shapes:
        a = rng.normal(size=(k, m) if trans_a else (m, k)).astype(np.float32)
        b = rng.normal(size=(k, n)).astype(np.float32)
        one = _core._gemm(a, b, trans_a, False, False, kernel, 1)
        for threads in (2, 3):
            many = _core._gemm(a, b, trans_a, False, False, kernel, threads)
            assert many.tobytes() == one.tobytes()
