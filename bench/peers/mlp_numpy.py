"""A well-tuned NumPy MLP: the peer a careful user writes over numpy's BLAS.

Every matrix product goes through ``np.matmul(..., out=...)`` into a buffer allocated once;
elementwise work is in place; weights, biases, gradients and Adam's moments each live in one
flat float32 vector with per-layer views, so one Adam update is a dozen numpy calls whatever
the depth. Layout: activations are (batch, width), weights (fan_in, fan_out).
"""

from __future__ import annotations

import numpy as np


def shuffle_rng(seed: int) -> np.random.Generator:
    """The generator of a peer's per-epoch shuffles: the same order for one seed in every peer."""
    return np.random.default_rng([seed, 1])


class FlatParams:
    """Weights and biases of an MLP as views into one flat float32 vector."""

    def __init__(self, sizes: tuple[int, ...], rng: np.random.Generator) -> None:
        self.sizes = tuple(sizes)
        pairs = list(zip(sizes[:-1], sizes[1:]))
        total = sum(i * o + o for i, o in pairs)
        self.flat = np.empty(total, dtype=np.float32)
        self.W, self.b = self.views(self.flat)
        for W, b in zip(self.W, self.b):
            # PyTorch's nn.Linear default: uniform in +-1/sqrt(fan_in), weights and biases.
            bound = 1.0 / np.sqrt(W.shape[0])
            W[...] = rng.uniform(-bound, bound, size=W.shape)
            b[...] = rng.uniform(-bound, bound, size=b.shape)

    def views(self, flat: np.ndarray) -> tuple[list[np.ndarray], list[np.ndarray]]:
        """Cut ``flat`` into per-layer weight (fan_in, fan_out) and bias (fan_out,) views."""
        W, b, off = [], [], 0
        for i, o in zip(self.sizes[:-1], self.sizes[1:]):
            W.append(flat[off : off + i * o].reshape(i, o))
            off += i * o
            b.append(flat[off : off + o])
            off += o
        return W, b


class NumpyMLP:
    """ReLU MLP with softmax cross-entropy, trained by Adam (bias-corrected) in NumPy.

    Parameters
    ----------
    sizes : tuple of int
        Layer widths, input and output included.
    batch_size : int
        Mini-batch size; the last batch of an epoch may be smaller.
    lr, beta1, beta2, eps : float
        Adam's settings.
    seed : int
        Seeds the initial weights and the per-epoch shuffles.
    """

    name = "numpy"

    def __init__(
        self,
        sizes: tuple[int, ...],
        batch_size: int,
        *,
        lr: float = 1e-3,
        beta1: float = 0.9,
        beta2: float = 0.999,
        eps: float = 1e-8,
        seed: int = 0,
    ) -> None:
        self.rng = shuffle_rng(seed)
        self.params = FlatParams(sizes, np.random.default_rng(seed))
        self.W, self.b = self.params.W, self.params.b
        self.grad = np.zeros_like(self.params.flat)
        self.gW, self.gb = self.params.views(self.grad)
        self.m = np.zeros_like(self.grad)
        self.v = np.zeros_like(self.grad)
        self.tmp = np.empty_like(self.grad)
        self.t = 0
        self.lr, self.beta1, self.beta2, self.eps = lr, beta1, beta2, eps
        self.batch_size = batch_size

        # acts[0] is the gathered input batch, acts[l] the output of layer l (the logits,
        # then the loss gradient, for the last); deltas[l] the gradient w.r.t. acts[l].
        B = batch_size
        self.acts = [np.empty((B, s), dtype=np.float32) for s in sizes]
        self.deltas = [np.empty((B, s), dtype=np.float32) for s in sizes[:-1]]
        self.masks = [np.empty((B, s), dtype=bool) for s in sizes[:-1]]
        self.rowmax = np.empty((B, 1), dtype=np.float32)

    def epoch(self, X: np.ndarray, y: np.ndarray) -> None:
        """Train one epoch over ``X`` (float32, C order) and ``y`` (int), shuffled."""
        perm = self.rng.permutation(X.shape[0])
        B = self.batch_size
        for start in range(0, X.shape[0], B):
            idx = perm[start : start + B]
            m = idx.shape[0]
            np.take(X, idx, axis=0, out=self.acts[0][:m])
            self._step(m, y[idx])

    def _step(self, m: int, yb: np.ndarray) -> None:
        L = len(self.W)
        acts = [a[:m] for a in self.acts]

        # Forward: z = a W + b, ReLU in place on hidden layers.
        for l in range(L):
            z = acts[l + 1]
            np.matmul(acts[l], self.W[l], out=z)
            z += self.b[l]
            if l < L - 1:
                np.maximum(z, 0.0, out=z)

        # Softmax cross-entropy gradient w.r.t. the logits, in place: (p - onehot) / m.
        g = acts[L]
        rowmax = self.rowmax[:m]
        np.max(g, axis=1, keepdims=True, out=rowmax)
        g -= rowmax
        np.exp(g, out=g)
        np.sum(g, axis=1, keepdims=True, out=rowmax)
        np.multiply(rowmax, m, out=rowmax)
        g /= rowmax
        g[np.arange(m), yb] -= 1.0 / m

        # Backward: weight and bias gradients overwrite self.grad's views.
        for l in range(L - 1, -1, -1):
            np.matmul(acts[l].T, g, out=self.gW[l])
            np.sum(g, axis=0, out=self.gb[l])
            if l > 0:
                d = self.deltas[l][:m]
                np.matmul(g, self.W[l].T, out=d)
                mask = self.masks[l][:m]
                np.greater(acts[l], 0.0, out=mask)
                np.multiply(d, mask, out=d)
                g = d
        self._adam()

    def _adam(self) -> None:
        # Adam with bias correction folded into the step size (Kingma & Ba, section 2), eps
        # scaled as PyTorch places it (added to sqrt(v / (1 - b2^t))), so both compute
        # p -= lr * c2 / c1 * m / (sqrt(v) + eps * c2), c1 = 1 - b1^t, c2 = sqrt(1 - b2^t).
        self.t += 1
        c1, c2 = 1.0 - self.beta1**self.t, np.sqrt(1.0 - self.beta2**self.t)
        b1, b2, g, m, v, tmp = self.beta1, self.beta2, self.grad, self.m, self.v, self.tmp
        np.subtract(g, m, out=tmp)
        tmp *= 1.0 - b1
        m += tmp
        np.multiply(g, g, out=tmp)
        tmp -= v
        tmp *= 1.0 - b2
        v += tmp
        np.sqrt(v, out=tmp)
        tmp += self.eps * c2
        np.divide(m, tmp, out=tmp)
        tmp *= self.lr * c2 / c1
        self.params.flat -= tmp

    def predict(self, X: np.ndarray) -> np.ndarray:
        """Return the predicted class of every row of ``X``."""
        a = X
        for l, (W, b) in enumerate(zip(self.W, self.b)):
            a = a @ W + b
            if l < len(self.W) - 1:
                np.maximum(a, 0.0, out=a)
        return a.argmax(axis=1)
