"""Any delimited event table whose columns the user names (``--item-column`` and so on)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import polars as pl

from gru4rec_study.data.events import _sniff_separator
from gru4rec_study.data.recipes.base import (
    ColumnNames,
    check_file,
    concat,
    read_csv,
    require_values,
)
from gru4rec_study.data.timestamps import to_milliseconds


def _read_one(path: Path, columns: ColumnNames) -> pl.DataFrame:
    key = columns.user or columns.session
    if key is None:
        raise ValueError("a generic event table needs a session or a user column")
    sep = columns.sep or _sniff_separator(check_file(path))
    names = list(dict.fromkeys([key, columns.item, columns.time]))
    frame = read_csv(path, sep, names)
    require_values(frame, str(path), [key, columns.item])
    timestamp = to_milliseconds(frame[columns.time], columns.time, str(path))
    return frame.select(
        session_id=pl.col(key), item_id=pl.col(columns.item), timestamp=timestamp, keep=pl.lit(True)
    )


def read_generic(paths: Sequence[Path], columns: ColumnNames) -> pl.DataFrame:
    """Every event of the given files; ids are kept as text."""
    return concat([_read_one(path, columns) for path in paths])
