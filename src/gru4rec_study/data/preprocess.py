"""Preprocessing before a split: sessions cut at inactivity gaps, consecutive repeats removed,
short sessions and rare items removed repeatedly until nothing changes (a fixed point).

The functions work on polars frames with the columns ``session_id``, ``item_id`` and
``timestamp``; :func:`filter_events` is the pandas entry point of the library API.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import polars as pl

from gru4rec_study.data.events import DataError
from gru4rec_study.data.frames import to_pandas, to_polars

logger = logging.getLogger(__name__)


def _counts(events: pl.DataFrame) -> tuple[int, int, int]:
    """(events, sessions, items) of a frame."""
    if events.height == 0:
        return 0, 0, 0
    row = events.select(pl.col("session_id").n_unique(), pl.col("item_id").n_unique()).row(0)
    return events.height, int(row[0]), int(row[1])


@dataclass
class FilterReport:
    """Events, sessions and items that each preprocessing step removed, in order."""

    steps: list[dict[str, int | str]] = field(default_factory=list)

    def add(self, step: str, before: tuple[int, int, int], after: tuple[int, int, int]) -> None:
        """Record a step from the (events, sessions, items) counts before and after it."""
        self.steps.append(
            {
                "step": step,
                "events_removed": before[0] - after[0],
                "sessions_removed": before[1] - after[1],
                "items_removed": before[2] - after[2],
                "events_left": after[0],
            }
        )

    def describe(self) -> str:
        """One line per step with what it removed, for error messages."""
        return "; ".join(
            f"{s['step']}: {s['events_removed']} events, {s['sessions_removed']} sessions,"
            f" {s['items_removed']} items"
            for s in self.steps
        )


def _codes(events: pl.DataFrame, column: str) -> tuple[np.ndarray, int]:
    """Dense int64 codes of a column and their number; runs when its values are contiguous."""
    n_unique = events[column].n_unique()
    runs = events.select(pl.col(column).rle_id()).to_series()
    if int(runs[-1]) + 1 == n_unique:
        return runs.to_numpy().astype(np.int64), n_unique
    dense = events.select(pl.col(column).rank("dense")).to_series().to_numpy()
    return dense.astype(np.int64) - 1, n_unique


class _Filter:
    """Keeps the surviving rows as an index array, so each step is a few numpy passes."""

    def __init__(self, events: pl.DataFrame, report: FilterReport, source: str) -> None:
        self.sessions, self.n_sessions = _codes(events, "session_id")
        self.items, self.n_items = _codes(events, "item_id")
        self.alive = np.arange(events.height)
        self.report, self.source = report, source
        self.counts = (events.height, self.n_sessions, self.n_items)

    def _count(self) -> tuple[int, int, int]:
        sessions = np.bincount(self.sessions[self.alive], minlength=self.n_sessions)
        items = np.bincount(self.items[self.alive], minlength=self.n_items)
        return len(self.alive), int(np.count_nonzero(sessions)), int(np.count_nonzero(items))

    def keep_frequent(self, codes: np.ndarray, n_codes: int, minimum: int, step: str) -> int:
        """Drop rows whose code occurs fewer than ``minimum`` times; return rows dropped."""
        live = codes[self.alive]
        self.alive = self.alive[np.bincount(live, minlength=n_codes)[live] >= minimum]
        after = self._count()
        self.report.add(step, self.counts, after)
        dropped, self.counts = self.counts[0] - after[0], after
        if after[0] == 0:
            raise DataError(
                f"{self.source}: the filter step '{step}' left no events"
                f" (removed: {self.report.describe()})"
            )
        return dropped


def filter_frame(
    events: pl.DataFrame,
    min_item_support: int = 5,
    min_session_length: int = 2,
    fixed_point: bool = True,
    source: str = "events",
    report: FilterReport | None = None,
) -> tuple[pl.DataFrame, FilterReport]:
    """Remove short sessions and rare items, again and again until nothing changes.

    With ``fixed_point=False`` the steps run once, as the official RSC15 script does: short
    sessions, rare items, short sessions. Row order is kept.

    Raises
    ------
    DataError
        When a step leaves no events; the message names the step and every removal so far.
    """
    report = report or FilterReport()
    if events.height == 0:
        raise DataError(f"{source}: no events to filter")
    state = _Filter(events, report, source)
    session_step = f"session length >= {min_session_length}"
    item_step = f"item support >= {min_item_support}"
    n_pass = 0
    while True:
        n_pass += 1
        label = f"pass {n_pass}: " if fixed_point else ""
        sessions = (state.sessions, state.n_sessions, min_session_length)
        items = (state.items, state.n_items, min_item_support)
        dropped = state.keep_frequent(*sessions, label + session_step)
        dropped += state.keep_frequent(*items, label + item_step)
        if not fixed_point:
            state.keep_frequent(*sessions, session_step)
            break
        if dropped == 0:
            break
    for step in report.steps:
        if step["events_removed"]:
            logger.info("%s: '%s' removed %d events", source, step["step"], step["events_removed"])
    if len(state.alive) < events.height:
        events = events[state.alive]
    return events, report


def filter_events(
    events: pd.DataFrame,
    min_item_support: int = 5,
    min_session_length: int = 2,
    source: str = "events",
) -> tuple[pd.DataFrame, FilterReport]:
    """Remove short sessions and rare items, again and again until nothing changes.

    Parameters
    ----------
    events
        Table with ``session_id``, ``item_id``, ``timestamp`` (see :func:`read_events`).
    min_item_support
        Items with fewer events than this are removed.
    min_session_length
        Sessions with fewer events than this are removed.

    Raises
    ------
    DataError
        When a step leaves no events; the message names the step.
    """
    kept, report = filter_frame(
        to_polars(events), min_item_support, min_session_length, source=source
    )
    return to_pandas(kept), report


def remove_consecutive_repeats(events: pl.DataFrame) -> pl.DataFrame:
    """Drop each event whose item equals the previous event's item in the same session.

    ``events`` must be sorted by session and time.
    """
    repeat = (pl.col("item_id") == pl.col("item_id").shift(1)) & (
        pl.col("session_id") == pl.col("session_id").shift(1)
    )
    return events.filter(~repeat.fill_null(False))


def cut_sessions(events: pl.DataFrame, gap: int) -> pl.DataFrame:
    """Cut the events of each ``session_id`` (a user, say) into sessions at inactivity gaps.

    A new session starts when an event comes **more than** ``gap`` after the previous event of
    the same key; an event exactly ``gap`` later stays in the session. ``events`` must be sorted
    by key and time; the new ``session_id`` is an int64 counter in that order.
    """
    new_key = pl.col("session_id") != pl.col("session_id").shift(1)
    long_gap = (pl.col("timestamp") - pl.col("timestamp").shift(1)) > gap
    starts = (new_key | long_gap).fill_null(True)
    return events.with_columns(session_id=starts.cum_sum().cast(pl.Int64))
