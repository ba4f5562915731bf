"""Filters applied before a split: short sessions and rare items, repeated to a fixed point."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

import pandas as pd

from gru4rec_study.data.events import DataError

logger = logging.getLogger(__name__)


@dataclass
class FilterReport:
    """Events and sessions that each filtering step removed, in order."""

    steps: list[dict[str, int | str]] = field(default_factory=list)

    def add(self, step: str, before: pd.DataFrame, after: pd.DataFrame) -> None:
        self.steps.append(
            {
                "step": step,
                "events_removed": len(before) - len(after),
                "sessions_removed": before["session_id"].nunique() - after["session_id"].nunique(),
                "events_left": len(after),
            }
        )


def _check_not_empty(events: pd.DataFrame, step: str, source: str, report: FilterReport) -> None:
    if len(events) == 0:
        removed = ", ".join(f"{s['step']}: {s['events_removed']} events" for s in report.steps)
        raise DataError(
            f"{source}: the filter step '{step}' left no events (removed so far: {removed})"
        )


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
    report = FilterReport()
    while True:
        n_before = len(events)
        lengths = events.groupby("session_id", sort=False)["item_id"].transform("size")
        kept = events[lengths >= min_session_length]
        report.add(f"session length >= {min_session_length}", events, kept)
        _check_not_empty(kept, f"session length >= {min_session_length}", source, report)
        support = kept.groupby("item_id", sort=False)["session_id"].transform("size")
        events = kept[support >= min_item_support]
        report.add(f"item support >= {min_item_support}", kept, events)
        _check_not_empty(events, f"item support >= {min_item_support}", source, report)
        if len(events) == n_before:
            break
    for step in report.steps:
        if step["events_removed"]:
            logger.info(
                "%s: filter '%s' removed %d events", source, step["step"], step["events_removed"]
            )
    return events.reset_index(drop=True), report
