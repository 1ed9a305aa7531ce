"""Plots of a study, written as PNG files with matplotlib (the ``study`` extra).

Every function draws on its own :class:`matplotlib.figure.Figure` with the Agg canvas and
writes one PNG, so nothing here touches pyplot's global state or needs a display. Each returns
the path it wrote.

>>> from tunecore.trial import Trial
>>> import tempfile, os
>>> trials = [Trial(i, {"x": i / 10}, "complete", value=(i - 4) ** 2) for i in range(10)]
>>> path = plot_history(trials, os.path.join(tempfile.mkdtemp(), "history.png"))
>>> open(path, "rb").read(4) == b"\\x89PNG"
True
"""

from __future__ import annotations

import math
import numbers
import os
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from tunecore.report import _check_direction, _check_trials, _complete, study_importance
from tunecore.trial import Trial

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.figure import Figure

    from tunecore.space import Space

__all__ = [
    "plot_boxes",
    "plot_history",
    "plot_importance",
    "plot_study",
    "plot_tiers",
    "plot_values",
]

_DPI = 110
_BEST = "#d62728"
_TIER_KEYS = ("tier", "name", "start", "end", "share", "used")


def _figure(width: float, height: float) -> Figure:
    """A figure on the Agg canvas, independent of pyplot and of any display."""
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError as exc:
        raise ImportError(
            "tunecore.plots needs matplotlib; install the 'study' extra "
            "(pip install 'tunecore[study]')"
        ) from exc
    fig = Figure(figsize=(width, height), dpi=_DPI, layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def _save(fig: Figure, path: str | os.PathLike) -> str:
    path = os.fspath(path)
    if not path.lower().endswith(".png"):
        raise ValueError(f"path must name a .png file, got {path!r}")
    directory = os.path.dirname(path)
    if directory:
        os.makedirs(directory, exist_ok=True)
    fig.savefig(path, format="png")
    return path


def _check_space(space: Any) -> Space:
    from tunecore.space import Space

    if not isinstance(space, Space):
        raise TypeError(f"space must be a tunecore.space.Space, got {space!r}")
    return space


def _need_complete(trials: Any) -> list[Trial]:
    all_trials = _check_trials(trials)
    done = [t for t in all_trials if t.ok]
    if not done:
        raise ValueError(
            f"trials must hold at least one complete trial, got {len(all_trials)} trials "
            "and none complete"
        )
    return done


def _grid_shape(n: int) -> tuple[int, int]:
    cols = min(n, 3)
    return math.ceil(n / cols), cols


def _log_axis(ax: Any, low: float, high: float, *, integer: bool = False) -> None:
    """Put the x axis on a log scale with readable labels: powers of two for integers,
    a few round values when the range is under two decades, no labels on minor ticks."""
    from matplotlib.ticker import FixedLocator, FuncFormatter, NullFormatter

    ax.set_xscale("log")
    ax.xaxis.set_minor_formatter(NullFormatter())
    if integer:
        ticks = [2**e for e in range(63) if low <= 2**e <= high]
        if len(ticks) < 2:
            ticks = sorted({round(low), round(high)})
        ax.xaxis.set_major_locator(FixedLocator(ticks))
        ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:.0f}"))
    elif high / low < 100:
        ticks = [float(f"{v:.2g}") for v in np.geomspace(low, high, 4)]
        ax.xaxis.set_major_locator(FixedLocator(ticks))
        ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:.2g}"))


def _log_values(values: np.ndarray) -> bool:
    """Whether a value axis reads better on a log scale: positive and spanning 2 decades."""
    return bool(values.size and values.min() > 0 and values.max() / values.min() > 100)


# ---------------------------------------------------------------------------------------------
# Value against each parameter


def plot_values(
    trials: Iterable[Trial],
    space: Space,
    path: str | os.PathLike,
    direction: str = "minimize",
) -> str:
    """Plot the value of each complete trial against each sampled parameter.

    One panel per non-Fixed dimension. The x axis follows the dimension's scale: log for log
    scales, ``1 - x`` on a log axis for ``reverse_log`` (labelled so), the options for a
    Choice (points jittered sideways). Colour goes from early to late trials; the best trial
    is ringed in red. The value axis is logarithmic when every value is positive and they
    span more than two decades.

    Raises ValueError when no trial is complete.
    """
    from tunecore.space import Choice, Float, Int

    direction = _check_direction(direction)
    space = _check_space(space)
    done = _need_complete(trials)
    names = [n for n in space.sampled_names if any(n in t.params for t in done)]
    if not names:
        raise ValueError(
            f"space must share a sampled dimension with the trials' params, got {space!r}"
        )
    best = min(done, key=lambda t: (t.value if direction == "minimize" else -t.value, t.number))
    values = np.array([t.value for t in done])
    order = np.array([t.number for t in done], dtype=float)
    rows, cols = _grid_shape(len(names))
    fig = _figure(4.0 * cols + 0.8, 3.2 * rows)
    axes = fig.subplots(rows, cols, squeeze=False)
    jitter = np.random.default_rng(0).uniform(-0.15, 0.15, len(done))
    scatter = None

    for ax, name in zip(axes.flat, names):
        dim = space[name]
        have = np.array([name in t.params for t in done])
        raw = [t.params.get(name) for t in done]
        label = name
        if isinstance(dim, Choice):
            x = (
                np.array([dim.index(v) if h else np.nan for v, h in zip(raw, have)], dtype=float)
                + jitter
            )
            ax.set_xticks(range(len(dim.options)))
            ax.set_xticklabels([str(o) for o in dim.options], rotation=30, ha="right")
            best_x = (
                dim.index(best.params[name]) + jitter[done.index(best)]
                if name in best.params
                else None
            )
        else:
            x = np.array([float(v) if h else np.nan for v, h in zip(raw, have)])
            if isinstance(dim, Float) and dim.scale == "reverse_log":
                x = 1.0 - x
                label = f"1 - {name}"
                _log_axis(ax, 1.0 - dim.high, 1.0 - dim.low)
            elif dim.scale == "log":
                _log_axis(ax, dim.low, dim.high, integer=isinstance(dim, Int))
            best_x = x[done.index(best)] if name in best.params else None
            if isinstance(dim, Int) and not dim.log and dim.high - dim.low <= 12:
                ax.set_xticks(range(dim.low, dim.high + 1))
        scatter = ax.scatter(
            x, values, c=order, cmap="viridis", s=18, alpha=0.85, edgecolors="none"
        )
        if best_x is not None and np.isfinite(best_x):
            ax.scatter(
                [best_x],
                [best.value],
                s=90,
                facecolors="none",
                edgecolors=_BEST,
                linewidths=1.8,
                label=f"best (trial {best.number})",
            )
        if _log_values(values):
            ax.set_yscale("log")
        ax.set_xlabel(label)
        ax.set_ylabel("value")
        ax.grid(True, alpha=0.3)
    for ax in list(axes.flat)[len(names) :]:
        ax.set_visible(False)
    axes.flat[0].legend(loc="best", fontsize="small")
    if scatter is not None:
        fig.colorbar(scatter, ax=axes, label="trial number", shrink=0.8)
    fig.suptitle(f"value against each parameter ({direction}, {len(done)} complete trials)")
    return _save(fig, path)


# ---------------------------------------------------------------------------------------------
# Best value over time


def plot_history(
    trials: Iterable[Trial], path: str | os.PathLike, direction: str = "minimize"
) -> str:
    """Plot each complete trial's value and the best so far, over trial number and time.

    The left panel puts trials in trial-number order; the right one (drawn when durations
    are known) against cumulative trial seconds, the compute time spent so far (trials that
    ran in parallel add up, so this is not wall-clock time). Failed and diverged trials are
    marked as crosses along the bottom.

    Raises ValueError when no trial is complete.
    """
    direction = _check_direction(direction)
    all_trials = sorted(_check_trials(trials), key=lambda t: t.number)
    done = _need_complete(all_trials)
    sign = 1.0 if direction == "minimize" else -1.0
    timed = all(t.duration is not None for t in all_trials)
    fig = _figure(11.0 if timed else 6.0, 3.8)
    axes = fig.subplots(1, 2 if timed else 1, squeeze=False)[0]

    number = np.array([t.number for t in done], dtype=float)
    values = np.array([t.value for t in done])
    running = sign * np.minimum.accumulate(sign * values)
    failed = [t for t in all_trials if not t.ok and t.status != "running"]
    xs = [("trial number", number, [t.number for t in failed])]
    if timed:
        clock = np.cumsum([t.duration for t in all_trials])
        at = {t.number: c for t, c in zip(all_trials, clock)}
        xs.append(
            (
                "cumulative trial seconds",
                np.array([at[t.number] for t in done]),
                [at[t.number] for t in failed],
            )
        )
    for ax, (label, x, x_failed) in zip(axes, xs):
        ax.scatter(x, values, s=14, color="#7f7f7f", alpha=0.7, label="trial value")
        ax.step(x, running, where="post", color=_BEST, linewidth=2.0, label="best so far")
        if x_failed:
            # at the bad end of the value axis, clear of the best-so-far line
            y_at = 0.97 if direction == "minimize" else 0.03
            ax.scatter(
                x_failed,
                [y_at] * len(x_failed),
                transform=ax.get_xaxis_transform(),
                marker="x",
                color="black",
                s=24,
                label="failed / diverged",
            )
        if _log_values(values):
            ax.set_yscale("log")
        ax.set_xlabel(label)
        ax.set_ylabel("value")
        ax.grid(True, alpha=0.3)
    axes[0].legend(loc="best", fontsize="small")
    best = running[-1]
    fig.suptitle(f"best value over the study ({direction}): {best:.4g}")
    return _save(fig, path)


# ---------------------------------------------------------------------------------------------
# Coarse-to-fine boxes


def _round_bounds(entry: Any, space: Space) -> dict[str, Any]:
    """Bounds of one round: a dict name -> (low, high) or options, or a Space."""
    from tunecore.space import Choice, Fixed, Space

    if isinstance(entry, Space):
        out: dict[str, Any] = {}
        for name in entry.names:
            dim = entry[name]
            if isinstance(dim, Choice):
                out[name] = list(dim.options)
            elif isinstance(dim, Fixed):
                as_option = name in space and isinstance(space[name], Choice)
                out[name] = [dim.value] if as_option else (dim.value, dim.value)
            else:
                out[name] = (dim.low, dim.high)
        return out
    if not isinstance(entry, Mapping):
        raise TypeError(f"rounds must hold dicts of name -> bounds (or Spaces), got {entry!r}")
    unknown = [n for n in entry if n not in space]
    if unknown:
        raise ValueError(f"rounds name a dimension the space does not have: {unknown[0]!r}")
    return dict(entry)


def plot_boxes(
    rounds: Sequence[Any],
    space: Space,
    path: str | os.PathLike,
    trials: Iterable[Trial] | None = None,
) -> str:
    """Plot the coarse-to-fine search box of each round, one panel per dimension.

    Parameters
    ----------
    rounds : list
        One entry per round: a dict name -> ``(low, high)`` (Float / Int) or list of options
        (Choice), or the round's :class:`~tunecore.space.Space`. A dimension a round does
        not mention spans the whole space.
    space : Space
        The original space; panels follow its scales (log axes where log, ``1 - x`` for
        reverse_log).
    path : str
        The PNG to write.
    trials : list of Trial, optional
        Complete trials with a ``round`` are drawn as points inside their round's box.

    Raises ValueError when ``rounds`` is empty.
    """
    from tunecore.space import Choice, Float, Int

    space = _check_space(space)
    if isinstance(rounds, (str, bytes, Mapping)) or not isinstance(rounds, Iterable):
        raise TypeError(f"rounds must be a list of per-round bounds, got {rounds!r}")
    rounds = [_round_bounds(r, space) for r in rounds]
    if not rounds:
        raise ValueError("rounds must hold at least one round, got an empty list")
    names = list(space.sampled_names)
    if not names:
        raise ValueError(f"space must have a sampled dimension, got {space!r}")
    done = [t for t in _complete(trials) if t.round is not None] if trials is not None else []

    rows, cols = _grid_shape(len(names))
    fig = _figure(4.2 * cols, 0.6 + 0.35 * len(rounds) * rows + 1.6 * rows)
    axes = fig.subplots(rows, cols, squeeze=False)
    colors = [f"C{i % 10}" for i in range(len(rounds))]
    for ax, name in zip(axes.flat, names):
        dim = space[name]
        flip = isinstance(dim, Float) and dim.scale == "reverse_log"

        def tx(v: Any, flip: bool = flip) -> float:
            return 1.0 - float(v) if flip else float(v)

        for r, bounds in enumerate(rounds):
            b = bounds.get(name)
            if isinstance(dim, Choice):
                idx = range(len(dim.options)) if b is None else sorted({dim.index(v) for v in b})
                ax.scatter(idx, [r] * len(idx), marker="s", s=120, color=colors[r], alpha=0.6)
            else:
                lo, hi = (dim.low, dim.high) if b is None else (b[0], b[1])
                if isinstance(dim, Int):  # integer k owns [k - 0.5, k + 0.5]
                    lo, hi = lo - 0.5, hi + 0.5
                a, c = sorted((tx(lo), tx(hi)))
                ax.barh(
                    r, c - a, left=a, height=0.6, color=colors[r], alpha=0.35, edgecolor=colors[r]
                )
            for t in done:
                if t.round == r and name in t.params:
                    v = t.params[name]
                    x = dim.index(v) if isinstance(dim, Choice) else tx(v)
                    ax.plot(x, r, ".", color="black", markersize=3, alpha=0.6)
        if isinstance(dim, Choice):
            ax.set_xticks(range(len(dim.options)))
            ax.set_xticklabels([str(o) for o in dim.options], rotation=30, ha="right")
            ax.set_xlim(-0.5, len(dim.options) - 0.5)
        else:
            half = 0.5 if isinstance(dim, Int) else 0.0
            a, c = sorted((tx(dim.low - half), tx(dim.high + half)))
            if dim.scale in ("log", "reverse_log"):
                _log_axis(ax, a, c, integer=isinstance(dim, Int))
                ax.set_xlim(a / 1.1, c * 1.1)
            else:
                pad = 0.03 * (c - a)
                ax.set_xlim(a - pad, c + pad)
        ax.set_yticks(range(len(rounds)))
        ax.set_yticklabels([f"round {r}" for r in range(len(rounds))])
        ax.invert_yaxis()
        ax.set_xlabel(f"1 - {name}" if flip else name)
        ax.grid(True, axis="x", alpha=0.3)
    for ax in list(axes.flat)[len(names) :]:
        ax.set_visible(False)
    fig.suptitle(f"coarse-to-fine: the search box round by round ({len(rounds)} rounds)")
    return _save(fig, path)


# ---------------------------------------------------------------------------------------------
# Importance bars


def plot_importance(importance: Mapping[str, float], path: str | os.PathLike) -> str:
    """Plot the importance fractions as horizontal bars, most important on top, with the
    rest (interactions and noise) as a grey bar.

    Raises ValueError for an empty dict or a fraction that is negative or not finite.
    """
    if not isinstance(importance, Mapping):
        raise TypeError(f"importance must be a dict of name -> fraction, got {importance!r}")
    if not importance:
        raise ValueError("importance must name at least one parameter, got an empty dict")
    for name, value in importance.items():
        if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
            raise TypeError(f"importance[{name!r}] must be a number, got {value!r}")
        if not math.isfinite(float(value)) or value < 0:
            raise ValueError(f"importance[{name!r}] must be a finite fraction >= 0, got {value!r}")
    names = sorted(importance, key=lambda n: (-importance[n], n))
    values = [100.0 * float(importance[n]) for n in names]
    rest = max(0.0, 100.0 - sum(values))
    labels = names + ["interactions / rest"]
    fig = _figure(6.4, 0.9 + 0.38 * len(labels))
    ax = fig.subplots()
    y = np.arange(len(labels))
    bars = ax.barh(y, values + [rest], color=["C0"] * len(names) + ["#bbbbbb"])
    for bar, v in zip(bars, values + [rest]):
        ax.text(
            bar.get_width() + 0.8,
            bar.get_y() + bar.get_height() / 2,
            f"{v:.1f} %",
            va="center",
            fontsize="small",
        )
    ax.set_yticks(y)
    ax.set_yticklabels(labels)
    ax.invert_yaxis()
    ax.set_xlim(0, max(values + [rest]) * 1.18 + 1)
    ax.set_xlabel("share of the value's variance (%)")
    ax.set_title("hyperparameter importance (fANOVA main effects)")
    ax.grid(True, axis="x", alpha=0.3)
    return _save(fig, path)


# ---------------------------------------------------------------------------------------------
# Tier timeline


def _check_timeline(timeline: Any) -> list[dict[str, Any]]:
    if isinstance(timeline, (str, bytes, Mapping)) or not isinstance(timeline, Iterable):
        raise TypeError(f"tiers_timeline must be a list of dicts, got {timeline!r}")
    rows = list(timeline)
    if not rows:
        raise ValueError("tiers_timeline must hold at least one tier, got an empty list")
    out = []
    for row in rows:
        if not isinstance(row, Mapping):
            raise TypeError(f"tiers_timeline must hold dicts, got {row!r}")
        missing = [k for k in _TIER_KEYS if k not in row]
        if missing:
            raise ValueError(
                f"tiers_timeline entries need keys {list(_TIER_KEYS)!r}, got {sorted(row)!r} "
                f"(missing {missing[0]!r})"
            )
        for key in ("start", "end", "share", "used"):
            value = row[key]
            if (
                isinstance(value, bool)
                or not isinstance(value, numbers.Real)
                or not math.isfinite(float(value))
                or value < 0
            ):
                raise ValueError(
                    f"tiers_timeline[{row['tier']!r}][{key!r}] must be a finite number >= 0, "
                    f"got {value!r}"
                )
        if row["end"] < row["start"]:
            raise ValueError(
                f"tiers_timeline[{row['tier']!r}] must have end >= start, got start="
                f"{row['start']!r} and end={row['end']!r}"
            )
        out.append(dict(row))
    return out


def plot_tiers(
    tiers_timeline: Sequence[Mapping[str, Any]],
    path: str | os.PathLike,
    *,
    unit: str = "trials",
) -> str:
    """Plot a tier-budget study's timeline and each tier's share of the budget.

    Parameters
    ----------
    tiers_timeline : list of dict
        One dict per tier, in order, with keys ``tier`` (index or label), ``name``, ``start``
        and ``end`` (when the tier ran, in budget units: trials, epochs or seconds), ``share``
        (the fraction of the budget planned for it) and ``used`` (the fraction it used,
        including budget handed on by earlier tiers).
    path : str
        The PNG to write.
    unit : str
        Name of the budget unit, for the axis label.

    The left panel is a Gantt chart of the tiers; the right compares planned and used shares,
    so a tier that stopped early (its patience ran out) and the tier that received its unused
    budget stand out.

    Raises ValueError for an empty timeline or an entry missing a key.
    """
    rows = _check_timeline(tiers_timeline)
    fig = _figure(11.0, 1.4 + 0.55 * len(rows))
    gantt, shares = fig.subplots(1, 2, width_ratios=[3, 2])
    y = np.arange(len(rows))
    labels = [f"tier {r['tier']}: {r['name']}" for r in rows]
    for i, r in enumerate(rows):
        gantt.barh(i, r["end"] - r["start"], left=r["start"], height=0.6, color=f"C{i % 10}")
        gantt.text(r["end"], i, f"  {100 * r['used']:.0f} %", va="center", fontsize="small")
    gantt.set_yticks(y)
    gantt.set_yticklabels(labels)
    gantt.invert_yaxis()
    end = max(r["end"] for r in rows)
    gantt.set_xlim(0, end * 1.12 if end > 0 else 1)
    gantt.set_xlabel(unit)
    gantt.set_title("when each tier ran")
    gantt.grid(True, axis="x", alpha=0.3)

    h = 0.38
    shares.barh(
        y - h / 2,
        [100 * r["share"] for r in rows],
        height=h,
        color="#bbbbbb",
        label="planned share",
    )
    shares.barh(
        y + h / 2,
        [100 * r["used"] for r in rows],
        height=h,
        color=[f"C{i % 10}" for i in range(len(rows))],
        label="used",
    )
    shares.set_yticks(y)
    shares.set_yticklabels([f"tier {r['tier']}" for r in rows])
    shares.invert_yaxis()
    shares.set_xlabel("% of the budget")
    shares.set_title("planned share and use")
    shares.legend(loc="lower right", fontsize="small")
    shares.grid(True, axis="x", alpha=0.3)
    return _save(fig, path)


# ---------------------------------------------------------------------------------------------
# Every plot of a study


def _timeline_from_trials(
    trials: list[Trial], shares: Sequence[float] | None, names: Sequence[str] | None
) -> list[dict[str, Any]]:
    """Tier timeline in trials, from the trials' ``tier`` fields (in trial-number order)."""
    tiers = sorted({t.tier for t in trials if t.tier is not None})
    total = sum(1 for t in trials if t.tier is not None)
    out = []
    for tier in tiers:
        numbers_ = [t.number for t in trials if t.tier == tier]
        share = float(shares[tier]) if shares is not None and tier < len(shares) else 0.0
        name = str(names[tier]) if names is not None and tier < len(names) else ""
        out.append(
            {
                "tier": tier + 1,
                "name": name,
                "start": min(numbers_),
                "end": max(numbers_) + 1,
                "share": share,
                "used": len(numbers_) / total,
            }
        )
    return out


def plot_study(
    study: Any, out_dir: str | os.PathLike, *, importance: Mapping[str, float] | None = None
) -> list[str]:
    """Write every plot that applies to ``study`` into ``out_dir``; return the paths.

    Writes ``values.png`` and ``history.png`` (when a trial is complete), ``importance.png``
    (``importance`` when given, else :func:`tunecore.report.study_importance` when the study
    has enough trials), ``boxes.png`` (when trials
    carry coarse-to-fine rounds: each round's box is the one its trials span) and
    ``tiers.png`` (when trials carry tiers; shares from ``study.strategy.shares`` when it has
    them, the x axis in trials).
    """
    out_dir = os.fspath(out_dir)
    trials = sorted(study.trials, key=lambda t: t.number)
    space = study.space
    direction = study.direction
    written: list[str] = []
    if not any(t.ok for t in trials):
        return written
    written.append(plot_values(trials, space, os.path.join(out_dir, "values.png"), direction))
    written.append(plot_history(trials, os.path.join(out_dir, "history.png"), direction))
    imp = importance
    if imp is None:
        try:
            imp = study_importance(study)
        except ValueError:
            imp = None
    if imp:
        written.append(plot_importance(imp, os.path.join(out_dir, "importance.png")))

    rounds = sorted({t.round for t in trials if t.round is not None})
    if rounds:
        boxes = []
        for r in rounds:
            in_round = [t for t in trials if t.round == r]
            bounds: dict[str, Any] = {}
            for name in space.sampled_names:
                vals = [t.params[name] for t in in_round if name in t.params]
                if not vals:
                    continue
                if hasattr(space[name], "options"):
                    bounds[name] = vals
                else:
                    bounds[name] = (min(vals), max(vals))
            boxes.append(bounds)
        written.append(plot_boxes(boxes, space, os.path.join(out_dir, "boxes.png"), trials))

    if any(t.tier is not None for t in trials):
        strategy = getattr(study, "strategy", None)
        shares = getattr(strategy, "shares", None)
        tier_objs = getattr(strategy, "tiers", None)
        names = (
            [getattr(t, "name", str(i)) for i, t in enumerate(tier_objs)]
            if tier_objs is not None
            else None
        )
        timeline = _timeline_from_trials(trials, shares, names)
        written.append(plot_tiers(timeline, os.path.join(out_dir, "tiers.png")))
    return written
