"""One preprocessing recipe per public dataset, plus a generic one for any event table.

The protocols follow the official GRU4Rec preprocessing scripts; docs/datasets.md lists, per
recipe, what is followed and where it differs.
"""

from __future__ import annotations

import dataclasses

from gru4rec_study.data.events import DataError
from gru4rec_study.data.recipes.base import HOUR_MS, ColumnNames, Recipe
from gru4rec_study.data.recipes.clicks import RSC15, YOOCHOOSE
from gru4rec_study.data.recipes.generic import read_generic
from gru4rec_study.data.recipes.logs import COVEO, DIGINETICA, REES46, RETAILROCKET
from gru4rec_study.data.recipes.otto import OTTO

GENERIC = Recipe(name="generic", read=read_generic, kept_events="all events")
RECIPES: dict[str, Recipe] = {
    r.name: r for r in (RSC15, YOOCHOOSE, RETAILROCKET, DIGINETICA, REES46, COVEO, OTTO, GENERIC)
}
DEFAULT_GAP_SECONDS = HOUR_MS // 1000


def get_recipe(
    name: str,
    test_days: float | None = None,
    session_gap_seconds: float | None = None,
    columns: ColumnNames | None = None,
    remove_repeats: bool | None = None,
) -> Recipe:
    """The recipe called ``name``, with the given settings overriding its protocol.

    For ``generic``, a ``columns.user`` column is cut into sessions after gaps longer than
    ``session_gap_seconds`` (an hour by default); a session column is cut only when a gap is
    given.
    """
    if name not in RECIPES:
        raise DataError(f"unknown dataset {name!r}; known: {', '.join(RECIPES)}")
    recipe = RECIPES[name]
    changes: dict[str, object] = {}
    if test_days is not None:
        if not test_days > 0:
            raise DataError(f"the test period must be positive, got {test_days} days")
        changes["test_days"] = test_days
    if remove_repeats is not None:
        changes["remove_repeats"] = remove_repeats
    if name == "generic" and columns is not None and columns.user is not None:
        session_gap_seconds = session_gap_seconds or DEFAULT_GAP_SECONDS
    if session_gap_seconds is not None:
        if not session_gap_seconds > 0:
            raise DataError(f"the session gap must be positive, got {session_gap_seconds} s")
        changes["session_gap_ms"] = round(session_gap_seconds * 1000)
    return dataclasses.replace(recipe, **changes)


__all__ = ["RECIPES", "ColumnNames", "Recipe", "get_recipe"]
