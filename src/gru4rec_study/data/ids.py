"""One fixed order of session and item ids, so that results never depend on the row order.

Ids are text. When every id is a decimal integer (of at most 18 digits) they are ordered by
value, "9" before "10", and equal values in text order ("05" before "5"); otherwise in text
(code point) order. Item indices follow this order, and so do sessions that start at the same
time, so a file with its rows shuffled gives the same indices, the same mini-batches and the
same ties as the sorted file.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from numpy.typing import NDArray

_INTEGER = r"-?\d{1,18}"


def id_codes(ids: pd.Series | NDArray | list) -> tuple[NDArray[np.int64], NDArray[np.object_]]:
    """Codes and distinct ids in the fixed order: ``uniques[codes]`` equals ``ids`` as text."""
    text = pd.Series(ids, dtype=object).astype(str)
    codes, uniques = pd.factorize(text, sort=True)  # text order
    uniques = np.asarray(uniques, dtype=object)
    if len(uniques) and pd.Series(uniques).str.fullmatch(_INTEGER).all():
        order = np.argsort(uniques.astype(np.int64), kind="stable")  # value, then text
        rank = np.empty(len(order), dtype=np.int64)
        rank[order] = np.arange(len(order))
        codes, uniques = rank[codes], uniques[order]
    return codes.astype(np.int64), uniques


def sorted_ids(ids: pd.Series | NDArray | list) -> NDArray[np.object_]:
    """The distinct ids of ``ids`` as text, in the fixed order."""
    return id_codes(ids)[1]
