"""The record of one trial, shared by strategies, storage, studies and reports."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

#: A trial that finished and whose value counts.
COMPLETE = "complete"
#: The objective raised; ``reason`` holds the exception.
FAILED = "failed"
#: The objective returned NaN or inf, or the training diverged; ``reason`` says where.
DIVERGED = "diverged"
#: Started and not yet finished (or the process running it died).
RUNNING = "running"
#: Stopped by Ctrl-C before it finished.
INTERRUPTED = "interrupted"

STATUSES = (COMPLETE, FAILED, DIVERGED, RUNNING, INTERRUPTED)


@dataclass(frozen=True)
class Trial:
    """One evaluated (or running) configuration of a study.

    Attributes
    ----------
    number : int
        Position of the trial in its study, from 0; unique within the study.
    params : dict
        The hyperparameter values the objective received, by name.
    status : str
        One of ``complete``, ``failed``, ``diverged``, ``running``, ``interrupted``.
    value : float or None
        The objective value the study optimizes; None unless the trial is complete.
    metrics : dict
        Every scalar the objective reported (e.g. ``val_loss``, ``val_accuracy``).
    history : dict
        Per-epoch series by name (e.g. ``train_loss``), empty for plain callables.
    seed : int
        The seed the trial ran with, derived from the study seed and ``number``.
    duration : float or None
        Wall-clock seconds the trial took.
    epochs : int
        Epochs the trial consumed (0 when the objective does not count epochs).
    tier : int or None
        Tier index for tier-budget studies, else None.
    round : int or None
        Round index for coarse-to-fine searches, else None.
    reason : str or None
        Why a trial failed or diverged.
    """

    number: int
    params: Mapping[str, Any]
    status: str
    value: float | None = None
    metrics: Mapping[str, float] = field(default_factory=dict)
    history: Mapping[str, list] = field(default_factory=dict)
    seed: int = 0
    duration: float | None = None
    epochs: int = 0
    tier: int | None = None
    round: int | None = None
    reason: str | None = None

    def __post_init__(self) -> None:
        if self.status not in STATUSES:
            raise ValueError(f"status must be one of {STATUSES}, got {self.status!r}")

    @property
    def ok(self) -> bool:
        """True when the trial is complete with a finite value, the only kind a best counts."""
        return self.status == COMPLETE and self.value is not None and math.isfinite(self.value)
