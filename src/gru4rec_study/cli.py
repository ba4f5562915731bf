"""The command line: ``gru4rec-study demo | run | tune | report | prepare | split | synth | train |
evaluate | recommend``.

This module only parses arguments, configures logging and progress bars, calls the library, and
prints results.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import logging
import os
import sys
import tomllib
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from tqdm.contrib.logging import logging_redirect_tqdm

from gru4rec_study import __version__
from gru4rec_study.cli_data import add_column_flags, add_data_commands, event_columns
from gru4rec_study.data import (
    DataError,
    encode_sessions,
    read_events,
)
from gru4rec_study.evaluation import TIE_POLICIES, evaluate
from gru4rec_study.experiments import (
    ConfigError,
    load_experiment,
    run_experiment,
    shipped_experiment,
)
from gru4rec_study.experiments.config import ModelConfig, shipped_experiments
from gru4rec_study.experiments.models import build_model
from gru4rec_study.models import MODELS, TrainingError, load_model, recommend
from gru4rec_study.models.gru4rec import preset_names
from gru4rec_study.progress import progress_wanted
from gru4rec_study.reporting import results_table, write_report

logger = logging.getLogger("gru4rec_study.cli")


def _parse_value(text: str) -> Any:
    """A TOML value (number, boolean, string, list), or the text itself."""
    try:
        return tomllib.loads(f"v = {text}")["v"]
    except tomllib.TOMLDecodeError:
        return text


def _parse_params(pairs: Sequence[str]) -> dict[str, Any]:
    params = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise ValueError(f"--param expects KEY=VALUE, got {pair!r}")
        params[key.strip()] = _parse_value(value.strip())
    return params


def _print_run(result) -> dict[str, Path]:
    paths = write_report(result.run_dir)
    print(paths["table"].read_text(), end="")
    print(f"\nRun directory: {result.run_dir}")
    figures = sorted(str(p) for name, p in paths.items() if name.endswith(".png"))
    if figures:
        print("Figures: " + ", ".join(figures))
    print(f"Report: {paths['html']}")
    return paths


def cmd_demo(args: argparse.Namespace) -> int:
    if args.epochs is not None and args.epochs < 1:
        raise ValueError(f"--epochs must be at least 1, got {args.epochs}")
    config = load_experiment(shipped_experiment("demo"))
    if args.epochs is not None:
        models = tuple(
            ModelConfig(m.kind, m.name, m.preset, {**m.params, "n_epochs": args.epochs})
            if m.kind == "gru4rec"
            else m
            for m in config.models
        )
        config = dataclasses.replace(config, models=models)
    _print_run(run_experiment(config, args.out, args.argv, show_progress=args.progress))
    return 0


def cmd_run(args: argparse.Namespace) -> int:
    config = load_experiment(_experiment_path(args.experiment), prepared=args.prepared)
    _print_run(run_experiment(config, args.out, args.argv, show_progress=args.progress))
    return 0


def _experiment_path(text: str) -> Path:
    """An experiment file, or the name of a shipped experiment (such as rsc15)."""
    if Path(text).is_file() or text not in shipped_experiments():
        return Path(text)
    return shipped_experiment(text)


def cmd_tune(args: argparse.Namespace) -> int:
    import optuna

    from gru4rec_study.experiments.tuning import TuneOptions, tune

    optuna.logging.set_verbosity(logging.ERROR)  # every trial is logged by the package
    config = load_experiment(_experiment_path(args.experiment), prepared=args.prepared)
    options = TuneOptions(
        model=args.model,
        n_trials=args.trials,
        space=args.space,
        metric=args.metric,
        storage=args.storage,
        study_name=args.study_name,
        total_trials=args.total_trials,
        seed=args.seed,
        overrides=_parse_params(args.param),
        heartbeat=args.heartbeat,
        final=not args.no_final,
        out_root=args.out,
    )
    result = tune(config, options, args.argv, show_progress=args.progress)
    print(f"Study {result.study_name} ({result.storage})")
    print(
        f"  trials added by this worker: {result.n_added}; complete in the study:"
        f" {result.n_complete}"
    )
    if result.best_params is not None:
        print(f"  best {options.metric} on train_valid: {result.best_value:.4f}")
        print(f"  best parameters: {json.dumps(result.best_params)}")
    print(f"  history: {result.history_dir}")
    if result.run is not None:
        print()
        _print_run(result.run)
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    paths = write_report(args.run_dir)
    print(paths["table"].read_text(), end="")
    print("\nWrote: " + ", ".join(p.name for name, p in paths.items() if name != "html"))
    print(f"Report: {paths['html']}")
    return 0


def cmd_train(args: argparse.Namespace) -> int:
    if args.seed < 0:
        raise ValueError(f"--seed must be a non-negative integer, got {args.seed}")
    params = _parse_params(args.param)
    if args.epochs is not None:
        if args.model != "gru4rec":
            raise ValueError(f"--epochs applies to gru4rec only, not to {args.model}")
        if "n_epochs" in params and params["n_epochs"] != args.epochs:
            raise ValueError(
                f"--epochs {args.epochs} and --param n_epochs={params['n_epochs']} disagree;"
                " give the epochs once"
            )
        params["n_epochs"] = args.epochs
    spec = ModelConfig(args.model, preset=args.preset, params=params)
    model = build_model(spec, seed=args.seed, show_progress=args.progress)
    train = encode_sessions(read_events(args.train, event_columns(args)), source=str(args.train))
    model.fit(train)
    model.save(args.out)
    print(f"saved {model.name} ({train.n_items} items) to {args.out}")
    return 0


def cmd_evaluate(args: argparse.Namespace) -> int:
    model = load_model(args.model)
    events = read_events(args.test, event_columns(args))
    test = encode_sessions(events, model.item_map, min_session_length=2, source=str(args.test))
    result = evaluate(model, test, args.cutoffs, args.tie_policy, args.batch_size, args.progress)
    removed = test.report.as_dict()
    summary = {**result.as_dict(), "test_encoding": removed}
    results = {
        "models": {model.name: summary},
        "cutoffs": args.cutoffs,
        "n_events": result.n_events,
        "tie_policy": args.tie_policy,
    }
    print(results_table(results))
    print(
        f"removed from the test data: {removed['n_unknown_item_events']} events with unknown"
        f" items, then {removed['n_short_sessions']} sessions shorter than two events"
    )
    if args.out:
        Path(args.out).write_text(json.dumps(summary, indent=2) + "\n")
    return 0


def cmd_recommend(args: argparse.Namespace) -> int:
    model = load_model(args.model)
    prefixes = [[i.strip() for i in p.split(",") if i.strip()] for p in args.items]
    for prefix, recs in zip(prefixes, recommend(model, prefixes, args.k), strict=True):
        print(f"after {','.join(prefix)}:")
        for rank, (item, score) in enumerate(recs, start=1):
            print(f"  {rank:3d}  {item}  {score:.6g}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="gru4rec-study",
        description="GRU4Rec with the official semantics against strong baselines, evaluated "
        "with full ranking on time-split session data.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    parser.add_argument("-q", "--quiet", action="store_true", help="warnings only, no progress")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("demo", help="the main job on the bundled yoochoose-clicks-100k data")
    p.add_argument("--out", default="runs", help="folder for the run directory (default: runs)")
    p.add_argument("--epochs", type=int, help="GRU4Rec epochs (default: the preset's 10)")
    p.set_defaults(func=cmd_demo)

    p = sub.add_parser("run", help="run an experiment TOML file into a new run directory")
    p.add_argument("experiment", help="experiment TOML file, or a shipped one (such as rsc15)")
    p.add_argument(
        "--prepared",
        help="a directory written by `prepare`, replacing the experiment's data (such as"
        " prepared/rsc15 for the shipped rsc15 experiment)",
    )
    p.add_argument("--out", default="runs", help="folder for the run directory (default: runs)")
    p.set_defaults(func=cmd_run)

    p = sub.add_parser(
        "tune",
        help="tune one model with Optuna on train_tr -> train_valid, then run the best on test",
    )
    p.add_argument("experiment", help="experiment TOML file, or a shipped one (such as rsc15)")
    p.add_argument("--model", required=True, help="label or kind of the model to tune")
    p.add_argument("--trials", type=int, required=True, help="trials this worker adds")
    p.add_argument("--total-trials", type=int, help="stop once the study holds this many trials")
    p.add_argument("--space", help="space TOML file or shipped space (default: by model/loss)")
    p.add_argument("--metric", default="mrr@20", help="objective, maximised (default: mrr@20)")
    p.add_argument("--storage", help="Optuna storage URL (default: sqlite under OUT/tune/)")
    p.add_argument("--study-name", help="default: EXPERIMENT-MODEL-SPACE")
    p.add_argument("--seed", type=int, help="sampler seed of this worker (default: experiment's)")
    p.add_argument(
        "--param",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="fixed model parameter on top of the space (repeatable), e.g. --param n_epochs=5",
    )
    p.add_argument("--prepared", help="prepared data directory, instead of the experiment's")
    p.add_argument(
        "--heartbeat",
        type=int,
        default=60,
        help="seconds between heartbeats; a running trial silent for twice this long is failed",
    )
    p.add_argument("--no-final", action="store_true", help="tune only; no run on test")
    p.add_argument("--out", default="runs", help="folder for the run directory (default: runs)")
    p.set_defaults(func=cmd_tune)

    p = sub.add_parser(
        "report",
        help="write tables (Markdown, LaTeX, CSV), figures (PNG, SVG) and a self-contained"
        " report.html from a run directory alone",
    )
    p.add_argument("run_dir", type=Path)
    p.set_defaults(func=cmd_report)

    add_data_commands(sub)

    p = sub.add_parser("train", help="train one model on an event file and save it")
    p.add_argument("train", type=Path)
    p.add_argument("--model", choices=sorted(MODELS), default="gru4rec")
    p.add_argument("--preset", choices=preset_names(), help="GRU4Rec preset")
    p.add_argument(
        "--param",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="model parameter (repeatable), e.g. --param layers=100 --param loss=bpr-max",
    )
    p.add_argument("--epochs", type=int, help="GRU4Rec epochs")
    p.add_argument("--seed", type=int, default=42)
    p.add_argument("--out", type=Path, required=True, help="model directory to write")
    add_column_flags(p)
    p.set_defaults(func=cmd_train)

    p = sub.add_parser("evaluate", help="evaluate a saved model on a test event file")
    p.add_argument("model", type=Path)
    p.add_argument("test", type=Path)
    p.add_argument("--cutoffs", type=int, nargs="+", default=[5, 10, 20])
    p.add_argument("--tie-policy", choices=TIE_POLICIES, default="conservative")
    p.add_argument("--batch-size", type=int, default=512)
    p.add_argument("--out", type=Path, help="write the results as JSON here")
    add_column_flags(p)
    p.set_defaults(func=cmd_evaluate)

    p = sub.add_parser("recommend", help="top-k next items after session prefixes")
    p.add_argument("model", type=Path)
    p.add_argument(
        "--items",
        action="append",
        required=True,
        help="comma-separated item ids of one prefix (repeat for more prefixes)",
    )
    p.add_argument("-k", type=int, default=10)
    p.set_defaults(func=cmd_recommend)
    return parser


def _configure_logging(args: argparse.Namespace) -> None:
    level = logging.DEBUG if args.verbose else logging.WARNING if args.quiet else logging.INFO
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(
        logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s", "%H:%M:%S")
    )
    package_logger = logging.getLogger("gru4rec_study")
    package_logger.handlers = [
        h for h in package_logger.handlers if isinstance(h, logging.NullHandler)
    ]
    package_logger.addHandler(handler)
    package_logger.setLevel(level)
    args.progress = progress_wanted(args.quiet)  # off with -q, in CI and when stderr is no TTY


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    args.argv = ["gru4rec-study", *(sys.argv[1:] if argv is None else argv)]
    _configure_logging(args)
    try:
        with logging_redirect_tqdm(loggers=[logging.getLogger("gru4rec_study")]):
            code = args.func(args)
        sys.stdout.flush()  # a closed pipe fails here, inside the handler below
        return code
    except (DataError, ConfigError, TrainingError, ValueError, FileNotFoundError) as exc:
        print(f"gru4rec-study {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # the reader of stdout (say, head) stopped early: not an error
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0


if __name__ == "__main__":
    sys.exit(main())
