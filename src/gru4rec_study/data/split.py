"""Time-based train/test splits of whole sessions, without leakage from the future.

Two rules: ``sessions`` puts the oldest share of sessions (by start time) into training and the
newest into test; ``days`` puts the sessions that end in the last N days into test, as the
official GRU4Rec preprocessing does. No session is in both parts and no training event is later
than ``split_time``. Test events whose item never occurs in training are removed, and test
sessions left with fewer than two events are dropped; every removal is counted.
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass
from typing import Literal

import numpy as np
import pandas as pd

from gru4rec_study.data.events import DataError

logger = logging.getLogger(__name__)

SplitRule = Literal["sessions", "days"]
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


def _session_bounds(events: pd.DataFrame) -> pd.DataFrame:
    grouped = events.groupby("session_id", sort=False)["timestamp"]
    return pd.DataFrame({"start": grouped.min(), "end": grouped.max()})


def split_events(
    events: pd.DataFrame,
    rule: SplitRule = "sessions",
    test_share: float = 0.2,
    test_days: float = 1.0,
    min_test_session_length: int = 2,
) -> tuple[pd.DataFrame, pd.DataFrame, SplitReport]:
    """Split an event table into train and test by time.

    Parameters
    ----------
    events
        Table with ``session_id``, ``item_id``, ``timestamp`` (see :func:`read_events`).
    rule
        ``"sessions"``: the newest ``test_share`` of sessions by start time are test, and
        ``split_time`` is the start of the first test session; training events later than it
        are truncated (and counted). ``"days"``: sessions whose last event is at or after
        ``max(timestamp) - test_days * 86400`` are test (timestamps in seconds).
    """
    bounds = _session_bounds(events)
    if rule == "sessions":
        if not 0.0 < test_share < 1.0:
            raise DataError(f"split: test_share must be between 0 and 1, got {test_share}")
        order = np.argsort(bounds["start"].to_numpy(), kind="stable")
        n_test = int(round(len(bounds) * test_share))
        if n_test == 0 or n_test == len(bounds):
            raise DataError(
                f"split: {len(bounds)} sessions with test_share {test_share} leave an empty part"
            )
        test_sessions = bounds.index[order[len(bounds) - n_test :]]
        split_time = float(bounds["start"].iloc[order[len(bounds) - n_test]])
    elif rule == "days":
        if test_days <= 0:
            raise DataError(f"split: test_days must be positive, got {test_days}")
        split_time = float(events["timestamp"].max() - test_days * SECONDS_PER_DAY)
        test_sessions = bounds.index[bounds["end"].to_numpy() >= split_time]
    else:
        raise DataError(f"split: unknown rule {rule!r}; use 'sessions' or 'days'")

    in_test = events["session_id"].isin(test_sessions).to_numpy()
    train, test = events[~in_test], events[in_test]

    # Training events after the boundary would leak the future: truncate, then drop stubs.
    late = train["timestamp"].to_numpy() > split_time
    truncated_sessions = train.loc[late, "session_id"].unique()
    train = train[~late]
    lengths = train.groupby("session_id", sort=False)["item_id"].transform("size")
    stub = (lengths < 2).to_numpy() & train["session_id"].isin(truncated_sessions).to_numpy()
    n_stub_sessions = int(train.loc[stub, "session_id"].nunique())
    train = train[~stub]
    if len(train) == 0:
        raise DataError(f"split: rule {rule!r} leaves no training events")

    # Test events must be rankable: their item must be in the training catalogue.
    n_test_sessions_in = int(test["session_id"].nunique())
    known = test["item_id"].isin(pd.unique(train["item_id"])).to_numpy()
    n_unknown = int((~known).sum())
    test = test[known]
    lengths = test.groupby("session_id", sort=False)["item_id"].transform("size")
    short = (lengths < min_test_session_length).to_numpy()
    n_short_events = int(short.sum())
    test = test[~short]
    # Sessions that lost every event count as too short, too.
    n_short_sessions = n_test_sessions_in - int(test["session_id"].nunique())
    if len(test) == 0:
        raise DataError(
            f"split: rule {rule!r} leaves no test events: {n_test_sessions_in} test sessions,"
            f" {n_unknown} events with items not in training, {n_short_sessions} sessions"
            f" shorter than {min_test_session_length} events after that"
        )

    report = SplitReport(
        rule=rule,
        split_time=split_time,
        n_train_sessions=int(train["session_id"].nunique()),
        n_train_events=len(train),
        n_test_sessions=int(test["session_id"].nunique()),
        n_test_events=len(test),
        n_train_events_after_split_time=int(late.sum()),
        n_train_sessions_too_short_after_truncation=n_stub_sessions,
        n_test_events_unknown_item=n_unknown,
        n_test_sessions_too_short=n_short_sessions,
        n_test_events_in_short_sessions=n_short_events,
    )
    logger.info("split (%s) at %.3f: %s", rule, split_time, report.as_dict())
    return train.reset_index(drop=True), test.reset_index(drop=True), report
