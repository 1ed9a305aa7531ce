"""tunecore as a benchmark contender: one ``tunecore.training.train`` call per epoch.

Each call builds a fresh network, trains it one epoch and hands back a TrainResult, so the
figure includes tunecore's setup (argument checks, weight initialisation, workspace) as a
user pays it; on these shapes that is small beside the epoch.
"""

from __future__ import annotations

import numpy as np

from tunecore import training


class TunecoreMLP:
    """ReLU MLP, softmax cross-entropy, Adam, trained by ``tunecore.training.train``."""

    name = "tunecore"

    def __init__(
        self,
        sizes: tuple[int, ...],
        batch_size: int,
        *,
        lr: float = 1e-3,
        seed: int = 0,
        threads: int | None = None,
    ) -> None:
        self.hidden = tuple(sizes[1:-1])
        self.n_classes = sizes[-1]
        self.batch_size = batch_size
        self.lr = lr
        self.seed = seed
        self.threads = threads
        self.result = None

    def epoch(self, X: np.ndarray, y: np.ndarray) -> None:
        """Train a fresh network one epoch over ``X`` and ``y``."""
        self.result = training.train(
            X,
            y,
            hidden=self.hidden,
            activation="relu",
            loss="cross_entropy",
            optimizer="adam",
            lr=self.lr,
            batch_size=self.batch_size,
            epochs=1,
            n_classes=self.n_classes,
            seed=self.seed,
            threads=self.threads,
        )

    def predict(self, X: np.ndarray) -> np.ndarray:
        """Return the predicted class of every row of ``X`` (after :meth:`epoch`)."""
        if self.result is None:
            raise RuntimeError("predict needs a trained network: call epoch first")
        return self.result.model.predict(X)
