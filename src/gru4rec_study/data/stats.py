"""Statistics of prepared data: sizes and session lengths of each part, and what each step
removed, as ``stats.json`` and the flat table ``stats.tsv``."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import polars as pl

from gru4rec_study.data.timestamps import MS_PER_DAY

PART_FIELDS = (
    "events",
    "sessions",
    "items",
    "days",
    "length_min",
    "length_median",
    "length_mean",
    "length_max",
)
REMOVED_FIELDS = ("events_removed", "sessions_removed", "items_removed")


def _iso(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).isoformat(timespec="milliseconds")


def part_stats(events: pl.DataFrame) -> dict[str, Any]:
    """Events, sessions, items, time span (days, first and last event) and session lengths
    of a frame with ``session_id``, ``item_id``, ``timestamp`` (int64 ms) whose sessions are
    contiguous (sorted by session)."""
    lengths = events["session_id"].rle().struct.field("len")
    times = events["timestamp"]
    first, last = int(times.min()), int(times.max())  # type: ignore[arg-type]
    return {
        "events": events.height,
        "sessions": lengths.len(),
        "items": events["item_id"].n_unique(),
        "days": round((last - first) / MS_PER_DAY, 3),
        "length_min": int(lengths.min()),  # type: ignore[arg-type]
        "length_median": float(lengths.median()),  # type: ignore[arg-type]
        "length_mean": round(float(lengths.mean()), 3),  # type: ignore[arg-type]
        "length_max": int(lengths.max()),  # type: ignore[arg-type]
        "first_event": _iso(first),
        "last_event": _iso(last),
    }


def stats_rows(stats: dict[str, Any]) -> list[list[str]]:
    """The rows of ``stats.tsv``: a header, one row per part, one row per removing step."""
    header = ["kind", "name", *PART_FIELDS]
    rows = [header]
    for name, part in stats["parts"].items():
        rows.append(["part", name, *(str(part[f]) for f in PART_FIELDS)])
    for step in stats["removed"]:
        counts = [str(step[f]) for f in REMOVED_FIELDS]
        rows.append(["removed", step["step"], *counts, *[""] * (len(PART_FIELDS) - 3)])
    return rows


def write_stats(out_dir: Path, stats: dict[str, Any]) -> tuple[Path, Path]:
    """Write ``stats.json`` and ``stats.tsv`` into ``out_dir``."""
    json_path, tsv_path = out_dir / "stats.json", out_dir / "stats.tsv"
    json_path.write_text(json.dumps(stats, indent=2) + "\n")
    tsv_path.write_text("".join("\t".join(row) + "\n" for row in stats_rows(stats)))
    return tsv_path, json_path


def format_table(rows: list[list[str]]) -> str:
    """Rows as aligned text: the first two columns left-aligned, the others right-aligned."""
    widths = [max(len(row[k]) for row in rows) for k in range(len(rows[0]))]
    lines = []
    for row in rows:
        cells = [
            cell.ljust(w) if k < 2 else cell.rjust(w)
            for k, (cell, w) in enumerate(zip(row, widths, strict=True))
        ]
        lines.append("  ".join(cells).rstrip())
    return "\n".join(lines) + "\n"
