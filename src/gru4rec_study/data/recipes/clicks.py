"""Headerless click logs of the RecSys Challenge 2015 (``yoochoose-clicks.dat``,
``yoochoose-test.dat``): session id, ISO-8601 timestamp with a trailing Z, item id, category."""

from __future__ import annotations

from pathlib import Path

import polars as pl

from gru4rec_study.data.events import DataError
from gru4rec_study.data.recipes.base import Recipe, check_file, read_each, read_header
from gru4rec_study.data.timestamps import SAMPLE_SIZE, time_expression, to_milliseconds

CLICK_COLUMNS = ("session_id", "time", "item_id", "category")


def _check_fields(path: Path) -> None:
    """The first line must have the four fields of a click file (no header)."""
    fields = read_header(path, ",")
    if len(fields) != len(CLICK_COLUMNS):
        raise DataError(
            f"{path}: a yoochoose click file has {len(CLICK_COLUMNS)} comma-separated fields"
            f" per line (session id, timestamp, item id, category, no header); its first line"
            f" has {len(fields)}: {fields[:8]}"
        )


def _read_one(path: Path) -> pl.DataFrame:
    check_file(path)
    _check_fields(path)
    schema = dict(zip(CLICK_COLUMNS, (pl.Int64, pl.String, pl.Int64, pl.String), strict=True))
    scan = pl.scan_csv(path, has_header=False, schema=schema)
    time_column = "timestamp (column 2)"
    try:
        sample = scan.select("time").head(SAMPLE_SIZE).collect()["time"]
        to_ms = time_expression(sample.rename(time_column), time_column, str(path))
        # Parsing while streaming keeps the text of 30 million times out of memory.
        frame = (
            scan.select("session_id", "item_id", pl.col("time").alias(time_column))
            .select("session_id", "item_id", timestamp=to_ms)
            .collect(engine="streaming")
        )
    except pl.exceptions.PolarsError as exc:
        raise DataError(
            f"{path}: not a yoochoose click file (session id, timestamp, item id, category"
            f" without a header): {str(exc).splitlines()[0]}"
        ) from exc
    if frame.height == 0:
        raise DataError(f"{path}: the file has no events")
    if frame["timestamp"].null_count():
        raw = scan.select("time").collect()["time"].rename(time_column)
        timestamp = to_milliseconds(raw, time_column, str(path))
        frame = frame.with_columns(timestamp=timestamp)
    return frame.with_columns(keep=pl.lit(True))


# Every click of the given files (clicks and test clicks alike).
read_clicks = read_each(_read_one)


RSC15 = Recipe(
    name="rsc15",
    read=read_clicks,
    kept_events="all clicks",
    remove_repeats=False,
    fixed_point=False,
    split_rule="days",
    test_days=1.0,
    filter_test=True,
)

YOOCHOOSE = Recipe(
    name="yoochoose",
    read=read_clicks,
    kept_events="all clicks (yoochoose-clicks.dat and yoochoose-test.dat)",
    test_days=1.0,
)
