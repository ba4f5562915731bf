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
_DATE_ONLY = re.compile(r"^\s*\d{4}-\d{2}-\d{2}\s*$")


def _check_parsed(parsed: pl.Series, raw: pl.Series, column: str, source: str) -> None:
    bad = parsed.is_null() & raw.is_not_null()
    if bad.any():
        first = raw.filter(bad)[0]
        raise DataError(
            f"{source}: column {column!r}: {int(bad.sum())} value(s) are not times in the format"
            f" of the first value {raw.drop_nulls()[0]!r}; the first is {first!r}"
        )
    if raw.null_count():
        raise DataError(f"{source}: column {column!r} has {raw.null_count()} empty value(s)")


def _numbers_to_ms(values: pl.Series, column: str, source: str) -> pl.Series:
    """Epoch seconds or milliseconds (told apart by magnitude) as int64 milliseconds."""
    if values.len() == 0:
        return values.cast(pl.Int64)
    largest = float(values.abs().max())  # type: ignore[arg-type]
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
        return values.round(0).cast(pl.Int64) if values.dtype.is_float() else values.cast(pl.Int64)
    if values.dtype.is_float():
        return (values * MS_PER_SECOND).round(0).cast(pl.Int64)
    return values.cast(pl.Int64) * MS_PER_SECOND


def _strings_to_ms(values: pl.Series, column: str, source: str) -> pl.Series:
    """ISO-8601 date-times (zone optional, naive ones read as UTC) or dates, as milliseconds."""
    first = values.drop_nulls()
    if first.len() == 0:
        raise DataError(f"{source}: column {column!r} has no values")
    if _DATE_ONLY.match(first[0]):
        logger.warning(
            "%s: column %r holds dates only (no time of day); events of one day keep the order"
            " of the file",
            source,
            column,
        )
    text = values.str.strip_chars().str.strip_suffix(" UTC")
    try:
        parsed = text.str.to_datetime(time_unit="ms", time_zone="UTC", strict=False)
    except pl.exceptions.PolarsError as exc:
        raise DataError(f"{source}: column {column!r} is not a time column ({exc})") from exc
    _check_parsed(parsed, values, column, source)
    return parsed.cast(pl.Int64)


def to_milliseconds(values: pl.Series, column: str, source: str) -> pl.Series:
    """Convert a raw time column to int64 milliseconds since the epoch.

    Parameters
    ----------
    values
        Numbers (epoch seconds, or milliseconds when the values are 1e11 or larger) or text
        (numbers as text, ISO-8601 date-times, ``YYYY-MM-DD`` dates).
    column, source
        The column and file names, for messages.

    Raises
    ------
    DataError
        When a value cannot be read in the format of the column's first value.
    """
    if values.dtype.is_numeric():
        if values.null_count():
            raise DataError(f"{source}: column {column!r} has {values.null_count()} empty values")
        return _numbers_to_ms(values, column, source).rename(column)
    if values.dtype != pl.String:
        raise DataError(f"{source}: column {column!r} has type {values.dtype}, not a time")
    stripped = values.str.strip_chars()
    for dtype in (pl.Int64, pl.Float64):
        numbers = stripped.cast(dtype, strict=False)
        if numbers.null_count() == 0:
            return _numbers_to_ms(numbers, column, source).rename(column)
    if stripped.drop_nulls().len() and stripped.drop_nulls()[0].replace(".", "", 1).isdigit():
        _check_parsed(stripped.cast(pl.Float64, strict=False), values, column, source)
    return _strings_to_ms(values, column, source).rename(column)
