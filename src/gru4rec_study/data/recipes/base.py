"""What a recipe is, and the checked file reading that every recipe shares.

A recipe reads raw files into a polars frame with ``session_id`` (the native session, or the
user/visitor whose events are cut into sessions), ``item_id``, ``timestamp`` (int64
milliseconds since the epoch) and ``keep`` (the event types the protocol keeps), in file order,
and states the rest of its protocol as data: the inactivity gap, de-duplication, filtering and
the time split.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from gru4rec_study.data.events import DataError

logger = logging.getLogger(__name__)

HOUR_MS = 3_600_000
FRAME_COLUMNS = ("session_id", "item_id", "timestamp", "keep")


@dataclass(frozen=True)
class ColumnNames:
    """Columns of a generic event table, as the user names them."""

    item: str = "ItemId"  # item id column
    time: str = "Time"  # time column: seconds, milliseconds or ISO-8601 text
    session: str | None = "SessionId"  # session id column; None when sessions come from users
    user: str | None = None  # user column cut into sessions at inactivity gaps
    sep: str | None = None  # field separator; read off the header when None


Reader = Callable[[Sequence[Path], ColumnNames], pl.DataFrame]


@dataclass(frozen=True)
class Recipe:
    """The preprocessing protocol of one dataset (see docs/datasets.md)."""

    name: str
    read: Reader  # raw files -> frame with FRAME_COLUMNS
    kept_events: str  # the event types kept, in words
    session_gap_ms: int | None = None  # cut sessions after gaps longer than this
    gap_on_all_events: bool = False  # cut before (True) or after dropping other event types
    remove_repeats: bool = True  # drop consecutive repeats of an item in a session
    fixed_point: bool = True  # repeat the length and support filters until nothing changes
    split_rule: str = "start_days"  # see gru4rec_study.data.split
    test_days: float = 1.0  # length of the test (and validation) period
    split_end_ms: int | None = None  # end of the test period; the last event when None
    filter_test: bool = False  # drop test items unseen in training, then short test sessions


def check_file(path: Path) -> Path:
    """``path`` if it is a readable file, else a :class:`DataError` naming it."""
    if not path.is_file():
        raise DataError(f"{path}: no such file")
    return path


def check_columns(path: Path, found: Sequence[str], required: Sequence[str]) -> None:
    """Raise a :class:`DataError` naming the file, the missing columns and the columns found."""
    missing = [name for name in required if name not in found]
    if missing:
        shown = [name if len(name) <= 40 else name[:37] + "..." for name in found[:20]]
        more = f" and {len(found) - 20} more" if len(found) > 20 else ""
        raise DataError(
            f"{path}: missing column(s) {', '.join(map(repr, missing))}; columns found:"
            f" {shown}{more} (is this the raw file of this dataset?)"
        )


def read_header(path: Path, sep: str) -> list[str]:
    """Column names on the first line of a delimited file."""
    try:
        return pl.read_csv(check_file(path), separator=sep, n_rows=0).columns
    except (pl.exceptions.PolarsError, OSError) as exc:
        raise DataError(f"{path}: cannot read the header line ({exc})") from exc


def read_csv(
    path: Path,
    sep: str,
    columns: Sequence[str],
    schema: dict[str, pl.DataType] | None = None,
    has_header: bool = True,
    new_columns: Sequence[str] | None = None,
) -> pl.DataFrame:
    """The named columns of a delimited file (text unless ``schema`` types them)."""
    check_file(path)
    if has_header:
        check_columns(path, read_header(path, sep), columns)
    try:
        frame = pl.read_csv(
            path,
            separator=sep,
            has_header=has_header,
            new_columns=list(new_columns) if new_columns else None,
            columns=list(columns) if has_header else None,
            schema_overrides=schema,
            infer_schema=schema is not None,
            null_values=[""],
        )
    except (pl.exceptions.PolarsError, OSError) as exc:
        raise DataError(f"{path}: cannot be read ({exc})") from exc
    if frame.height == 0:
        raise DataError(f"{path}: the file has no events")
    return frame.select(columns)


def concat(frames: Sequence[pl.DataFrame]) -> pl.DataFrame:
    """Frames of several raw files, one after the other."""
    return pl.concat(frames, how="vertical_relaxed") if len(frames) > 1 else frames[0]


def require_values(frame: pl.DataFrame, source: str, columns: Sequence[str]) -> None:
    """Raise a :class:`DataError` when an id column has empty values."""
    for name in columns:
        n_empty = frame[name].null_count()
        if n_empty:
            raise DataError(f"{source}: column {name!r} has {n_empty} empty value(s)")


def read_each(
    reader: Callable[[Path], pl.DataFrame],
) -> Callable[[Sequence[Path], ColumnNames], pl.DataFrame]:
    """A recipe reader that reads every raw file with ``reader`` and stacks the tables."""

    def read(paths: Sequence[Path], columns: ColumnNames) -> pl.DataFrame:
        return concat([reader(path) for path in paths])

    return read
