"""The study benchmark: the same random configurations trained by tunecore, PyTorch and
scikit-learn on digits, each scored by its best validation accuracy.

The configurations come from scikit-learn's ParameterSampler with a fixed seed over
learning rate log-uniform in [1e-4, 1e-1], batch size uniform in 32..256, one or two hidden
layers of a width uniform in 16..256. RandomizedSearchCV given the same distributions and
seed draws the very same list (checked by the benchmark), so all three train the same
networks, Adam, ``epochs`` epochs each, on the same 80 / 20 split of digits.
"""

from __future__ import annotations

import time
import warnings
from typing import Any

import numpy as np
from scipy.stats import loguniform, randint
from sklearn.model_selection import ParameterSampler, PredefinedSplit, RandomizedSearchCV
from sklearn.neural_network import MLPClassifier
from sklearn.utils import check_random_state

from .data import N_CLASSES, digits_split

STUDY_SEED = 2024


class HiddenLayers:
    """A distribution over hidden-layer tuples: 1 or 2 layers of one width in [low, high]."""

    def __init__(self, low: int = 16, high: int = 256, max_layers: int = 2) -> None:
        self.low, self.high, self.max_layers = low, high, max_layers

    def rvs(self, random_state: Any = None) -> tuple[int, ...]:
        rng = check_random_state(random_state)
        layers = int(rng.randint(1, self.max_layers + 1))
        width = int(rng.randint(self.low, self.high + 1))
        return (width,) * layers


def distributions() -> dict[str, Any]:
    """The search space, in MLPClassifier's parameter names."""
    return {
        "learning_rate_init": loguniform(1e-4, 1e-1),
        "batch_size": randint(32, 257),
        "hidden_layer_sizes": HiddenLayers(16, 256, 2),
    }


def sample_configs(n: int = 32, seed: int = STUDY_SEED) -> list[dict[str, Any]]:
    """The ``n`` configurations, as MLPClassifier parameters (what RandomizedSearchCV draws)."""
    return list(ParameterSampler(distributions(), n_iter=n, random_state=seed))


def trial_seed(seed: int, i: int) -> int:
    """The initialisation seed of configuration ``i`` in the study run with ``seed``."""
    return 1000 * seed + i


def to_train_kwargs(params: dict[str, Any], epochs: int, seed: int) -> dict[str, Any]:
    """One configuration as keywords of ``tunecore.training.train``."""
    return {
        "hidden": tuple(int(h) for h in params["hidden_layer_sizes"]),
        "activation": "relu",
        "optimizer": "adam",
        "lr": float(params["learning_rate_init"]),
        "batch_size": int(params["batch_size"]),
        "epochs": epochs,
        "seed": seed,
    }


def run_tunecore(
    n_configs: int = 32, epochs: int = 10, threads: int = 2, seed: int = 0
) -> dict[str, Any]:
    """All configurations in one ``tunecore.training.train_many`` call.

    Each trained model scores the validation split once, after its last epoch, as the
    PyTorch loop and RandomizedSearchCV do. (Given ``X_val``, ``train_many`` would score it
    after every epoch, for the history a study stores: 8% more work on this study.)
    """
    from tunecore import training

    X_tr, y_tr, X_val, y_val = digits_split()
    configs = [
        to_train_kwargs(p, epochs, trial_seed(seed, i))
        for i, p in enumerate(sample_configs(n_configs))
    ]
    t0 = time.perf_counter()
    results = training.train_many(X_tr, y_tr, configs, threads=threads)
    accs = [r.model.score(X_val, y_val) for r in results]
    seconds = time.perf_counter() - t0
    return {"seconds": seconds, "best_val_accuracy": max(accs), "val_accuracy": accs}


def run_torch(
    n_configs: int = 32, epochs: int = 10, threads: int = 1, adam: str = "fused", seed: int = 0
) -> dict[str, Any]:
    """A loop of PyTorch eager trainings, one configuration after the other."""
    import torch

    from .mlp_torch import TorchMLP

    X_tr, y_tr, X_val, y_val = digits_split()
    old = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        t0 = time.perf_counter()
        accs = []
        for i, p in enumerate(sample_configs(n_configs)):
            kw = to_train_kwargs(p, epochs, trial_seed(seed, i))
            sizes = (X_tr.shape[1], *kw["hidden"], N_CLASSES)
            net = TorchMLP(sizes, kw["batch_size"], adam=adam, lr=kw["lr"], seed=kw["seed"])
            for _ in range(epochs):
                net.epoch(X_tr, y_tr)
            accs.append(float((net.predict(X_val) == y_val).mean()))
        seconds = time.perf_counter() - t0
    finally:
        torch.set_num_threads(old)
    return {"seconds": seconds, "best_val_accuracy": max(accs), "val_accuracy": accs}


def run_sklearn(
    n_configs: int = 32, epochs: int = 10, n_jobs: int = 2, seed: int = 0
) -> dict[str, Any]:
    """RandomizedSearchCV over MLPClassifier, scored on the fixed validation split.

    The returned ``params`` are the configurations it trained, in order, so a caller can
    check they are :func:`sample_configs`'s.
    """
    X_tr, y_tr, X_val, y_val = digits_split()
    X = np.concatenate([X_tr, X_val])
    y = np.concatenate([y_tr, y_val])
    fold = np.r_[np.full(len(y_tr), -1), np.zeros(len(y_val), dtype=int)]
    search = RandomizedSearchCV(
        MLPClassifier(
            solver="adam", activation="relu", alpha=0.0, max_iter=epochs, random_state=seed
        ),
        distributions(),
        n_iter=n_configs,
        cv=PredefinedSplit(fold),
        n_jobs=n_jobs,
        refit=False,
        random_state=STUDY_SEED,
        error_score="raise",
    )
    with warnings.catch_warnings():
        # 10 epochs do not converge by scikit-learn's standard; that is the study's design.
        warnings.simplefilter("ignore")
        t0 = time.perf_counter()
        search.fit(X, y)
        seconds = time.perf_counter() - t0
    accs = [float(a) for a in search.cv_results_["mean_test_score"]]
    return {
        "seconds": seconds,
        "best_val_accuracy": float(search.best_score_),
        "val_accuracy": accs,
        "params": list(search.cv_results_["params"]),
    }
