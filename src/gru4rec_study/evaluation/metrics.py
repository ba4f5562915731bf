"""Recall, MRR and NDCG at cutoffs, computed from per-event target ranks.

Only the next item is relevant, so with rank ``r`` of the target: Recall@K = 1[r <= K],
MRR@K = 1[r <= K] / r and NDCG@K = 1[r <= K] / log2(r + 1), each averaged over events.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

METRICS = ("Recall", "MRR", "NDCG")


def metric_values(ranks: NDArray[np.float64], cutoffs: list[int] | tuple[int, ...]) -> dict:
    """Mean of every metric at every cutoff, as ``{"Recall@20": value, ...}``.

    With no events every value is None (undefined), never 0.
    """
    values: dict[str, float | None] = {}
    ranks = np.asarray(ranks, dtype=np.float64)
    for cutoff in cutoffs:
        if cutoff < 1:
            raise ValueError(f"cutoffs must be at least 1, got {cutoff}")
        hit = ranks <= cutoff
        per_event = {
            "Recall": hit.astype(np.float64),
            "MRR": np.where(hit, 1.0 / ranks, 0.0),
            "NDCG": np.where(hit, 1.0 / np.log2(ranks + 1.0), 0.0),
        }
        for name in METRICS:
            values[f"{name}@{cutoff}"] = float(per_event[name].mean()) if len(ranks) else None
    return values


def metric_curves(ranks: NDArray[np.float64], max_cutoff: int) -> dict[str, list[float | None]]:
    """Every metric at every K = 1..``max_cutoff``: ``{"Recall": [value at K=1, ...], ...}``.

    The value at K is exactly ``metric_values(ranks, [K])``; with no events every value is None.
    """
    if max_cutoff < 1:
        raise ValueError(f"max_cutoff must be at least 1, got {max_cutoff}")
    curves: dict[str, list[float | None]] = {name: [] for name in METRICS}
    for cutoff in range(1, max_cutoff + 1):
        values = metric_values(ranks, [cutoff])
        for name in METRICS:
            curves[name].append(values[f"{name}@{cutoff}"])
    return curves
