"""Training of multilayer perceptrons on tunecore's C++ core.

:func:`train` trains one network, :func:`train_many` a list of configurations in one call (one
trial per thread, sharing one float32 copy of the data). Both check every argument here, convert
the data once to float32 in C order, and release the GIL for the whole training; Ctrl-C stops it
within about 0.1 s with KeyboardInterrupt.

The network, in the core's terms (see ``csrc/mlp/network.hpp`` and ``csrc/mlp/optim.hpp``):

- Dense layers ``a = act(x W + b)``; with ``batch_norm=True`` each hidden layer is
  ``act(gamma * (x W - mu) / sqrt(var + bn_eps) + beta)`` without a dense bias (beta replaces
  it). Training uses the batch mean and the *biased* batch variance; the running variance is
  updated with the *unbiased* one: ``running = bn_momentum * running + (1 - bn_momentum) *
  batch_stat`` (PyTorch's momentum is ``1 - bn_momentum``). Evaluation uses the running ones.
- Weights uniform: He ``sqrt(6 / fan_in)`` bound for relu and leaky_relu (slope 0.01) hidden
  layers, Xavier ``sqrt(6 / (fan_in + fan_out))`` for tanh, sigmoid, identity and the output
  layer; biases 0. The generator is the core's own counter-based one, so the same seed gives
  the same weights on every platform.
- Losses, averaged over the batch (and over outputs for binary_cross_entropy and mse):
  softmax cross-entropy on integer labels, sigmoid binary cross-entropy on targets in [0, 1],
  squared error. The reported train loss of an epoch is measured during it, before each step,
  without the L2 term.
- L2: ``l2 / 2 * sum(W**2)`` over the dense weights (not biases, gamma or beta), i.e.
  ``g += l2 * W``.
- Optimizers, with g the gradient: sgd ``w -= lr * g``; momentum ``v = momentum * v + g;
  w -= lr * v`` (PyTorch's form); rmsprop ``s = rho * s + (1 - rho) * g**2;
  w -= lr * g / (sqrt(s) + eps)``; adam with bias correction ``w -= lr / (1 - beta1**t) * m /
  (sqrt(v) / sqrt(1 - beta2**t) + eps)``.
- Learning rate of epoch e (from 0), k = decay_rate, s = decay_steps: none ``lr``;
  inverse_time ``lr / (1 + k e)``; exponential ``lr k**e``; step ``lr k**floor(e / s)``;
  cosine ``lr (k + (1 - k) (1 + cos(pi e / epochs)) / 2)``.
- Each epoch shuffles the rows from (seed, epoch); the last short batch is used.
- After each epoch, validation data (when given) is scored in eval mode: ``val_loss`` (the
  loss above, without L2), and ``val_accuracy`` (argmax for cross_entropy; per output at
  0.5 for binary_cross_entropy) or ``val_r2`` (R^2 averaged over outputs, scikit-learn's
  convention for constant columns).
- A NaN or inf loss (or parameter, or validation loss) stops the training: status
  ``"diverged"``, ``diverged_epoch`` the 1-based epoch, NaN in the history for it.

The matrix products run on the core's own float32 kernels, AVX-512, AVX2 + FMA or portable
C++, chosen from the CPU at first use; the environment variable ``TUNECORE_KERNEL`` (``avx512``,
``avx2``, ``portable``) forces one the CPU supports. Results are reproducible bit for bit on
one machine and kernel, whatever the thread count; other kernels round differently.

Threads never multiply: :func:`train_many` runs one trial per thread and every trial's
products on that thread alone; :func:`train` splits its large products (about 16 million
multiply-adds and more, e.g. 784-512-512-10 at batch 512) between ``threads`` threads, which
defaults to the count set with :func:`set_num_threads` or ``OMP_NUM_THREADS`` and to one when
neither is set. Neither calls numpy's BLAS, so its threads (OPENBLAS_NUM_THREADS) never run at
the same time as the core's.
"""

from __future__ import annotations

import math
import numbers
import os
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from tunecore import _core
from tunecore._memory import physical_memory
from tunecore._seeding import resolve_seed

__all__ = ["MLP", "TrainResult", "get_num_threads", "set_num_threads", "train", "train_many"]

ACTIVATIONS = ("relu", "leaky_relu", "tanh", "sigmoid", "identity")
LOSSES = ("cross_entropy", "binary_cross_entropy", "mse")
OPTIMIZERS = ("sgd", "momentum", "rmsprop", "adam")
LR_DECAYS = ("none", "inverse_time", "exponential", "step", "cosine")

#: train()'s keywords and their defaults; a train_many config may hold any of them.
DEFAULTS: dict[str, Any] = {
    "hidden": (64,),
    "activation": "relu",
    "loss": "cross_entropy",
    "optimizer": "adam",
    "lr": 1e-3,
    "momentum": 0.9,
    "beta1": 0.9,
    "beta2": 0.999,
    "eps": 1e-8,
    "rho": 0.9,
    "batch_size": 32,
    "epochs": 10,
    "lr_decay": "none",
    "decay_rate": 0.0,
    "decay_steps": 1,
    "batch_norm": False,
    "bn_momentum": 0.9,
    "bn_eps": 1e-5,
    "l2": 0.0,
    "n_classes": None,
    "seed": 0,
}

_lock = threading.Lock()
_num_threads: int | None = None


# ------------------------------------------------------------------------------------------
# Threads


def set_num_threads(n: int) -> None:
    """Set how many threads :func:`train_many` and :func:`train` use when ``threads`` is None.

    :func:`train_many` trains that many trials at once (one thread each); :func:`train`
    splits its large matrix products between that many threads.

    Parameters
    ----------
    n : int
        Threads, >= 1.

    Examples
    --------
    >>> import tunecore
    >>> tunecore.set_num_threads(1)
    >>> tunecore.get_num_threads()
    1
    """
    global _num_threads
    n = _check_int("n", n, minimum=1, maximum=2**31 - 1)
    with _lock:
        _num_threads = n


def get_num_threads() -> int:
    """Return the default thread count: the last :func:`set_num_threads`, else OpenMP's
    default (``OMP_NUM_THREADS`` when set, else the number of cores).

    Examples
    --------
    >>> import tunecore
    >>> tunecore.get_num_threads() >= 1
    True
    """
    with _lock:
        if _num_threads is not None:
            return _num_threads
    return max(1, int(_core.default_threads()))


# ------------------------------------------------------------------------------------------
# Argument checks


def _check_real(name: str, value: Any) -> float:
    if type(value) is float or type(value) is int:  # the common case, without ABC checks
        return float(value)
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a real number, got {value!r}")
    return float(value)


def _check_int(
    name: str, value: Any, *, minimum: int | None = None, maximum: int = 2**63 - 1
) -> int:
    if type(value) is not int and (
        isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral)
    ):
        raise TypeError(f"{name} must be an int, got {value!r}")
    value = int(value)
    if minimum is not None and value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value!r}")
    if value > maximum:  # the core holds it in a fixed-width integer
        raise ValueError(f"{name} must be <= {maximum}, got {value!r}")
    return value


def _check_positive(name: str, value: Any) -> float:
    x = _check_real(name, value)
    if not (math.isfinite(x) and x > 0):
        raise ValueError(f"{name} must be a finite number > 0, got {value!r}")
    return x


def _check_unit(name: str, value: Any) -> float:
    x = _check_real(name, value)
    if not 0.0 <= x < 1.0:
        raise ValueError(f"{name} must be in [0, 1), got {value!r}")
    return x


def _check_name(name: str, value: Any, options: Sequence[str]) -> str:
    if not isinstance(value, str):
        raise TypeError(f"{name} must be a str, one of {', '.join(options)}; got {value!r}")
    if value not in options:
        raise ValueError(f"{name} must be one of {', '.join(options)}; got {value!r}")
    return value


def _check_hidden(value: Any) -> tuple[int, ...]:
    if isinstance(value, (numbers.Integral,)) and not isinstance(value, (bool, np.bool_)):
        widths: Sequence[Any] = (value,)
    elif isinstance(value, (str, bytes)) or not isinstance(value, (Sequence, np.ndarray)):
        raise TypeError(f"hidden must be an int or a sequence of ints, got {value!r}")
    else:
        widths = value
    out = []
    for w in widths:
        if isinstance(w, (bool, np.bool_)) or not isinstance(w, numbers.Integral):
            raise TypeError(f"hidden must be an int or a sequence of ints, got {value!r}")
        if int(w) < 1:
            raise ValueError(f"hidden widths must be >= 1, got {value!r}")
        if int(w) > 2**31 - 1:
            raise ValueError(f"hidden widths must be < 2**31, got {value!r}")
        out.append(int(w))
    return tuple(out)


def _resolve_config(options: Mapping[str, Any]) -> dict[str, Any]:
    """Return every train() keyword checked and resolved (defaults filled in)."""
    unknown = sorted(set(options) - set(DEFAULTS))
    if unknown:
        raise ValueError(f"unknown option {unknown[0]!r}; valid options are {', '.join(DEFAULTS)}")
    o = {**DEFAULTS, **options}
    c: dict[str, Any] = {}
    c["hidden"] = _check_hidden(o["hidden"])
    c["activation"] = _check_name("activation", o["activation"], ACTIVATIONS)
    c["loss"] = _check_name("loss", o["loss"], LOSSES)
    c["optimizer"] = _check_name("optimizer", o["optimizer"], OPTIMIZERS)
    c["lr"] = _check_positive("lr", o["lr"])
    c["momentum"] = _check_unit("momentum", o["momentum"])
    c["beta1"] = _check_unit("beta1", o["beta1"])
    c["beta2"] = _check_unit("beta2", o["beta2"])
    c["eps"] = _check_positive("eps", o["eps"])
    c["rho"] = _check_unit("rho", o["rho"])
    c["batch_size"] = _check_int("batch_size", o["batch_size"], minimum=1)
    c["epochs"] = _check_int("epochs", o["epochs"], minimum=1)
    c["lr_decay"] = _check_name("lr_decay", o["lr_decay"], LR_DECAYS)
    rate = _check_real("decay_rate", o["decay_rate"])
    if c["lr_decay"] in ("exponential", "step"):
        if not 0.0 < rate <= 1.0:
            raise ValueError(
                f"decay_rate must be in (0, 1] for lr_decay={c['lr_decay']!r}, got {rate!r}"
            )
    elif c["lr_decay"] == "cosine":
        if not 0.0 <= rate <= 1.0:
            raise ValueError(f"decay_rate must be in [0, 1] for lr_decay='cosine', got {rate!r}")
    elif not (math.isfinite(rate) and rate >= 0.0):
        raise ValueError(f"decay_rate must be a finite number >= 0, got {rate!r}")
    c["decay_rate"] = rate
    c["decay_steps"] = _check_int("decay_steps", o["decay_steps"], minimum=1)
    if not isinstance(o["batch_norm"], (bool, np.bool_)):
        raise TypeError(f"batch_norm must be a bool, got {o['batch_norm']!r}")
    c["batch_norm"] = bool(o["batch_norm"])
    c["bn_momentum"] = _check_unit("bn_momentum", o["bn_momentum"])
    c["bn_eps"] = _check_positive("bn_eps", o["bn_eps"])
    l2 = _check_real("l2", o["l2"])
    if not (math.isfinite(l2) and l2 >= 0.0):
        raise ValueError(f"l2 must be a finite number >= 0, got {o['l2']!r}")
    c["l2"] = l2
    c["n_classes"] = (
        None if o["n_classes"] is None else _check_int("n_classes", o["n_classes"], minimum=1)
    )
    c["seed"] = resolve_seed(o["seed"])
    return c


def _training_threads() -> int:
    """Threads of one training when ``threads`` is None: the count set explicitly with
    :func:`set_num_threads` or ``OMP_NUM_THREADS``, else one (kernel threads meet at every
    layer and only pay on a machine with idle cores, which nobody promised)."""
    with _lock:
        if _num_threads is not None:
            return _num_threads
    if os.environ.get("OMP_NUM_THREADS", "").strip():
        return max(1, int(_core.default_threads()))
    return 1


def _check_threads(threads: Any) -> int | None:
    if threads is None:
        return None
    return _check_int("threads", threads, minimum=1, maximum=2**31 - 1)


# ------------------------------------------------------------------------------------------
# Data


def _as_array(value: Any, name: str) -> np.ndarray:
    try:
        arr = np.asarray(value)
    except (ValueError, TypeError) as exc:
        raise ValueError(
            f"{name} must be a numeric array, got {type(value).__name__}: {exc}"
        ) from exc
    if arr.dtype.kind not in "biuf":
        raise TypeError(f"{name} must hold numbers, got dtype {arr.dtype}")
    return arr


def _all_finite(arr: np.ndarray) -> bool:
    """True when no entry is NaN or inf, allocating nothing the size of ``arr``.

    C-contiguous float32 and float64 arrays go to the core, which tests the exponent bits in
    one vectorized pass (memory-bound: about 3 ms for 60,000 x 784 float32, against 10 ms for
    NumPy's sum). Other floats take one NumPy pass first: a NaN or inf makes the sum NaN or
    inf, so a finite sum clears the array; a sum that overflows from large finite values is
    settled by min and max (NaN propagates through both, inf shows in one)."""
    if arr.dtype.kind != "f" or arr.size == 0:
        return True
    if arr.dtype in (np.float32, np.float64) and arr.flags.c_contiguous and arr.dtype.isnative:
        return bool(_core._all_finite(arr))
    with np.errstate(over="ignore", invalid="ignore"):
        if np.isfinite(arr.sum()):
            return True
    return bool(np.isfinite(arr.min()) and np.isfinite(arr.max()))


def _check_finite(arr: np.ndarray, name: str) -> None:
    if not _all_finite(arr):
        bad = ~np.isfinite(arr)
        if bad.any():
            first = np.unravel_index(int(np.argmax(bad)), arr.shape)
            count = int(bad.sum())
            raise ValueError(
                f"{name} must not contain NaN or inf, got {count} such "
                f"value{'s' if count > 1 else ''} "
                f"(the first at index {tuple(int(i) for i in first)}: {float(arr[first])!r})"
            )


def _as_features(value: Any, name: str) -> np.ndarray:
    """Return ``value`` as a checked float32 C-contiguous (n, d) array."""
    arr = _as_array(value, name)
    if arr.ndim != 2:
        raise ValueError(f"{name} must be a 2-D array (samples x features), got shape {arr.shape}")
    if arr.shape[0] < 1 or arr.shape[1] < 1:
        raise ValueError(
            f"{name} must have at least one row and one column, got shape {arr.shape}"
        )
    _check_finite(arr, name)
    with np.errstate(over="ignore"):
        out = np.ascontiguousarray(arr, dtype=np.float32)
    if out.dtype != arr.dtype and not _all_finite(out):
        raise ValueError(f"{name} holds values beyond float32's range (about 3.4e38)")
    return out


def _as_targets(value: Any, name: str, n: int) -> np.ndarray:
    arr = _as_array(value, name)
    if arr.ndim not in (1, 2):
        raise ValueError(f"{name} must be 1-D (or 2-D for several outputs), got shape {arr.shape}")
    if arr.shape[0] != n:
        raise ValueError(f"{name} must have one entry per row of X ({n}), got {arr.shape[0]}")
    _check_finite(arr, name)
    return arr


def _labels(y: np.ndarray, name: str, n_classes: int | None) -> np.ndarray:
    """Class labels as int32, checked against n_classes (when known)."""
    if y.ndim != 1:
        raise ValueError(f"{name} must be 1-D class labels for cross_entropy, got shape {y.shape}")
    if y.dtype.kind == "f" and not np.array_equal(y, np.floor(y)):
        raise ValueError(f"{name} must hold integer class labels, got non-integer values")
    if y.size:
        lo, hi = y.min().item(), y.max().item()
        if lo < 0 or (n_classes is not None and hi >= n_classes):
            bound = "n_classes" if n_classes is None else f"{n_classes}) (n_classes={n_classes}"
            raise ValueError(
                f"{name} must hold class labels in [0, {bound}), got values in [{lo!r}, {hi!r}]"
            )
        if hi > 2**31 - 2:
            raise ValueError(f"{name} holds a class label too large: {hi!r}")
    return y.astype(np.int32)


def _targets(y: np.ndarray, name: str, loss: str) -> np.ndarray:
    with np.errstate(over="ignore"):
        out = np.ascontiguousarray(y.reshape(len(y), -1), dtype=np.float32)
    if out.shape[1] < 1:
        raise ValueError(f"{name} must have at least one column, got shape {y.shape}")
    if not _all_finite(out):
        raise ValueError(f"{name} holds values beyond float32's range (about 3.4e38)")
    if loss == "binary_cross_entropy" and ((out < 0).any() or (out > 1).any()):
        raise ValueError(f"{name} must hold targets in [0, 1] for binary_cross_entropy")
    return out


class _Data:
    """Training and validation data, converted once, with per-loss targets built on demand."""

    def __init__(self, X: Any, y: Any, X_val: Any, y_val: Any) -> None:
        self.X = _as_features(X, "X")
        self.y = _as_targets(y, "y", self.X.shape[0])
        if (X_val is None) != (y_val is None):
            raise ValueError("X_val and y_val must be given together (or both be None)")
        self.X_val = None if X_val is None else _as_features(X_val, "X_val")
        self.y_val = None
        if self.X_val is not None:
            if self.X_val.shape[1] != self.X.shape[1]:
                raise ValueError(
                    f"X_val must have as many columns as X ({self.X.shape[1]}), "
                    f"got {self.X_val.shape[1]}"
                )
            self.y_val = _as_targets(y_val, "y_val", self.X_val.shape[0])
            if self.y_val.ndim != self.y.ndim or self.y_val.shape[1:] != self.y.shape[1:]:
                raise ValueError(
                    f"y_val must be shaped like y (per row {self.y.shape[1:]}), "
                    f"got {self.y_val.shape}"
                )
        self._cache: dict[tuple[str, int | None], tuple] = {}

    def for_loss(self, loss: str, n_classes: int | None) -> tuple:
        """Return (labels, targets, labels_val, targets_val, n_outputs, n_classes)."""
        key = (loss, n_classes)
        if key not in self._cache:
            self._cache[key] = self._build(loss, n_classes)
        return self._cache[key]

    def _build(self, loss: str, n_classes: int | None) -> tuple:
        if loss == "cross_entropy":
            labels = _labels(self.y, "y", n_classes)
            labels_val = None if self.y_val is None else _labels(self.y_val, "y_val", n_classes)
            if n_classes is None:
                top = int(labels.max())
                if labels_val is not None:
                    top = max(top, int(labels_val.max()))
                if top >= max(1024, 2 * len(labels)):
                    raise ValueError(
                        f"y's largest class label {top} would make {top + 1} classes for "
                        f"{len(labels)} rows; relabel the classes 0..k-1 or pass n_classes"
                    )
                n_classes = top + 1
            return labels, None, labels_val, None, n_classes, n_classes
        if loss == "binary_cross_entropy":
            if n_classes not in (None, 2) or (n_classes == 2 and self.y.ndim != 1):
                raise ValueError(
                    "n_classes must be None (or 2 with 1-D y) for binary_cross_entropy, "
                    f"got {n_classes!r}"
                )
        elif n_classes is not None:
            raise ValueError(f"n_classes must be None for loss='mse', got {n_classes!r}")
        targets = _targets(self.y, "y", loss)
        targets_val = None if self.y_val is None else _targets(self.y_val, "y_val", loss)
        resolved = 2 if loss == "binary_cross_entropy" and self.y.ndim == 1 else None
        return None, targets, None, targets_val, targets.shape[1], resolved


# float32 copies of the parameters a training holds: weights, gradient, optimizer state.
_COPIES = {"sgd": 2, "momentum": 3, "rmsprop": 3, "adam": 4}


def _check_size(config: Mapping[str, Any], n_features: int, n_rows: int, n_outputs: int) -> None:
    """Refuse a network that could not fit in this machine's memory, before the core tries:
    an allocation that the OS grants lazily would otherwise end with the process killed."""
    widths = [n_features, *config["hidden"], n_outputs]
    params = sum(a * b + 4 * b for a, b in zip(widths[:-1], widths[1:]))
    rows = min(config["batch_size"], n_rows) + 256  # a batch, and the evaluation block
    needed = 4 * (params * _COPIES[config["optimizer"]] + 4 * rows * sum(widths))
    memory = physical_memory()
    if needed >= 2**62 or (memory is not None and needed > memory):
        what = "hidden" if config["loss"] != "cross_entropy" else "hidden and n_classes"
        raise ValueError(
            f"{what} must make a network that fits in memory; hidden={config['hidden']!r} "
            f"with {n_features} features and {n_outputs} outputs needs about "
            f"{needed / 2**30:.3g} GiB to train"
            + ("" if memory is None else f", more than this machine's {memory / 2**30:.3g} GiB")
        )


def _core_config(config: Mapping[str, Any], n_outputs: int) -> dict[str, Any]:
    core = dict(config)
    core["hidden"] = list(config["hidden"])
    core["n_outputs"] = int(n_outputs)
    del core["n_classes"]
    return core


# ------------------------------------------------------------------------------------------
# Results


class MLP:
    """A trained network: its parameters and eval-mode predictions.

    Attributes
    ----------
    weights : list of ndarray
        Dense weights per layer, shape (inputs, outputs), float32.
    biases : list of ndarray
        Dense biases per layer, shape (outputs,); zeros for batch-norm layers, whose shift is
        ``beta``.
    gamma, beta, running_mean, running_var : list of (ndarray or None)
        Batch-norm parameters and running statistics per layer; None where a layer has no
        batch norm (always the output layer).
    config : dict
        The resolved training configuration.
    n_features, n_outputs : int
        Input width and output width (classes for cross_entropy).
    """

    def __init__(
        self, config: Mapping[str, Any], params: Mapping[str, list], *, targets_1d: bool = True
    ) -> None:
        self.config = dict(config)
        self.weights = [np.asarray(w) for w in params["weights"]]
        self.biases = [
            np.zeros(w.shape[1], np.float32) if b is None else np.asarray(b)
            for w, b in zip(self.weights, params["biases"])
        ]
        self.gamma = list(params["gamma"])
        self.beta = list(params["beta"])
        self.running_mean = list(params["running_mean"])
        self.running_var = list(params["running_var"])
        self.n_features = int(self.weights[0].shape[0])
        self.n_outputs = int(self.weights[-1].shape[1])
        self._targets_1d = targets_1d
        self._params = dict(params)

    @property
    def loss(self) -> str:
        return str(self.config["loss"])

    def decision_function(self, X: Any) -> np.ndarray:
        """Network outputs before the final link (logits; predictions for mse), (n, outputs)."""
        X32 = _as_features(X, "X")
        if X32.shape[1] != self.n_features:
            raise ValueError(
                f"X must have {self.n_features} columns like the training data, got {X32.shape[1]}"
            )
        return _core.predict_logits(_core_config(self.config, self.n_outputs), self._params, X32)

    def predict_proba(self, X: Any) -> np.ndarray:
        """Class probabilities: softmax (cross_entropy, (n, classes)) or sigmoid
        (binary_cross_entropy: (n, 2) for one output, (n, outputs) for several)."""
        if self.loss == "mse":
            raise ValueError("predict_proba needs a classification model, got loss='mse'")
        z = self.decision_function(X).astype(np.float64)
        if self.loss == "cross_entropy":
            z -= z.max(axis=1, keepdims=True)
            e = np.exp(z)
            return e / e.sum(axis=1, keepdims=True)
        p = np.where(
            z >= 0, 1.0 / (1.0 + np.exp(-np.abs(z))), 1.0 - 1.0 / (1.0 + np.exp(-np.abs(z)))
        )
        if self.n_outputs == 1 and self._targets_1d:
            return np.column_stack([1.0 - p[:, 0], p[:, 0]])
        return p

    def predict(self, X: Any) -> np.ndarray:
        """Class labels (classification) or predicted values (mse)."""
        z = self.decision_function(X)
        if self.loss == "cross_entropy":
            return np.argmax(z, axis=1)
        if self.loss == "binary_cross_entropy":
            labels = (z > 0).astype(np.int64)
            return labels[:, 0] if self._targets_1d else labels
        return z[:, 0].copy() if self._targets_1d else z

    def score(self, X: Any, y: Any) -> float:
        """Accuracy (classification; per element for several binary outputs) or R^2 (mse,
        averaged over outputs)."""
        X32 = _as_features(X, "X")
        y_arr = _as_targets(y, "y", X32.shape[0])
        if self.loss == "cross_entropy":
            labels = _labels(y_arr, "y", self.n_outputs)
            return float(np.mean(self.predict(X32) == labels))
        if self.loss == "binary_cross_entropy":
            truth = _targets(y_arr, "y", self.loss) > 0.5
            pred = self.decision_function(X32) > 0
            return float(np.mean(pred == truth))
        truth64 = _targets(y_arr, "y", self.loss).astype(np.float64)
        pred64 = self.decision_function(X32).astype(np.float64)
        ss_res = ((pred64 - truth64) ** 2).sum(axis=0)
        ss_tot = ((truth64 - truth64.mean(axis=0)) ** 2).sum(axis=0)
        r2 = np.where(
            ss_tot > 0,
            1.0 - ss_res / np.where(ss_tot > 0, ss_tot, 1.0),
            np.where(ss_res == 0, 1.0, 0.0),
        )
        return float(r2.mean())

    def __repr__(self) -> str:
        widths = [self.n_features] + [w.shape[1] for w in self.weights]
        return f"MLP({'-'.join(map(str, widths))}, activation={self.config['activation']!r})"


@dataclass(frozen=True)
class TrainResult:
    """What one training produced.

    Attributes
    ----------
    history : dict of str to ndarray
        Per-epoch float64 series: ``train_loss``; with validation data also ``val_loss`` and
        ``val_accuracy`` (classification) or ``val_r2`` (mse). A diverged epoch holds NaN.
    status : str
        ``"ok"`` or ``"diverged"``; ``"stopped"`` only for :func:`train_many` with a
        ``deadline`` that cut the training short.
    diverged_epoch : int or None
        The 1-based epoch whose loss (or parameters) turned NaN or inf; None when ok.
    epochs_run : int
        Epochs in the history (the diverged one included).
    seconds : float
        Wall-clock time of the training in the core.
    config : dict
        Every train() keyword as resolved (``n_classes`` and ``seed`` filled in).
    model : MLP
        The network as it was when training stopped.
    """

    history: dict[str, np.ndarray]
    status: str
    diverged_epoch: int | None
    epochs_run: int
    seconds: float
    config: dict[str, Any]
    model: MLP


def _make_result(raw: Mapping[str, Any], config: dict[str, Any], data: _Data) -> TrainResult:
    if raw["status"] == "failed":
        raise RuntimeError(f"training failed in the core: {raw['error']}")
    history = {"train_loss": np.asarray(raw["train_loss"], dtype=np.float64)}
    if data.X_val is not None:
        history["val_loss"] = np.asarray(raw["val_loss"], dtype=np.float64)
        metric = "val_r2" if config["loss"] == "mse" else "val_accuracy"
        history[metric] = np.asarray(raw["val_metric"], dtype=np.float64)
    status = str(raw["status"])
    return TrainResult(
        history=history,
        status=status,
        diverged_epoch=int(raw["diverged_epoch"]) if status == "diverged" else None,
        epochs_run=int(raw["epochs_run"]),
        seconds=float(raw["seconds"]),
        config=config,
        model=MLP(config, raw["params"], targets_1d=data.y.ndim == 1),
    )


# ------------------------------------------------------------------------------------------
# Training


def train(
    X: Any,
    y: Any,
    *,
    hidden: int | Sequence[int] = (64,),
    activation: str = "relu",
    loss: str = "cross_entropy",
    optimizer: str = "adam",
    lr: float = 1e-3,
    momentum: float = 0.9,
    beta1: float = 0.9,
    beta2: float = 0.999,
    eps: float = 1e-8,
    rho: float = 0.9,
    batch_size: int = 32,
    epochs: int = 10,
    lr_decay: str = "none",
    decay_rate: float = 0.0,
    decay_steps: int = 1,
    batch_norm: bool = False,
    bn_momentum: float = 0.9,
    bn_eps: float = 1e-5,
    l2: float = 0.0,
    n_classes: int | None = None,
    seed: int | None = 0,
    X_val: Any = None,
    y_val: Any = None,
    threads: int | None = None,
) -> TrainResult:
    """Train a multilayer perceptron.

    Parameters
    ----------
    X : array_like, shape (n_samples, n_features)
        Inputs, any numeric dtype and memory layout; converted once to float32.
    y : array_like
        Integer class labels in [0, n_classes) (cross_entropy); targets in [0, 1], 1-D or one
        column per output (binary_cross_entropy); values, 1-D or 2-D (mse).
    hidden : int or sequence of int
        Hidden layer widths; ``()`` trains a linear model.
    activation : {"relu", "leaky_relu", "tanh", "sigmoid", "identity"}
    loss : {"cross_entropy", "binary_cross_entropy", "mse"}
    optimizer : {"sgd", "momentum", "rmsprop", "adam"}
    lr : float
        Learning rate, > 0.
    momentum : float
        Momentum coefficient in [0, 1) (optimizer="momentum").
    beta1, beta2, eps : float
        Adam's coefficients (beta in [0, 1)); eps also serves RMSprop.
    rho : float
        RMSprop's decay of the squared-gradient average, in [0, 1).
    batch_size : int
        Rows per step, >= 1; a batch larger than the data is one batch.
    epochs : int
        Passes over the data, >= 1.
    lr_decay : {"none", "inverse_time", "exponential", "step", "cosine"}
        Per-epoch schedule of the learning rate (see the module docstring).
    decay_rate : float
        The schedule's k.
    decay_steps : int
        Epochs per step of the "step" schedule.
    batch_norm : bool
        Batch normalization in every hidden layer, before the activation.
    bn_momentum, bn_eps : float
        Running-statistics momentum in [0, 1) and the variance epsilon.
    l2 : float
        Weight decay coefficient (``g += l2 * W``), >= 0.
    n_classes : int or None
        Classes for cross_entropy; None takes max(y, y_val) + 1.
    seed : int or None
        Seed of the initial weights and the shuffles; None draws one (see ``config``).
    X_val, y_val : array_like or None
        Validation data, scored after every epoch.
    threads : int or None
        OpenMP threads that share each large matrix product (products of about 16 million
        multiply-adds and more; smaller ones stay on one thread). None takes the count set
        with :func:`set_num_threads` or ``OMP_NUM_THREADS``, and one when neither is set:
        threads meet after every product. On an idle 2-core machine 2 threads trained
        784-512-512-10 at batch 512 about 1.5 times as fast as one (205 against 135 GFLOP/s);
        where other work keeps the cores busy, OpenMP's waiting threads spin on the cores
        the late thread needs, and 2 threads ran at 40 GFLOP/s. Starting Python with
        ``OMP_WAIT_POLICY=passive`` (or ``GOMP_SPINCOUNT=1000``) there kept them at 118-125,
        about the speed of one. The result is bitwise the same for every count. To train
        several configurations at once, :func:`train_many` is the better use of the cores.

    Returns
    -------
    TrainResult

    Raises
    ------
    ValueError
        For a value out of range (the message names the argument).
    TypeError
        For a value of the wrong type (e.g. a str or bool where a number belongs).
    KeyboardInterrupt
        On Ctrl-C, within about 0.1 s.

    Examples
    --------
    >>> import numpy as np, tunecore
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(200, 4)); y = (X[:, 0] > 0).astype(int)
    >>> result = tunecore.train(X, y, hidden=(16,), epochs=20, lr=0.01, seed=1)
    >>> result.status, result.epochs_run
    ('ok', 20)
    >>> result.model.score(X, y) > 0.9
    True
    """
    # Every keyword but the data and threads, by name (locals() holds only the arguments here).
    options = {name: value for name, value in locals().items() if name in DEFAULTS}
    config = _resolve_config(options)
    threads = _check_threads(threads)
    data = _Data(X, y, X_val, y_val)
    labels, targets, labels_val, targets_val, n_outputs, n_cls = data.for_loss(
        config["loss"], config["n_classes"]
    )
    config["n_classes"] = n_cls
    _check_size(config, data.X.shape[1], data.X.shape[0], n_outputs)
    core_config = _core_config(config, n_outputs)
    raw = _core.train(
        data.X,
        labels,
        targets,
        core_config,
        data.X_val,
        labels_val,
        targets_val,
        _training_threads() if threads is None else threads,
    )
    return _make_result(raw, config, data)


def train_many(
    X: Any,
    y: Any,
    configs: Sequence[Mapping[str, Any]],
    *,
    X_val: Any = None,
    y_val: Any = None,
    threads: int | None = None,
    deadline: float | None = None,
) -> list[TrainResult]:
    """Train several configurations on the same data, one trial per thread.

    Every result is bitwise the one :func:`train` gives for the same configuration, whatever
    the thread count; a diverged trial disturbs no other. All configurations are checked
    before any training starts.

    Parameters
    ----------
    X, y, X_val, y_val
        As in :func:`train`; converted once and shared by every trial.
    configs : sequence of dict
        Each holds :func:`train`'s keywords (missing ones take train's defaults).
    threads : int or None
        Trials trained at once; None uses :func:`get_num_threads`.
    deadline : float or None
        A :func:`time.monotonic` instant after which no epoch starts: trials then stop at
        their next epoch boundary (those not started run 0 epochs) with status
        ``"stopped"`` and ``epochs_run < config["epochs"]``. None: no deadline.

    Returns
    -------
    list of TrainResult
        In the order of ``configs``.

    Notes
    -----
    Threads take the trials largest first (by their multiply-adds), one at a time, so they
    finish together; inside a trial every product runs on that trial's thread only.

    Memory: the data once (float32 C-order input is used as is, anything else is converted
    once), plus for each trial running at that moment a workspace of about ``4 * P + B * (d +
    3 * w) + n`` floats (P parameters: weights, gradient, two optimizer moments; B the batch,
    d the features, w the sum of layer widths; n the row order, 8 bytes a row) and a packing
    area of at most 0.8 MB, plus the returned models. Measured: 64 trials of 784-128-128-10,
    batch 128, on 60,000 x 784 float32 rows (179 MiB) with 2 threads peak at 260 MiB, 43 MiB
    above the data and interpreter: 29 MiB of returned weights, 2 workspaces of about 3 MiB.

    Examples
    --------
    >>> import numpy as np, tunecore
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(100, 3)); y = (X.sum(axis=1) > 0).astype(int)
    >>> results = tunecore.train_many(X, y, [{"lr": 1e-2}, {"lr": 1e-3, "hidden": ()}])
    >>> [r.status for r in results]
    ['ok', 'ok']
    """
    if isinstance(configs, (str, bytes, Mapping)) or not isinstance(configs, Sequence):
        raise TypeError(f"configs must be a list of dicts, got {type(configs).__name__}")
    threads = _check_threads(threads)
    if deadline is not None:
        deadline = _check_real("deadline", deadline)
        if math.isnan(deadline):
            raise ValueError(f"deadline must be a time.monotonic() instant, got {deadline!r}")
    resolved = []
    for i, options in enumerate(configs):
        if not isinstance(options, Mapping):
            raise TypeError(f"configs[{i}] must be a dict, got {type(options).__name__}")
        try:
            resolved.append(_resolve_config(options))
        except (ValueError, TypeError) as exc:
            raise type(exc)(f"configs[{i}]: {exc}") from None
    data = _Data(X, y, X_val, y_val)
    if not resolved:
        return []

    # One core call per target encoding (labels or float targets); usually just one.
    groups: dict[tuple, list[int]] = {}
    prepared = []
    for i, config in enumerate(resolved):
        try:
            prep = data.for_loss(config["loss"], config["n_classes"])
            _check_size(config, data.X.shape[1], data.X.shape[0], prep[4])
        except ValueError as exc:
            raise ValueError(f"configs[{i}]: {exc}") from None
        config["n_classes"] = prep[5]
        prepared.append(prep)
        groups.setdefault((config["loss"] == "cross_entropy", prep[4]), []).append(i)
    if threads is None:
        threads = get_num_threads()

    results: list[TrainResult | None] = [None] * len(resolved)
    for indices in groups.values():
        first = prepared[indices[0]]
        labels, targets, labels_val, targets_val = first[0], first[1], first[2], first[3]
        core_configs = [_core_config(resolved[i], prepared[i][4]) for i in indices]
        raws = _core.train_many(
            data.X,
            labels,
            targets,
            core_configs,
            data.X_val,
            labels_val,
            targets_val,
            min(threads, len(indices)),
            None if deadline is None else deadline - time.monotonic(),
        )
        for i, raw in zip(indices, raws):
            if raw["status"] == "failed":
                raise RuntimeError(f"configs[{i}]: training failed in the core: {raw['error']}")
            results[i] = _make_result(raw, resolved[i], data)
    return [r for r in results if r is not None]
