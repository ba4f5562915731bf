"""Top-k items of score rows with a fixed tie rule: equal scores go in item-index order.

``torch.topk`` (like ``numpy.argpartition``) picks among equal scores in an order that depends on
the library version and the hardware, so which tied items make a top-k list, and with them
Coverage@K, Popularity@K and the recommendations themselves, would not be reproducible. Here
the top list is the first ``k`` items in the order (score descending, item index ascending); a
NaN score counts as the lowest.
"""

from __future__ import annotations

import torch


def top_items(scores: torch.Tensor, k: int) -> tuple[torch.Tensor, torch.Tensor]:
    """The ``k`` best items of every row of ``scores`` (shape (n, n_items)), best first.

    Returns (values, indices), both of shape (n, min(k, n_items)); among equal scores the lower
    item index comes first.
    """
    if k < 1:
        raise ValueError(f"k must be at least 1, got {k}")
    n_rows, n_items = scores.shape
    k = min(k, n_items)
    if torch.isnan(scores).any():
        scores = torch.nan_to_num(scores, nan=float("-inf"), posinf=float("inf"))
    threshold = torch.topk(scores, k, dim=1).values[:, -1:]
    above_rows, above_cols = (scores > threshold).nonzero(as_tuple=True)
    tied = scores == threshold
    tie_rows, tie_cols = tied.nonzero(as_tuple=True)  # row-major: columns ascend in a row
    # Each row takes its first (k - items above the threshold) ties.
    needed = k - torch.bincount(above_rows, minlength=n_rows)
    n_tied = tied.sum(dim=1)
    first_tie = torch.cumsum(n_tied, 0) - n_tied
    position = torch.arange(len(tie_rows), device=scores.device) - first_tie[tie_rows]
    keep = position < needed[tie_rows]
    rows = torch.cat([above_rows, tie_rows[keep]])
    cols = torch.cat([above_cols, tie_cols[keep]])
    # Order by row, then score descending, then column: stable sorts from the last key back.
    order = torch.sort(cols, stable=True).indices
    rows, cols = rows[order], cols[order]
    order = torch.sort(scores[rows, cols], descending=True, stable=True).indices
    rows, cols = rows[order], cols[order]
    cols = cols[torch.sort(rows, stable=True).indices]
    cols = cols.view(n_rows, k)
    return scores.gather(1, cols), cols
