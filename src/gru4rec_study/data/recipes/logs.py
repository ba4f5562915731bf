"""Event logs with a header line: RetailRocket ``events.csv``, Diginetica
``train-item-views.csv``, Rees46 ``2019-Oct.csv``/``2019-Nov.csv`` and Coveo's browsing log."""

from __future__ import annotations

from pathlib import Path

import polars as pl

from gru4rec_study.data.recipes.base import (
    HOUR_MS,
    Recipe,
    check_columns,
    read_csv,
    read_each,
    read_header,
    require_values,
)
from gru4rec_study.data.timestamps import to_milliseconds

# 2015-09-18 03:00 UTC and 2019-12-01 00:00 UTC, the official fixed split ends.
RETAILROCKET_SPLIT_END_MS = 1_442_545_200_000
REES46_SPLIT_END_MS = 1_575_158_400_000


def _typed(frame: pl.DataFrame, path: Path, session: str, item: str, time: str, keep: pl.Expr):
    require_values(frame, str(path), [session, item, time])
    timestamp = to_milliseconds(frame[time], time, str(path))
    return frame.select(
        session_id=pl.col(session), item_id=pl.col(item), timestamp=timestamp, keep=keep
    )


def _read_retailrocket(path: Path) -> pl.DataFrame:
    columns = ("timestamp", "visitorid", "event", "itemid")
    frame = read_csv(path, ",", columns, {"visitorid": pl.Int64, "itemid": pl.Int64})
    return _typed(frame, path, "visitorid", "itemid", "timestamp", pl.col("event") == "view")


def _read_rees46(path: Path) -> pl.DataFrame:
    columns = ("event_time", "event_type", "product_id", "user_id")
    frame = read_csv(path, ",", columns, {"product_id": pl.Int64, "user_id": pl.Int64})
    view = pl.col("event_type") == "view"
    return _typed(frame, path, "user_id", "product_id", "event_time", view)


def _read_coveo(path: Path) -> pl.DataFrame:
    columns = ("session_id_hash", "product_action", "product_sku_hash", "server_timestamp_epoch_ms")
    frame = read_csv(path, ",", columns)
    detail = pl.col("product_action") == "detail"
    require_values(frame, str(path), ["session_id_hash", "server_timestamp_epoch_ms"])
    frame = frame.with_columns(pl.col("product_sku_hash").fill_null(""))
    return _typed(
        frame, path, "session_id_hash", "product_sku_hash", "server_timestamp_epoch_ms", detail
    )


def _read_diginetica(path: Path) -> pl.DataFrame:
    # The CIKM Cup file says sessionId/itemId, later copies session_id/item_id.
    header = read_header(path, ";")
    camel = "sessionId" in header
    session, item = ("sessionId", "itemId") if camel else ("session_id", "item_id")
    check_columns(path, header, (session, item, "timeframe", "eventdate"))
    columns = (session, item, "timeframe", "eventdate")
    frame = read_csv(path, ";", columns, {session: pl.Int64, item: pl.Int64, "timeframe": pl.Int64})
    require_values(frame, str(path), columns)
    # Official rule: the session's first date (in ms) plus the ms since the session start.
    day = to_milliseconds(frame["eventdate"], "eventdate", str(path), dates_ok=True)
    start_day = day.to_frame("day").select(pl.col("day").min().over(frame[session])).to_series()
    return frame.select(
        session_id=pl.col(session),
        item_id=pl.col(item),
        timestamp=start_day + frame["timeframe"],
        keep=pl.lit(True),
    )


RETAILROCKET = Recipe(
    name="retailrocket",
    read=read_each(_read_retailrocket),
    kept_events="event == view",
    session_gap_ms=HOUR_MS,
    gap_on_all_events=True,
    test_days=7.0,
    split_end_ms=RETAILROCKET_SPLIT_END_MS,
)

REES46 = Recipe(
    name="rees46",
    read=read_each(_read_rees46),
    kept_events="event_type == view",
    session_gap_ms=HOUR_MS,
    gap_on_all_events=False,
    test_days=1.0,
    split_end_ms=REES46_SPLIT_END_MS,
)

COVEO = Recipe(
    name="coveo",
    read=read_each(_read_coveo),
    kept_events="product_action == detail",
    session_gap_ms=HOUR_MS,
    gap_on_all_events=True,
    test_days=1.0,
)

DIGINETICA = Recipe(
    name="diginetica",
    read=read_each(_read_diginetica),
    kept_events="all item views",
    test_days=7.0,
)
