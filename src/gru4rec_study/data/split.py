"""Time-based train/test splits of whole sessions, without leakage from the future.

Three rules. ``sessions`` puts the oldest share of sessions (by start time) into training and
the newest into test. ``days`` puts the sessions that **end** in the last window before the end
of the data into test, as the official RSC15 script does. ``start_days`` puts the sessions that
**start** in the last window before ``split_end`` into test and keeps, for training, the events
before that boundary, as the official Yoochoose, Rees46, Coveo, RetailRocket and Diginetica
scripts do. No session is in both parts and no training event is later than ``split_time``.
Training sessions cut short by the boundary are truncated, and dropped when one event is left.
With ``filter_test`` (the default), test events whose item never occurs in training are removed,
and test sessions left with fewer than two events are dropped; every removal is counted.
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass
from typing import Literal

import pandas as pd
import polars as pl

from gru4rec_study.data.events import DataError
from gru4rec_study.data.frames import to_pandas, to_polars

logger = logging.getLogger(__name__)

SplitRule = Literal["sessions", "days", "start_days"]
SECONDS_PER_DAY = 86_400.0


@dataclass(frozen=True)
class SplitReport:
    """What a split did: the boundary, the sizes, and every removal."""

    rule: str
    split_time: float  # the boundary, same unit as the timestamps
    n_train_sessions: int
    n_train_events: int
    n_test_sessions: int
    n_test_events: int
    n_train_events_after_split_time: int  # truncated from sessions that straddle the boundary
    n_train_sessions_too_short_after_truncation: int
    n_test_events_unknown_item: int  # test events whose item is not in training
    n_test_sessions_too_short: int  # test sessions left with fewer than two events (or none)
    n_test_events_in_short_sessions: int

    def as_dict(self) -> dict[str, float | int | str]:
        return asdict(self)


def _test_mask(
    events: pl.DataFrame, rule: str, window: float, test_share: float, split_end: float | None
) -> tuple[pl.Series, float]:
    """Per event: does its session go to test; and the split time."""
    if rule == "sessions":
        if not 0.0 < test_share < 1.0:
            raise DataError(f"split: test_share must be between 0 and 1, got {test_share}")
        bounds = events.group_by("session_id", maintain_order=True).agg(
            start=pl.col("timestamp").min()
        )
        n_test = int(round(bounds.height * test_share))
        if n_test == 0 or n_test == bounds.height:
            raise DataError(
                f"split: {bounds.height} sessions with test_share {test_share} leave an empty part"
            )
        newest = bounds.sort("start", maintain_order=True).tail(n_test)
        split_time = float(newest["start"][0])
        return events["session_id"].is_in(newest["session_id"].implode()), split_time
    if rule not in ("days", "start_days"):
        raise DataError(f"split: unknown rule {rule!r}; use 'sessions', 'days' or 'start_days'")
    if window <= 0:
        raise DataError(f"split: the test window must be positive, got {window}")
    last = events["timestamp"].max()
    end = float(last if split_end is None else split_end)  # type: ignore[arg-type]
    split_time = end - window
    time = pl.col("timestamp")
    bound = time.max() if rule == "days" else time.min()
    return events.select(bound.over("session_id") >= split_time).to_series(), split_time


def split_frame(
    events: pl.DataFrame,
    rule: SplitRule = "sessions",
    window: float = SECONDS_PER_DAY,
    test_share: float = 0.2,
    split_end: float | None = None,
    filter_test: bool = True,
    min_test_session_length: int = 2,
) -> tuple[pl.DataFrame, pl.DataFrame, SplitReport]:
    """Split a polars event frame into train and test by time; see the module docstring.

    Parameters
    ----------
    window
        Length of the test period (rules ``days`` and ``start_days``), in timestamp units.
    split_end
        End of the test period; the latest timestamp when not given. The split time is
        ``split_end - window``.
    """
    in_test, split_time = _test_mask(events, rule, window, test_share, split_end)
    train, test = events.filter(~in_test), events.filter(in_test)

    # Training events after the boundary would leak the future: truncate, then drop stubs.
    time = pl.col("timestamp")
    late = train.select(time >= split_time if rule == "start_days" else time > split_time)
    late = late.to_series()
    truncated = train.filter(late)["session_id"].unique()
    train = train.filter(~late)
    stub = (pl.len().over("session_id") < 2) & pl.col("session_id").is_in(truncated.implode())
    stubs = train.filter(stub)
    train = train.filter(~stub)
    if train.height == 0:
        raise DataError(f"split: rule {rule!r} leaves no training events")

    # Test events must be rankable: their item must be in the training catalogue.
    n_test_sessions_in = test["session_id"].n_unique()
    n_unknown = n_short_events = 0
    if filter_test:
        known = test["item_id"].is_in(train["item_id"].unique().implode())
        n_unknown = int((~known).sum())
        test = test.filter(known)
        short = test.select(pl.len().over("session_id") < min_test_session_length).to_series()
        n_short_events = int(short.sum())
        test = test.filter(~short)
    n_short_sessions = n_test_sessions_in - test["session_id"].n_unique()
    if test.height == 0:
        raise DataError(
            f"split: rule {rule!r} leaves no test events: {n_test_sessions_in} test sessions,"
            f" {n_unknown} events with items not in training, {n_short_sessions} sessions"
            f" shorter than {min_test_session_length} events after that"
        )

    report = SplitReport(
        rule=rule,
        split_time=split_time,
        n_train_sessions=train["session_id"].n_unique(),
        n_train_events=train.height,
        n_test_sessions=test["session_id"].n_unique(),
        n_test_events=test.height,
        n_train_events_after_split_time=int(late.sum()),
        n_train_sessions_too_short_after_truncation=stubs["session_id"].n_unique(),
        n_test_events_unknown_item=n_unknown,
        n_test_sessions_too_short=n_short_sessions,
        n_test_events_in_short_sessions=n_short_events,
    )
    logger.info("split (%s) at %.3f: %s", rule, split_time, report.as_dict())
    return train, test, report


def split_events(
    events: pd.DataFrame,
    rule: SplitRule = "sessions",
    test_share: float = 0.2,
    test_days: float = 1.0,
    min_test_session_length: int = 2,
) -> tuple[pd.DataFrame, pd.DataFrame, SplitReport]:
    """Split an event table (timestamps in seconds) into train and test by time.

    Parameters
    ----------
    events
        Table with ``session_id``, ``item_id``, ``timestamp`` (see :func:`read_events`).
    rule
        ``"sessions"``: the newest ``test_share`` of sessions by start time are test, and
        ``split_time`` is the start of the first test session; training events later than it
        are truncated (and counted). ``"days"``: sessions whose last event is at or after
        ``max(timestamp) - test_days * 86400`` are test. ``"start_days"``: sessions that start
        at or after that time are test; training keeps the events before it.
    """
    if rule != "sessions" and test_days <= 0:
        raise DataError(f"split: test_days must be positive, got {test_days}")
    train, test, report = split_frame(
        to_polars(events),
        rule,
        window=test_days * SECONDS_PER_DAY,
        test_share=test_share,
        min_test_session_length=min_test_session_length,
    )
    return to_pandas(train), to_pandas(test), report
