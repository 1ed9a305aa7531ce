"""The ``tunecore`` command: ``demo``, ``run`` and ``report``.

``tunecore demo`` runs a tier-budget study of an MLP on scikit-learn's digits and says what it
learned; ``tunecore run study.toml`` runs the study a TOML config describes (see
:mod:`tunecore.config`); ``tunecore report tunecore.db`` prints tables and writes plots of a
stored study.

A mistake in what the user gave (a bad config, a missing file, a value out of range) ends the
command with one line ``tunecore: error: ...`` on stderr and exit status 2; Ctrl-C ends it
with status 130. ``--traceback`` shows the full Python traceback instead, for bug reports.
"""

from __future__ import annotations

import argparse
import logging
import math
import os
import sqlite3
import sys
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, NoReturn

import numpy as np

from tunecore import __version__
from tunecore.config import ConfigError, StudyConfig, load_config

logger = logging.getLogger("tunecore.cli")

#: Exit status for a mistake in the user's input (argparse uses the same).
EXIT_USAGE = 2
#: Exit status after Ctrl-C (128 + SIGINT), as shells report it.
EXIT_INTERRUPTED = 130

#: The demo's fixed training settings; the tiers tune the rest.
DEMO_TRAIN = {"epochs": 20, "activation": "relu", "optimizer": "adam"}
#: The tiers' patience in the demo. TierBudget's default of 10 ends every tier of the digits
#: demo within 15-30 s of a 60 s budget; 25 spends more of it on the later tiers (measured:
#: lower validation loss on 2 of 3 seeds, test accuracy 0.975-0.986 either way).
DEMO_PATIENCE = 25
#: Seconds of the demo's budget kept for what follows the study (retraining the best
#: configuration, the importance forest, the plots: about 5 s on two busy cores) ...
DEMO_RESERVE_S = 6.0
#: ... but never more than this fraction of the budget.
DEMO_RESERVE_MAX = 0.25


# --------------------------------------------------------------------------------------------
# argument parsing


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a number > 0, got {text!r}") from None
    if not math.isfinite(value) or value <= 0:
        raise argparse.ArgumentTypeError(f"must be a number > 0, got {text!r}")
    return value


def _seed(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be an int >= 0, got {text!r}") from None
    if not 0 <= value <= 2**63 - 1:
        raise argparse.ArgumentTypeError(f"must be an int in [0, 2**63 - 1], got {text!r}")
    return value


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be an int >= 1, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be an int >= 1, got {text!r}")
    return value


class _Parser(argparse.ArgumentParser):
    """argparse, with a usage error on one line (and exit code 2) like every other error."""

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_USAGE, f"tunecore: error: {message} (see {self.prog} --help)\n")


def build_parser() -> argparse.ArgumentParser:
    """Return the parser of the ``tunecore`` command."""
    parser = _Parser(
        prog="tunecore",
        description="Hyperparameter studies of neural networks on a fast C++ MLP core.",
    )
    parser.add_argument("--version", action="version", version=f"tunecore {__version__}")
    common = _Parser(add_help=False)
    common.add_argument(
        "-v",
        "--verbose",
        action="count",
        default=0,
        help="log progress to stderr (-vv for debug messages)",
    )
    common.add_argument(
        "--traceback",
        action="store_true",
        help="show the Python traceback of an error instead of one line",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True

    demo = sub.add_parser(
        "demo",
        parents=[common],
        help="tier-budget study of an MLP on scikit-learn's digits",
        description="Run a tier-budget study of an MLP on scikit-learn's digits (train / "
        "validation / test split), print each tier's best values, the best configuration, "
        "its accuracy on the held-out test set and the importance of each hyperparameter, "
        "and write the SQLite file and the plots.",
    )
    demo.add_argument(
        "--budget",
        type=_positive_float,
        default=60.0,
        metavar="SECONDS",
        help="wall-clock budget of the whole demo in seconds (default 60)",
    )
    demo.add_argument(
        "--db",
        default="tunecore.db",
        metavar="PATH",
        help="SQLite file the study is written to (default tunecore.db)",
    )
    demo.add_argument(
        "--seed",
        type=_seed,
        default=0,
        metavar="N",
        help="seed of the split and the study (default 0)",
    )
    demo.add_argument(
        "--out",
        default=None,
        metavar="DIR",
        help="folder for the plots (default: DB-NAME_out next to the db, e.g. tunecore_out)",
    )
    demo.add_argument(
        "--patience",
        type=_positive_int,
        default=DEMO_PATIENCE,
        metavar="N",
        help="trials without improvement after which a tier hands its budget on "
        f"(default {DEMO_PATIENCE})",
    )
    demo.add_argument("--no-plots", action="store_true", help="write no plots")
    demo.add_argument("--no-progress", action="store_true", help="show no progress bar")
    demo.set_defaults(func=cmd_demo)

    run = sub.add_parser(
        "run",
        parents=[common],
        help="run a study from a TOML config",
        description="Run the study a TOML config describes (tables [study], [data], "
        "[space], [strategy], [budget], [train]; see examples/).",
    )
    run.add_argument("config", metavar="STUDY.TOML", help="the study config")
    run.add_argument(
        "--db",
        default=None,
        metavar="PATH",
        help="SQLite file, instead of the config's study.storage",
    )
    run.add_argument(
        "--resume",
        action="store_true",
        help="continue the stored study of the same name instead of refusing",
    )
    run.add_argument(
        "--n-jobs",
        type=_positive_int,
        default=1,
        metavar="N",
        help="trials run at once (default 1)",
    )
    run.add_argument("--out", default=None, metavar="DIR", help="also write the plots to DIR")
    run.add_argument("--no-progress", action="store_true", help="show no progress bar")
    run.set_defaults(func=cmd_run)

    report = sub.add_parser(
        "report",
        parents=[common],
        help="tables and plots from a stored study",
        description="Print the best trial, the top-k table and the importance of each "
        "hyperparameter of a stored study, and write its plots (PNG). With several studies in the "
        "file and none named, list them.",
    )
    report.add_argument("db", metavar="DB", help="the SQLite file")
    report.add_argument("--study", default=None, metavar="NAME", help="the study to report")
    report.add_argument(
        "--out",
        default=None,
        metavar="DIR",
        help="folder for the plots (default: DB-NAME_out next to the db, e.g. tunecore_out)",
    )
    report.add_argument("--no-plots", action="store_true", help="write no plots")
    report.add_argument(
        "--top",
        type=_positive_int,
        default=10,
        metavar="K",
        help="rows of the top-k table (default 10)",
    )
    report.set_defaults(func=cmd_report)
    return parser


# --------------------------------------------------------------------------------------------
# entry point


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``tunecore`` command with ``argv`` (default ``sys.argv[1:]``).

    Returns
    -------
    int
        The exit status: 0 on success, 2 for a mistake in the input, 130 after Ctrl-C, 1
        when a study could not give an answer (no trial completed) or an optional
        dependency is missing.
    """
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help, --version and usage errors
        return exc.code if isinstance(exc.code, int) else EXIT_USAGE

    package_logger = logging.getLogger("tunecore")
    level_before = package_logger.level
    handler = _attach_log_handler(args.verbose)
    try:
        code = args.func(args)
        sys.stdout.flush()  # here, so that a reader gone away is caught below
        return code
    except KeyboardInterrupt:
        if args.traceback:
            raise
        print("tunecore: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        # The reader of our output went away (``tunecore report ... | head``): not an error.
        # Point stdout at /dev/null so that the interpreter's final flush stays quiet too.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
        return 0
    except (ValueError, OSError, sqlite3.DatabaseError) as exc:
        # ConfigError is a ValueError; FileNotFoundError and PermissionError are OSErrors.
        if args.traceback:
            raise
        if _caused_by_interrupt(exc):
            # Ctrl-C that landed in cleanup code (e.g. an SQLite transaction) and turned into
            # another error on the way out is still the user's Ctrl-C.
            print("tunecore: interrupted", file=sys.stderr)
            return EXIT_INTERRUPTED
        print(f"tunecore: error: {_one_line(exc)}", file=sys.stderr)
        return EXIT_USAGE
    except ImportError as exc:
        # A missing optional dependency is the environment's fault, not the input's.
        if args.traceback:
            raise
        message = _one_line(exc)
        if "tunecore[study]" not in message:
            message += " (pip install 'tunecore[study]')"
        print(f"tunecore: error: {message}", file=sys.stderr)
        return 1
    except RuntimeError as exc:
        # A study that could not give an answer (no trial completed, a retraining diverged).
        if args.traceback:
            raise
        print(f"tunecore: error: {_one_line(exc)}", file=sys.stderr)
        return 1
    finally:
        package_logger.removeHandler(handler)
        package_logger.setLevel(level_before)


def _caused_by_interrupt(exc: BaseException) -> bool:
    seen = set()
    link: BaseException | None = exc
    while link is not None and id(link) not in seen:
        if isinstance(link, KeyboardInterrupt):
            return True
        seen.add(id(link))
        link = link.__cause__ or link.__context__
    return False


def _one_line(exc: BaseException) -> str:
    if isinstance(exc, OSError) and exc.filename is not None and exc.strerror:
        text = f"{exc.strerror}: {exc.filename!r}"
    elif isinstance(exc, sqlite3.DatabaseError):
        text = f"database error: {exc}"
    else:
        text = str(exc) or type(exc).__name__
    return " ".join(text.split())


def _attach_log_handler(verbose: int) -> logging.Handler:
    """Send the ``tunecore`` logger's records to stderr; only the command does this."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("tunecore: %(message)s"))
    level = logging.WARNING if verbose == 0 else logging.INFO if verbose == 1 else logging.DEBUG
    handler.setLevel(level)
    package_logger = logging.getLogger("tunecore")
    package_logger.addHandler(handler)
    if package_logger.level == logging.NOTSET or package_logger.level > level:
        package_logger.setLevel(level)
    return handler


def _say(text: str = "") -> None:
    print(text, flush=True)


# --------------------------------------------------------------------------------------------
# shared helpers


def _fmt(value: Any) -> str:
    """A hyperparameter value or metric for a table: 4 significant digits for floats."""
    if isinstance(value, (float, np.floating)):
        return f"{float(value):.4g}"
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_fmt(v) for v in value) + "]"
    return str(value)


def _fmt_params(params: Mapping[str, Any]) -> str:
    return ", ".join(f"{k}={_fmt(v)}" for k, v in params.items())


def _default_out(db: str) -> Path:
    if db == ":memory:":
        return Path("tunecore_out")
    p = Path(db)
    return p.parent / f"{p.stem}_out"


def _study_names(storage: str) -> list[str]:
    """The studies an existing SQLite file holds; ValueError naming the file when it is not
    a tunecore database."""
    from tunecore.storage import Storage

    try:
        with Storage(storage) as st:
            return list(st.study_names())
    except (sqlite3.DatabaseError, ValueError) as exc:  # ValueError: not a database at all
        raise ValueError(f"{storage!r} is not a tunecore SQLite file ({exc})") from None


def _check_tunecore_file(path: str) -> None:
    """Refuse, without writing to it, a file that is not a tunecore SQLite database."""
    try:
        conn = sqlite3.connect(f"{Path(path).resolve().as_uri()}?mode=ro", uri=True)
        try:
            found = conn.execute(
                "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'studies'"
            ).fetchone()[0]
        finally:
            conn.close()
    except sqlite3.DatabaseError as exc:
        raise ValueError(f"{path!r} is not a tunecore SQLite file ({exc})") from None
    if not found:
        if Path(path).stat().st_size == 0:
            raise ValueError(f"{path!r} is an empty file, not a tunecore SQLite file")
        raise ValueError(f"{path!r} is an SQLite file without tunecore studies")


def _fresh_name(storage: str, base: str) -> str:
    """``base``, or ``base-2``, ``base-3``... whichever the file does not hold yet."""
    if storage == ":memory:" or not Path(storage).exists():
        return base
    names = set(_study_names(storage))
    if base not in names:
        return base
    k = 2
    while f"{base}-{k}" in names:
        k += 1
    return f"{base}-{k}"


def _check_db_parent(path: str) -> None:
    if path == ":memory:":
        return
    parent = Path(path).parent
    if not parent.is_dir():
        raise FileNotFoundError(f"the folder of the database {path!r} does not exist")


def _retrain_and_score(objective: Any, trial: Any, parts: Any) -> float:
    """Train the trial's configuration on train + validation; return its test score.

    The configuration is the objective's own (its fixed keywords, then the trial's params,
    then the trial's seed), so the retrained network differs from the trial's only by the
    extra data it sees.
    """
    from tunecore.training import train

    config = objective.config(trial.params, trial.seed)
    X_fit = np.concatenate([parts.X_train, parts.X_val])
    y_fit = np.concatenate([parts.y_train, parts.y_val])
    result = train(X_fit, y_fit, **config)
    if result.status != "ok":
        raise RuntimeError(
            f"retraining the best configuration (trial {trial.number}) on train + validation "
            f"diverged at epoch {result.diverged_epoch}"
        )
    return float(result.model.score(parts.X_test, parts.y_test))


def _print_best(trial: Any, metric: str) -> None:
    _say(f"best configuration (trial {trial.number}, {metric} {_fmt(trial.value)}):")
    width = max((len(k) for k in trial.params), default=0)
    for key, value in trial.params.items():
        _say(f"  {key:<{width}}  {_fmt(value)}")
    others = {k: v for k, v in dict(trial.metrics).items() if k != metric}
    if others:
        _say("  metrics: " + ", ".join(f"{k}={_fmt(v)}" for k, v in others.items()))


def _write_plots(study: Any, out: Path, importance: Mapping[str, float] | None) -> list[Path]:
    """Write every plot of ``study`` into ``out``, reusing the importance already printed;
    return the files written."""
    from tunecore import plots

    out.mkdir(parents=True, exist_ok=True)
    return [Path(p) for p in plots.plot_study(study, out, importance=importance)]


def _write_demo_plots(study: Any, importance: Mapping[str, float] | None, out: Path) -> list[Path]:
    """The demo's plots, reusing the importance already computed (the forest is the slow
    part); the tier timeline is drawn in seconds, the demo's budget unit."""
    from tunecore import plots

    out.mkdir(parents=True, exist_ok=True)
    trials = study.trials
    written = [
        plots.plot_values(trials, study.space, out / "values.png", study.direction),
        plots.plot_history(trials, out / "history.png", study.direction),
    ]
    if importance:
        written.append(plots.plot_importance(importance, out / "importance.png"))
    timeline = _seconds_timeline(study)
    if timeline:
        written.append(plots.plot_tiers(timeline, out / "tiers.png", unit="seconds"))
    return [Path(p) for p in written]


def _seconds_timeline(study: Any) -> list[dict[str, Any]]:
    """The tier timeline of a seconds-budget TierBudget as :func:`plots.plot_tiers` takes it."""
    strategy = study.strategy
    rows = list(getattr(strategy, "timeline", []) or [])
    total = getattr(strategy, "total_budget", None)
    if not rows or getattr(strategy, "unit", None) != "seconds" or not total:
        return []
    used = study.usage().seconds
    out = []
    for row in rows:
        start = float(row["start"] or 0.0)
        end = float(row["end"]) if row["end"] is not None else max(start, used)
        out.append(
            {
                "tier": int(row["tier"]) + 1,
                "name": row["name"],
                "start": start,
                "end": end,
                "share": float(row["share"]),
                "used": (end - start) / float(total),
            }
        )
    return out


def _print_tables(study: Any, top: int, tier_order: Sequence[Any] | None = None) -> dict | None:
    """Print a study's counts, best trial, top-k table and importance; return the importance."""
    from tunecore import report

    trials = study.trials
    done = [t for t in trials if t.ok]
    counts: dict[str, int] = {}
    for t in trials:
        counts[t.status] = counts.get(t.status, 0) + 1
    _say(
        f"study {study.name!r}: {len(trials)} trials ("
        + ", ".join(f"{n} {s}" for s, n in sorted(counts.items()))
        + f"), {study.direction}"
    )
    if not done:
        _say("no trial completed, so there is no best configuration")
        reasons: dict[str, int] = {}
        for t in trials:
            if t.reason:
                reasons[t.reason] = reasons.get(t.reason, 0) + 1
        for reason, n in sorted(reasons.items(), key=lambda item: -item[1])[:5]:
            _say(f"  {n} trial{'s' if n > 1 else ''}: {reason}")
        return None
    _say()
    _print_best(study.best_trial, _metric_name(study))
    _say()
    _say(f"top {min(top, len(done))} trials:")
    _say(report.format_table(trials, k=top, direction=study.direction))
    _say()
    return _print_importance(study, tier_order)


def _print_importance(study: Any, tier_order: Sequence[Any] | None = None) -> dict | None:
    """Print the importance table (beside ``tier_order`` when given); return the importance."""
    from tunecore import report

    if getattr(study.strategy, "tiers", None):
        how = (
            "functional ANOVA on a random forest per tier, each tier weighted by how much the "
            "value varied while it searched"
        )
    else:
        how = "functional ANOVA on a random forest fitted to the trials"
    try:
        imp = report.study_importance(study)
    except ValueError as exc:
        _say(f"importance: not computed ({exc})")
        return None
    _say(f"importance (each parameter's share of the variance of the value: {how}):")
    _say(report.format_importance(imp, tier_order))
    return imp


def _metric_name(study: Any) -> str:
    """The metric a study optimizes: its objective's, or the one stored with the study."""
    metric = getattr(getattr(study, "objective", None), "metric", None)
    if metric is None:
        try:
            described = study.storage.get_study(study.name).get("objective") or {}
            metric = described.get("metric")
        except (AttributeError, ValueError, sqlite3.DatabaseError):
            metric = None
    return str(metric or "value")


# --------------------------------------------------------------------------------------------
# tunecore demo


def cmd_demo(args: argparse.Namespace) -> int:
    """Run the digits demo; see :func:`build_parser` for the options."""
    from tunecore import datasets
    from tunecore.objectives import MLPObjective
    from tunecore.strategies import TierBudget, default_tiers
    from tunecore.study import Budget, Study

    start = time.perf_counter()
    _check_db_parent(args.db)
    out = Path(args.out) if args.out is not None else _default_out(args.db)

    X, y = datasets.load_digits()
    parts = datasets.split(X, y, test_fraction=0.2, val_fraction=0.2, seed=args.seed)
    name = _fresh_name(args.db, "demo")
    _say(
        f"tunecore demo: tier-budget study of an MLP on digits ({len(parts.y_train)} train, "
        f"{len(parts.y_val)} validation, {len(parts.y_test)} test samples)"
    )
    _say(f"budget {args.budget:g} s, seed {args.seed}, study {name!r} in {args.db}")
    _say()

    objective = MLPObjective(
        parts.X_train,
        parts.y_train,
        X_val=parts.X_val,
        y_val=parts.y_val,
        metric="val_loss",
        base=DEMO_TRAIN,
    )
    tiers = default_tiers()
    # The study gets the budget less a reserve for the retraining, the importance and the
    # plots, so the whole command ends near --budget seconds.
    study_seconds = args.budget - min(DEMO_RESERVE_S, DEMO_RESERVE_MAX * args.budget)
    budget = Budget(seconds=study_seconds)
    strategy = TierBudget(tiers, budget=budget, patience=args.patience)
    study = Study.create(
        name,
        objective,
        strategy,
        storage=args.db,
        direction="minimize",
        seed=args.seed,
        budget=budget,
    )
    printer = _TierPrinter(tiers, "val_loss")
    study.run(progress=not args.no_progress, callbacks=[printer])
    printer.finish(study)
    used = study.usage().seconds
    if strategy.finished and used < 0.95 * study_seconds:
        _say(
            f"every tier converged ({args.patience} trials in a row without improving its best "
            f"by {strategy.min_improvement:.0%}) after {used:.1f} s of the study's "
            f"{study_seconds:.0f} s (--budget less {args.budget - study_seconds:.0f} s kept "
            "for the retraining and plots); the rest of the budget is not spent"
        )
    _say()

    best = study.best_trial
    if best is None:
        raise RuntimeError("the demo study finished without a completed trial")
    _print_best(best, "val_loss")
    accuracy = _retrain_and_score(objective, best, parts)
    _say(
        f"test accuracy: {accuracy:.4f} (best configuration retrained on train + validation, "
        f"scored on {len(parts.y_test)} held-out samples)"
    )
    _say()
    imp = _print_importance(study, tiers)
    _say()
    if not args.no_plots:
        written = _write_demo_plots(study, imp, out)
        if written:
            _say(f"plots: {', '.join(p.name for p in written)} in {out}")
    _say(f"study stored in {args.db} (see: tunecore report {args.db} --study {name})")
    _say(f"wall time {time.perf_counter() - start:.1f} s")
    return 0


class _TierPrinter:
    """A study callback that prints each tier's best once the next tier has started.

    Tiers never overlap (a tier starts when the earlier ones have finished), so the first
    stored trial of tier j closes every tier before j; the last tier is closed by
    :meth:`finish` after the run.
    """

    def __init__(self, tiers: Sequence[Any], metric: str = "val_loss") -> None:
        self.tiers = list(tiers)
        self.metric = metric
        self.printed = 0

    def __call__(self, study: Any, trial: Any) -> None:
        if trial.tier is None or trial.tier <= self.printed:
            return
        trials = study.trials
        while self.printed < min(trial.tier, len(self.tiers)):
            self._print(study.direction, trials, self.printed)
            self.printed += 1

    def finish(self, study: Any) -> None:
        trials = study.trials
        while self.printed < len(self.tiers):
            self._print(study.direction, trials, self.printed)
            self.printed += 1

    def _print(self, direction: str, trials: Sequence[Any], index: int) -> None:
        tier = self.tiers[index]
        mine = [t for t in trials if t.tier == index]
        done = [t for t in mine if t.ok]
        label = f"tier {index + 1} ({tier.name})"
        if not mine:
            line = f"{label}: not reached within the budget"
        elif not done:
            line = f"{label}: {len(mine)} trials, none completed"
        else:
            pick = min if direction == "minimize" else max
            best = pick(done, key=lambda t: t.value)
            names = list(getattr(tier.space, "sampled_names", tier.space.names))
            shown = {k: best.params[k] for k in names if k in best.params}
            line = (
                f"{label}: {len(mine)} trials, best {self.metric} {_fmt(best.value)} with "
                f"{_fmt_params(shown)}"
            )
        _write_line(line)


def _write_line(line: str) -> None:
    """Print a line on stdout without tearing a tqdm bar drawn on stderr."""
    try:
        from tqdm import tqdm
    except ImportError:  # pragma: no cover - tqdm is in the study extra
        _say(line)
        return
    tqdm.write(line, file=sys.stdout)
    sys.stdout.flush()


# --------------------------------------------------------------------------------------------
# tunecore run


def cmd_run(args: argparse.Namespace) -> int:
    """Run the study of a TOML config."""
    config = load_config(args.config)
    storage = args.db if args.db is not None else config.storage
    _check_db_parent(storage)
    study, parts = _build_study(config, storage, resume=args.resume)
    _say(f"tunecore run: study {study.name!r} ({config.strategy.kind}) in {storage}")
    tiers = getattr(study.strategy, "tiers", None)
    callbacks = []
    if tiers is not None:
        printer = _TierPrinter(tiers, config.metric)
        callbacks.append(printer)
    study.run(n_jobs=args.n_jobs, progress=not args.no_progress, callbacks=callbacks)
    if tiers is not None:
        printer.finish(study)
    _say()
    imp = _print_tables(study, top=5, tier_order=tiers)
    best = study.best_trial
    if best is not None and len(parts.y_test):
        score = _retrain_and_score(study.objective, best, parts)
        kind = "R^2" if config.train.get("loss") == "mse" else "accuracy"
        _say()
        _say(
            f"test {kind}: {score:.4f} (best configuration retrained on train + validation, "
            f"scored on {len(parts.y_test)} held-out samples)"
        )
    if args.out is not None:
        written = _write_plots(study, Path(args.out), imp)
        _say(f"plots: {', '.join(p.name for p in written)} in {args.out}")
    if storage != ":memory:":
        _say(f"study stored in {storage} (see: tunecore report {storage} --study {study.name})")
    # A study in which no trial completed taught nothing: say so in the status, as for a
    # study that could not give an answer.
    return 0 if best is not None else 1


def _build_study(config: StudyConfig, storage: str, *, resume: bool) -> tuple[Any, Any]:
    from tunecore import datasets

    # The data first: a bad file is the user's most likely mistake, and the cheapest to report.
    X, y = config.data.load()
    regression = config.train.get("loss") == "mse"
    _check_task(config, y, regression)
    try:
        parts = datasets.split(
            X,
            y,
            test_fraction=config.data.test_fraction,
            val_fraction=config.data.val_fraction,
            seed=config.seed,
            stratify=not regression,
        )
    except ValueError as exc:
        where = f"{config.source}: " if config.source else ""
        raise ConfigError(f"{where}data.test_fraction, data.val_fraction: {exc}") from None

    from tunecore.objectives import MLPObjective
    from tunecore.study import Study

    objective = MLPObjective(
        parts.X_train,
        parts.y_train,
        X_val=parts.X_val,
        y_val=parts.y_val,
        metric=config.metric,
        base=config.train,
    )

    exists = False
    if storage != ":memory:" and Path(storage).exists():
        exists = config.name in _study_names(storage)
    if exists and not resume:
        raise ConfigError(
            f"{config.source}: study.name {config.name!r} already exists in {storage}; "
            "pass --resume to continue it, or choose another study.name"
        )
    if exists:
        return Study.load(storage, config.name, objective=objective), parts
    if resume:
        where = "memory" if storage == ":memory:" else storage
        print(
            f"tunecore: no study {config.name!r} in {where} to resume; starting it",
            file=sys.stderr,
        )

    space = config.build_space()
    strategy = config.build_strategy(space)
    study = Study.create(
        config.name,
        objective,
        strategy,
        storage=storage,
        direction=config.direction,
        seed=config.seed,
        budget=config.budget_object(),
    )
    return study, parts


def _check_task(config: StudyConfig, y: np.ndarray, regression: bool) -> None:
    """Refuse a config whose loss and metric do not fit the targets it loaded."""
    where = f"{config.source}: " if config.source else ""
    if not regression and not np.issubdtype(y.dtype, np.integer):
        raise ConfigError(
            f"{where}the targets of the data are not class labels (e.g. {y[0]!r}); set "
            "train.loss = 'mse' for a regression"
        )
    if regression and config.metric == "val_accuracy":
        raise ConfigError(
            f"{where}study.metric must be 'val_loss', 'val_r2' or 'train_loss' when "
            "train.loss is 'mse', got 'val_accuracy'"
        )
    if not regression and config.metric == "val_r2":
        raise ConfigError(
            f"{where}study.metric 'val_r2' needs train.loss = 'mse', got a classification"
        )


# --------------------------------------------------------------------------------------------
# tunecore report


def cmd_report(args: argparse.Namespace) -> int:
    """Print the tables of a stored study and write its plots.

    The file is opened read-only, so a report on a study another process is writing works
    and changes nothing.
    """
    if Path(args.db).is_dir():
        raise IsADirectoryError(f"database file {args.db!r} is a folder, not a SQLite file")
    if not Path(args.db).is_file():
        raise FileNotFoundError(f"database file {args.db!r} does not exist")
    _check_tunecore_file(args.db)

    from tunecore.storage import Storage
    from tunecore.study import Study

    try:
        store = Storage(args.db, read_only=True)
        names = store.study_names()
    except sqlite3.DatabaseError as exc:
        raise ValueError(f"{args.db!r} is not a tunecore SQLite file ({exc})") from None
    if not names:
        raise ValueError(f"database file {args.db!r} holds no study")
    name = args.study
    if name is None:
        if len(names) > 1:
            _say(f"{args.db} holds {len(names)} studies; name one with --study NAME:")
            for n in names:
                _say(f"  {n}")
            return 0
        name = names[0]
    elif name not in names:
        raise ValueError(
            f"--study must be one of {', '.join(map(repr, names))} in {args.db}, got {name!r}"
        )

    try:
        study = Study.load(store, name)
        imp = _print_tables(study, top=args.top, tier_order=getattr(study.strategy, "tiers", None))
        if not args.no_plots:
            out = Path(args.out) if args.out is not None else _default_out(args.db)
            written = _write_plots(study, out, imp)
            if written:
                _say()
                _say(f"plots: {', '.join(p.name for p in written)} in {out}")
    finally:
        store.close()
    return 0
