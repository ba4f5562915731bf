"""Synthetic click sessions with learnable sequential structure, for tests and benchmarks.

Items are split into groups; a session walks a hidden Markov chain over the groups (it stays in
its group or moves to one of a few fixed successor groups) and clicks an item of the current
group, chosen with Zipf-like popularity. Session lengths are geometric (many short sessions, a
long tail) and sessions start uniformly over ``n_days`` days, a few minutes between clicks. A
sequence model can learn where a session goes next; popularity cannot.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import polars as pl
from numpy.typing import NDArray

N_SUCCESSORS = 3
SECONDS_PER_DAY = 86_400.0
# Synthetic times count from 0; in the yoochoose format they start on 2014-04-01 00:00 UTC.
YOOCHOOSE_EPOCH_MS = 1_396_310_400_000


def synthetic_arrays(
    n_sessions: int,
    n_items: int,
    seed: int = 0,
    n_days: float = 7.0,
    mean_length: float = 4.0,
    group_size: int = 20,
    zipf_exponent: float = 1.1,
    stay_probability: float = 0.3,
) -> tuple[NDArray[np.int64], NDArray[np.int64], NDArray[np.float64]]:
    """Session index, item id and time (seconds) of each event, sorted by session and time.

    Parameters
    ----------
    n_sessions, n_items
        Size of the log; items are ``0..n_items-1`` (fewer may occur).
    n_days
        Time span of the session starts.
    mean_length
        Mean session length (geometric distribution, at least 1, at most 200).
    group_size
        Items per hidden group.
    """
    if n_sessions < 1 or n_items < 2:
        raise ValueError("synthetic sessions need n_sessions >= 1 and n_items >= 2")
    if mean_length < 1:
        raise ValueError(f"mean_length must be at least 1, got {mean_length}")
    rng = np.random.default_rng(seed)
    group_size = max(1, min(group_size, n_items))
    n_groups = n_items // group_size
    successors = rng.integers(0, n_groups, size=(n_groups, N_SUCCESSORS))
    move = rng.dirichlet(np.ones(N_SUCCESSORS), size=n_groups) * (1 - stay_probability)
    option_cdf = np.cumsum(np.column_stack([np.full(n_groups, stay_probability), move]), axis=1)
    within = 1.0 / np.arange(1, group_size + 1) ** zipf_exponent
    within_cdf = np.cumsum(within) / within.sum()
    item_ids = rng.permutation(n_items)  # popularity is not aligned with the id

    lengths = np.minimum(rng.geometric(1.0 / mean_length, size=n_sessions), 200)
    starts = np.sort(rng.uniform(0, n_days * SECONDS_PER_DAY, size=n_sessions))
    groups = rng.integers(0, n_groups, size=n_sessions)
    times = starts.copy()
    columns: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
    for step in range(int(lengths.max())):
        active = np.flatnonzero(lengths > step)
        if step > 0:
            option = (rng.random(len(active))[:, None] > option_cdf[groups[active]]).sum(axis=1)
            moved = option > 0
            chosen = successors[groups[active[moved]], np.minimum(option[moved], N_SUCCESSORS) - 1]
            groups[active[moved]] = chosen
            times[active] += rng.exponential(60.0, size=len(active)) + 5.0
        position = np.searchsorted(within_cdf, rng.random(len(active)), side="right")
        position = np.minimum(position, group_size - 1)
        columns.append((active, item_ids[groups[active] * group_size + position], times[active]))

    session = np.concatenate([c[0] for c in columns])
    times_all = np.concatenate([c[2] for c in columns])
    order = np.lexsort((times_all, session))
    items = np.concatenate([c[1] for c in columns])[order]
    return session[order].astype(np.int64), items.astype(np.int64), times_all[order]


def synthetic_events(
    n_sessions: int,
    n_items: int,
    seed: int = 0,
    n_days: float = 7.0,
    mean_length: float = 4.0,
    group_size: int = 20,
    zipf_exponent: float = 1.1,
    stay_probability: float = 0.3,
) -> pd.DataFrame:
    """Event table (``session_id``, ``item_id``, ``timestamp`` in seconds) of synthetic sessions.

    The parameters are those of :func:`synthetic_arrays`.
    """
    session, items, times = synthetic_arrays(
        n_sessions, n_items, seed, n_days, mean_length, group_size, zipf_exponent, stay_probability
    )
    return pd.DataFrame(
        {"session_id": session.astype(str), "item_id": items.astype(str), "timestamp": times}
    )


def write_yoochoose_clicks(
    path: str | Path, n_sessions: int, n_items: int, seed: int = 0, n_days: float = 7.0
) -> int:
    """Write synthetic sessions in the raw ``yoochoose-clicks.dat`` format and return the
    number of events: no header; session id (from 1), ISO-8601 time in milliseconds with a
    trailing Z (from 2014-04-01), item id, category ``0``."""
    session, items, times = synthetic_arrays(n_sessions, n_items, seed, n_days)
    ms = YOOCHOOSE_EPOCH_MS + np.round(times * 1000).astype(np.int64)
    frame = pl.DataFrame({"session": session + 1, "ms": ms, "item": items}).select(
        "session",
        pl.from_epoch("ms", time_unit="ms").dt.strftime("%Y-%m-%dT%H:%M:%S%.3fZ"),
        "item",
        category=pl.lit("0"),
    )
    frame.write_csv(path, include_header=False)
    return frame.height
