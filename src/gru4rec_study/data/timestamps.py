"""Turning raw time columns into int64 milliseconds since the epoch (UTC).

Raw logs give times as seconds, milliseconds, ISO-8601 strings with or without a zone, or bare
dates. :func:`to_milliseconds` recognises each, converts it exactly and warns (``logging``) when
the unit had to be guessed (milliseconds) or the times are coarse (dates only). Times stay
64-bit integers from here to the written files, so events one millisecond apart keep their order.
"""

from __future__ import annotations

import logging
import re

import polars as pl

from gru4rec_study.data.events import DataError

logger = logging.getLogger(__name__)

MS_PER_SECOND = 1_000
MS_PER_DAY = 86_400_000
# Epoch seconds below 1e11 reach the year 5138; milliseconds below 1e14 the year 5138 too.
SECONDS_LIMIT = 1e11
MILLISECONDS_LIMIT = 1e14
SAMPLE_SIZE = 10_000  # values that decide a column's format and unit
_ISO_Z = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$")
_ISO_Z_MS = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$")
_NUMBER = re.compile(r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$")
_DATE_ONLY = re.compile(r"^\s*\d{4}-\d{2}-\d{2}\s*$")


def check_parsed(parsed: pl.Series, raw: pl.Series, column: str, source: str) -> None:
    """Raise a :class:`DataError` naming the first raw value that did not convert."""
    if raw.null_count():
        raise DataError(f"{source}: column {column!r} has {raw.null_count()} empty value(s)")
    bad = parsed.is_null()
    if bad.any():
        raise DataError(
            f"{source}: column {column!r}: {int(bad.sum())} value(s) are not times in the format"
            f" of the first value {raw[0]!r}; the first is {raw.filter(bad)[0]!r}"
        )


def _number_unit(largest: float, column: str, source: str) -> int:
    """Milliseconds per unit of epoch numbers, told apart by magnitude."""
    if largest >= MILLISECONDS_LIMIT:
        raise DataError(
            f"{source}: column {column!r} has values up to {largest:.0f}, too large for epoch"
            " seconds or milliseconds"
        )
    if largest >= SECONDS_LIMIT:
        logger.warning(
            "%s: column %r looks like milliseconds since the epoch; converted to seconds",
            source,
            column,
        )
        return 1
    return MS_PER_SECOND


def _numbers(numbers: pl.Expr, sample: pl.Series, is_float: bool, column: str, source: str):
    largest = float(sample.abs().max() or 0)  # type: ignore[arg-type]
    scale = _number_unit(largest, column, source)
    if is_float:
        return (numbers.cast(pl.Float64) * scale).round(0).cast(pl.Int64)
    return numbers.cast(pl.Int64) * scale


def _fixed_iso_ms(text: pl.Expr) -> pl.Expr:
    """``YYYY-MM-DDTHH:MM:SS.fffZ`` by field arithmetic, three times faster than parsing;
    null for a value of another length (the caller then parses the column in full)."""
    day = text.str.slice(0, 10).str.to_date("%Y-%m-%d", strict=False).cast(pl.Int64) * MS_PER_DAY
    hours, minutes = text.str.slice(11, 2).cast(pl.Int64), text.str.slice(14, 2).cast(pl.Int64)
    seconds = text.str.slice(17, 2).cast(pl.Int64)
    fraction = text.str.slice(20, 3).cast(pl.Int64, strict=False)
    ms = day + ((hours * 60 + minutes) * 60 + seconds) * MS_PER_SECOND + fraction
    return pl.when(text.str.len_bytes() == 24).then(ms)


def _dates(first: str, column: str, source: str, dates_ok: bool, fast: bool) -> pl.Expr:
    if _DATE_ONLY.match(first) and not dates_ok:
        logger.warning(
            "%s: column %r holds dates only (no time of day); events of one day keep the order"
            " of the file",
            source,
            column,
        )
    text = pl.col(column)
    if fast and _ISO_Z_MS.match(first):
        return _fixed_iso_ms(text)
    if _ISO_Z.match(first):
        # The RSC15 layout: a fixed format parses faster than an inferred one.
        parsed = text.str.to_datetime("%Y-%m-%dT%H:%M:%S%.fZ", time_unit="ms", strict=False)
    else:
        text = text.str.strip_chars().str.strip_suffix(" UTC")
        parsed = text.str.to_datetime(time_unit="ms", time_zone="UTC", strict=False)
    return parsed.dt.epoch("ms")


def time_expression(
    sample: pl.Series, column: str, source: str, dates_ok: bool = False, fast: bool = True
) -> pl.Expr:
    """An expression that converts ``pl.col(column)`` to int64 epoch milliseconds.

    Parameters
    ----------
    sample
        The first values of the column (numbers or text); they decide the format and unit:
        epoch seconds, epoch milliseconds (values of 1e11 or more), or ISO-8601 date-times
        (zone optional; naive ones are read as UTC) or ``YYYY-MM-DD`` dates.
    column, source
        The column and file names, for messages.
    dates_ok
        Do not warn about dates without a time of day (the caller adds the time).
    fast
        Read ``YYYY-MM-DDTHH:MM:SS.fffZ`` by field arithmetic, which gives null for values
        of another layout; convert again with ``fast=False`` when there are nulls.

    Values that do not convert become null; :func:`check_parsed` turns them into an error.
    """
    present = sample.drop_nulls()
    if present.len() == 0:
        raise DataError(f"{source}: column {column!r} has no values")
    if sample.dtype.is_numeric():
        return _numbers(pl.col(column), present, sample.dtype.is_float(), column, source)
    if sample.dtype != pl.String:
        raise DataError(f"{source}: column {column!r} has type {sample.dtype}, not a time")
    first = present[0].strip()
    if not _NUMBER.match(first):
        return _dates(first, column, source, dates_ok, fast)
    is_float = bool(present.str.contains(r"[.eE]").any())
    dtype = pl.Float64 if is_float else pl.Int64
    numbers = pl.col(column).str.strip_chars().cast(dtype, strict=False)
    values = present.str.strip_chars().cast(dtype, strict=False).drop_nulls()
    return _numbers(numbers, values, is_float, column, source)


def to_milliseconds(
    values: pl.Series, column: str, source: str, dates_ok: bool = False
) -> pl.Series:
    """Convert a raw time column to int64 epoch milliseconds (see :func:`time_expression`).

    Raises
    ------
    DataError
        When a value is empty or cannot be read in the format of the column's first values.
    """
    sample = values.head(SAMPLE_SIZE)
    parsed = values.to_frame(column).select(time_expression(sample, column, source, dates_ok))
    if parsed.to_series().null_count():
        slow = time_expression(sample, column, source, dates_ok=True, fast=False)
        parsed = values.to_frame(column).select(slow)
    parsed = parsed.to_series()
    check_parsed(parsed, values, column, source)
    return parsed.rename(column)
