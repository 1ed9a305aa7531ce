"""Benchmark contenders for tunecore: peers that train the same MLP, and the tools to time them.

Every contender is built by :func:`make` from the layer widths, the batch size, a seed and a
thread count, and offers ``epoch(X, y)`` (train one shuffled epoch) and ``predict(X)``.
Optional peers (Numba, PyTorch) and tunecore's compiled core may be missing: :func:`make`
then raises :class:`Unavailable` with the reason, which the benchmarks report as a skip.
"""

from __future__ import annotations

import importlib
from typing import Any

CONTENDERS = ("tunecore", "numpy", "numba", "torch", "torch-fused", "sklearn")


class Unavailable(RuntimeError):
    """A contender cannot run here (a package or the compiled core is missing)."""


def _import(module: str, what: str) -> Any:
    try:
        return importlib.import_module(module, __name__)
    except ImportError as exc:
        raise Unavailable(f"{what} is not available: {exc}") from exc


def make(
    name: str, sizes: tuple[int, ...], batch_size: int, *, seed: int = 0, threads: int = 1
) -> Any:
    """Build contender ``name`` for an MLP of widths ``sizes`` (input and output included).

    Raises
    ------
    Unavailable
        Where the contender's package, or tunecore's compiled core, is missing.
    """
    if name == "tunecore":
        mod = _import(".tunecore_mlp", "tunecore's compiled core (tunecore._core)")
        try:
            importlib.import_module("tunecore._core")
        except ImportError as exc:
            raise Unavailable(f"tunecore._core is not built: {exc}") from exc
        return mod.TunecoreMLP(sizes, batch_size, seed=seed, threads=threads)
    if name == "numpy":
        return _import(".mlp_numpy", "NumPy").NumpyMLP(sizes, batch_size, seed=seed)
    if name == "numba":
        return _import(".mlp_numba", "Numba").NumbaMLP(sizes, batch_size, seed=seed)
    if name in ("torch", "torch-fused", "torch-foreach"):
        mod = _import(".mlp_torch", "PyTorch")
        adam = "default" if name == "torch" else name.split("-")[1]
        if adam == "fused" and not mod.fused_adam_supported():
            adam = "foreach"  # older PyTorch: no fused Adam on CPU, the multi-tensor one instead
        net = mod.TorchMLP(sizes, batch_size, adam=adam, seed=seed)
        return net
    if name == "sklearn":
        return _import(".mlp_sklearn", "scikit-learn").SklearnMLP(sizes, batch_size, seed=seed)
    raise ValueError(f"name must be one of {CONTENDERS}, got {name!r}")


def versions() -> dict[str, str]:
    """Versions of every contender's package that imports here."""
    out = {}
    for pkg in ("numpy", "numba", "torch", "sklearn", "scipy", "tunecore"):
        try:
            out[pkg] = importlib.import_module(pkg).__version__
        except ImportError:
            pass
    return out
