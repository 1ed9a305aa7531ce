"""tunecore: hyperparameter studies of neural networks on a fast C++ MLP core.

The public names are imported lazily, so ``import tunecore`` stays fast and a study's optional
dependencies (scikit-learn, matplotlib, tqdm) load only when a study needs them.

>>> import tunecore
>>> space = tunecore.Space({"lr": tunecore.Float(1e-4, 1.0, scale="log")})
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

# public name -> module that defines it
_EXPORTS = {
    "train": "tunecore.training",
    "train_many": "tunecore.training",
    "TrainResult": "tunecore.training",
    "MLP": "tunecore.training",
    "set_num_threads": "tunecore.training",
    "get_num_threads": "tunecore.training",
    "Float": "tunecore.space",
    "Int": "tunecore.space",
    "Choice": "tunecore.space",
    "Fixed": "tunecore.space",
    "Space": "tunecore.space",
    "GridSearch": "tunecore.strategies",
    "RandomSearch": "tunecore.strategies",
    "CoarseToFine": "tunecore.strategies",
    "TierBudget": "tunecore.strategies",
    "Tier": "tunecore.strategies",
    "default_tiers": "tunecore.strategies",
    "Study": "tunecore.study",
    "Budget": "tunecore.study",
    "MLPObjective": "tunecore.objectives",
}
_SUBMODULES = {"samplers", "space", "strategies", "study", "storage", "report", "datasets"}

__all__ = sorted(_EXPORTS) + sorted(_SUBMODULES)

if TYPE_CHECKING:  # pragma: no cover
    from tunecore.objectives import MLPObjective
    from tunecore.space import Choice, Fixed, Float, Int, Space
    from tunecore.strategies import (
        CoarseToFine,
        GridSearch,
        RandomSearch,
        Tier,
        TierBudget,
        default_tiers,
    )
    from tunecore.study import Budget, Study
    from tunecore.training import (
        MLP,
        TrainResult,
        get_num_threads,
        set_num_threads,
        train,
        train_many,
    )


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        value = getattr(importlib.import_module(_EXPORTS[name]), name)
    elif name in _SUBMODULES:
        value = importlib.import_module(f"tunecore.{name}")
    else:
        raise AttributeError(f"module 'tunecore' has no attribute {name!r}")
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
