"""Sessions as contiguous arrays, the form that every model and the evaluator consume.

An :class:`ItemMap` maps the dataset's item ids to contiguous indices ``0..n_items-1``. A
:class:`SessionData` holds the events of many sessions as one ``item_idx`` array in session order
with ``session_offsets`` marking where each session starts; sessions are ordered by the time of
their first event.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from gru4rec_study.data.events import DataError
from gru4rec_study.data.ids import id_codes, sorted_ids

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class ItemMap:
    """The training catalogue: ``item_ids[item_idx]`` is the dataset's id of an item."""

    item_ids: NDArray[np.object_]  # external ids (str), in the fixed order of .ids

    def __post_init__(self) -> None:
        index = pd.Index(self.item_ids)
        if not index.is_unique:
            raise DataError("item map: item ids must be unique")
        object.__setattr__(self, "_index", index)

    @classmethod
    def from_ids(cls, ids: pd.Series | NDArray) -> ItemMap:
        """Build the map from a sequence of item ids, indexed in the fixed order of
        :mod:`gru4rec_study.data.ids` (by value for integer ids), whatever the row order."""
        return cls(sorted_ids(ids))

    @property
    def n_items(self) -> int:
        return len(self.item_ids)

    def lookup(self, ids: pd.Series | NDArray | list) -> NDArray[np.int64]:
        """Return the indices of ``ids``; an id that is not in the map gets -1."""
        keys = pd.Series(ids, dtype=object).astype(str)
        return self._index.get_indexer(keys).astype(np.int64)  # type: ignore[attr-defined]


@dataclass(frozen=True)
class EncodingReport:
    """What encoding a table with an existing item map removed."""

    n_events_in: int
    n_sessions_in: int
    n_unknown_item_events: int  # events whose item is not in the item map
    n_short_sessions: int  # sessions left with fewer than ``min_session_length`` events (or none)
    n_short_session_events: int  # known-item events of those sessions

    def as_dict(self) -> dict[str, int]:
        return dict(self.__dict__)


@dataclass(frozen=True)
class SessionData:
    """Events of many sessions as arrays; what models and the evaluator consume.

    Sessions are ordered by their first timestamp (ties keep the input order); within a session
    events are in time order.
    """

    item_map: ItemMap
    item_idx: NDArray[np.int64]  # shape (n_events,): item index of every event, session by session
    session_offsets: NDArray[np.int64]  # shape (n_sessions + 1,): start of each session's events
    session_ids: NDArray[np.object_]  # shape (n_sessions,): the dataset's session ids
    timestamp: NDArray[np.float64]  # shape (n_events,): event times
    report: EncodingReport | None = field(default=None, compare=False)

    @property
    def n_items(self) -> int:
        return self.item_map.n_items

    @property
    def n_sessions(self) -> int:
        return len(self.session_offsets) - 1

    @property
    def n_events(self) -> int:
        return len(self.item_idx)

    @property
    def session_lengths(self) -> NDArray[np.int64]:
        return np.diff(self.session_offsets)

    @property
    def n_prediction_events(self) -> int:
        """Number of next-item events: every event but the first of each session."""
        return int(np.maximum(self.session_lengths - 1, 0).sum())

    def item_counts(self) -> NDArray[np.int64]:
        """Support of every item: the number of events with it, shape (n_items,)."""
        return np.bincount(self.item_idx, minlength=self.n_items).astype(np.int64)

    def to_frame(self) -> pd.DataFrame:
        """The events as a table with the dataset's ids (columns as in :func:`read_events`)."""
        return pd.DataFrame(
            {
                "session_id": np.repeat(self.session_ids, self.session_lengths),
                "item_id": self.item_map.item_ids[self.item_idx],
                "timestamp": self.timestamp,
            }
        )


def encode_sessions(
    events: pd.DataFrame,
    item_map: ItemMap | None = None,
    min_session_length: int = 1,
    source: str = "events",
) -> SessionData:
    """Encode an event table (sorted by session, then time) as :class:`SessionData`.

    Parameters
    ----------
    events
        Table with ``session_id``, ``item_id`` and ``timestamp``, as :func:`read_events` returns.
    item_map
        The catalogue to encode with; built from ``events`` when not given. Events whose item is
        not in the map are removed (and counted), and the rest of their session is stitched
        together, as the official GRU4Rec evaluation does.
    min_session_length
        Sessions shorter than this after the removal are dropped (and counted).
    source
        Name used in log messages.
    """
    n_in = len(events)
    n_sessions_in = int(events["session_id"].nunique())
    if item_map is None:
        item_map = ItemMap.from_ids(events["item_id"])
    item_idx = item_map.lookup(events["item_id"].to_numpy())

    # 1. Remove events whose item the catalogue does not know.
    known = item_idx >= 0
    n_unknown = int((~known).sum())
    session_code, session_uniques = id_codes(events["session_id"].to_numpy()[known])
    item_idx = item_idx[known]
    timestamp = events["timestamp"].to_numpy(np.float64)[known]

    # 2. Group rows into sessions (rows of a session are contiguous after sort_events).
    lengths = np.bincount(session_code, minlength=len(session_uniques))
    if len(session_code) and np.any(np.diff(session_code) < 0):
        order = np.argsort(session_code, kind="stable")
        session_code, item_idx, timestamp = session_code[order], item_idx[order], timestamp[order]

    # 3. Drop sessions that became too short.
    keep_session = lengths >= min_session_length
    n_short = n_sessions_in - int(keep_session.sum())  # includes sessions with no known item
    n_short_events = int(lengths[~keep_session].sum())
    keep_row = keep_session[session_code]
    session_code, item_idx, timestamp = (
        session_code[keep_row],
        item_idx[keep_row],
        timestamp[keep_row],
    )
    lengths = lengths[keep_session]
    session_ids = np.asarray(session_uniques, dtype=object)[keep_session]

    # 4. Order sessions by their first event's time (equal start times in session id order).
    offsets = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)
    starts = timestamp[offsets[:-1]] if len(lengths) else np.empty(0)
    order = np.argsort(starts, kind="stable")
    new_offsets = np.concatenate([[0], np.cumsum(lengths[order])]).astype(np.int64)
    rows = np.repeat(offsets[:-1][order] - new_offsets[:-1], lengths[order]) + np.arange(
        new_offsets[-1]
    )
    report = EncodingReport(n_in, n_sessions_in, n_unknown, n_short, n_short_events)
    if n_unknown or n_short:
        logger.warning(
            "%s: removed %d events with items unknown to the catalogue, then %d sessions"
            " (%d events) shorter than %d events",
            source,
            n_unknown,
            n_short,
            n_short_events,
            min_session_length,
        )
    return SessionData(
        item_map=item_map,
        item_idx=item_idx[rows].astype(np.int64),
        session_offsets=new_offsets,
        session_ids=session_ids[order],
        timestamp=timestamp[rows],
        report=report,
    )
