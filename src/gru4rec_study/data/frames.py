"""Conversion between the pandas event tables of the library API and polars frames.

Filtering and splitting are written once, in polars; the pandas functions convert at the edge.
The conversion goes through numpy, so it needs no pyarrow.
"""

from __future__ import annotations

import pandas as pd
import polars as pl


def to_polars(events: pd.DataFrame) -> pl.DataFrame:
    """Polars frame of an event table (``session_id``, ``item_id``, ``timestamp``, ...)."""
    columns = {}
    for name in events.columns:
        values = events[name].to_numpy()
        columns[name] = pl.Series(name, values, dtype=pl.String if values.dtype == object else None)
    return pl.DataFrame(columns)


def to_pandas(frame: pl.DataFrame) -> pd.DataFrame:
    """Pandas table of a polars frame; text columns become object columns of ``str``."""
    return pd.DataFrame({name: frame[name].to_numpy() for name in frame.columns})
