"""The PyTorch eager peer: nn.Sequential of Linear and ReLU, cross-entropy, torch.optim.Adam.

``adam="default"`` lets PyTorch pick Adam's implementation (on CPU its single-tensor loop);
``adam="fused"`` asks for the fused CPU kernel (PyTorch 2.4 and later), ``adam="foreach"`` for
the multi-tensor one. The shuffles come from the same NumPy generator as the NumPy peers', so
for one seed every peer visits the samples in the same order. Importing this module without
PyTorch raises ImportError, which the benchmarks turn into a skip.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from .mlp_numpy import shuffle_rng

TORCH_VERSION = torch.__version__


def fused_adam_supported() -> bool:
    """Whether this PyTorch has the fused Adam kernel for CPU tensors."""
    try:
        p = nn.Parameter(torch.zeros(2))
        p.grad = torch.zeros(2)
        torch.optim.Adam([p], lr=1e-3, fused=True).step()
    except (RuntimeError, TypeError, ValueError):
        return False
    return True


class TorchMLP:
    """ReLU MLP with softmax cross-entropy, trained by ``torch.optim.Adam`` in eager mode.

    Parameters
    ----------
    sizes : tuple of int
        Layer widths, input and output included.
    batch_size : int
        Mini-batch size; the last batch of an epoch may be smaller.
    adam : {"default", "fused", "foreach"}
        Which implementation of Adam PyTorch runs.
    lr : float
        Adam's learning rate (betas and eps are PyTorch's defaults, 0.9, 0.999, 1e-8).
    seed : int
        Seeds the initial weights (``torch.manual_seed``) and the per-epoch shuffles.
    init : sequence of (W, b) arrays, optional
        Initial weights, W of shape (fan_in, fan_out), instead of PyTorch's own.
    """

    def __init__(
        self,
        sizes: tuple[int, ...],
        batch_size: int,
        *,
        adam: str = "default",
        lr: float = 1e-3,
        seed: int = 0,
        init=None,
    ) -> None:
        if adam not in ("default", "fused", "foreach"):
            raise ValueError(f"adam must be 'default', 'fused' or 'foreach', got {adam!r}")
        self.name = "torch" if adam == "default" else f"torch-{adam}"
        torch.manual_seed(seed)
        layers: list[nn.Module] = []
        for l, (i, o) in enumerate(zip(sizes[:-1], sizes[1:])):
            layers.append(nn.Linear(i, o))
            if l < len(sizes) - 2:
                layers.append(nn.ReLU())
        self.model = nn.Sequential(*layers)
        if init is not None:
            with torch.no_grad():
                linears = [m for m in self.model if isinstance(m, nn.Linear)]
                for lin, (W, b) in zip(linears, init):
                    lin.weight.copy_(torch.from_numpy(np.ascontiguousarray(W.T)))
                    lin.bias.copy_(torch.from_numpy(b))
        kwargs = {} if adam == "default" else {adam: True}
        self.opt = torch.optim.Adam(self.model.parameters(), lr=lr, **kwargs)
        self.batch_size = batch_size
        self.rng = shuffle_rng(seed)
        self._data: tuple | None = None

    def _tensors(self, X: np.ndarray, y: np.ndarray) -> tuple[torch.Tensor, torch.Tensor]:
        # Share the arrays' memory; converted once per data set, not per epoch.
        if self._data is None or self._data[0] is not X or self._data[1] is not y:
            self._data = (X, y, torch.from_numpy(X), torch.from_numpy(y))
        return self._data[2], self._data[3]

    def epoch(self, X: np.ndarray, y: np.ndarray) -> None:
        """Train one epoch over ``X`` (float32) and ``y`` (int64), shuffled."""
        Xt, yt = self._tensors(X, y)
        perm = torch.from_numpy(self.rng.permutation(X.shape[0]))
        model, opt, B = self.model, self.opt, self.batch_size
        for start in range(0, X.shape[0], B):
            idx = perm[start : start + B]
            opt.zero_grad(set_to_none=True)
            loss = F.cross_entropy(model(Xt[idx]), yt[idx])
            loss.backward()
            opt.step()

    def flat_params(self) -> np.ndarray:
        """All weights (as fan_in x fan_out) and biases, layer by layer, in one vector."""
        parts = []
        for lin in (m for m in self.model if isinstance(m, nn.Linear)):
            parts.append(lin.weight.detach().numpy().T.ravel())
            parts.append(lin.bias.detach().numpy())
        return np.concatenate(parts)

    def predict(self, X: np.ndarray) -> np.ndarray:
        """Return the predicted class of every row of ``X``."""
        with torch.no_grad():
            return self.model(torch.from_numpy(X)).argmax(dim=1).numpy()
