"""Shared fixtures: tiny hand-built event tables and a small slice of the bundled data."""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from gru4rec_study.data import bundled_dataset, encode_sessions, read_events

# Four sessions for the session-kNN tests; session ends: s1 at 3, s2 at 5, s3 at 7, s4 at 9.
KNN_ROWS = [
    ("s1", "a", 1),
    ("s1", "b", 2),
    ("s1", "c", 3),
    ("s2", "a", 4),
    ("s2", "d", 5),
    ("s3", "b", 6),
    ("s3", "e", 7),
    ("s4", "x", 8),
    ("s4", "y", 9),
]


def write_events(path: Path, rows: list[tuple], header=("SessionId", "ItemId", "Time"), sep="\t"):
    """Write rows as a delimited file with a header (gzipped when the name ends in .gz)."""
    lines = [sep.join(header)] + [sep.join(str(v) for v in row) for row in rows]
    text = "\n".join(lines) + "\n"
    if path.suffix == ".gz":
        with gzip.open(path, "wt") as handle:
            handle.write(text)
    else:
        path.write_text(text)
    return path


def events_frame(rows: list[tuple]) -> pd.DataFrame:
    """An event table as read_events returns it, from (session, item, time) tuples."""
    return pd.DataFrame(
        {
            "session_id": [str(r[0]) for r in rows],
            "item_id": [str(r[1]) for r in rows],
            "timestamp": np.array([r[2] for r in rows], dtype=np.float64),
        }
    )


def synthetic_sessions(n_sessions: int, n_items: int, seed: int = 0) -> pd.DataFrame:
    """Sessions that follow a deterministic item-to-item chain with some noise.

    Item i is mostly followed by item (3 * i + 1) mod n_items, so a sequence model can learn
    what popularity cannot.
    """
    rng = np.random.default_rng(seed)
    rows = []
    t = 1_000_000.0
    for s in range(n_sessions):
        length = int(rng.integers(2, 8))
        item = int(rng.integers(n_items))
        for _ in range(length):
            rows.append((s, item, t))
            t += 10.0
            item = (3 * item + 1) % n_items if rng.random() < 0.8 else int(rng.integers(n_items))
    return events_frame(rows)


@pytest.fixture(scope="session")
def bundled_slice():
    """The first 3,000 training sessions and 300 test sessions of the bundled data."""
    train_events = read_events(bundled_dataset("train_full"))
    test_events = read_events(bundled_dataset("test"))
    train_ids = pd.unique(train_events["session_id"])[:3000]
    test_ids = pd.unique(test_events["session_id"])[:300]
    train = encode_sessions(train_events[train_events["session_id"].isin(train_ids)])
    test = encode_sessions(
        test_events[test_events["session_id"].isin(test_ids)], train.item_map, min_session_length=2
    )
    return train, test
