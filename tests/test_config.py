"""Tests of tunecore.config: TOML study configs and their one-line errors."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest

from tunecore.config import ConfigError, load_config, parse_config

BASE = {
    "study": {"name": "s", "seed": 3, "storage": "out.db", "metric": "val_accuracy"},
    "data": {"source": "digits", "test_fraction": 0.25, "val_fraction": 0.2},
    "space": {
        "lr": {"type": "float", "low": 1e-4, "high": 1.0, "scale": "log"},
        "batch_size": {"type": "int", "low": 16, "high": 256, "log": True},
        "activation": {"type": "choice", "options": ["relu", "tanh"]},
        "epochs": {"type": "fixed", "value": 5},
    },
    "strategy": {"kind": "coarse_to_fine", "rounds": 3, "trials_per_round": 8, "keep": 0.25},
    "budget": {"seconds": 30, "trials": 100},
    "train": {"hidden": [32, 16], "optimizer": "adam"},
}


def with_change(path: str, value, *, delete: bool = False) -> dict:
    """BASE with the key at dotted ``path`` set to ``value`` (or deleted)."""
    cfg = copy.deepcopy(BASE)
    *parents, last = path.split(".")
    node = cfg
    for p in parents:
        node = node.setdefault(p, {})
    if delete:
        del node[last]
    else:
        node[last] = value
    return cfg


def test_valid_config_parses_into_objects(tmp_path):
    cfg = parse_config(BASE, base_dir=tmp_path)
    assert cfg.name == "s" and cfg.seed == 3
    assert cfg.storage == str(tmp_path / "out.db")
    assert cfg.metric == "val_accuracy"
    assert cfg.direction == "maximize"  # follows the metric when not given
    assert cfg.data.source == "digits" and cfg.data.test_fraction == 0.25
    assert cfg.space["lr"] == {"type": "float", "low": 1e-4, "high": 1.0, "scale": "log"}
    assert cfg.space["batch_size"]["log"] is True
    assert cfg.strategy.kind == "coarse_to_fine"
    assert cfg.strategy.options == {"rounds": 3, "trials_per_round": 8, "keep": 0.25}
    assert (cfg.budget.seconds, cfg.budget.trials, cfg.budget.epochs) == (30.0, 100, None)
    assert cfg.train == {"hidden": [32, 16], "optimizer": "adam"}


def test_defaults_when_tables_are_minimal():
    cfg = parse_config(
        {"data": {"source": "digits"}, "strategy": {"kind": "tiers"}, "budget": {"trials": 9}},
        default_name="mine",
    )
    assert cfg.name == "mine" and cfg.seed == 0 and cfg.storage.endswith("tunecore.db")
    assert (cfg.metric, cfg.direction) == ("val_loss", "minimize")
    assert cfg.space is None and cfg.train == {}


@pytest.mark.parametrize(
    ("path", "value", "message"),
    [
        # unknown keys
        ("colour", {}, r"^\[colour\] is not a known table"),
        ("study.nmae", "x", r"^study\.nmae is not a known key"),
        ("strategy.round", 3, r"^strategy\.round is not a known key for kind 'coarse_to_fine'"),
        ("train.learning_rate", 0.1, r"^train\.learning_rate is not a train\(\) keyword"),
        ("space.lr.step", 2, r"^space\.lr\.step is not a key of a 'float' dimension"),
        ("space.width", {"type": "int", "low": 1, "high": 3}, r"^space\.width names no train"),
        ("budget.minutes", 3, r"^budget\.minutes is not a known key"),
        ("data.path", "x.csv", r"^data\.path does not apply to data\.source = 'digits'"),
        # wrong types
        ("strategy.rounds", "three", r"^strategy\.rounds must be an int >= 1, got 'three'"),
        ("study.seed", 1.5, r"^study\.seed must be an int in \[0, .*\], got 1\.5"),
        ("budget.seconds", "60", r"^budget\.seconds must be a number > 0, got '60'"),
        ("train.batch_norm", 1, r"^train\.batch_norm must be true or false, got 1"),
        ("train.hidden", [32, "x"], r"^train\.hidden must be an int >= 1 or an array of ints"),
        ("space.lr", 0.1, r"^space\.lr must be a table, got 0\.1"),
        ("space.batch_size.low", 16.5, r"^space\.batch_size\.low must be an int, got 16\.5"),
        ("strategy.keep", True, r"^strategy\.keep must be a number in \(0, 1\], got True"),
        # bad ranges and options
        ("strategy.rounds", 0, r"^strategy\.rounds must be an int >= 1, got 0"),
        ("strategy.keep", 1.5, r"^strategy\.keep must be a number in \(0, 1\], got 1\.5"),
        ("study.direction", "up", r"^study\.direction must be one of 'minimize', 'maximize'"),
        ("study.metric", "f1", r"^study\.metric must be one of 'val_loss'"),
        ("data.val_fraction", 0.0, r"^data\.val_fraction must be a number in \(0, 1\), got 0"),
        ("data.test_fraction", 0.9, r"^data\.test_fraction \+ data\.val_fraction must be < 1"),
        ("space.lr.low", 2.0, r"^space\.lr\.low must be < space\.lr\.high, got 2\.0 and 1\.0"),
        ("space.lr.low", -1.0, r"^space\.lr\.low must be a number > 0, got -1\.0"),
        ("space.lr.scale", "ln", r"^space\.lr\.scale must be one of 'linear', 'log'"),
        ("space.activation.options", [], r"^space\.activation\.options must be a non-empty"),
        (
            "space.activation.options",
            ["relu", "swish"],
            r"^space\.activation\.options\[1\] must be one of 'relu', .*, got 'swish'",
        ),
        ("space.epochs.value", 0, r"^space\.epochs\.value must be an int >= 1, got 0"),
        (
            "space.optimizer",
            {"type": "float", "low": 0, "high": 1},
            r"^space\.optimizer\.type must be 'choice' or 'fixed' for optimizer, got 'float'",
        ),
        (
            "space.batch_size",
            {"type": "float", "low": 16, "high": 256},
            r"^space\.batch_size\.type must be 'int', 'choice' or 'fixed' for batch_size",
        ),
        ("space.lr.type", "real", r"^space\.lr\.type must be one of 'float', 'int'"),
        ("train.optimizer", "adamw", r"^train\.optimizer must be one of 'sgd', 'momentum'"),
        ("strategy.kind", "bayes", r"^strategy\.kind must be one of 'grid', 'random'"),
        ("train.seed", 1, r"^train\.seed is set per trial by the study; use study\.seed"),
        ("train.epochs", 5, r"^train\.epochs is also a dimension of \[space\]"),
    ],
)
def test_invalid_values_name_the_key(path, value, message):
    with pytest.raises(ConfigError, match=message) as info:
        parse_config(with_change(path, value))
    assert "\n" not in str(info.value)


@pytest.mark.parametrize(
    ("path", "message"),
    [
        ("data", r"^\[data\] is required"),
        ("strategy", r"^\[strategy\] is required"),
        ("space", r"^\[space\] is required when strategy\.kind is 'coarse_to_fine'"),
        ("data.source", r"^data\.source is required"),
        ("strategy.rounds", r"^strategy\.rounds is required when strategy\.kind"),
        ("space.lr.high", r"^space\.lr\.high is required for a 'float' dimension"),
        ("space.lr.type", r"^space\.lr\.type is required"),
    ],
)
def test_missing_required_keys_are_named(path, message):
    with pytest.raises(ConfigError, match=message):
        parse_config(with_change(path, None, delete=True))


def test_strategy_specific_requirements():
    random = with_change("strategy", {"kind": "random"})
    del random["budget"]["trials"]
    with pytest.raises(ConfigError, match=r"^strategy\.n_trials is required for a random search"):
        parse_config(random)
    grid = with_change("strategy", {"kind": "grid", "points": {"lr": 3, "depth": 2}})
    with pytest.raises(ConfigError, match=r"^strategy\.points\.depth names no dimension"):
        parse_config(grid)
    grid = with_change("strategy", {"kind": "grid", "points": {"lr": 3}})
    with pytest.raises(ConfigError, match=r"^strategy\.points\.batch_size is required: a grid"):
        parse_config(grid)
    grid = with_change("strategy", {"kind": "grid", "points": {"lr": 3, "batch_size": 2}})
    assert parse_config(grid).strategy.options["points"] == {"lr": 3, "batch_size": 2}
    tiers = with_change("strategy", {"kind": "tiers", "shares": [0.5, 0.6]})
    del tiers["space"]
    with pytest.raises(ConfigError, match=r"^strategy\.shares must be numbers that sum to 1"):
        parse_config(tiers)
    tiers["strategy"] = {"kind": "tiers"}
    with pytest.raises(ConfigError, match=r"^\[budget\] must set exactly one of trials, epochs"):
        parse_config(tiers)
    tiers["budget"] = {"seconds": 5}
    assert parse_config(tiers).budget.seconds == 5.0
    tiers["space"] = BASE["space"]
    with pytest.raises(ConfigError, match=r"^\[space\] must be omitted when strategy\.kind"):
        parse_config(tiers)


def test_csv_source_checks(tmp_path):
    data = tmp_path / "d.csv"
    data.write_text("a,label\n1,0\n")
    ok = parse_config(
        with_change("data", {"source": "csv", "path": "d.csv", "target": "label"}),
        base_dir=tmp_path,
    )
    assert ok.data.path == data and ok.data.target == "label" and ok.data.header is True

    missing = with_change("data", {"source": "csv", "path": "none.csv", "target": "label"})
    with pytest.raises(ConfigError, match=r"^data\.path: data file '.*none\.csv' does not exist"):
        parse_config(missing, base_dir=tmp_path)
    no_target = with_change("data", {"source": "csv", "path": "d.csv"})
    with pytest.raises(ConfigError, match=r"^data\.target is required when data\.source"):
        parse_config(no_target, base_dir=tmp_path)
    no_header = with_change(
        "data", {"source": "csv", "path": "d.csv", "target": "label", "header": False}
    )
    with pytest.raises(ConfigError, match=r"^data\.target must be a 0-based column index"):
        parse_config(no_header, base_dir=tmp_path)
    npz_key = with_change("data", {"source": "npz", "path": "d.csv", "target": "label"})
    with pytest.raises(ConfigError, match=r"^data\.target does not apply to data\.source = 'npz'"):
        parse_config(npz_key, base_dir=tmp_path)


def test_load_config_prefixes_the_file(tmp_path):
    path = tmp_path / "study.toml"
    path.write_text(
        '[data]\nsource = "digits"\n[strategy]\nkind = "coarse_to_fine"\nrounds = "three"\n'
        'trials_per_round = 4\n[space]\nlr = {type = "float", low = 0.001, high = 0.1}\n'
    )
    with pytest.raises(ConfigError, match=r"study\.toml: strategy\.rounds must be an int >= 1"):
        load_config(path)


def test_load_config_invalid_toml_and_missing_file(tmp_path):
    path = tmp_path / "broken.toml"
    path.write_text("[data\nsource = 1\n")
    with pytest.raises(ConfigError, match=r"broken\.toml: invalid TOML: .*line 1") as info:
        load_config(path)
    assert "\n" not in str(info.value)
    with pytest.raises(ConfigError, match=r"config file '.*absent\.toml' does not exist"):
        load_config(tmp_path / "absent.toml")


def test_load_config_resolves_paths_next_to_the_file_and_names_the_study(tmp_path):
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "d.csv").write_text("a,label\n1,0\n")
    path = tmp_path / "sub" / "my_study.toml"
    path.write_text(
        '[data]\nsource = "csv"\npath = "d.csv"\ntarget = "label"\n'
        '[strategy]\nkind = "random"\nn_trials = 3\n'
        '[space]\nlr = {type = "float", low = 0.001, high = 0.1, scale = "log"}\n'
    )
    cfg = load_config(path)
    assert cfg.name == "my_study"
    assert Path(cfg.data.path) == tmp_path / "sub" / "d.csv"
    assert Path(cfg.storage) == tmp_path / "sub" / "tunecore.db"
    assert cfg.source == str(path)


def test_examples_parse():
    examples = Path(__file__).resolve().parent.parent / "examples"
    found = sorted(examples.glob("*.toml"))
    assert len(found) >= 2
    for path in found:
        cfg = load_config(path)
        assert cfg.strategy.kind in ("grid", "random", "coarse_to_fine", "tiers")


def test_build_space_makes_the_dimensions():
    from tunecore.space import Choice, Fixed, Float, Int

    space = parse_config(BASE).build_space()
    assert tuple(space.names) == ("lr", "batch_size", "activation", "epochs")
    dims = space.dimensions
    assert dims["lr"] == Float(1e-4, 1.0, scale="log")
    assert dims["batch_size"] == Int(16, 256, log=True)
    assert dims["activation"] == Choice(["relu", "tanh"])
    assert dims["epochs"] == Fixed(5)


# --------------------------------------------------------------------------------------------
# random malformed configs: always a config or a one-line ConfigError, never anything else

hypothesis = pytest.importorskip("hypothesis")
st = hypothesis.strategies

_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**64), max_value=2**64),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=8),
)
_values = st.recursive(
    _scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=6), inner, max_size=3)
    ),
    max_leaves=8,
)
_paths = st.sampled_from(
    [
        "study",
        "study.name",
        "study.seed",
        "study.storage",
        "study.metric",
        "study.direction",
        "data",
        "data.source",
        "data.test_fraction",
        "data.val_fraction",
        "data.path",
        "data.target",
        "space",
        "space.lr",
        "space.lr.low",
        "space.lr.high",
        "space.lr.scale",
        "space.lr.type",
        "space.batch_size.log",
        "space.activation.options",
        "space.epochs.value",
        "space.hidden",
        "strategy",
        "strategy.kind",
        "strategy.rounds",
        "strategy.keep",
        "strategy.points",
        "strategy.shares",
        "budget",
        "budget.seconds",
        "budget.trials",
        "train",
        "train.hidden",
        "train.lr",
        "train.batch_norm",
        "extra",
    ]
)


@hypothesis.settings(max_examples=300, deadline=None, derandomize=True)
@hypothesis.given(changes=st.lists(st.tuples(_paths, _values), min_size=1, max_size=3))
def test_random_changes_give_a_config_or_a_one_line_config_error(changes):
    cfg = copy.deepcopy(BASE)
    for path, value in changes:
        *parents, last = path.split(".")
        node = cfg
        for p in parents:
            if not isinstance(node.get(p), dict):
                node[p] = {}
            node = node[p]
        node[last] = value
    try:
        parsed = parse_config(cfg)
    except ConfigError as exc:
        assert "\n" not in str(exc)
        return
    if parsed.space is not None:
        try:
            parsed.build_space()
        except ConfigError as exc:
            assert "\n" not in str(exc)
