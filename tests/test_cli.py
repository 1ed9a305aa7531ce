"""Tests of the ``tunecore`` command: malformed input, and short real runs."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from child_env import child_env

from tunecore.cli import main

ROOT = Path(__file__).resolve().parent.parent

SPACE = '[space]\nlr = { type = "float", low = 1e-3, high = 0.3, scale = "log" }\n'


def write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


def run_main(args, capsys):
    code = main([str(a) for a in args])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def assert_one_line_error(err: str, *patterns: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    line = lines[0]
    assert line.startswith("tunecore: error: "), line
    assert "Traceback" not in err
    for pattern in patterns:
        assert pattern in line, line
    return line


# --------------------------------------------------------------------------------------------
# malformed configs and files: exit status 2, one line naming the key or the file


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        # unknown key
        (
            '[data]\nsource = "digits"\ncolour = 1\n[strategy]\nkind = "random"\n'
            "n_trials = 3\n" + SPACE,
            ["data.colour is not a known key"],
        ),
        # wrong type
        (
            '[data]\nsource = "digits"\n[strategy]\nkind = "coarse_to_fine"\n'
            'rounds = "three"\ntrials_per_round = 4\n' + SPACE,
            ["strategy.rounds must be an int >= 1, got 'three'"],
        ),
        # bad range
        (
            (
                '[data]\nsource = "digits"\n[strategy]\nkind = "random"\nn_trials = 3\n'
                '[space]\nlr = { type = "float", low = 0.5, high = 0.1 }\n'
            ),
            ["space.lr.low must be < space.lr.high, got 0.5 and 0.1"],
        ),
        # missing required key
        (
            '[data]\nsource = "csv"\ntarget = "y"\n[strategy]\nkind = "random"\n'
            "n_trials = 3\n" + SPACE,
            ["data.path is required"],
        ),
        # missing data file
        (
            '[data]\nsource = "csv"\npath = "missing.csv"\ntarget = "y"\n'
            '[strategy]\nkind = "random"\nn_trials = 3\n' + SPACE,
            ["data.path", "missing.csv", "does not exist"],
        ),
        # invalid TOML
        ("[data\n", ["invalid TOML", "line 1"]),
    ],
    ids=["unknown-key", "wrong-type", "bad-range", "missing-key", "missing-file", "bad-toml"],
)
def test_run_malformed_config_exits_2_with_one_line(tmp_path, capsys, body, expected):
    config = write(tmp_path / "study.toml", body)
    code, out, err = run_main(["run", config], capsys)
    assert code == 2
    line = assert_one_line_error(err, *expected)
    assert "study.toml" in line
    assert out == ""


def test_run_unreadable_csv_names_the_file_row_and_column(tmp_path, capsys):
    write(tmp_path / "data.csv", "a,b,y\n1,2,0\n3,x7,1\n")
    config = write(
        tmp_path / "study.toml",
        '[data]\nsource = "csv"\npath = "data.csv"\ntarget = "y"\n'
        '[strategy]\nkind = "random"\nn_trials = 3\n' + SPACE,
    )
    code, _, err = run_main(["run", config, "--no-progress"], capsys)
    assert code == 2
    assert_one_line_error(err, "data.csv", "row 3, column 'b' holds 'x7'")


def test_run_binary_csv_is_reported_as_unreadable(tmp_path, capsys):
    (tmp_path / "data.csv").write_bytes(b"\xff\xfe\x00\x81" * 64)
    config = write(
        tmp_path / "study.toml",
        '[data]\nsource = "csv"\npath = "data.csv"\ntarget = "y"\n'
        '[strategy]\nkind = "random"\nn_trials = 3\n' + SPACE,
    )
    code, _, err = run_main(["run", config, "--no-progress"], capsys)
    assert code == 2
    assert_one_line_error(err, "data.csv", "not UTF-8")


def test_run_missing_target_column_names_it(tmp_path, capsys):
    write(tmp_path / "data.csv", "a,b,label\n1,2,0\n3,4,1\n")
    config = write(
        tmp_path / "study.toml",
        '[data]\nsource = "csv"\npath = "data.csv"\ntarget = "y"\n'
        '[strategy]\nkind = "random"\nn_trials = 3\n' + SPACE,
    )
    code, _, err = run_main(["run", config, "--no-progress"], capsys)
    assert code == 2
    assert_one_line_error(err, "data.csv", "has no column 'y'", "'label'")


def test_run_missing_config_file(tmp_path, capsys):
    code, _, err = run_main(["run", tmp_path / "nope.toml"], capsys)
    assert code == 2
    assert_one_line_error(err, "nope.toml", "does not exist")


def test_report_missing_database(tmp_path, capsys):
    code, _, err = run_main(["report", tmp_path / "none.db"], capsys)
    assert code == 2
    assert_one_line_error(err, "none.db", "does not exist")
    assert not (tmp_path / "none.db").exists()


def test_report_on_a_file_that_is_not_sqlite(tmp_path, capsys):
    path = write(tmp_path / "text.db", "this is not a database\n" * 20)
    code, _, err = run_main(["report", path], capsys)
    assert code == 2
    assert_one_line_error(err, "text.db", "is not a tunecore SQLite file")
    # the same file given to run or demo as their database
    code, _, err = run_main(["demo", "--db", path, "--no-progress"], capsys)
    assert code == 2
    assert_one_line_error(err, "text.db", "is not a tunecore SQLite file")


def test_report_leaves_a_foreign_sqlite_file_untouched(tmp_path, capsys):
    import sqlite3

    path = tmp_path / "other.db"
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE notes (x)")
    before = path.read_bytes()
    code, _, err = run_main(["report", path], capsys)
    assert code == 2
    assert_one_line_error(err, "other.db", "without tunecore studies")
    assert path.read_bytes() == before


def test_bad_option_values_are_usage_errors(capsys):
    code, _, err = run_main(["demo", "--budget", "-5"], capsys)
    assert code == 2
    assert "--budget: must be a number > 0, got '-5'" in err
    code, _, err = run_main(["report", "x.db", "--top", "zero"], capsys)
    assert code == 2
    assert "--top: must be an int >= 1, got 'zero'" in err


@pytest.mark.parametrize(
    "args, pattern",
    [
        (["frob"], "invalid choice: 'frob'"),
        (["run"], "required: STUDY.TOML"),
        (["report", "x.db", "--top"], "--top: expected one argument"),
        (["demo", "--budget", "-5"], "--budget: must be a number > 0"),
    ],
)
def test_usage_errors_are_one_line_with_exit_2(capsys, args, pattern):
    code, _, err = run_main(args, capsys)
    assert code == 2
    assert_one_line_error(err, pattern, "--help)")


def test_report_on_an_empty_file_says_it_is_empty(tmp_path, capsys):
    path = tmp_path / "empty.db"
    path.write_bytes(b"")
    code, _, err = run_main(["report", path], capsys)
    assert code == 2
    assert_one_line_error(err, "empty.db", "is an empty file")
    assert path.read_bytes() == b""


def test_help_exits_0(capsys):
    code, out, _ = run_main(["--help"], capsys)
    assert code == 0
    assert "demo" in out and "run" in out and "report" in out


def _subprocess(args, cwd):
    env = child_env()
    return subprocess.run(
        [sys.executable, "-m", "tunecore", *map(str, args)],
        check=False,
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_python_m_tunecore_bad_config_in_a_real_process(tmp_path):
    config = write(
        tmp_path / "study.toml",
        '[data]\nsource = "digits"\n[strategy]\nkind = "random"\nn_trials = 0\n' + SPACE,
    )
    proc = _subprocess(["run", config], tmp_path)
    assert proc.returncode == 2
    assert proc.stdout == ""
    assert_one_line_error(
        proc.stderr, "study.toml", "strategy.n_trials must be an int >= 1, got 0"
    )


# --------------------------------------------------------------------------------------------
# short real runs on digits

RANDOM_STUDY = """
[study]
name = "{name}"
seed = 4
storage = "studies.db"

[data]
source = "digits"
test_fraction = 0.2
val_fraction = 0.2

[space]
lr = {{ type = "float", low = 1e-3, high = 3e-2, scale = "log" }}
batch_size = {{ type = "choice", options = [32, 64] }}

[strategy]
kind = "random"
n_trials = {n_trials}
sampler = "sobol"

[train]
epochs = 6
hidden = [32]
"""


def _db_trials(db: Path, name: str) -> list[tuple]:
    import sqlite3

    with sqlite3.connect(db) as conn:
        return conn.execute(
            "SELECT t.number, t.status, t.value FROM trials t JOIN studies s "
            "ON t.study_id = s.id WHERE s.name = ? ORDER BY t.number",
            (name,),
        ).fetchall()


@pytest.fixture(scope="module")
def random_study(tmp_path_factory):
    """A 6-trial random search on digits run by ``tunecore run``; returns (dir, stdout)."""
    pytest.importorskip("tunecore.study")
    folder = tmp_path_factory.mktemp("run")
    config = write(folder / "study.toml", RANDOM_STUDY.format(name="rs", n_trials=6))
    code = main(["run", str(config), "--no-progress"])
    assert code == 0
    return folder


def test_run_writes_every_trial_to_sqlite(random_study, capsys):
    rows = _db_trials(random_study / "studies.db", "rs")
    assert [r[0] for r in rows] == list(range(6))
    assert all(status == "complete" for _, status, _ in rows)
    # digits with a 32-unit network for 6 epochs: every trial learns something (chance is
    # a loss of ln 10 = 2.30)
    assert max(value for _, _, value in rows) < 1.5


def test_report_prints_the_best_trial(random_study, capsys):
    rows = _db_trials(random_study / "studies.db", "rs")
    best_number, _, best_value = min(rows, key=lambda r: r[2])
    before = (random_study / "studies.db").read_bytes()
    code, out, err = run_main(
        ["report", random_study / "studies.db", "--top", "3", "--no-plots"], capsys
    )
    assert code == 0, err
    assert (random_study / "studies.db").read_bytes() == before  # read-only
    assert f"best configuration (trial {best_number}, val_loss {best_value:.4g})" in out
    assert "top 3 trials:" in out
    assert "importance" in out


def test_report_writes_plots(random_study, capsys, tmp_path):
    out_dir = tmp_path / "plots"
    code, _, err = run_main(["report", random_study / "studies.db", "--out", out_dir], capsys)
    assert code == 0, err
    written = sorted(p.name for p in out_dir.glob("*.png"))
    assert "values.png" in written and "history.png" in written
    for name in written:
        assert (out_dir / name).read_bytes()[:4] == b"\x89PNG"


def test_run_with_out_writes_the_plots_of_the_study_it_ran(tmp_path, capsys):
    config = write(tmp_path / "study.toml", RANDOM_STUDY.format(name="plotted", n_trials=6))
    out_dir = tmp_path / "plots"
    code, out, err = run_main(["run", config, "--out", out_dir, "--no-progress"], capsys)
    assert code == 0, err
    assert "Traceback" not in err
    written = sorted(p.name for p in out_dir.glob("*.png"))
    assert {"values.png", "history.png"} <= set(written)
    assert "plots: " in out
    for name in written:
        assert (out_dir / name).read_bytes()[:4] == b"\x89PNG"


def test_run_where_every_trial_fails_says_why_and_exits_1(tmp_path, capsys):
    # Three classes of digits-like labels cannot train a binary cross-entropy: every trial
    # fails, and the command says so instead of ending as if the study had an answer.
    config = write(
        tmp_path / "study.toml",
        RANDOM_STUDY.format(name="bad", n_trials=3) + 'loss = "binary_cross_entropy"\n',
    )
    code, out, err = run_main(["run", config, "--no-progress"], capsys)
    assert code == 1, (out, err)
    assert "3 failed" in out
    assert "no trial completed" in out
    reasons = out.split("no trial completed")[1]
    counted = [line.split()[0] for line in reasons.splitlines() if " trial" in line]
    assert sum(int(n) for n in counted) == 3
    assert "binary_cross_entropy" in reasons
    assert "configs[" not in reasons  # train's own message, not its place in a batch


def test_report_on_a_folder_says_it_is_a_folder(tmp_path, capsys):
    code, _, err = run_main(["report", tmp_path], capsys)
    assert code == 2
    assert_one_line_error(err, "is a folder, not a SQLite file")


def test_run_refuses_an_existing_study_and_resumes_without_rerunning(random_study, capsys):
    config = random_study / "study.toml"
    code, _, err = run_main(["run", config, "--no-progress"], capsys)
    assert code == 2
    assert_one_line_error(err, "study.toml", "'rs' already exists", "--resume")

    before = _db_trials(random_study / "studies.db", "rs")
    code, out, err = run_main(["run", config, "--resume", "--no-progress"], capsys)
    assert code == 0, err
    assert _db_trials(random_study / "studies.db", "rs") == before
    assert "best configuration" in out


def test_resume_of_a_study_not_stored_yet_says_so_and_starts_it(tmp_path, capsys):
    config = write(tmp_path / "study.toml", RANDOM_STUDY.format(name="fresh", n_trials=2))
    code, _, err = run_main(["run", config, "--resume", "--no-progress"], capsys)
    assert code == 0, err
    assert "no study 'fresh' in" in err and "to resume; starting it" in err
    assert [r[1] for r in _db_trials(tmp_path / "studies.db", "fresh")] == ["complete"] * 2


def test_report_into_a_closed_pipe_exits_quietly(random_study):
    # As `tunecore report studies.db | head -1` once head has what it wants: the reader is
    # gone before the report is written. That is no error: exit 0 and nothing on stderr.
    child = subprocess.Popen(
        [sys.executable, "-m", "tunecore", "report", "studies.db", "--no-plots"],
        cwd=random_study,
        env=child_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    child.stdout.close()
    err = child.stderr.read().decode()
    child.stderr.close()
    assert child.wait(timeout=120) == 0, err
    assert err == ""


def test_report_lists_the_studies_when_several_and_none_named(random_study, capsys):
    config = write(random_study / "second.toml", RANDOM_STUDY.format(name="other", n_trials=2))
    assert run_main(["run", config, "--no-progress"], capsys)[0] == 0
    code, out, _ = run_main(["report", random_study / "studies.db"], capsys)
    assert code == 0
    assert "holds 2 studies" in out and "  rs" in out and "  other" in out
    code, _, err = run_main(["report", random_study / "studies.db", "--study", "nope"], capsys)
    assert code == 2
    assert_one_line_error(err, "--study must be one of 'rs', 'other'", "got 'nope'")


def test_demo_short_budget_prints_its_sections_and_writes_files(tmp_path, capsys):
    pytest.importorskip("tunecore.study")
    db = tmp_path / "demo.db"
    code, out, err = run_main(["demo", "--budget", "8", "--db", db, "--no-progress"], capsys)
    assert code == 0, err
    for section in (
        "tier 1 (learning rate):",
        "tier 2 (momentum and batch):",
        "best configuration (trial ",
        "test accuracy: ",
        "importance (",
        "hierarchy ",
    ):
        assert section in out, section
    # The demo's promise (>= 0.96 on the held-out test set) is already met at this
    # budget: tier 1 alone (the learning rate) gets there within about a second.
    accuracy = float(out.split("test accuracy: ")[1].split()[0])
    assert accuracy >= 0.96
    assert db.is_file()
    assert len(_db_trials(db, "demo")) >= 10
    out_dir = tmp_path / "demo_out"
    assert {"values.png", "history.png", "tiers.png"} <= {p.name for p in out_dir.glob("*.png")}


def test_ctrl_c_in_a_real_process_exits_130_with_one_line(tmp_path):
    pytest.importorskip("tunecore.study")
    import signal
    import time

    env = child_env()
    proc = subprocess.Popen(
        [sys.executable, "-m", "tunecore", "demo", "--budget", "60", "--no-progress"],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    # wait until the study has started (its first tier line), then interrupt
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and proc.poll() is None:
        line = proc.stdout.readline()
        if line.startswith("tier 1"):
            break
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 130, err
    assert err.strip().splitlines()[-1] == "tunecore: interrupted"
    assert "Traceback" not in err
    # the file opens and keeps the trials finished before the interrupt. (Trials that were
    # running should read "interrupted"; when the signal lands while the study loop is storing
    # a batch some stay "running" until the study is loaded again -- the study loop's to fix.)
    rows = _db_trials(tmp_path / "tunecore.db", "demo")
    assert any(status == "complete" and value is not None for _, status, value in rows)


def _regression_csv(path: Path) -> Path:
    rng = np.random.default_rng(11)
    X = rng.uniform(-1.0, 1.0, size=(300, 3))
    y = X @ np.array([1.5, -2.0, 0.5]) + 0.05 * rng.normal(size=300)
    lines = ["x1,x2,x3,target"] + [",".join(f"{v:.6f}" for v in (*row, t)) for row, t in zip(X, y)]
    path.write_text("\n".join(lines) + "\n")
    return path


REGRESSION_STUDY = """
[study]
name = "reg"
metric = "val_r2"
[data]
source = "csv"
path = "reg.csv"
target = "target"
[space]
lr = {{ type = "float", low = 3e-3, high = 3e-2, scale = "log" }}
[strategy]
kind = "grid"
points = 3
[train]
epochs = 40
hidden = [16]
{loss}
"""


def test_run_regression_on_a_csv_scores_r2(tmp_path, capsys):
    pytest.importorskip("tunecore.study")
    _regression_csv(tmp_path / "reg.csv")
    config = write(tmp_path / "reg.toml", REGRESSION_STUDY.format(loss='loss = "mse"'))
    code, out, err = run_main(["run", config, "--no-progress"], capsys)
    assert code == 0, err
    assert len(_db_trials(tmp_path / "tunecore.db", "reg")) == 3
    # a linear target with 5 % noise: a fitted network explains most of the variance
    r2 = float(out.split("test R^2: ")[1].split()[0])
    assert r2 > 0.9


def test_run_float_targets_without_mse_name_train_loss(tmp_path, capsys):
    _regression_csv(tmp_path / "reg.csv")
    config = write(tmp_path / "reg.toml", REGRESSION_STUDY.format(loss=""))
    code, _, err = run_main(["run", config, "--no-progress"], capsys)
    assert code == 2
    assert_one_line_error(err, "reg.toml", "not class labels", "train.loss = 'mse'")


def test_run_data_too_small_to_split_names_the_fractions(tmp_path, capsys):
    write(tmp_path / "tiny.csv", "a,b,y\n1,2,0\n3,4,1\n5,6,0\n7,8,1\n")
    config = write(
        tmp_path / "tiny.toml",
        '[data]\nsource = "csv"\npath = "tiny.csv"\ntarget = "y"\n'
        '[strategy]\nkind = "random"\nn_trials = 2\n' + SPACE,
    )
    code, _, err = run_main(["run", config, "--no-progress"], capsys)
    assert code == 2
    assert_one_line_error(
        err, "tiny.toml: data.test_fraction, data.val_fraction: cannot split 4 samples"
    )
