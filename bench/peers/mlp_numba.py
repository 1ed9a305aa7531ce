"""The NumPy MLP with a whole epoch compiled by Numba: loops for the elementwise work and
``np.dot`` for the matrix products (Numba calls scipy's BLAS for those).

One ``@njit`` call trains an epoch, so there is no Python between the steps: this is the
best a Numba user gets over BLAS. Numba is optional; importing this module without it
raises ImportError, which the benchmarks turn into a skip.
"""

from __future__ import annotations

import numba
import numpy as np
import scipy.linalg  # noqa: F401  (loads the BLAS Numba calls, so thread pinning reaches it)
from numba import njit

from .mlp_numpy import FlatParams, shuffle_rng


@njit(cache=True)
def _step(X, y, idx, net, bufs, opt, t, hyper):
    """One Adam step on the batch ``X[idx]``.

    ``net`` = (Ws, bs, gWs, gbs): per-layer weights (d_l, d_l+1), biases and their gradient
    buffers (views into ``opt``'s flat vectors). ``bufs`` = (acts, deltas): acts[l] (m, d_l)
    the layer inputs, acts[L] the logits and then their gradient; deltas[l] (m, d_l) the
    gradient w.r.t. acts[l], l >= 1. ``opt`` = (params, grad, m1, m2) flat float32 vectors;
    ``hyper`` = (lr, beta1, beta2, eps).
    """
    Ws, bs, gWs, gbs = net
    acts, deltas = bufs
    L = len(Ws)
    m = idx.shape[0]
    x0 = acts[0]
    for r in range(m):
        x0[r, :] = X[idx[r], :]

    for l in range(L):
        z = acts[l + 1]
        np.dot(acts[l], Ws[l], z)
        b = bs[l]
        relu = l < L - 1
        for r in range(m):
            for c in range(z.shape[1]):
                v = z[r, c] + b[c]
                if relu and v < 0.0:
                    v = 0.0
                z[r, c] = v

    # Softmax cross-entropy gradient w.r.t. the logits: (p - onehot) / m.
    g = acts[L]
    inv_m = np.float32(1.0 / m)
    for r in range(m):
        mx = g[r, 0]
        for c in range(1, g.shape[1]):
            mx = max(mx, g[r, c])
        s = np.float32(0.0)
        for c in range(g.shape[1]):
            e = np.exp(g[r, c] - mx)
            g[r, c] = e
            s += e
        scale = inv_m / s
        for c in range(g.shape[1]):
            g[r, c] *= scale
        g[r, y[idx[r]]] -= inv_m

    # Backward: weight and bias gradients overwrite gWs / gbs.
    for l in range(L - 1, -1, -1):
        np.dot(acts[l].T, g, gWs[l])
        gb = gbs[l]
        gb[:] = 0.0
        for r in range(m):
            for c in range(g.shape[1]):
                gb[c] += g[r, c]
        if l > 0:
            d = deltas[l]
            np.dot(g, Ws[l].T, d)
            a = acts[l]
            for r in range(m):
                for c in range(d.shape[1]):
                    if a[r, c] <= 0.0:
                        d[r, c] = 0.0
            g = d

    # Adam, bias correction folded into the step size, eps placed as in PyTorch (see
    # NumpyMLP._adam).
    params, grad, m1, m2 = opt
    lr, b1, b2, eps = hyper
    c2 = np.sqrt(1.0 - b2**t)
    step = np.float32(lr * c2 / (1.0 - b1**t))
    fb1, fb2, feps = np.float32(b1), np.float32(b2), np.float32(eps * c2)
    one = np.float32(1.0)
    for i in range(params.shape[0]):
        gi = grad[i]
        mi = fb1 * m1[i] + (one - fb1) * gi
        vi = fb2 * m2[i] + (one - fb2) * gi * gi
        m1[i] = mi
        m2[i] = vi
        params[i] -= step * mi / (np.sqrt(vi) + feps)


@njit(cache=True)
def _epoch(X, y, perm, B, net, bufs, tail_bufs, opt, t, hyper):
    """Train one epoch in order ``perm``; ``tail_bufs`` serve the last, short batch."""
    n = perm.shape[0]
    full = n // B
    for k in range(full):
        t += 1
        _step(X, y, perm[k * B : (k + 1) * B], net, bufs, opt, t, hyper)
    if n > full * B:
        t += 1
        _step(X, y, perm[full * B :], net, tail_bufs, opt, t, hyper)
    return t


class NumbaMLP:
    """ReLU MLP, softmax cross-entropy, Adam; each epoch one compiled Numba call.

    Parameters are those of :class:`~peers.mlp_numpy.NumpyMLP`; the initial weights and the
    shuffles are the same for the same seed.
    """

    name = "numba"

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
        self.sizes = tuple(sizes)
        self.params = FlatParams(sizes, np.random.default_rng(seed))
        self.W, self.b = self.params.W, self.params.b
        self.grad = np.zeros_like(self.params.flat)
        self.gW, self.gb = self.params.views(self.grad)
        self.m1 = np.zeros_like(self.grad)
        self.m2 = np.zeros_like(self.grad)
        self.t = 0
        self.lr, self.beta1, self.beta2, self.eps = lr, beta1, beta2, eps
        self.batch_size = batch_size
        self.acts, self.deltas = self._buffers(batch_size)
        self._tail: dict[int, tuple] = {}
        # The compiled epoch's arguments, built once.
        self._net = (tuple(self.W), tuple(self.b), tuple(self.gW), tuple(self.gb))
        self._opt = (self.params.flat, self.grad, self.m1, self.m2)
        self._hyper = (float(lr), float(beta1), float(beta2), float(eps))
        self._bufs = (self.acts, self.deltas)

    def _buffers(self, rows: int) -> tuple[tuple, tuple]:
        acts = tuple(np.empty((rows, s), dtype=np.float32) for s in self.sizes)
        # deltas[0] is never used (no gradient w.r.t. the input); kept so indices match.
        deltas = tuple(np.empty((rows, s), dtype=np.float32) for s in self.sizes[:-1])
        return acts, deltas

    def epoch(self, X: np.ndarray, y: np.ndarray) -> None:
        """Train one epoch over ``X`` (float32, C order) and ``y`` (int), shuffled."""
        n, B = X.shape[0], self.batch_size
        perm = self.rng.permutation(n)
        rest = n % B
        if rest not in self._tail:
            self._tail[rest] = self._buffers(max(rest, 1))
        self.t = _epoch(
            X, y, perm, B, self._net, self._bufs, self._tail[rest], self._opt, self.t, self._hyper
        )

    def predict(self, X: np.ndarray) -> np.ndarray:
        """Return the predicted class of every row of ``X``."""
        a = X
        for l, (W, b) in enumerate(zip(self.W, self.b)):
            a = a @ W + b
            if l < len(self.W) - 1:
                np.maximum(a, 0.0, out=a)
        return a.argmax(axis=1)


NUMBA_VERSION = numba.__version__
