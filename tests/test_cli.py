"""Tests of the ``tunecore`` command: malformed input, and short real runs."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

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
    assert_one_line_error(err, "database")


def test_bad_option_values_are_usage_errors(capsys):
    code, _, err = run_main(["demo", "--budget", "-5"], capsys)
    assert code == 2
    assert "--budget: must be a number > 0, got '-5'" in err
    code, _, err = run_main(["report", "x.db", "--top", "zero"], capsys)
    assert code == 2
    assert "--top: must be an int >= 1, got 'zero'" in err


def test_help_exits_0(capsys):
    code, out, _ = run_main(["--help"], capsys)
    assert code == 0
    assert "demo" in out and "run" in out and "report" in out


def _subprocess(args, cwd):
    env = dict(os.environ)
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
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
