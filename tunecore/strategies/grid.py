"""Grid search: every point of a regular grid, in the space's deterministic order."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from tunecore.strategies.base import Proposal, Strategy, Usage, check_space, register
from tunecore.trial import Trial


@register
class GridSearch(Strategy):
    """Evaluate every point of ``space.grid(points)``, in order.

    Parameters
    ----------
    space : Space
        The search space.
    points : int or dict
        Grid points per dimension (one int for all, or name -> int), as ``Space.grid`` takes.

    Examples
    --------
    >>> from tunecore.space import Float, Space
    >>> grid = GridSearch(Space({"x": Float(0.0, 1.0)}), 3)
    >>> [p.params["x"] for p in grid.ask(5)]
    [0.0, 0.5, 1.0]
    """

    name = "grid"

    def __init__(self, space: Any, points: Any = 5, *, seed: int | None = None) -> None:
        super().__init__(check_space(space), seed=seed)
        self.points = dict(points) if isinstance(points, Mapping) else points
        self._grid = self.space.grid(self.points)
        self._issued = 0

    def ask(self, n: int, used: Usage | None = None) -> list[Proposal]:
        chunk = self._grid[self._issued : self._issued + max(0, int(n))]
        self._issued += len(chunk)
        return [Proposal(params=dict(p)) for p in chunk]

    def _account(self, trial: Trial) -> None:
        self._issued += 1

    @property
    def finished(self) -> bool:
        return self._issued >= len(self._grid)

    @property
    def total(self) -> int:
        return len(self._grid)

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "space": self.space.to_dict(),
            "points": self.points,
            "seed": self.seed,
            "direction": self.direction,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> GridSearch:
        from tunecore.space import Space

        strategy = cls(Space.from_dict(data["space"]), data["points"], seed=data.get("seed"))
        strategy.direction = data.get("direction", "minimize")
        return strategy
