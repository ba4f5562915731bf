"""Raw dataset files to the four split files the experiments read, by a dataset's recipe.

The steps, in order: read the raw files; sort each session's events by time (equal times keep
the file order); cut sessions at inactivity gaps and keep the event types of the recipe (in the
recipe's order); drop consecutive repeats; remove short sessions and rare items to a fixed
point; split off the test period; split the training part again for validation; write
``train_full.tsv``, ``test.tsv``, ``train_tr.tsv``, ``train_valid.tsv`` and the statistics.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl

from gru4rec_study.data.events import DataError
from gru4rec_study.data.preprocess import (
    FilterReport,
    _counts,
    cut_sessions,
    filter_frame,
    remove_consecutive_repeats,
)
from gru4rec_study.data.recipes import ColumnNames, Recipe
from gru4rec_study.data.recipes.base import check_file
from gru4rec_study.data.split import split_frame
from gru4rec_study.data.stats import part_stats, write_stats
from gru4rec_study.data.timestamps import MS_PER_DAY

logger = logging.getLogger(__name__)

PART_FILES = {
    "train_full": "train_full.tsv",
    "test": "test.tsv",
    "train_tr": "train_tr.tsv",
    "train_valid": "train_valid.tsv",
}


@dataclass(frozen=True)
class PreparedData:
    """Where the prepared files are, and their statistics (as in ``stats.json``)."""

    out_dir: Path
    files: dict[str, Path]
    stats: dict[str, Any]


def _sessions(events: pl.DataFrame, recipe: Recipe, report: FilterReport, source: str):
    """Cut sessions and keep the recipe's event types, in the recipe's order."""
    gap = recipe.session_gap_ms
    if gap is not None and recipe.gap_on_all_events:
        events = cut_sessions(events, gap)
    before = _counts(events)
    events = events.filter(pl.col("keep")).drop("keep")
    report.add(f"event types kept: {recipe.kept_events}", before, _counts(events))
    if events.height == 0:
        raise DataError(f"{source}: no events of the kept types ({recipe.kept_events})")
    if gap is not None and not recipe.gap_on_all_events:
        before = _counts(events)
        events = cut_sessions(events, gap)
        step = f"cut into sessions at gaps > {gap / 1000:g} s (negative: sessions added)"
        report.add(step, before, _counts(events))
    return events


def preprocess(
    events: pl.DataFrame,
    recipe: Recipe,
    min_item_support: int,
    min_session_length: int,
    source: str,
) -> tuple[pl.DataFrame, FilterReport, dict[str, Any]]:
    """Sort, sessionise, keep event types, de-duplicate and filter a read frame; return it,
    the removals and the statistics of the read events (sessions before any cutting)."""
    report = FilterReport()
    logger.info("%s: read %d events", source, events.height)
    # A row number makes the sort total, so equal times keep the order of the file.
    events = events.with_row_index("row").sort(["session_id", "timestamp", "row"]).drop("row")
    read = part_stats(events)
    events = _sessions(events, recipe, report, source)
    if recipe.remove_repeats:
        before = _counts(events)
        events = remove_consecutive_repeats(events)
        report.add("consecutive repeats", before, _counts(events))
    events, report = filter_frame(
        events, min_item_support, min_session_length, recipe.fixed_point, source, report
    )
    return events, report, read


def _write(events: pl.DataFrame, path: Path, whole_seconds: bool) -> Path:
    seconds = (
        pl.col("timestamp") // 1000
        if whole_seconds
        else pl.col("timestamp").cast(pl.Float64) / 1000
    )
    events.select(SessionId="session_id", ItemId="item_id", Time=seconds).write_csv(
        path, separator="\t", float_precision=3
    )
    return path


def _removed(before: pl.DataFrame, parts: Sequence[pl.DataFrame], step: str) -> dict[str, Any]:
    """What a split lost: the counts of ``before`` minus those left in its parts."""
    kept = pl.concat([p.select("session_id", "item_id") for p in parts])
    counts, left = _counts(before), _counts(kept)
    return {
        "step": step,
        "events_removed": counts[0] - left[0],
        "sessions_removed": counts[1] - left[1],
        "items_removed": counts[2] - left[2],
        "events_left": left[0],
    }


def prepare_dataset(
    recipe: Recipe,
    raw_paths: Sequence[str | Path],
    out_dir: str | Path,
    columns: ColumnNames | None = None,
    min_item_support: int = 5,
    min_session_length: int = 2,
) -> PreparedData:
    """Prepare raw files by ``recipe`` into ``out_dir``; see the module docstring.

    Raises
    ------
    DataError
        For a missing or malformed file, or a step that leaves no events.
    """
    paths = [check_file(Path(p)) for p in raw_paths]
    source = ", ".join(map(str, paths))
    started = time.perf_counter()

    # 1. Read, then preprocess to a fixed point.
    full, report, read = preprocess(
        recipe.read(paths, columns or ColumnNames()),
        recipe,
        min_item_support,
        min_session_length,
        source,
    )

    # 2. The test split, then the same split inside training for validation.
    window = recipe.test_days * MS_PER_DAY
    options = {"filter_test": recipe.filter_test}
    try:
        train, test, split = split_frame(
            full, recipe.split_rule, window, split_end=recipe.split_end_ms, **options
        )  # type: ignore[arg-type]
    except DataError as exc:
        raise DataError(f"{source}: test split: {exc}") from exc
    valid_end = None if recipe.split_rule == "days" else split.split_time
    try:
        train_tr, valid, valid_split = split_frame(
            train, recipe.split_rule, window, split_end=valid_end, **options
        )  # type: ignore[arg-type]
    except DataError as exc:
        raise DataError(f"{source}: validation split inside train_full: {exc}") from exc

    # 3. Write the parts and their statistics.
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    whole_seconds = bool((full["timestamp"] % 1000 == 0).all())
    tables = {"train_full": train, "test": test, "train_tr": train_tr, "train_valid": valid}
    files = {k: _write(tables[k], out / name, whole_seconds) for k, name in PART_FILES.items()}
    parts = {"read": read, "preprocessed": part_stats(full)}
    parts |= {name: part_stats(table) for name, table in tables.items()}
    removed = [
        *report.steps,
        _removed(full, [train, test], "test split"),
        _removed(train, [train_tr, valid], "valid split"),
    ]
    stats = {
        "dataset": recipe.name,
        "raw_files": [str(p) for p in paths],
        "time_unit_written": "seconds" if whole_seconds else "seconds (3 decimals)",
        "settings": {
            "min_item_support": min_item_support,
            "min_session_length": min_session_length,
            "test_days": recipe.test_days,
            "session_gap_seconds": None
            if recipe.session_gap_ms is None
            else recipe.session_gap_ms / 1000,
            "split_rule": recipe.split_rule,
        },
        "parts": parts,
        "removed": removed,
        "split": split.as_dict(),
        "valid_split": valid_split.as_dict(),
    }
    write_stats(out, stats)
    logger.info("prepared %s into %s in %.1f s", recipe.name, out, time.perf_counter() - started)
    return PreparedData(out, files, stats)
