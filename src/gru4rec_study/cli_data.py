"""The data commands of the command line: ``split``, ``synth`` and ``prepare``.

Like :mod:`gru4rec_study.cli`, this module only parses arguments, calls the library and prints.
"""

from __future__ import annotations

import argparse
import json
import math
from pathlib import Path

from gru4rec_study.data import EventColumns, read_events, split_events, write_events
from gru4rec_study.data.prepare import prepare_dataset
from gru4rec_study.data.preprocess import filter_events
from gru4rec_study.data.recipes import RECIPES, ColumnNames, get_recipe
from gru4rec_study.data.stats import format_table, stats_rows
from gru4rec_study.data.synthetic import synthetic_events, write_yoochoose_clicks


def event_columns(args: argparse.Namespace) -> EventColumns:
    return EventColumns(args.session_column, args.item_column, args.time_column)


def add_column_flags(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--session-column", default="SessionId", help="session id column")
    parser.add_argument("--item-column", default="ItemId", help="item id column")
    parser.add_argument("--time-column", default="Time", help="timestamp column")


def _check_split_args(args: argparse.Namespace) -> None:
    """The split's numbers, checked before any file is read."""
    if not 0.0 < args.test_share < 1.0:
        raise ValueError(f"--test-share must be between 0 and 1, got {args.test_share}")
    if not (math.isfinite(args.test_days) and args.test_days > 0):
        raise ValueError(f"--test-days must be a positive number, got {args.test_days}")
    if args.min_item_support < 1 or args.min_session_length < 1:
        raise ValueError(
            "--min-item-support and --min-session-length must be at least 1, got"
            f" {args.min_item_support} and {args.min_session_length}"
        )


def cmd_split(args: argparse.Namespace) -> int:
    _check_split_args(args)
    events = read_events(args.events, event_columns(args))
    events, filters = filter_events(
        events, args.min_item_support, args.min_session_length, str(args.events)
    )
    train, test, report = split_events(events, args.rule, args.test_share, args.test_days)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    for part, table in (("train", train), ("test", test)):
        write_events(table, out / f"{part}.tsv")
    summary = {"filters": filters.steps, "split": report.as_dict()}
    (out / "split_report.json").write_text(json.dumps(summary, indent=2) + "\n")
    for key, value in report.as_dict().items():
        print(f"{key:45s} {value}")
    print(f"wrote {out / 'train.tsv'}, {out / 'test.tsv'} and {out / 'split_report.json'}")
    return 0


def cmd_synth(args: argparse.Namespace) -> int:
    if args.sessions < 1 or args.items < 2:
        raise ValueError("--sessions must be at least 1 and --items at least 2")
    if not (math.isfinite(args.days) and args.days > 0):
        raise ValueError(f"--days must be a positive number, got {args.days}")
    if args.seed < 0:
        raise ValueError(f"--seed must not be negative, got {args.seed}")
    out = Path(args.out)
    if out.is_dir():
        raise ValueError(f"--out {out} is a folder; give a file name")
    out.parent.mkdir(parents=True, exist_ok=True)
    if args.format == "yoochoose":
        n_events = write_yoochoose_clicks(out, args.sessions, args.items, args.seed, args.days)
        print(f"wrote {n_events} events of {args.sessions} sessions to {out} (yoochoose format)")
        return 0
    events = synthetic_events(args.sessions, args.items, args.seed, n_days=args.days)
    write_events(events, out)
    print(f"wrote {len(events)} events of {args.sessions} sessions to {out}")
    return 0


def cmd_prepare(args: argparse.Namespace) -> int:
    columns = ColumnNames(
        item=args.item_column,
        time=args.time_column,
        session=args.session_column,
        user=args.user_column,
        sep=args.sep,
    )
    recipe = get_recipe(
        args.dataset,
        test_days=args.test_days,
        session_gap_seconds=args.session_gap,
        columns=columns,
        remove_repeats=False if args.keep_repeats else None,
    )
    prepared = prepare_dataset(
        recipe, args.raw_paths, args.out, columns, args.min_item_support, args.min_session_length
    )
    print(format_table(stats_rows(prepared.stats)), end="")
    names = ", ".join(p.name for p in prepared.files.values())
    print(f"wrote {names}, stats.tsv and stats.json to {prepared.out_dir}")
    return 0


def add_data_commands(sub: argparse._SubParsersAction) -> None:
    """Register ``split``, ``synth`` and ``prepare`` on the main parser's subcommands."""
    p = sub.add_parser("split", help="split an event file by time into train.tsv and test.tsv")
    p.add_argument("events", type=Path)
    p.add_argument(
        "--rule",
        choices=("days", "sessions"),
        default="days",
        help="days: sessions ending in the last --test-days are test; sessions: the "
        "newest --test-share of sessions by start time are test",
    )
    p.add_argument("--test-days", type=float, default=1.0)
    p.add_argument("--test-share", type=float, default=0.2)
    p.add_argument("--min-item-support", type=int, default=5)
    p.add_argument("--min-session-length", type=int, default=2)
    p.add_argument("--out", type=Path, required=True)
    add_column_flags(p)
    p.set_defaults(func=cmd_split)

    p = sub.add_parser("synth", help="write synthetic sessions with learnable structure")
    p.add_argument("--sessions", type=int, required=True)
    p.add_argument("--items", type=int, required=True)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--days", type=float, default=7.0, help="time span of the sessions")
    p.add_argument("--out", type=Path, required=True, help="TSV file to write (.gz to gzip)")
    p.add_argument(
        "--format",
        choices=("tsv", "yoochoose"),
        default="tsv",
        help="tsv: SessionId, ItemId, Time (seconds from 0); yoochoose: the raw "
        "yoochoose-clicks.dat format (no header, ISO times from 2014-04-01)",
    )
    p.set_defaults(func=cmd_synth)

    p = sub.add_parser(
        "prepare",
        help="preprocess a public dataset's raw files into train/test/validation TSV files",
        description="Read raw files, keep the dataset's event types, drop consecutive repeats, "
        "remove sessions shorter than --min-session-length and items with fewer than "
        "--min-item-support events until nothing changes, split off the last --test-days "
        "(the dataset's own period by default) and split the training part again for "
        "validation. Writes train_full.tsv, test.tsv, train_tr.tsv, train_valid.tsv, stats.tsv "
        "and stats.json. Where sessions are cut at inactivity gaps (retailrocket, rees46, "
        "coveo, generic with --user-column or --session-gap), an event that comes exactly "
        "the gap after the previous one stays in the session; one that comes later starts a "
        "new session. See docs/datasets.md.",
    )
    p.add_argument("dataset", choices=sorted(RECIPES), help="the raw format and protocol")
    p.add_argument("raw_paths", nargs="+", type=Path, metavar="RAW_PATH", help="raw file(s)")
    p.add_argument("--out", type=Path, required=True, help="folder to write the files into")
    p.add_argument("--min-item-support", type=int, default=5)
    p.add_argument("--min-session-length", type=int, default=2)
    p.add_argument("--test-days", type=float, help="test (and validation) period in days")
    p.add_argument("--keep-repeats", action="store_true", help="keep consecutive repeats")
    p.add_argument(
        "--session-gap",
        type=float,
        help="seconds of inactivity after which a new session starts (a gap of exactly "
        "this long stays in the session); generic: 3600 with --user-column",
    )
    p.add_argument("--user-column", help="generic: user column to cut into sessions")
    p.add_argument("--sep", help="generic: field separator (read off the header by default)")
    add_column_flags(p)
    p.set_defaults(func=cmd_prepare)
