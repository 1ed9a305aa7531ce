"""Search strategies: what to try next, proposed in batches and told the results.

Every strategy follows one protocol:

- ``ask(n, used=None) -> list[Proposal]``: up to ``n`` configurations (params plus tier and
  round metadata); [] when the strategy is finished or waits for results still in flight.
- ``tell(trials)``: the finished trials (complete, failed or diverged).
- ``finished``: True when nothing more will be proposed.
- ``restore(trials, times=None)``: rebuild the state from the stored trials (resume).
- ``to_dict()`` / :func:`strategy_from_dict`: a plain description stored with the study.

>>> from tunecore.space import Float, Space
>>> search = RandomSearch(Space({"lr": Float(1e-4, 1.0, scale="log")}), 8, sampler="sobol",
...                       seed=0)
>>> len(search.ask(3))
3
"""

from tunecore.strategies.base import (
    Budget,
    Proposal,
    Strategy,
    Usage,
    best_of,
    strategy_from_dict,
)
from tunecore.strategies.coarse_to_fine import CoarseToFine
from tunecore.strategies.grid import GridSearch
from tunecore.strategies.random import RandomSearch
from tunecore.strategies.tiers import Tier, TierBudget, default_tiers

__all__ = [
    "Budget",
    "CoarseToFine",
    "GridSearch",
    "Proposal",
    "RandomSearch",
    "Strategy",
    "Tier",
    "TierBudget",
    "Usage",
    "best_of",
    "default_tiers",
    "strategy_from_dict",
]
