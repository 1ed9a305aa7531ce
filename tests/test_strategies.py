"""Strategies: grid, random, coarse-to-fine and the tier-budget scheduler, driven directly."""

from __future__ import annotations

import math

import numpy as np
import pytest

from tunecore._seeding import child_seed
from tunecore.space import Choice, Fixed, Float, Int, Space
from tunecore.strategies import (
    Budget,
    CoarseToFine,
    GridSearch,
    RandomSearch,
    Tier,
    TierBudget,
    Usage,
    default_tiers,
    strategy_from_dict,
)
from tunecore.trial import COMPLETE, FAILED, Trial


def drive(strategy, fn, *, batch=8, direction="minimize", seed=0, limit=10_000):
    """Run ``strategy`` on ``fn(params) -> value`` the way a study does; return the trials."""
    strategy.bind(seed=seed, direction=direction)
    trials: list[Trial] = []
    while len(trials) < limit:
        proposals = strategy.ask(batch, Usage(trials=len(trials)))
        if not proposals:
            break
        told = []
        for proposal in proposals:
            value = fn(proposal.params)
            status = COMPLETE if value is not None and math.isfinite(value) else FAILED
            told.append(
                Trial(
                    number=len(trials) + len(told),
                    params=proposal.params,
                    status=status,
                    value=value if status == COMPLETE else None,
                    tier=proposal.tier,
                    round=proposal.round,
                )
            )
        trials.extend(told)
        strategy.tell(told)
    return trials


def best_value(trials, direction="minimize"):
    values = [t.value for t in trials if t.ok]
    return min(values) if direction == "minimize" else max(values)


# -- grid -------------------------------------------------------------------------------------


def test_grid_proposes_every_point_once_in_order():
    space = Space({"a": Float(0.0, 1.0), "b": Choice(["x", "y"])})
    grid = GridSearch(space, 3)
    first = grid.ask(4)
    rest = grid.ask(100)
    assert [p.params for p in first + rest] == space.grid(3)
    assert grid.finished and grid.total == 6
    assert grid.ask(5) == []


def test_grid_restore_continues_after_stored_trials():
    space = Space({"a": Float(0.0, 1.0)})
    grid = GridSearch(space, 5)
    stored = [Trial(k, p, COMPLETE, value=0.0) for k, p in enumerate(space.grid(5)[:2])]
    grid.restore(stored)
    assert [p.params for p in grid.ask(10)] == space.grid(5)[2:]


# -- random -----------------------------------------------------------------------------------


@pytest.mark.filterwarnings("ignore:The balance properties of Sobol")
@pytest.mark.parametrize("sampler", ["random", "sobol", "halton"])
def test_random_trial_k_is_point_k_of_the_sequence(sampler):
    space = Space({"lr": Float(1e-4, 1.0, scale="log"), "n": Int(1, 8)})
    search = RandomSearch(space, 12, sampler=sampler, seed=3)
    batches = [search.ask(5), search.ask(2), search.ask(100)]
    got = [p.params for batch in batches for p in batch]
    assert got == space.sample(12, sampler=sampler, seed=3)
    assert search.finished and search.ask(1) == []


def test_random_uses_the_study_seed_when_none():
    space = Space({"x": Float(0.0, 1.0)})
    search = RandomSearch(space, 4)
    search.bind(seed=11, direction="minimize")
    assert [p.params for p in search.ask(4)] == space.sample(4, seed=11)


def test_random_search_beats_grid_when_one_of_two_parameters_matters():
    # f(x, y) = (x - x*)^2 with x* drawn per seed: y does not matter. A 5x5 grid tries only
    # five values of x; 25 random trials try 25.
    space = Space({"x": Float(0.0, 1.0), "y": Float(0.0, 1.0)})
    grid_x = np.array([p["x"] for p in space.grid(5)])
    random_best, grid_best = [], []
    for seed in range(200):
        target = np.random.default_rng(seed).random()
        search = RandomSearch(space, 25, sampler="random", seed=child_seed(seed, 1))
        xs = np.array([p.params["x"] for p in search.ask(25)])
        random_best.append(np.min((xs - target) ** 2))
        grid_best.append(np.min((grid_x - target) ** 2))
    assert len(grid_x) == 25
    assert np.mean(random_best) < 0.5 * np.mean(grid_best)


def test_random_checks_arguments():
    space = Space({"x": Float(0.0, 1.0)})
    with pytest.raises(ValueError, match="sampler must be one of"):
        RandomSearch(space, 3, sampler="grid")
    with pytest.raises(ValueError, match="n_trials must be >= 1"):
        RandomSearch(space, 0)
    with pytest.raises(TypeError, match="space must be a tunecore.space.Space"):
        RandomSearch([1, 2], 3)


# -- coarse to fine ---------------------------------------------------------------------------


def _bowl(params):
    # Optimum at lr = 10**-2.3, w = 0.37; lr is searched on a log scale.
    return (math.log10(params["lr"]) + 2.3) ** 2 + (params["w"] - 0.37) ** 2


BOWL_SPACE = Space({"lr": Float(1e-5, 1.0, scale="log"), "w": Float(0.0, 1.0)})


def test_coarse_to_fine_finds_the_optimum_and_beats_random_search():
    c2f_best, random_best = [], []
    for seed in range(8):
        c2f = drive(CoarseToFine(BOWL_SPACE, 4, 16, seed=seed), _bowl, batch=16)
        assert len(c2f) == 64
        best = min((t for t in c2f if t.ok), key=lambda t: t.value)
        # Within 0.07 of the optimum (Euclidean, in log10(lr) and w) for every seed.
        assert math.hypot(math.log10(best.params["lr"]) + 2.3, best.params["w"] - 0.37) < 0.07
        c2f_best.append(best.value)
        rand = drive(RandomSearch(BOWL_SPACE, 64, sampler="sobol", seed=seed), _bowl)
        random_best.append(best_value(rand))
    assert np.mean(c2f_best) < 0.5 * np.mean(random_best)


def test_coarse_to_fine_boxes_shrink_around_the_best_and_stay_inside():
    c2f = CoarseToFine(BOWL_SPACE, 3, 16, keep=0.25, margin=0.1, seed=1)
    trials = drive(c2f, _bowl, batch=16)
    boxes = c2f.boxes
    assert len(boxes) == 3
    assert boxes[0] == {"lr": [1e-5, 1.0], "w": [0.0, 1.0]}
    for r in (1, 2):
        kept = sorted((t for t in trials if t.round == r - 1), key=lambda t: t.value)[:4]
        for name in ("lr", "w"):
            low, high = boxes[r][name]
            # Inside the original space, around the kept trials of the round before.
            assert BOWL_SPACE[name].low <= low < high <= BOWL_SPACE[name].high
            assert low <= min(t.params[name] for t in kept)
            assert max(t.params[name] for t in kept) <= high
            # Every trial of the round lies in its box.
            for trial in (t for t in trials if t.round == r):
                assert low <= trial.params[name] <= high
    width = [np.ptp(BOWL_SPACE["lr"].to_unit(box["lr"])) for box in boxes]
    assert width[2] < width[1] < width[0] == 1.0
    # Round 1's box is the span of round 0's best 4 trials, widened by 10% of the unit width.
    best4 = sorted((t for t in trials if t.round == 0), key=lambda t: t.value)[:4]
    u = BOWL_SPACE["lr"].to_unit([t.params["lr"] for t in best4])
    expect = BOWL_SPACE["lr"].from_unit([max(0.0, u.min() - 0.1), min(1.0, u.max() + 0.1)])
    assert boxes[1]["lr"] == pytest.approx(expect, rel=1e-12)


def test_coarse_to_fine_keeps_choice_options_seen_among_the_best():
    space = Space(
        {"x": Float(0.0, 1.0), "act": Choice(["relu", "tanh", "sigmoid"]), "epochs": Fixed(3)}
    )
    penalty = {"relu": 0.0, "tanh": 1.0, "sigmoid": 2.0}
    c2f = CoarseToFine(space, 2, 16, keep=0.2, seed=0)
    trials = drive(c2f, lambda p: (p["x"] - 0.5) ** 2 + penalty[p["act"]], batch=16)
    assert c2f.boxes[1]["act"] == ["relu"]
    assert {t.params["act"] for t in trials if t.round == 1} == {"relu"}
    assert all(t.params["epochs"] == 3 for t in trials)


def test_coarse_to_fine_waits_for_a_round_before_the_next():
    c2f = CoarseToFine(BOWL_SPACE, 2, 4, seed=0)
    c2f.bind(seed=0, direction="minimize")
    first = c2f.ask(10)
    assert len(first) == 4 and {p.round for p in first} == {0}
    assert c2f.ask(10) == []  # round 0 not told yet
    c2f.tell(
        [
            Trial(k, p.params, COMPLETE, value=_bowl(p.params), round=0)
            for k, p in enumerate(first[:3])
        ]
    )
    assert c2f.ask(10) == []
    c2f.tell([Trial(3, first[3].params, COMPLETE, value=1.0, round=0)])
    assert {p.round for p in c2f.ask(10)} == {1}
    assert c2f.finished


def test_coarse_to_fine_restore_gives_the_same_proposals():
    live = CoarseToFine(BOWL_SPACE, 3, 8, seed=5)
    trials = drive(live, _bowl, batch=3)
    # Rebuild from the first 13 trials (round 0 complete, round 1 half done).
    rebuilt = strategy_from_dict(CoarseToFine(BOWL_SPACE, 3, 8, seed=5).to_dict())
    rebuilt.bind(seed=5, direction="minimize")
    rebuilt.restore(trials[:13])
    rest = []
    while True:
        proposals = rebuilt.ask(4)
        if not proposals:
            break
        start = 13 + len(rest)
        told = [
            Trial(start + i, p.params, COMPLETE, value=_bowl(p.params), round=p.round)
            for i, p in enumerate(proposals)
        ]
        rest.extend(told)
        rebuilt.tell(told)
    assert [t.params for t in rest] == [t.params for t in trials[13:]]


def test_coarse_to_fine_failed_round_keeps_the_box():
    c2f = CoarseToFine(BOWL_SPACE, 2, 4, seed=0)
    trials = drive(c2f, lambda p: None, batch=4)
    assert all(t.status == FAILED for t in trials)
    assert c2f.boxes[1] == c2f.boxes[0]


# -- tier budget ------------------------------------------------------------------------------


def _tiers(search="random"):
    return [
        Tier("first", Space({"a": Float(0.0, 1.0, default=0.5)})),
        Tier("second", Space({"b": Float(0.0, 1.0, default=0.5)}), search=search, round_size=4),
        Tier("third", Space({"c": Int(1, 8, default=2), "d": Choice(["p", "q"], default="p")})),
    ]


def _abc(params):
    return (params["a"] - 0.3) ** 2 + 0.1 * (params["b"] - 0.6) ** 2 + 0.01 * params["c"]


def test_tier_budget_trial_shares_within_one_trial():
    tb = TierBudget(_tiers(), shares=(0.5, 0.3, 0.2), budget=Budget(trials=37), patience=1000)
    trials = drive(tb, _abc, batch=5)
    assert len(trials) == 37
    counts = [sum(t.tier == i for t in trials) for i in range(3)]
    for count, share in zip(counts, (0.5, 0.3, 0.2)):
        assert abs(count - share * 37) <= 1
    assert [row["used"] for row in tb.timeline] == counts
    assert tb.finished
    fractions = tb.timeline_fractions()
    assert [row["used"] for row in fractions] == pytest.approx([c / 37 for c in counts])
    assert [row["end"] for row in fractions] == [counts[0], counts[0] + counts[1], 37]


def test_tier_budget_never_skips_ahead():
    tb = TierBudget(_tiers(), shares=(0.5, 0.3, 0.2), budget=Budget(trials=10), patience=1000)
    tb.bind(seed=0, direction="minimize")
    first = tb.ask(100)
    assert len(first) == 5 and {p.tier for p in first} == {0}
    # Tier 0's allotment is out but its trials are in flight: nothing from tier 1 yet.
    assert tb.ask(100) == []
    tb.tell(
        [
            Trial(k, p.params, COMPLETE, value=_abc(p.params), tier=0)
            for k, p in enumerate(first[:4])
        ]
    )
    assert tb.ask(100) == []
    tb.tell([Trial(4, first[4].params, COMPLETE, value=_abc(first[4].params), tier=0)])
    second = tb.ask(100)
    assert {p.tier for p in second} == {1}


def test_tier_budget_fixes_earlier_tiers_at_best_and_later_at_defaults():
    tb = TierBudget(_tiers(), shares=(0.5, 0.3, 0.2), budget=Budget(trials=20), patience=1000)
    trials = drive(tb, _abc, batch=4)
    tier0 = [t for t in trials if t.tier == 0]
    best_a = min(tier0, key=lambda t: t.value).params["a"]
    for trial in tier0:
        assert (trial.params["b"], trial.params["c"], trial.params["d"]) == (0.5, 2, "p")
    for trial in (t for t in trials if t.tier == 1):
        assert trial.params["a"] == best_a
        assert (trial.params["c"], trial.params["d"]) == (2, "p")
    tier1 = [t for t in trials if t.tier == 1]
    best_b = min(tier1, key=lambda t: t.value).params["b"]
    assert all(t.params["b"] == best_b for t in trials if t.tier == 2)
    assert tb.tier_best[0] == {"a": best_a}


def test_tier_budget_rolls_unused_budget_forward_on_convergence():
    # Tier 0's parameter does not matter: after its first trial no trial improves, so it
    # converges after exactly `patience` more and hands the rest on.
    tiers = _tiers()
    tb = TierBudget(tiers, shares=(0.5, 0.3, 0.2), budget=Budget(trials=40), patience=4)
    trials = drive(tb, lambda p: (p["b"] - 0.6) ** 2 + 1.0, batch=1)
    timeline = tb.timeline
    assert timeline[0]["converged"] and timeline[0]["used"] == 5
    assert timeline[1]["allotted"] == 12 + (20 - 5)
    assert len(trials) <= 40
    assert sum(row["used"] for row in timeline) == len(trials)


def test_tier_budget_patience_needs_a_relative_improvement():
    tb = TierBudget(
        _tiers(),
        shares=(0.5, 0.3, 0.2),
        budget=Budget(trials=100),
        patience=3,
        min_improvement=0.1,
    )
    tb.bind(seed=0, direction="minimize")
    values = [1.0, 0.95, 0.92, 0.91, 0.5]  # 0.95, 0.92, 0.91 improve by less than 10%
    proposals = tb.ask(5)
    tb.tell(
        [
            Trial(k, p.params, COMPLETE, value=v, tier=0)
            for k, (p, v) in enumerate(zip(proposals, values))
        ]
    )
    assert tb.timeline[0]["converged"]
    assert tb._states[0].converged_at == 3


def test_tier_budget_coarse_to_fine_tier_shrinks_rounds():
    tb = TierBudget(
        _tiers("coarse_to_fine"), shares=(0.25, 0.5, 0.25), budget=Budget(trials=48), patience=1000
    )
    trials = drive(tb, _abc, batch=4)
    rounds = [t.round for t in trials if t.tier == 1]
    assert rounds == sorted(rounds) and max(rounds) >= 4
    box = tb.boxes[1]
    assert box[-1]["b"][1] - box[-1]["b"][0] < 0.5


def test_tier_budget_restore_continues_identically():
    def make():
        return TierBudget(
            _tiers("coarse_to_fine"),
            shares=(0.4, 0.4, 0.2),
            budget=Budget(trials=30),
            patience=5,
            seed=9,
        )

    live = drive(make(), _abc, batch=1)
    for cut in (3, 12, 17, 25):
        rebuilt = strategy_from_dict(make().to_dict())
        rebuilt.bind(seed=9, direction="minimize")
        rebuilt.restore(live[:cut])
        rest = []
        while True:
            proposals = rebuilt.ask(1, Usage(trials=cut + len(rest)))
            if not proposals:
                break
            p = proposals[0]
            trial = Trial(
                cut + len(rest),
                p.params,
                COMPLETE,
                value=_abc(p.params),
                tier=p.tier,
                round=p.round,
            )
            rest.append(trial)
            rebuilt.tell([trial])
        assert [(t.params, t.tier, t.round) for t in rest] == [
            (t.params, t.tier, t.round) for t in live[cut:]
        ]


def test_tier_budget_seconds_shares_follow_the_clock():
    # Simulated clock: every trial takes 0.3 s; budget 30 s; shares 0.5 / 0.3 / 0.2.
    tb = TierBudget(_tiers(), shares=(0.5, 0.3, 0.2), budget=Budget(seconds=30.0), patience=1000)
    tb.bind(seed=0, direction="minimize")
    clock, number = 0.0, 0
    while True:
        proposals = tb.ask(1, Usage(trials=number, seconds=clock))
        if not proposals:
            break
        clock += 0.3
        p = proposals[0]
        tb.tell([Trial(number, p.params, COMPLETE, value=_abc(p.params), tier=p.tier)])
        number += 1
    for row, share in zip(tb.timeline, (0.5, 0.3, 0.2)):
        assert abs(row["used"] - share * 30.0) <= 0.05 * 30.0


def test_default_tiers_hierarchy():
    tiers = default_tiers()
    assert [list(t.space.names) for t in tiers] == [
        ["lr", "optimizer"],
        ["beta1", "batch_size"],
        ["units", "layers"],
        ["lr_decay", "beta2", "eps"],
    ]
    lr = tiers[0].space["lr"]
    assert (lr.low, lr.high, lr.scale) == (1e-4, 1.0, "log")
    beta1 = tiers[1].space["beta1"]
    assert (beta1.low, beta1.high, beta1.scale) == (0.8, 0.999, "reverse_log")
    assert list(tiers[1].space["batch_size"].options) == [32, 64, 128, 256, 512]
    units = tiers[2].space["units"]
    assert (units.low, units.high, units.log) == (16, 512, True)
    assert tiers[3].defaults["beta2"] == 0.999 and tiers[3].defaults["eps"] == 1e-8
    assert tiers[0].defaults["optimizer"] == "adam"
    assert list(default_tiers("momentum")[1].space.names) == ["momentum", "batch_size"]
    with pytest.raises(ValueError, match="optimizer must be one of"):
        default_tiers("lbfgs")


def test_tier_checks_defaults_and_overlap():
    with pytest.raises(ValueError, match="'x' has none"):
        Tier("t", Space({"x": Float(0.0, 1.0)}))
    tier = Tier("t", Space({"x": Float(0.0, 1.0)}), defaults={"x": 0.2})
    with pytest.raises(ValueError, match="tiers must search disjoint parameters, got 'x'"):
        TierBudget([tier, tier], budget=Budget(trials=4))
    with pytest.raises(ValueError, match="shares must be 2 positive numbers"):
        TierBudget(
            [tier, Tier("u", Space({"y": Fixed(1)}))], shares=(1.0,), budget=Budget(trials=4)
        )
    with pytest.raises(ValueError, match="budget must limit exactly one"):
        TierBudget([tier], budget=Budget(trials=4, seconds=2.0))


def test_strategy_descriptions_round_trip():
    strategies = [
        GridSearch(BOWL_SPACE, {"lr": 3, "w": 2}),
        RandomSearch(BOWL_SPACE, 9, sampler="halton", seed=4),
        CoarseToFine(BOWL_SPACE, 3, 8, keep=0.3, margin=0.05, seed=2),
        TierBudget(default_tiers(), budget=Budget(seconds=60), patience=7, seed=1),
    ]
    for strategy in strategies:
        again = strategy_from_dict(strategy.to_dict())
        assert type(again) is type(strategy)
        assert again.to_dict() == strategy.to_dict()
    with pytest.raises(ValueError, match="data\\['name'\\] must be one of"):
        strategy_from_dict({"name": "bayes"})
