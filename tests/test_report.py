"""Tests of tunecore.report (best trials, tables, fANOVA importance) and tunecore.plots."""

from __future__ import annotations

import math
from types import SimpleNamespace

import numpy as np
import pytest

from tunecore import plots
from tunecore.report import (
    _leaf_boxes,
    _tree_main_effects,
    best,
    format_importance,
    format_table,
    importance,
    study_importance,
    tier_importance,
    top_k,
)
from tunecore.space import Choice, Fixed, Float, Int, Space
from tunecore.trial import Trial

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def _trials(space: Space, n: int, fn, *, seed: int = 0, noise: float = 0.0) -> list[Trial]:
    rng = np.random.default_rng(seed)
    out = []
    for i, p in enumerate(space.sample(n, seed=seed + 1)):
        value = float(fn(p) + noise * rng.normal())
        out.append(Trial(i, p, "complete", value=value, duration=0.5 + 0.01 * i))
    return out


def _mixed_trials() -> list[Trial]:
    return [
        Trial(0, {"lr": 0.1, "act": "relu"}, "complete", value=0.5, duration=1.0),
        Trial(1, {"lr": 0.01, "act": "tanh"}, "failed", reason="boom", duration=0.1),
        Trial(2, {"lr": 0.001, "act": "relu"}, "complete", value=0.2, duration=2.0),
        Trial(3, {"lr": 1.0, "act": "relu"}, "diverged", reason="nan", duration=0.3),
        Trial(4, {"lr": 0.03, "act": "tanh"}, "complete", value=0.2, duration=1.5),
        Trial(5, {"lr": 0.3, "act": "tanh"}, "complete", value=0.9, duration=0.7),
        Trial(6, {"lr": 0.5, "act": "tanh"}, "running"),
    ]


# --- best and top_k -------------------------------------------------------------------------


def test_top_k_orders_complete_trials_and_breaks_ties_by_number():
    trials = _mixed_trials()
    assert [t.number for t in top_k(trials, 10)] == [2, 4, 0, 5]
    assert [t.number for t in top_k(trials, 2, "maximize")] == [5, 0]
    assert [t.number for t in top_k(trials, 1)] == [2]
    assert best(trials).number == 2
    assert best(trials, "maximize").number == 5
    assert best([t for t in trials if not t.ok]) is None


def test_top_k_argument_errors():
    with pytest.raises(ValueError, match=r"k must be >= 1, got 0"):
        top_k(_mixed_trials(), 0)
    with pytest.raises(TypeError, match=r"k must be an int, got 2.5"):
        top_k(_mixed_trials(), 2.5)
    with pytest.raises(ValueError, match=r"direction must be one of .*got 'min'"):
        top_k(_mixed_trials(), 3, "min")
    with pytest.raises(TypeError, match=r"trials must hold Trial objects, got 3"):
        best([3])


# --- format_table ---------------------------------------------------------------------------


def test_format_table_is_aligned_and_sorted():
    text = format_table(_mixed_trials(), ["lr", "act"], k=3, direction="minimize")
    lines = text.split("\n")
    assert lines[0].split() == ["rank", "trial", "value", "lr", "act", "seconds"]
    assert len(lines) == 2 + 3
    assert [line.split()[1] for line in lines[2:]] == ["2", "4", "0"]
    assert lines[2].split() == ["1", "2", "0.2", "0.001", "relu", "2"]
    # columns line up: every cell of a numeric column ends where its header ends
    end = lines[0].index("value") + len("value")
    assert all(line[:end].endswith(line.split()[2]) for line in lines[2:])
    assert len({len(line.rstrip()) for line in lines[:2]}) == 1


def test_format_table_keeps_given_order_without_direction():
    trials = top_k(_mixed_trials(), 3, "maximize")
    lines = format_table(trials).split("\n")
    assert [line.split()[1] for line in lines[2:]] == ["5", "0", "2"]
    assert lines[0].split()[3:5] == ["lr", "act"]


def test_format_table_counts_tiers_and_rounds_from_one():
    trials = [
        Trial(0, {"lr": 0.1}, "complete", value=0.5, tier=0, round=2),
        Trial(1, {"lr": 0.2}, "complete", value=0.4, tier=1),
    ]
    lines = format_table(trials, ["lr"], direction="minimize").split("\n")
    assert lines[0].split() == ["rank", "trial", "value", "tier", "round", "lr"]
    assert lines[2].split()[3] == "2"
    assert lines[3].split()[3:5] == ["1", "3"]


def test_format_table_errors():
    failed = [t for t in _mixed_trials() if not t.ok]
    with pytest.raises(ValueError, match=r"at least one complete trial, got 3 trials"):
        format_table(failed)
    with pytest.raises(ValueError, match=r"k must be >= 1"):
        format_table(_mixed_trials(), k=0)
    with pytest.raises(TypeError, match=r"names must be a list of parameter names"):
        format_table(_mixed_trials(), "lr")


# --- fANOVA of one tree, exactly ------------------------------------------------------------


def test_tree_main_effects_match_brute_force_on_the_cell_grid():
    # A tree is constant on the grid of cells its cuts make; summing over that grid with the
    # cells' volumes gives the functional ANOVA exactly, independently of the leaf-box code.
    from sklearn.tree import DecisionTreeRegressor

    rng = np.random.default_rng(3)
    X = rng.random((400, 3))
    y = np.sin(5 * X[:, 0]) + X[:, 1] ** 2 + 2 * X[:, 0] * X[:, 2] + 0.1 * rng.normal(size=400)
    tree = DecisionTreeRegressor(max_leaf_nodes=40, random_state=0).fit(X, y)
    effects = _tree_main_effects(*_leaf_boxes(tree, 3))

    t = tree.tree_
    cuts = [
        np.unique(np.concatenate([[0.0, 1.0], t.threshold[(t.feature == j)]])) for j in range(3)
    ]
    centres = [(c[:-1] + c[1:]) / 2 for c in cuts]
    widths = [np.diff(c) for c in cuts]
    mesh = np.stack(np.meshgrid(*centres, indexing="ij"), axis=-1).reshape(-1, 3)
    F = tree.predict(mesh).reshape([len(c) for c in centres])
    W = np.einsum("i,j,k->ijk", *widths)
    mean = np.sum(W * F)
    total = np.sum(W * (F - mean) ** 2)
    assert effects[3] == pytest.approx(total, rel=1e-10)
    for j in range(3):
        others = tuple(k for k in range(3) if k != j)
        g = np.sum(F * W, axis=others) / widths[j]  # E[f | x_j] on each step of axis j
        var_j = np.sum(widths[j] * (g - mean) ** 2)
        assert effects[j] == pytest.approx(var_j, rel=1e-10, abs=1e-14)
    assert effects[:3].sum() <= total * (1 + 1e-12)


# --- importance -----------------------------------------------------------------------------


def test_importance_finds_the_one_parameter_that_matters():
    space = Space({"x1": Float(0.0, 1.0), "x2": Float(0.0, 1.0)})
    trials = _trials(space, 120, lambda p: math.sin(4 * p["x1"]) + 2 * p["x1"], noise=0.02)
    imp = importance(trials, space)
    assert imp["x1"] > 0.8
    assert imp["x2"] < 0.05
    assert sum(imp.values()) <= 1 + 1e-12


def test_importance_of_additive_function_follows_the_variances():
    # value = 3 x1 + x2 (+ nothing from x3): Var = 9/12 and 1/12, so the shares are 0.9, 0.1.
    space = Space({"x1": Float(0.0, 1.0), "x2": Float(0.0, 1.0), "x3": Float(0.0, 1.0)})
    trials = _trials(space, 300, lambda p: 3 * p["x1"] + p["x2"], seed=4)
    imp = importance(trials, space)
    assert imp["x1"] > imp["x2"] > imp["x3"]
    assert imp["x1"] == pytest.approx(0.9, abs=0.05)
    assert imp["x2"] == pytest.approx(0.1, abs=0.05)
    assert imp["x3"] < 0.02
    assert sum(imp.values()) <= 1 + 1e-12


def test_importance_sees_log_dimensions_in_log_space_and_codes_choices():
    space = Space(
        {
            "lr": Float(1e-5, 1.0, scale="log"),
            "act": Choice(["relu", "tanh", "sigmoid"]),
            "units": Int(16, 512, log=True),
            "epochs": Fixed(10),
        }
    )
    # quadratic in log10(lr) with its minimum inside; act shifts the value; units irrelevant
    shift = {"relu": 0.0, "tanh": 1.0, "sigmoid": 2.0}
    trials = _trials(space, 200, lambda p: (math.log10(p["lr"]) + 3) ** 2 + shift[p["act"]])
    imp = importance(trials, space, seed=1)
    assert list(imp) == ["lr", "act", "units", "epochs"]
    assert imp["epochs"] == 0.0
    # Var of (u + 3)^2 for u uniform on [-5, 0] is 1.5 (E = 25/15 ... computed below), of the
    # shift 2/3: the ranking and rough shares follow.
    u = np.linspace(-5, 0, 200_001)
    var_lr = np.var((u + 3) ** 2)
    var_act = np.var([0.0, 1.0, 2.0])
    assert imp["lr"] == pytest.approx(var_lr / (var_lr + var_act), abs=0.07)
    assert imp["act"] == pytest.approx(var_act / (var_lr + var_act), abs=0.07)
    assert imp["units"] < 0.03


def test_importance_ignores_failed_trials_and_constant_dimensions():
    space = Space({"x": Float(0.0, 1.0), "k": Int(1, 5)})
    trials = [
        Trial(i, {"x": x, "k": 3}, "complete", value=x**2)
        for i, x in enumerate(np.linspace(0, 1, 12))
    ]
    trials += [Trial(20, {"x": 0.5, "k": 1}, "failed"), Trial(21, {"x": 0.1, "k": 5}, "diverged")]
    imp = importance(trials, space)
    assert imp["k"] == 0.0
    assert imp["x"] > 0.95
    flat = [Trial(i, {"x": 0.1 * i, "k": i % 5 + 1}, "complete", value=1.0) for i in range(8)]
    assert importance(flat, space) == {"x": 0.0, "k": 0.0}


def test_importance_is_reproducible_with_its_seed():
    space = Space({"x1": Float(0.0, 1.0), "x2": Float(0.0, 1.0)})
    trials = _trials(space, 60, lambda p: p["x1"] * p["x2"], noise=0.05)
    assert importance(trials, space, seed=3) == importance(trials, space, seed=3)
    assert importance(trials, space, seed=3) != importance(trials, space, seed=4)


def test_importance_errors():
    space = Space({"x": Float(0.0, 1.0)})
    few = [Trial(i, {"x": i / 4}, "complete", value=float(i)) for i in range(4)]
    with pytest.raises(ValueError, match=r"needs at least 5 complete trials, got 4"):
        importance(few + [Trial(9, {"x": 0.3}, "failed")], space)
    with pytest.raises(TypeError, match=r"space must be a tunecore.space.Space"):
        importance(few, {"x": Float(0.0, 1.0)})
    more = few + [Trial(5, {"y": 0.5}, "complete", value=1.0)]
    with pytest.raises(ValueError, match=r"dimension 'x': missing from params"):
        importance(more, space)
    # with a default, a missing value is the default
    with_default = Space({"x": Float(0.0, 1.0, default=0.5)})
    assert importance(more, with_default)["x"] > 0.5
    with pytest.raises(ValueError, match=r"n_trees must be >= 1, got 0"):
        importance(few, space, n_trees=0)


# --- format_importance ----------------------------------------------------------------------


def test_format_importance_marks_where_the_hierarchy_broke():
    imp = {"lr": 0.30, "beta1": 0.05, "batch_size": 0.40, "units": 0.02, "decay": 0.001}
    text = format_importance(imp, [["lr"], ["beta1", "batch_size"], ["units"], ["decay"]])
    lines = text.split("\n")
    assert lines[0].split() == ["rank", "parameter", "importance", "bar", "tier", "held"]
    rows = {line.split()[1]: line for line in lines[2:7]}
    assert lines[2].split()[1] == "batch_size"  # most important first
    assert rows["batch_size"].rstrip().endswith("no !")  # tier 2 above lr of tier 1
    assert rows["lr"].rstrip().endswith("yes")
    assert rows["units"].rstrip().endswith("yes")  # 0.02 > 0.001 but it is the earlier tier
    assert "40.0 %" in rows["batch_size"]
    assert "interactions and noise: 22.9 %" in text
    assert "tier 2: 45.0 %  !" in text
    assert "tier 1: 30.0 %" in text and "tier 1: 30.0 %  !" not in text
    assert "batch_size (tier 2, 40.0 %) > lr (tier 1, 30.0 %)" in text


def test_format_importance_tolerance_tiers_objects_and_no_tiers():
    imp = {"a": 0.500, "b": 0.005, "c": 0.010}
    held = format_importance(imp, [["a"], ["b"], ["c"]])
    assert "hierarchy held" in held and "!" not in held
    broke = format_importance(imp, [["a"], ["b"], ["c"]], tolerance=0.0)
    assert "c (tier 3, 1.0 %) > b (tier 2, 0.5 %)" in broke
    tier = SimpleNamespace(name="learning rate", space=Space({"a": Float(0.1, 1.0)}))
    text = format_importance(imp, [tier, "b", ["c", "z"]])
    assert "1 learning rate" in text and "not measured: z" in text
    plain = format_importance(imp)
    assert "tier" not in plain and plain.split("\n")[2].split()[1] == "a"


def test_format_importance_errors():
    with pytest.raises(ValueError, match=r"importance must name at least one parameter"):
        format_importance({})
    with pytest.raises(ValueError, match=r"importance\['a'\] must be a finite fraction"):
        format_importance({"a": math.nan})
    with pytest.raises(ValueError, match=r"assumed_order must name each parameter once"):
        format_importance({"a": 0.1}, [["a"], ["a"]])
    with pytest.raises(TypeError, match=r"assumed_order must hold names \(str\), got 3"):
        format_importance({"a": 0.1}, [["a", 3]])


# --- plots ----------------------------------------------------------------------------------


def _assert_png(path) -> None:
    with open(path, "rb") as fh:
        head = fh.read(8)
    assert head == PNG_MAGIC
    import os

    assert os.path.getsize(path) > 1000


@pytest.fixture(scope="module")
def study_trials():
    space = Space(
        {
            "lr": Float(1e-4, 1.0, scale="log"),
            "beta1": Float(0.8, 0.999, scale="reverse_log"),
            "batch_size": Int(32, 512, log=True),
            "layers": Int(1, 4),
            "act": Choice(["relu", "tanh"]),
            "epochs": Fixed(10),
        }
    )
    trials = []
    for i, t in enumerate(_trials(space, 40, lambda p: (math.log10(p["lr"]) + 2) ** 2)):
        status = "diverged" if i % 9 == 4 else "complete"
        trials.append(
            Trial(
                i,
                t.params,
                status,
                value=t.value if status == "complete" else None,
                duration=t.duration,
                round=i // 10,
                tier=min(i // 12, 3),
            )
        )
    return space, trials


def test_plot_values_history_importance_write_pngs(tmp_path, study_trials):
    space, trials = study_trials
    for direction in ("minimize", "maximize"):
        path = plots.plot_values(trials, space, tmp_path / f"values_{direction}.png", direction)
        _assert_png(path)
        _assert_png(plots.plot_history(trials, tmp_path / f"history_{direction}.png", direction))
    _assert_png(plots.plot_importance(importance(trials, space), tmp_path / "sub" / "imp.png"))


def test_plot_boxes_and_tiers_write_pngs(tmp_path, study_trials):
    space, trials = study_trials
    rounds = [
        {},
        {"lr": (1e-3, 1e-1), "beta1": (0.9, 0.99), "act": ["relu"]},
        space.restrict({"lr": (3e-3, 3e-2), "layers": (2, 2)}),
    ]
    _assert_png(plots.plot_boxes(rounds, space, tmp_path / "boxes.png", trials))
    timeline = [
        {"tier": 1, "name": "lr", "start": 0, "end": 50, "share": 0.5, "used": 0.5},
        {"tier": 2, "name": "beta1", "start": 50, "end": 60, "share": 0.2, "used": 0.1},
        {"tier": 3, "name": "units", "start": 60, "end": 100, "share": 0.3, "used": 0.4},
    ]
    _assert_png(plots.plot_tiers(timeline, tmp_path / "tiers.png", unit="seconds"))


def test_plot_study_writes_every_plot_that_applies(tmp_path, study_trials):
    space, trials = study_trials
    strategy = SimpleNamespace(
        shares=(0.5, 0.2, 0.2, 0.1), tiers=[SimpleNamespace(name=n) for n in "abcd"]
    )
    study = SimpleNamespace(
        trials=trials, space=space, direction="minimize", seed=0, strategy=strategy
    )
    written = plots.plot_study(study, tmp_path / "out")
    names = sorted(p.rsplit("/", 1)[-1] for p in written)
    assert names == ["boxes.png", "history.png", "importance.png", "tiers.png", "values.png"]
    for path in written:
        _assert_png(path)
    empty = SimpleNamespace(trials=[], space=space, direction="minimize")
    assert plots.plot_study(empty, tmp_path / "none") == []


def test_plots_reject_bad_inputs(tmp_path, study_trials):
    space, trials = study_trials
    failed = [Trial(0, {"lr": 0.1}, "failed")]
    with pytest.raises(ValueError, match=r"at least one complete trial, got 0 trials"):
        plots.plot_values([], space, tmp_path / "v.png")
    with pytest.raises(ValueError, match=r"at least one complete trial, got 1 trials"):
        plots.plot_history(failed, tmp_path / "h.png")
    with pytest.raises(ValueError, match=r"path must name a .png file, got '.*v.jpg'"):
        plots.plot_values(trials, space, tmp_path / "v.jpg")
    with pytest.raises(ValueError, match=r"direction must be one of"):
        plots.plot_history(trials, tmp_path / "h.png", "down")
    with pytest.raises(ValueError, match=r"rounds must hold at least one round"):
        plots.plot_boxes([], space, tmp_path / "b.png")
    with pytest.raises(ValueError, match=r"rounds name a dimension the space does not have"):
        plots.plot_boxes([{"mu": (0, 1)}], space, tmp_path / "b.png")
    with pytest.raises(ValueError, match=r"importance must name at least one parameter"):
        plots.plot_importance({}, tmp_path / "i.png")
    with pytest.raises(ValueError, match=r"tiers_timeline must hold at least one tier"):
        plots.plot_tiers([], tmp_path / "t.png")
    with pytest.raises(ValueError, match=r"need keys .*missing 'used'"):
        plots.plot_tiers(
            [{"tier": 1, "name": "a", "start": 0, "end": 1, "share": 1.0}], tmp_path / "t.png"
        )
    with pytest.raises(ValueError, match=r"must have end >= start"):
        plots.plot_tiers(
            [{"tier": 1, "name": "a", "start": 5, "end": 1, "share": 1.0, "used": 1.0}],
            tmp_path / "t.png",
        )
    assert not list(tmp_path.iterdir())


def test_tier_importance_weights_each_tier_by_its_variance():
    rng = np.random.default_rng(3)
    tiers = [
        Space({"a": Float(0.0, 1.0), "c": Float(0.0, 1.0)}),
        Space({"b": Float(0.0, 1.0)}),
        Space({"d": Float(0.0, 1.0)}),
    ]
    trials = []
    for a, c in rng.random((60, 2)):  # tier 0: a moves the value by 4, c not at all
        trials.append(Trial(len(trials), {"a": a, "c": c}, "complete", value=4 * a, tier=0))
    for (b,) in rng.random((60, 1)):  # tier 1: b moves it by 1
        trials.append(Trial(len(trials), {"b": b}, "complete", value=b, tier=1))
    for (d,) in rng.random((3, 1)):  # tier 2: too few trials to say anything
        trials.append(Trial(len(trials), {"d": d}, "complete", value=10 * d, tier=2))

    imp = tier_importance(trials, tiers)
    # Var(4U) : Var(U) = 16 : 1, and each tier's parameter explains its own tier fully
    assert imp["a"] == pytest.approx(16 / 17, abs=0.03)
    assert imp["b"] == pytest.approx(1 / 17, abs=0.02)
    assert imp["c"] < 0.01
    assert imp["d"] == 0.0
    with pytest.raises(TypeError, match=r"tiers\[1\] must be a Space or have a \.space"):
        tier_importance(trials, [tiers[0], "b"])


def test_study_importance_measures_tier_studies_tier_by_tier():
    rng = np.random.default_rng(4)
    tiers = [
        SimpleNamespace(space=Space({"a": Float(0.0, 1.0)})),
        SimpleNamespace(space=Space({"b": Float(0.0, 1.0)})),
    ]
    trials = [
        Trial(i, {"a": a}, "complete", value=3 * a, tier=0) for i, a in enumerate(rng.random(30))
    ]
    trials += [
        Trial(30 + i, {"b": b}, "complete", value=b, tier=1) for i, b in enumerate(rng.random(30))
    ]
    space = Space({"a": Float(0.0, 1.0, default=0.5), "b": Float(0.0, 1.0, default=0.5)})
    tiered = SimpleNamespace(
        trials=trials, space=space, seed=0, strategy=SimpleNamespace(tiers=tiers)
    )
    plain = SimpleNamespace(trials=trials, space=space, seed=0, strategy=SimpleNamespace())
    assert study_importance(tiered) == tier_importance(trials, tiers, seed=0)
    assert study_importance(plain) == importance(trials, space, seed=0)
    assert study_importance(tiered) != study_importance(plain)
