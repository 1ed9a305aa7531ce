"""Hardening of the C++ core: inputs at the edges, memory over many trainings, Ctrl-C, fork.

These run in the normal suite and under the sanitizers (``tools/sanitize.sh``); tests that
measure time or resident memory skip themselves there (``TUNECORE_SANITIZED=1``), since
ASan's shadow memory and quarantine make both meaningless.
"""

from __future__ import annotations

import json
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
from tunecore import samplers

SANITIZED = os.environ.get("TUNECORE_SANITIZED") == "1"
POSIX = sys.platform != "win32"


def _run_child(code: str, timeout: float) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True,
        check=False,
        text=True,
        timeout=timeout,
        env=child_env(),
    )


def _blobs(n: int, d: int, k: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    centers = rng.normal(scale=3.0, size=(k, d))
    y = rng.integers(0, k, size=n)
    return centers[y] + rng.normal(size=(n, d)), y


def _same_training(a: tunecore.TrainResult, b: tunecore.TrainResult) -> None:
    assert a.status == b.status
    for key in a.history:
        np.testing.assert_array_equal(a.history[key], b.history[key])
    for wa, wb in zip(a.model.weights, b.model.weights):
        np.testing.assert_array_equal(wa, wb)


# ------------------------------------------------------------------------------------------
# Inputs at the edges: each trains (and matches the plain float32 C-order run bit for bit) or
# fails with a ValueError / TypeError naming the argument.


def test_edge_one_sample_trains_and_predicts_its_class():
    X = np.array([[0.5, -1.0, 2.0]])
    result = tunecore.train(X, [0], hidden=(3,), epochs=3, X_val=X, y_val=[0], seed=1)
    assert result.status == "ok" and result.epochs_run == 3
    assert result.config["n_classes"] == 1
    assert result.model.predict(X).tolist() == [0]
    # One class: the softmax of a single logit is 1, the loss exactly 0.
    np.testing.assert_array_equal(result.history["train_loss"], 0.0)


def test_edge_one_feature_and_widths_of_one():
    rng = np.random.default_rng(2)
    X = rng.normal(size=(60, 1))
    y = (X[:, 0] > 0).astype(int)
    result = tunecore.train(X, y, hidden=(1, 1, 1), activation="tanh", epochs=30, lr=0.05)
    assert result.status == "ok"
    assert [w.shape for w in result.model.weights] == [(1, 1), (1, 1), (1, 1), (1, 2)]
    linear = tunecore.train(X, y, hidden=(), epochs=40, lr=0.05, seed=3)
    assert linear.model.score(X, y) > 0.9  # a threshold on one feature is linear


def test_edge_batch_of_the_whole_set_equals_a_larger_batch():
    X, y = _blobs(50, 4, 3, seed=4)
    whole = tunecore.train(X, y, hidden=(8,), batch_size=50, epochs=5, seed=5)
    larger = tunecore.train(X, y, hidden=(8,), batch_size=10**9, epochs=5, seed=5)
    _same_training(whole, larger)
    assert whole.status == "ok"


def test_edge_hundred_thousand_features_few_samples():
    rng = np.random.default_rng(6)
    X = rng.normal(size=(6, 100_000)).astype(np.float32)
    y = np.array([0, 1, 0, 1, 0, 1])
    X[:, 7] = 5.0 * (2 * y - 1)  # one feature separates the classes
    result = tunecore.train(X, y, hidden=(2,), epochs=5, lr=1e-2, batch_size=3, seed=7)
    assert result.status == "ok"
    assert result.model.weights[0].shape == (100_000, 2)
    assert result.model.predict(X).shape == (6,)
    assert tunecore.train_many(X, y, [{"hidden": (), "epochs": 2}])[0].status == "ok"


@pytest.mark.parametrize(
    "convert",
    [
        pytest.param(lambda a: a.astype(np.float64), id="float64"),
        pytest.param(lambda a: a.astype(">f4"), id="big-endian-float32"),
        pytest.param(lambda a: np.asfortranarray(a), id="fortran"),
        pytest.param(lambda a: a[::-1][::-1], id="negative-strides-view"),
        pytest.param(
            lambda a: np.ascontiguousarray(a[:, ::-1])[:, ::-1], id="negative-col-stride"
        ),
        pytest.param(lambda a: np.repeat(a, 2, axis=1)[:, ::2], id="column-stride-2"),
        pytest.param(lambda a: a.tolist(), id="list"),
    ],
)
def test_edge_layouts_and_dtypes_train_exactly_like_float32_c_order(convert):
    X, y = _blobs(40, 5, 3, seed=8)
    X32 = np.ascontiguousarray(X, dtype=np.float32)
    reference = tunecore.train(X32, y, hidden=(6,), epochs=3, seed=9)
    converted = convert(X32)
    result = tunecore.train(converted, y, hidden=(6,), epochs=3, seed=9)
    _same_training(reference, result)
    np.testing.assert_array_equal(result.model.predict(converted), reference.model.predict(X32))
    many = tunecore.train_many(converted, y, [{"hidden": (6,), "epochs": 3, "seed": 9}])
    _same_training(reference, many[0])


def test_edge_reversed_rows_are_read_in_their_logical_order():
    X, y = _blobs(30, 3, 2, seed=10)
    X_rev = np.ascontiguousarray(X[::-1], dtype=np.float32)
    y_rev = y[::-1].copy()
    reference = tunecore.train(X_rev, y_rev, hidden=(4,), epochs=2, seed=11)
    view = X[::-1]  # negative row stride, float64
    assert view.strides[0] < 0
    _same_training(reference, tunecore.train(view, y[::-1], hidden=(4,), epochs=2, seed=11))


@pytest.mark.parametrize("dtype", [np.int8, np.uint8, np.int64, np.float16, np.bool_])
def test_edge_integer_and_small_dtypes_train_like_their_float32_values(dtype):
    rng = np.random.default_rng(12)
    X = rng.integers(-3, 4, size=(40, 4)).astype(dtype)
    y = rng.integers(0, 2, size=40).astype(np.int8)
    reference = tunecore.train(X.astype(np.float32), y.astype(np.int64), hidden=(5,), epochs=2)
    _same_training(reference, tunecore.train(X, y, hidden=(5,), epochs=2))


@pytest.mark.parametrize(
    ("X", "error", "match"),
    [
        (np.float32(1.0), ValueError, r"X must be a 2-D array .* got shape \(\)"),
        (np.zeros((4, 3, 2)), ValueError, r"X must be a 2-D array .* got shape \(4, 3, 2\)"),
        (np.zeros(4), ValueError, r"X must be a 2-D array .* got shape \(4,\)"),
        (np.zeros((0, 3)), ValueError, r"X must have at least one row and one column"),
        (np.zeros((4, 0)), ValueError, r"X must have at least one row and one column"),
        (np.array([[1, 2], [3, 4]], dtype=object), TypeError, r"X must hold numbers"),
        (np.array([["a", "b"]] * 4), TypeError, r"X must hold numbers"),
        (np.zeros((4, 2), dtype=complex), TypeError, r"X must hold numbers"),
        ([[1.0, 2.0], [3.0]], ValueError, r"X must be a numeric array"),
        (np.full((4, 2), np.nan), ValueError, r"X must not contain NaN or inf"),
        (np.full((4, 2), 1e300), ValueError, r"X holds values beyond float32's range"),
        ("abc", TypeError, r"X must hold numbers"),
        (None, TypeError, r"X must hold numbers"),
    ],
)
def test_edge_bad_features_raise_naming_x(X, error, match):
    with pytest.raises(error, match=match):
        tunecore.train(X, [0, 1, 0, 1], epochs=1)
    with pytest.raises(error, match=match):
        tunecore.train_many(X, [0, 1, 0, 1], [{"epochs": 1}])


@pytest.mark.parametrize(
    ("y", "error", "match"),
    [
        (np.zeros((4, 2, 1)), ValueError, r"y must be 1-D \(or 2-D"),
        (np.zeros(3), ValueError, r"y must have one entry per row of X \(4\), got 3"),
        (np.array([0, 1, -1, 0]), ValueError, r"y must hold class labels in \[0, n_classes\)"),
        (np.array([0.0, 0.5, 1.0, 0.0]), ValueError, r"y must hold integer class labels"),
        (np.array([0, 1, np.nan, 0]), ValueError, r"y must not contain NaN or inf"),
        (np.array(["a", "b", "a", "b"]), TypeError, r"y must hold numbers"),
        (np.array([0, 1, 2**40, 0]), ValueError, r"y holds a class label too large"),
        (np.array([0, 1, 5000, 0]), ValueError, r"y's largest class label 5000"),
        (np.zeros((4, 2)), ValueError, r"y must be 1-D class labels for cross_entropy"),
    ],
)
def test_edge_bad_labels_raise_naming_y(y, error, match):
    X = np.ones((4, 2))
    with pytest.raises(error, match=match):
        tunecore.train(X, y, epochs=1)


def test_edge_validation_data_that_does_not_fit_raises_naming_it():
    X, y = _blobs(20, 3, 2, seed=13)
    with pytest.raises(ValueError, match=r"X_val must have as many columns as X \(3\), got 2"):
        tunecore.train(X, y, X_val=X[:, :2], y_val=y)
    with pytest.raises(ValueError, match=r"X_val and y_val must be given together"):
        tunecore.train(X, y, X_val=X)
    with pytest.raises(
        ValueError, match=r"y_val must hold class labels in \[0, 2\) \(n_classes=2\)"
    ):
        tunecore.train(X, y, n_classes=2, X_val=X, y_val=y + 1)


def test_edge_predict_checks_columns_and_reads_any_layout():
    X, y = _blobs(30, 4, 3, seed=14)
    model = tunecore.train(X, y, hidden=(5,), epochs=2).model
    expected = model.predict(np.ascontiguousarray(X, dtype=np.float32))
    np.testing.assert_array_equal(model.predict(np.asfortranarray(X)), expected)
    np.testing.assert_array_equal(model.predict(X[::-1])[::-1], expected)
    with pytest.raises(ValueError, match=r"X must have 4 columns like the training data, got 3"):
        model.predict(X[:, :3])
    with pytest.raises(ValueError, match=r"X must be a 2-D array"):
        model.predict(X[0])


@pytest.mark.filterwarnings("ignore:The balance properties of Sobol")
def test_edge_samplers_at_their_limits():
    for engine in (
        samplers.Random(1, seed=0),
        samplers.Sobol(1, seed=0),
        samplers.Halton(1, seed=0),
        samplers.LatinHypercube(1, seed=0),
    ):
        assert engine.random(0).shape == (0, 1)
        points = engine.random(3)
        assert points.shape == (3, 1) and ((points >= 0) & (points < 1)).all()
    wide = samplers.Halton(1000, seed=1).random(2)
    assert wide.shape == (2, 1000) and ((wide >= 0) & (wide < 1)).all()
    with pytest.raises(ValueError, match=r"d must be"):
        samplers.Sobol(10**6)
    with pytest.raises(ValueError, match=r"d must be"):
        samplers.Random(0)


# ------------------------------------------------------------------------------------------
# Memory: 1,000 trainings and 1,000 sampler draws in one process leave resident memory flat.

MEMORY_CHILD = """
import json, resource, sys
import numpy as np
import tunecore
from tunecore import samplers

def rss_mb():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * resource.getpagesize() / 2**20

rng = np.random.default_rng(0)
# float64 data: every call converts a 64 KB float32 copy, every model holds 2,600 weights, so
# a leak of either per training would show as tens of megabytes over 1,000 of them.
X = rng.normal(size=(512, 32)); y = (X[:, 0] > 0).astype(int)
Xv = X[:64]; yv = y[:64]
configs = [{"hidden": (8, 4), "epochs": 1, "seed": s, "batch_norm": s % 2 == 0} for s in range(4)]
engines = [samplers.Random(6, seed=1), samplers.Sobol(6, seed=1), samplers.Halton(6, seed=1),
           samplers.LatinHypercube(6, seed=1)]

def one_round(i):
    r = tunecore.train(X, y, hidden=(64,), epochs=1, batch_size=128, seed=i, X_val=Xv, y_val=yv)
    r.model.predict(Xv)
    if i % 10 == 0:
        tunecore.train_many(X, y, configs, X_val=Xv, y_val=yv, threads=2)
    engines[i % 4].random(64)
    try:
        tunecore.train(X, y, lr=-1.0)
    except ValueError:
        pass

for i in range(200):  # warm-up: allocator pools, OpenMP threads, caches
    one_round(i)
before = rss_mb()
for i in range(1000):
    one_round(i)
after = rss_mb()
print(json.dumps({"before_mb": before, "after_mb": after, "growth_mb": after - before}))
"""

MEMORY_BOUND_MB = 10.0


@pytest.mark.skipif(SANITIZED, reason="ASan's quarantine holds freed memory on purpose")
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc/self/statm")
def test_memory_thousand_trainings_and_draws_leave_rss_flat():
    done = _run_child(MEMORY_CHILD, timeout=240)
    assert done.returncode == 0, done.stderr
    numbers = json.loads(done.stdout.strip().splitlines()[-1])
    print(
        f"resident memory growth over 1000 rounds: {numbers['growth_mb']:.2f} MB", file=sys.stderr
    )
    assert numbers["growth_mb"] < MEMORY_BOUND_MB, numbers


# ------------------------------------------------------------------------------------------
# Ctrl-C during train and train_many, at random moments.

CTRL_C_CHILD = """
import sys, time
import numpy as np
import tunecore
rng = np.random.default_rng(0)
X = rng.normal(size=(3000, 64)).astype(np.float32); y = rng.integers(0, 5, size=3000)
entry = sys.argv[1]
print("ready", flush=True)
try:
    if entry == "train":
        tunecore.train(X, y, hidden=(256, 256), epochs=10_000)
    else:
        tunecore.train_many(X, y, [{"hidden": (128, 128), "epochs": 10_000, "seed": s}
                                   for s in range(4)], threads=2)
    print("finished", flush=True)
except KeyboardInterrupt:
    print("interrupted", time.time(), flush=True)
"""


@pytest.mark.skipif(SANITIZED, reason="times the core")
@pytest.mark.skipif(not POSIX, reason="SIGINT to a child process is POSIX only")
@pytest.mark.parametrize("entry", ["train", "train_many"])
def test_ctrl_c_at_random_moments_raises_keyboard_interrupt_within_a_second(entry):
    rng = np.random.default_rng(15)
    latencies = []
    for delay in rng.uniform(0.05, 0.5, size=3):
        child = subprocess.Popen(
            [sys.executable, "-c", CTRL_C_CHILD, entry],
            stdout=subprocess.PIPE,
            text=True,
            env=child_env(),
        )
        try:
            assert child.stdout.readline().strip() == "ready"
            time.sleep(delay)
            sent = time.time()
            child.send_signal(signal.SIGINT)
            words = child.stdout.readline().split()
            assert words and words[0] == "interrupted", words
            latencies.append(float(words[1]) - sent)
            assert child.wait(timeout=30) == 0
        finally:
            if child.poll() is None:
                child.kill()
                child.wait()
    print(f"{entry} Ctrl-C latencies (s): {[round(x, 4) for x in latencies]}", file=sys.stderr)
    assert max(latencies) < 1.0


# ------------------------------------------------------------------------------------------
# fork() after the core ran OpenMP threads.

FORK_CHILD = """
import multiprocessing as mp, sys
import numpy as np
import tunecore
from tunecore import samplers

rng = np.random.default_rng(0)
X = rng.normal(size=(300, 16)); y = (X[:, 0] > 0).astype(int)
big = rng.normal(size=(600, 512)); big_y = rng.integers(0, 3, size=600)
configs = [{"hidden": (16,), "epochs": 2, "seed": s} for s in range(4)]

def work():
    many = tunecore.train_many(X, y, configs, threads=2)
    one = tunecore.train(big, big_y, hidden=(512,), epochs=1, threads=2)
    draw = samplers.Sobol(8, seed=3).random(2**14)
    return ([r.history["train_loss"].tolist() for r in many],
            one.history["train_loss"].tolist(), float(draw.sum()))

def child(queue):
    queue.put(work())

if __name__ == "__main__":
    parent = work()  # OpenMP threads now exist in this process
    ctx = mp.get_context("fork")
    queue = ctx.Queue()
    proc = ctx.Process(target=child, args=(queue,))
    proc.start()
    proc.join(float(sys.argv[1]))
    if proc.is_alive():
        proc.kill()
        print("hung", flush=True)
        sys.exit(1)
    print("same" if queue.get(timeout=5) == parent else "different", flush=True)
"""


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork()")
def test_fork_after_openmp_threads_does_not_hang_and_computes_the_same():
    done = subprocess.run(
        [sys.executable, "-c", FORK_CHILD, "60"],
        capture_output=True,
        check=False,
        text=True,
        timeout=120,
        env=child_env(),
    )
    assert done.stdout.strip() == "same", (done.stdout, done.stderr)
    assert done.returncode == 0


def test_tunecore_pools_refuse_fork():
    from tunecore.executors import ProcessExecutor

    with pytest.raises(ValueError, match=r"start_method must be 'spawn' or 'forkserver'"):
        ProcessExecutor(object(), 2, start_method="fork")  # type: ignore[arg-type]
