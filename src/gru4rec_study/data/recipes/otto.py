"""OTTO JSON lines: one session per line, ``{"session": 0, "events": [{"aid": 1, "ts":
1659304800025, "type": "clicks"}, ...]}``, times in milliseconds, types clicks/carts/orders."""

from __future__ import annotations

from pathlib import Path

import polars as pl

from gru4rec_study.data.events import DataError
from gru4rec_study.data.recipes.base import Recipe, check_file, read_each

EVENT_FIELDS = ("aid", "ts", "type")


def _read_one(path: Path) -> pl.DataFrame:
    check_file(path)
    try:
        frame = pl.read_ndjson(path, infer_schema_length=1000)
    except (pl.exceptions.PolarsError, OSError) as exc:
        raise DataError(f"{path}: not a JSON-lines file ({exc})") from exc
    if frame.height == 0:
        raise DataError(f"{path}: the file has no sessions")
    missing = [key for key in ("session", "events") if key not in frame.columns]
    events_type = frame.schema.get("events")
    if not missing and not (
        isinstance(events_type, pl.List) and isinstance(events_type.inner, pl.Struct)
    ):
        raise DataError(f"{path}: 'events' must be a list of objects, found {events_type}")
    if missing:
        raise DataError(f"{path}: missing key(s) {missing}; keys found: {frame.columns}")
    events = frame.select(pl.col("session").cast(pl.Int64), "events").explode("events")
    events = events.filter(pl.col("events").is_not_null()).unnest("events")
    found = [name for name in events.columns if name != "session"]
    missing = [name for name in EVENT_FIELDS if name not in found]
    if missing:
        raise DataError(f"{path}: events lack the key(s) {missing}; keys found: {found}")
    for name in ("session", *EVENT_FIELDS):
        if events[name].null_count():
            raise DataError(f"{path}: {events[name].null_count()} event(s) have no {name!r}")
    return events.select(
        session_id=pl.col("session"),
        item_id=pl.col("aid").cast(pl.Int64),
        timestamp=pl.col("ts").cast(pl.Int64),  # documented as epoch milliseconds
        keep=pl.col("type") == "clicks",
    )


# Every event of the given files; ``keep`` marks the clicks.
read_otto = read_each(_read_one)


OTTO = Recipe(
    name="otto",
    read=read_otto,
    kept_events="type == clicks",
    test_days=7.0,
)
