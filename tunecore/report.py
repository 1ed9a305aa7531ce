"""What a study taught: the best trials, tables, and how much each hyperparameter mattered.

:func:`importance` answers "which settings mattered" with a functional ANOVA (fANOVA) of a
random forest fitted to the trials, and :func:`tier_importance` measures it tier by tier for a
tier-budget study; :func:`format_importance` prints either beside the tier order the study
assumed, marking where that order did not hold. The plots live in
:mod:`tunecore.plots`.

>>> from tunecore.trial import Trial
>>> trials = [Trial(i, {"lr": 10.0 ** -i}, "complete", value=float(abs(i - 2)))
...           for i in range(5)]
>>> best(trials).params
{'lr': 0.01}
>>> [t.number for t in top_k(trials, 3)]
[2, 1, 3]
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from tunecore.trial import Trial

if TYPE_CHECKING:  # pragma: no cover
    from tunecore.space import Space

__all__ = [
    "MIN_TRIALS",
    "best",
    "format_importance",
    "format_table",
    "importance",
    "study_importance",
    "tier_importance",
    "top_k",
]

DIRECTIONS = ("minimize", "maximize")

#: Complete trials :func:`importance` needs: fewer cannot both fit a forest and leave it
#: anything to say about variance.
MIN_TRIALS = 5


def _check_direction(direction: Any) -> str:
    if not isinstance(direction, str):
        raise TypeError(f"direction must be a str, one of {DIRECTIONS}, got {direction!r}")
    if direction not in DIRECTIONS:
        raise ValueError(f"direction must be one of {DIRECTIONS}, got {direction!r}")
    return direction


def _check_trials(trials: Any) -> list[Trial]:
    if isinstance(trials, (str, bytes, Mapping)) or not isinstance(trials, Iterable):
        raise TypeError(f"trials must be a list of Trial, got {trials!r}")
    trials = list(trials)
    for t in trials:
        if not isinstance(t, Trial):
            raise TypeError(f"trials must hold Trial objects, got {t!r}")
    return trials


def _complete(trials: Any) -> list[Trial]:
    """The trials that count (``Trial.ok``), in the order given."""
    return [t for t in _check_trials(trials) if t.ok]


def _sort_key(direction: str):
    sign = 1.0 if direction == "minimize" else -1.0
    return lambda t: (sign * t.value, t.number)


# ---------------------------------------------------------------------------------------------
# Best trials


def top_k(trials: Iterable[Trial], k: int, direction: str = "minimize") -> list[Trial]:
    """Return the ``k`` best complete trials, best first (ties broken by trial number).

    Parameters
    ----------
    trials : list of Trial
        Any trials; only those with ``Trial.ok`` (complete, finite value) count.
    k : int
        How many, >= 1; fewer come back when fewer trials are complete.
    direction : {"minimize", "maximize"}

    Examples
    --------
    >>> ts = [Trial(i, {"x": i}, "complete", value=float(i)) for i in range(4)]
    >>> [t.number for t in top_k(ts, 2, "maximize")]
    [3, 2]
    """
    if isinstance(k, (bool, np.bool_)) or not isinstance(k, numbers.Integral):
        raise TypeError(f"k must be an int, got {k!r}")
    if k < 1:
        raise ValueError(f"k must be >= 1, got {k!r}")
    direction = _check_direction(direction)
    return sorted(_complete(trials), key=_sort_key(direction))[: int(k)]


def best(trials: Iterable[Trial], direction: str = "minimize") -> Trial | None:
    """Return the best complete trial (lowest trial number among ties), or None if none is."""
    direction = _check_direction(direction)
    done = _complete(trials)
    return min(done, key=_sort_key(direction)) if done else None


# ---------------------------------------------------------------------------------------------
# Tables


def _fmt(value: Any) -> str:
    """Short text for a table cell: 4 significant digits for floats."""
    if value is None:
        return "-"
    if isinstance(value, (bool, np.bool_)):
        return str(bool(value))
    if isinstance(value, numbers.Integral):
        return str(int(value))
    if isinstance(value, numbers.Real):
        return f"{float(value):.4g}"
    if isinstance(value, (list, tuple)):
        return "(" + ", ".join(_fmt(v) for v in value) + ")"
    return str(value)


def _is_number(value: Any) -> bool:
    return (
        isinstance(value, numbers.Real) and not isinstance(value, (bool, np.bool_))
    ) or value is None


def _render(header: list[str], rows: list[list[Any]], right: Sequence[bool] | None = None) -> str:
    """Align columns two spaces apart: numbers (or the columns ``right`` marks) to the right,
    text to the left."""
    cells = [[_fmt(v) for v in row] for row in rows]
    numeric = (
        list(right)
        if right is not None
        else [all(_is_number(row[j]) for row in rows) for j in range(len(header))]
    )
    widths = [max([len(h)] + [len(c[j]) for c in cells]) for j, h in enumerate(header)]

    def line(items: list[str]) -> str:
        parts = [s.rjust(w) if num else s.ljust(w) for s, w, num in zip(items, widths, numeric)]
        return "  ".join(parts).rstrip()

    out = [line(header), line(["-" * w for w in widths])]
    out += [line(c) for c in cells]
    return "\n".join(out)


def format_table(
    trials: Iterable[Trial],
    names: Sequence[str] | None = None,
    k: int = 10,
    direction: str | None = None,
) -> str:
    """Return a plain aligned text table of complete trials, one row each.

    Parameters
    ----------
    trials : list of Trial
        Only complete trials (``Trial.ok``) are shown.
    names : list of str, optional
        The parameter columns; default every parameter name in order of first appearance.
        A trial without a parameter shows ``-``.
    k : int
        At most this many rows.
    direction : {"minimize", "maximize"}, optional
        Sort the trials best first. With None the trials keep the order given (e.g. the
        output of :func:`top_k`).

    Returns
    -------
    str
        Columns ``rank``, ``trial``, ``value``, then ``tier`` / ``round`` (counted from 1)
        when any trial has one, then the parameters, then ``seconds`` when durations are known.

    Examples
    --------
    >>> ts = [Trial(i, {"lr": 0.1 * (i + 1)}, "complete", value=1.0 / (i + 1)) for i in range(3)]
    >>> print(format_table(ts, ["lr"], direction="minimize"))
    rank  trial   value   lr
    ----  -----  ------  ---
       1      2  0.3333  0.3
       2      1     0.5  0.2
       3      0       1  0.1
    """
    if isinstance(k, (bool, np.bool_)) or not isinstance(k, numbers.Integral):
        raise TypeError(f"k must be an int, got {k!r}")
    if k < 1:
        raise ValueError(f"k must be >= 1, got {k!r}")
    all_trials = _check_trials(trials)
    done = [t for t in all_trials if t.ok]
    if not done:
        raise ValueError(
            f"trials must hold at least one complete trial, got {len(all_trials)} trials "
            "and none complete"
        )
    if direction is not None:
        done.sort(key=_sort_key(_check_direction(direction)))
    done = done[: int(k)]
    if names is None:
        names = list(dict.fromkeys(name for t in done for name in t.params))
    elif isinstance(names, str) or not isinstance(names, Iterable):
        raise TypeError(f"names must be a list of parameter names, got {names!r}")
    names = list(names)

    header = ["rank", "trial", "value"]
    extra = [
        field for field in ("tier", "round") if any(getattr(t, field) is not None for t in done)
    ]
    timed = any(t.duration is not None for t in done)
    header += extra + names + (["seconds"] if timed else [])
    rows = []
    for rank, t in enumerate(done, start=1):
        row: list[Any] = [rank, t.number, t.value]
        # stored from 0, printed from 1 as people count tiers and rounds (the CLI's tier lines too)
        row += [None if getattr(t, f) is None else getattr(t, f) + 1 for f in extra]
        row += [t.params.get(name) for name in names]
        if timed:
            row.append(t.duration)
        rows.append(row)
    return _render(header, rows)


# ---------------------------------------------------------------------------------------------
# Importance: functional ANOVA over a random forest's partition


def _leaf_boxes(tree: Any, d: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Return the leaves of a fitted sklearn tree as boxes of the unit cube.

    Returns ``lower`` and ``upper`` (both (n_leaves, d)) and ``values`` (n_leaves,): leaf
    ``l`` predicts ``values[l]`` on the box ``prod_j [lower[l, j], upper[l, j]]``. A split
    ``x_f <= t`` sends ``[lo, t]`` left and ``[t, hi]`` right; boundaries have measure zero.
    """
    t = tree.tree_
    lowers, uppers, values = [], [], []
    stack = [(0, np.zeros(d), np.ones(d))]
    while stack:
        node, lo, hi = stack.pop()
        left, right = t.children_left[node], t.children_right[node]
        if left == -1:
            lowers.append(lo)
            uppers.append(hi)
            values.append(float(t.value[node].reshape(-1)[0]))
            continue
        f = t.feature[node]
        cut = min(max(float(t.threshold[node]), lo[f]), hi[f])
        hi_left = hi.copy()
        hi_left[f] = cut
        lo_right = lo.copy()
        lo_right[f] = cut
        stack.append((left, lo, hi_left))
        stack.append((right, lo_right, hi))
    return np.array(lowers), np.array(uppers), np.array(values)


def _tree_main_effects(lower: np.ndarray, upper: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Return each variable's main-effect variance and, last, the total variance of one tree.

    Under the uniform measure on the unit cube the tree is ``f(x) = sum_l v_l 1[x in B_l]``
    with leaf boxes ``B_l`` of volume ``V_l``. Its mean is ``m = sum_l V_l v_l`` and its
    variance ``sum_l V_l v_l^2 - m^2``. Integrating out every variable but ``x_j`` gives
    ``g_j(x_j) = sum_l v_l (V_l / w_lj) 1[x_j in I_lj]`` (``I_lj`` the box's side on axis
    ``j``, of width ``w_lj``), a step function whose steps are the tree's cuts on axis ``j``;
    the main effect's variance is ``integral (g_j - m)^2 dx_j``, summed exactly over the steps.
    """
    widths = upper - lower
    volume = np.prod(widths, axis=1)
    mean = float(np.dot(volume, values))
    total = float(np.dot(volume, values**2) - mean**2)
    d = lower.shape[1]
    out = np.zeros(d + 1)
    out[d] = max(total, 0.0)
    for j in range(d):
        keep = widths[:, j] > 0
        if not np.any(keep):
            continue
        cuts = np.unique(np.concatenate([lower[keep, j], upper[keep, j], [0.0, 1.0]]))
        # leaf l covers the steps cuts[a] .. cuts[b] with a = index of its lower side and
        # b = index of its upper side; add its weight there with a difference array.
        a = np.searchsorted(cuts, lower[keep, j])
        b = np.searchsorted(cuts, upper[keep, j])
        weight = values[keep] * volume[keep] / widths[keep, j]
        step = np.zeros(cuts.size)
        np.add.at(step, a, weight)
        np.add.at(step, b, -weight)
        g = np.cumsum(step)[:-1]
        out[j] = float(np.dot(np.diff(cuts), (g - mean) ** 2))
    return out


def importance(
    trials: Iterable[Trial],
    space: Space,
    *,
    seed: int = 0,
    n_trees: int = 64,
) -> dict[str, float]:
    """Return the fraction of the value's variance each hyperparameter explains on its own.

    Parameters
    ----------
    trials : list of Trial
        The study's trials; only complete ones (``Trial.ok``) count, and at least
        :data:`MIN_TRIALS` (5) must be complete. Each needs a value for every sampled
        dimension of ``space`` (a missing one is taken at the dimension's default when it
        has one); values outside a dimension are clipped to it.
    space : Space
        The space the trials were drawn from (for coarse-to-fine, the original one).
    seed : int
        Seed of the random forest (through :func:`tunecore._seeding.resolve_seed`).
    n_trees : int
        Trees in the forest.

    Returns
    -------
    dict
        Name -> fraction in [0, 1], for every dimension of ``space`` in its order. Fixed
        dimensions and dimensions that took a single value in the trials get 0. The
        fractions sum to at most 1; the rest is explained by interactions.

    Notes
    -----
    How it is computed (exact, no Monte Carlo):

    1. Each trial becomes a point of the unit cube through ``space.to_unit``, so a log
       dimension is seen in log space, a reverse-log one in ``log(1 - x)``, a Choice as its
       unit code ``(i + 0.5) / m`` (trees split codes by order, which for a handful of
       options costs little accuracy).
    2. A scikit-learn ``RandomForestRegressor`` (``n_trees`` trees, bootstrap, fully grown)
       is fitted to the values.
    3. Each tree is a step function over boxes of the unit cube. Under the uniform measure
       (the measure the space samples with), its functional ANOVA main effects are computed
       exactly from the leaf boxes' volumes: ``V_j = Var(E[f | x_j])`` divided by ``Var(f)``
       (Hutter, Hoos and Leyton-Brown, "An efficient approach for assessing hyperparameter
       importance", ICML 2014).
    4. The fractions are averaged over the trees whose prediction is not constant.

    Examples
    --------
    >>> from tunecore.space import Float, Space
    >>> rng = np.random.default_rng(0)
    >>> space = Space({"a": Float(0.0, 1.0), "b": Float(0.0, 1.0)})
    >>> ts = [Trial(i, p, "complete", value=p["a"] ** 2)
    ...       for i, p in enumerate(space.sample(60, seed=1))]
    >>> imp = importance(ts, space)
    >>> imp["a"] > 0.9 > 0.05 > imp["b"]
    True
    """
    from tunecore._seeding import resolve_seed
    from tunecore.space import Space

    if not isinstance(space, Space):
        raise TypeError(f"space must be a tunecore.space.Space, got {space!r}")
    if isinstance(n_trees, (bool, np.bool_)) or not isinstance(n_trees, numbers.Integral):
        raise TypeError(f"n_trees must be an int, got {n_trees!r}")
    if n_trees < 1:
        raise ValueError(f"n_trees must be >= 1, got {n_trees!r}")
    seed = resolve_seed(seed)
    done = _complete(trials)
    if len(done) < MIN_TRIALS:
        raise ValueError(
            f"importance needs at least {MIN_TRIALS} complete trials, got {len(done)}"
        )
    try:
        from sklearn.ensemble import RandomForestRegressor
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError(
            "tunecore.report.importance needs scikit-learn; install the 'study' extra "
            "(pip install 'tunecore[study]')"
        ) from exc

    result = {name: 0.0 for name in space.names}
    # a trial that lacks a parameter ran it at its default (e.g. a later tier of a tier study)
    defaults = space.defaults
    X = space.to_unit([{**defaults, **t.params} for t in done], clip=True)
    y = np.array([t.value for t in done], dtype=np.float64)
    varying = [j for j in range(X.shape[1]) if np.ptp(X[:, j]) > 0]
    if not varying or np.ptp(y) == 0:
        return result
    X = X[:, varying]

    forest = RandomForestRegressor(n_estimators=int(n_trees), random_state=seed % 2**32)
    forest.fit(X, y)
    fractions = []
    for tree in forest.estimators_:
        effects = _tree_main_effects(*_leaf_boxes(tree, X.shape[1]))
        total = effects[-1]
        # a tree of a bootstrap sample can be a single leaf: it says nothing about variance
        if total > 1e-12 * max(float(np.var(y)), 1e-300):
            fractions.append(np.clip(effects[:-1] / total, 0.0, 1.0))
    if not fractions:
        return result
    mean = np.mean(fractions, axis=0)
    names = space.sampled_names
    for j, frac in zip(varying, mean):
        result[names[j]] = float(frac)
    return result


def tier_importance(
    trials: Iterable[Trial], tiers: Sequence[Any], *, seed: int | None = 0, n_trees: int = 64
) -> dict[str, float]:
    """Return the importance of each parameter of a tier-budget study, measured tier by tier.

    A tier-budget study varies each tier's parameters only with the earlier tiers fixed at
    their best, so one forest over all trials would extrapolate into combinations the study
    never tried (a poor learning rate with a tuned width). Instead:

    1. Each tier's complete trials get their own :func:`importance` over the tier's space:
       the share ``f_p`` of the tier's variance that parameter ``p`` explains alone.
    2. The tier's variance ``V_t`` (of the values of its complete trials) says how much the
       value moved while that tier searched.
    3. Parameter ``p`` of tier ``t`` scores ``f_p * V_t / sum_t V_t``.

    The scores sum to at most 1 (the rest is interactions and noise inside tiers) and compare
    parameters across tiers on one scale: how far each moved the value over its own range,
    with the other parameters at good values. A tier with fewer than :data:`MIN_TRIALS`
    complete trials scores 0 for its parameters.

    Parameters
    ----------
    trials : iterable of Trial
        The study's trials; ``Trial.tier`` says which tier (from 0) ran each.
    tiers : sequence
        The study's tiers, each with a ``.space`` (:class:`tunecore.strategies.Tier`) or a
        :class:`tunecore.space.Space`, in order.
    seed, n_trees
        As for :func:`importance`.

    Examples
    --------
    >>> from tunecore.space import Float, Space
    >>> tiers = [Space({"a": Float(0.0, 1.0)}), Space({"b": Float(0.0, 1.0)})]
    >>> ts = [Trial(i, {"a": (i + 0.5) / 20}, "complete", value=10 * (i + 0.5) / 20, tier=0)
    ...       for i in range(20)]
    >>> ts += [Trial(20 + i, {"b": (i + 0.5) / 20}, "complete", value=(i + 0.5) / 20, tier=1)
    ...        for i in range(20)]
    >>> imp = tier_importance(ts, tiers)
    >>> imp["a"] > 0.9 > 0.01 > imp["b"] > 0.0
    True
    """
    from tunecore.space import Space

    spaces = [tier if isinstance(tier, Space) else getattr(tier, "space", None) for tier in tiers]
    for index, space in enumerate(spaces):
        if not isinstance(space, Space):
            raise TypeError(
                f"tiers[{index}] must be a Space or have a .space, got {tiers[index]!r}"
            )
    done = _complete(trials)
    result = {name: 0.0 for space in spaces for name in space.names}
    shares: dict[str, float] = {}
    variances = []
    for index, space in enumerate(spaces):
        own = [t for t in done if t.tier == index]
        if len(own) < MIN_TRIALS:
            continue
        variance = float(np.var([t.value for t in own]))
        variances.append(variance)
        for name, fraction in importance(own, space, seed=seed, n_trees=n_trees).items():
            shares[name] = fraction * variance
    total = sum(variances)
    if total > 0:
        for name, share in shares.items():
            result[name] = share / total
    return result


def study_importance(study: Any, *, n_trees: int = 64) -> dict[str, float]:
    """Return the importance of a study's parameters, the way its strategy calls for.

    A tier-budget study (its strategy has ``tiers``) is measured tier by tier with
    :func:`tier_importance`; any other study with :func:`importance` over its space. The seed
    is the study's, so the table and the plot of one study always agree.
    """
    tiers = getattr(getattr(study, "strategy", None), "tiers", None)
    seed = getattr(study, "seed", 0) or 0
    if tiers and all(hasattr(tier, "space") for tier in tiers):
        return tier_importance(study.trials, tiers, seed=seed, n_trees=n_trees)
    return importance(study.trials, study.space, seed=seed, n_trees=n_trees)


# ---------------------------------------------------------------------------------------------
# Importance beside the assumed tier order


def _tiers_from(assumed_order: Any) -> list[tuple[str, list[str]]]:
    """Normalize ``assumed_order`` to [(tier label, [names])]."""
    if isinstance(assumed_order, (str, bytes, Mapping)) or not isinstance(assumed_order, Iterable):
        raise TypeError(
            f"assumed_order must be a list of tiers (lists of names), got {assumed_order!r}"
        )
    tiers = []
    for i, tier in enumerate(assumed_order, start=1):
        label = str(i)
        if isinstance(tier, str):
            names = [tier]
        elif hasattr(tier, "space") and hasattr(tier.space, "sampled_names"):
            names = list(tier.space.sampled_names)
            if getattr(tier, "name", None):
                label = f"{i} {tier.name}"
        elif isinstance(tier, Iterable) and not isinstance(tier, (bytes, Mapping)):
            names = list(tier)
            for name in names:
                if not isinstance(name, str):
                    raise TypeError(f"assumed_order must hold names (str), got {name!r}")
        else:
            raise TypeError(f"assumed_order must hold lists of names, got {tier!r}")
        tiers.append((label, names))
    seen: set = set()
    for _, names in tiers:
        for name in names:
            if name in seen:
                raise ValueError(
                    f"assumed_order must name each parameter once, got {name!r} twice"
                )
            seen.add(name)
    return tiers


def format_importance(
    importance: Mapping[str, float],
    assumed_order: Sequence[Any] | None = None,
    *,
    tolerance: float = 0.01,
) -> str:
    """Return the importance as a text table, beside the tier order a study assumed.

    Parameters
    ----------
    importance : dict
        Name -> fraction, as :func:`importance` returns.
    assumed_order : list, optional
        The tiers, first (assumed most important) first. Each entry is a list of names, a
        single name (a tier of its own), or an object with ``.space.sampled_names`` (such as
        a :class:`tunecore.strategies.Tier`, labelled by its ``.name``).
    tolerance : float
        How much more important (as a fraction) a later-tier parameter must measure than an
        earlier-tier one before the order counts as broken; the default, one percentage
        point, keeps noise among negligible parameters from being flagged.

    Returns
    -------
    str
        One row per parameter, most important first, with a bar, its tier and whether the
        hierarchy held for it: "no !" where the parameter measured more important (by more
        than ``tolerance``) than some parameter of an earlier tier, else "yes". Below: each
        tier's total, and a line per broken pair.

    Examples
    --------
    >>> print(format_importance({"lr": 0.1, "units": 0.6}, [["lr"], ["units"]]))
    rank  parameter  importance  bar                   tier  held
    ----  ---------  ----------  --------------------  ----  ----
       1  units          60.0 %  ############          2     no !
       2  lr             10.0 %  ##                    1     yes
    interactions and noise: 30.0 %
    tier 1: 10.0 %
    tier 2: 60.0 %  !
    hierarchy did not hold:
      units (tier 2, 60.0 %) > lr (tier 1, 10.0 %)
    """
    if not isinstance(importance, Mapping):
        raise TypeError(f"importance must be a dict of name -> fraction, got {importance!r}")
    if not importance:
        raise ValueError("importance must name at least one parameter, got an empty dict")
    imp = {}
    for name, value in importance.items():
        if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
            raise TypeError(f"importance[{name!r}] must be a number, got {value!r}")
        if not math.isfinite(float(value)) or value < 0:
            raise ValueError(f"importance[{name!r}] must be a finite fraction >= 0, got {value!r}")
        imp[name] = float(value)
    tolerance = float(tolerance)

    tier_of: dict[str, int] = {}
    labels: list[str] = []
    if assumed_order is not None:
        tiers = _tiers_from(assumed_order)
        for index, (label, names) in enumerate(tiers):
            labels.append(label)
            for name in names:
                tier_of[name] = index

    # pairs (later, earlier) where the later tier's parameter measured more important
    broken = [
        (p, q)
        for p in imp
        for q in imp
        if p in tier_of
        and q in tier_of
        and tier_of[p] > tier_of[q]
        and imp[p] > imp[q] + tolerance
    ]
    flagged = {p for p, _ in broken}

    order = sorted(imp, key=lambda n: (-imp[n], n))
    header = ["rank", "parameter", "importance", "bar"]
    if assumed_order is not None:
        header += ["tier", "held"]
    rows = []
    for rank, name in enumerate(order, start=1):
        bar = "#" * round(20 * min(imp[name], 1.0))
        row: list[Any] = [rank, name, f"{100 * imp[name]:.1f} %", bar.ljust(20)]
        if assumed_order is not None:
            row += [
                labels[tier_of[name]] if name in tier_of else "-",
                ("no !" if name in flagged else "yes") if name in tier_of else "-",
            ]
        rows.append(row)
    right = [True, False, True, False, False, False][: len(header)]
    lines = [_render(header, rows, right)]
    rest = max(0.0, 1.0 - sum(imp.values()))
    lines.append(f"interactions and noise: {100 * rest:.1f} %")
    if assumed_order is not None:
        totals = [
            sum(imp.get(n, 0.0) for n, t in tier_of.items() if t == i) for i in range(len(labels))
        ]
        for i, label in enumerate(labels):
            later_bigger = any(totals[i] > totals[j] + tolerance for j in range(i))
            missing = [n for n, t in tier_of.items() if t == i and n not in imp]
            note = f"  (not measured: {', '.join(missing)})" if missing else ""
            lines.append(
                f"tier {label}: {100 * totals[i]:.1f} %" + ("  !" if later_bigger else "") + note
            )
        if broken:
            lines.append("hierarchy did not hold:")
            for p, q in sorted(broken, key=lambda pq: (tier_of[pq[0]], -imp[pq[0]], pq[1])):
                lines.append(
                    f"  {p} (tier {labels[tier_of[p]]}, {100 * imp[p]:.1f} %) > "
                    f"{q} (tier {labels[tier_of[q]]}, {100 * imp[q]:.1f} %)"
                )
        else:
            lines.append(
                "hierarchy held: no parameter measured more important than one of an earlier tier"
            )
    return "\n".join(lines)
