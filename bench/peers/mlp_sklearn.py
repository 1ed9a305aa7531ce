"""The scikit-learn peer: MLPClassifier trained one epoch per ``partial_fit`` call.

Same network (ReLU hidden layers, softmax output, log-loss), Adam with lr 1e-3 and
scikit-learn's bias correction, the same batch size, no L2 penalty (``alpha=0``) and
scikit-learn's own per-epoch shuffle. float32 data stays float32 inside scikit-learn.
"""

from __future__ import annotations

import warnings

import numpy as np
import sklearn
from sklearn.neural_network import MLPClassifier

SKLEARN_VERSION = sklearn.__version__


class SklearnMLP:
    """ReLU MLP with softmax cross-entropy, Adam, one ``partial_fit`` call per epoch."""

    name = "sklearn"

    def __init__(
        self, sizes: tuple[int, ...], batch_size: int, *, lr: float = 1e-3, seed: int = 0
    ) -> None:
        self.n_classes = sizes[-1]
        self.clf = MLPClassifier(
            hidden_layer_sizes=tuple(sizes[1:-1]),
            activation="relu",
            solver="adam",
            alpha=0.0,
            batch_size=batch_size,
            learning_rate_init=lr,
            shuffle=True,
            random_state=seed,
        )
        self.batch_size = batch_size

    def epoch(self, X: np.ndarray, y: np.ndarray) -> None:
        """Train one epoch over ``X`` and ``y`` (scikit-learn shuffles them)."""
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            self.clf.partial_fit(X, y, classes=np.arange(self.n_classes))

    def predict(self, X: np.ndarray) -> np.ndarray:
        """Return the predicted class of every row of ``X``."""
        return self.clf.predict(X)
