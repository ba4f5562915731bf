"""Top-k recommendations for session prefixes given as the dataset's item ids."""

from __future__ import annotations

import logging
from collections.abc import Sequence

import numpy as np

from gru4rec_study.models.top_items import top_items

logger = logging.getLogger(__name__)


def recommend(
    model, prefixes: Sequence[Sequence[str | int]], k: int = 10
) -> list[list[tuple[str, float]]]:
    """The ``k`` best next items after each prefix, as (item id, score) pairs, best first.

    Items unknown to the model are skipped with a warning; a prefix that is empty (or has no
    known item) is an error. A ``k`` above the catalogue size gives the whole catalogue, with a
    warning.
    """
    if k < 1:
        raise ValueError(f"k must be at least 1, got {k}")
    if isinstance(prefixes, str | bytes):
        raise TypeError("prefixes must be a list of prefixes, each a list of item ids")
    prefixes = list(prefixes)  # walked twice: checked, then scored
    if any(isinstance(p, str | bytes) for p in prefixes):
        raise TypeError("prefixes must be a list of prefixes, each a list of item ids")
    item_map = model.item_map
    if item_map is None:
        raise ValueError(f"{model.name}: the model is not fitted")
    if k > item_map.n_items:
        logger.warning("k = %d is more than the %d items; giving all of them", k, item_map.n_items)
    results = []
    for number, prefix in enumerate(prefixes, start=1):
        if len(prefix) == 0:
            raise ValueError(f"prefix {number} is empty: give at least one item id")
        index = item_map.lookup([str(i) for i in prefix])
        unknown = [str(i) for i, j in zip(prefix, index, strict=True) if j < 0]
        if unknown:
            logger.warning(
                "prefix %d: skipped %d unknown item(s): %s",
                number,
                len(unknown),
                ", ".join(unknown[:10]),
            )
        index = index[index >= 0]
        if len(index) == 0:
            raise ValueError(f"prefix {number}: none of its items is known to the model")
        scorer = model.scorer(1)
        for item in index:
            scores = scorer.scores(np.array([item], dtype=np.int64))
        values, indices = top_items(scores[:1], k)
        ids = item_map.item_ids[indices[0].cpu().numpy()]
        results.append([(str(i), float(s)) for i, s in zip(ids, values[0].tolist(), strict=True)])
    return results
