"""Reading event logs (session id, item id, timestamp) from TSV or CSV files.

The returned table always has the columns ``session_id`` and ``item_id`` (strings, so that ids of
any type survive unchanged) and ``timestamp`` (float64). CamelCase names live only here, at the
file-reading boundary.
"""

from __future__ import annotations

import csv
import gzip
import logging
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from gru4rec_study.data.ids import id_codes

logger = logging.getLogger(__name__)

COLUMNS = ("session_id", "item_id", "timestamp")


class DataError(ValueError):
    """An input file or table that cannot be used as it is; the message names file and column."""


@dataclass(frozen=True)
class EventColumns:
    """Names of the session, item and time columns in an input file."""

    session: str = "SessionId"  # column holding the session id
    item: str = "ItemId"  # column holding the item id
    time: str = "Time"  # column holding the event time (any sortable number, e.g. seconds)


def _open_text(path: Path):
    if path.suffix == ".gz":
        return gzip.open(path, "rt", encoding="utf-8", newline="")
    return open(path, encoding="utf-8", newline="")


def _read_table(path: Path, sep: str) -> pd.DataFrame:
    """All columns as text; a malformed file is a :class:`DataError` that names it."""
    try:
        with warnings.catch_warnings():
            # Rows with more fields than the header would shift or drop columns silently.
            warnings.simplefilter("error", pd.errors.ParserWarning)
            return pd.read_csv(
                path,
                sep=sep,
                dtype=str,
                keep_default_na=False,
                index_col=False,
                quoting=csv.QUOTE_MINIMAL,
            )
    except pd.errors.EmptyDataError as exc:
        raise DataError(f"{path}: the file is empty (no header line)") from exc
    except pd.errors.ParserWarning as exc:
        raise DataError(f"{path}: {_ragged_row(path, sep) or 'rows have more fields'}") from exc
    except pd.errors.ParserError as exc:
        raise DataError(f"{path}: {_ragged_row(path, sep) or f'malformed rows: {exc}'}") from exc
    except (UnicodeDecodeError, EOFError, OSError) as exc:
        raise DataError(f"{path}: cannot be read as UTF-8 text ({exc})") from exc


def _header(path: Path, sep: str) -> list[str]:
    with _open_text(path) as handle:
        return next(csv.reader(handle, delimiter=sep), [])


def _ragged_row(path: Path, sep: str) -> str | None:
    """Describe the first line whose number of fields differs from the header's, if any."""
    with _open_text(path) as handle:
        reader = csv.reader(handle, delimiter=sep)
        header = next(reader, [])
        for line, row in enumerate(reader, start=2):
            if row and len(row) != len(header):
                side = "more" if len(row) > len(header) else "fewer"
                return f"line {line} has {len(row)} fields, {side} than the header's {len(header)}"
    return None


def _sniff_separator(path: Path) -> str:
    """Return the field separator of ``path``: tab, comma or semicolon, read off its header."""
    try:
        with _open_text(path) as handle:
            header = handle.readline()
    except (UnicodeDecodeError, EOFError, OSError) as exc:
        raise DataError(f"{path}: cannot be read as UTF-8 text ({exc})") from exc
    if not header.strip():
        raise DataError(f"{path}: the file is empty (no header line)")
    counts = {sep: header.count(sep) for sep in ("\t", ",", ";")}
    sep = max(counts, key=counts.__getitem__)
    return sep if counts[sep] > 0 else "\t"


def read_events(
    path: str | Path,
    columns: EventColumns | None = None,
    sep: str | None = None,
) -> pd.DataFrame:
    """Read an event log into a table sorted stably by (session, time).

    Parameters
    ----------
    path
        A TSV or CSV file with a header line, optionally gzipped (``.gz``).
    columns
        The names of the session, item and time columns; ``SessionId``, ``ItemId``, ``Time``
        by default.
    sep
        The field separator; read off the header line when not given.

    Returns
    -------
    DataFrame with the columns ``session_id`` (str), ``item_id`` (str) and ``timestamp``
    (float64), one row per event. Sessions are in the fixed id order of
    :mod:`gru4rec_study.data.ids` (by value for integer ids); rows of a session are in time
    order, equal times in file order.
    """
    path = Path(path)
    columns = columns or EventColumns()
    if not path.is_file():
        raise DataError(f"{path}: no such file")
    sep = sep or _sniff_separator(path)

    # 1. Read every column as text, so that huge integer ids and string ids survive unchanged.
    raw = _read_table(path, sep)
    header = _header(path, sep)
    repeated = sorted({name for name in header if header.count(name) > 1})
    if repeated:  # pandas would rename the second one silently
        raise DataError(f"{path}: the header repeats column(s) {repeated}")
    wanted = {"session": columns.session, "item": columns.item, "time": columns.time}
    for role, name in wanted.items():
        if name not in raw.columns:
            raise DataError(
                f"{path}: missing {role} column {name!r}; columns found: {list(raw.columns)}"
            )
    if len(raw) == 0:
        raise DataError(f"{path}: the file has a header but no events")

    # 2. A short row's missing fields are read as empty text: name the row rather than a value.
    if any((raw[name] == "").any() for name in wanted.values()):
        ragged = _ragged_row(path, sep)
        if ragged:
            raise DataError(f"{path}: {ragged}")

    # 3. Times must be numbers; name the first offending row.
    timestamp = pd.to_numeric(raw[columns.time], errors="coerce").to_numpy(np.float64)
    bad = ~np.isfinite(timestamp)
    if bad.any():
        row = int(np.flatnonzero(bad)[0])
        raise DataError(
            f"{path}: column {columns.time!r} must be numeric; {int(bad.sum())} value(s) are not,"
            f" the first is {raw[columns.time].iloc[row]!r} on data line {row + 1}"
        )
    for role in ("session", "item"):
        empty = raw[wanted[role]].str.len() == 0
        if empty.any():
            row = int(np.flatnonzero(empty.to_numpy())[0])
            raise DataError(f"{path}: column {wanted[role]!r} is empty on data line {row + 1}")

    events = pd.DataFrame(
        {
            "session_id": raw[columns.session].to_numpy(),
            "item_id": raw[columns.item].to_numpy(),
            "timestamp": timestamp,
        }
    )
    logger.info("read %d events from %s", len(events), path)
    return sort_events(events, source=str(path))


def sort_events(events: pd.DataFrame, source: str = "events") -> pd.DataFrame:
    """Sort ``events`` stably by (session id in the fixed order of :mod:`.ids`, time).

    Logs a message when the input was not already in that order.
    """
    session_code, session_ids = id_codes(events["session_id"])
    order = np.lexsort((events["timestamp"].to_numpy(), session_code))
    if np.any(order != np.arange(len(order))):
        # Sessions in another order is the usual case (files are rarely in id order) and is
        # only debug detail; rows of a session apart or out of time order are worth saying.
        times = events["timestamp"].to_numpy()
        grouped = _sessions_contiguous_and_timed(session_code, len(session_ids), times)
        logger.log(
            logging.DEBUG if grouped else logging.INFO,
            "%s: rows were not sorted by (session id, time); sorted %d rows stably",
            source,
            len(order),
        )
        events = events.iloc[order].reset_index(drop=True)
    return events


def _sessions_contiguous_and_timed(
    session_code: np.ndarray, n_sessions: int, timestamp: np.ndarray
) -> bool:
    """Whether every session's rows are adjacent and in time order (in any session order)."""
    same = session_code[1:] == session_code[:-1]
    n_runs = int((~same).sum()) + 1 if len(session_code) else 0
    return n_runs == n_sessions and bool(np.all(timestamp[1:][same] >= timestamp[:-1][same]))


def write_events(events: pd.DataFrame, path: str | Path) -> Path:
    """Write an event table as canonical TSV (``SessionId``, ``ItemId``, ``Time``; gzipped
    when the name ends in ``.gz``), readable again by :func:`read_events`."""
    path = Path(path)
    names = {"session_id": "SessionId", "item_id": "ItemId", "timestamp": "Time"}
    events.rename(columns=names).to_csv(path, sep="\t", index=False)
    return path
