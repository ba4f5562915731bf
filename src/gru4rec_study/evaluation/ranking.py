"""Rank of the target among all items, under an explicit tie policy, counted in column chunks.

With ``greater`` the number of items scoring above the target and ``at_least`` the number scoring
at least as high (the target included):

- ``conservative``: rank = at_least (the target goes below every tie; the default),
- ``standard``: rank = 1 + greater (the target goes above every tie),
- ``median``: rank = 1 + greater + (at_least - greater - 1) / 2 (the middle of the ties).
"""

from __future__ import annotations

from typing import Literal

import torch

from gru4rec_study.models.linear_scores import LinearScores

TiePolicy = Literal["conservative", "standard", "median"]
TIE_POLICIES: tuple[str, ...] = ("conservative", "standard", "median")


def check_tie_policy(policy: str) -> None:
    if policy not in TIE_POLICIES:
        raise ValueError(f"tie policy must be one of {TIE_POLICIES}, got {policy!r}")


def target_ranks(
    scores: torch.Tensor,
    targets: torch.Tensor,
    policy: TiePolicy = "conservative",
    chunk_size: int = 65_536,
    overwrite: bool = False,
) -> torch.Tensor:
    """Rank of ``targets[i]`` in ``scores[i]``, over all columns.

    Parameters
    ----------
    scores
        Shape (n, n_items).
    targets
        Shape (n,): the target item index of every row.
    policy
        How ties with the target's score are broken (see the module docstring).
    chunk_size
        Columns compared at a time (at most 2**24, so that float counts stay exact).
    overwrite
        Count in place in ``scores`` (which is then destroyed) instead of in a copy of each
        column chunk; the evaluator does this to avoid any temporary of the scores' size.

    Returns
    -------
    float64 tensor of shape (n,): 1-based ranks. A NaN target score gets rank n_items.
    """
    check_tie_policy(policy)
    chunk_size = min(chunk_size, 1 << 24)
    target_scores = scores.gather(1, targets.view(-1, 1))
    n_items = scores.shape[1]
    greater = torch.zeros(len(targets), dtype=torch.float64, device=scores.device)
    at_least = torch.zeros_like(greater)
    for start in range(0, n_items, chunk_size):
        block = scores[:, start : start + chunk_size]
        # The comparison overwrites the chunk with 1.0 / 0.0; the row sums are the counts.
        if policy != "conservative":
            work = block.clone() if (policy == "median" or not overwrite) else block
            greater += work.gt_(target_scores).sum(dim=1)
        if policy != "standard":
            work = block if overwrite else block.clone()
            at_least += work.ge_(target_scores).sum(dim=1)
    if policy == "conservative":
        ranks = at_least
    elif policy == "standard":
        ranks = greater + 1.0
    else:
        ranks = 1.0 + greater + (at_least - greater - 1.0) / 2.0
    # A NaN score compares false with everything: rank it last rather than first.
    nan_target = torch.isnan(target_scores.view(-1))
    return torch.where(nan_target, torch.full_like(ranks, float(n_items)), ranks)


def _count_columns(block: torch.Tensor, target_scores: torch.Tensor, policy: str, counts) -> None:
    """Add, per row, the entries of ``block`` above / at least the target's (in place)."""
    greater, at_least = counts
    if policy == "median":
        greater += block.clone().gt_(target_scores).sum(dim=1)
    elif policy == "standard":
        greater += block.gt_(target_scores).sum(dim=1)
    if policy != "standard":
        at_least += block.ge_(target_scores).sum(dim=1)


def linear_target_ranks(
    scores: LinearScores,
    targets: torch.Tensor,
    policy: TiePolicy = "conservative",
    chunk_elements: int = 1 << 19,
    dense_elements: int = 1 << 22,
) -> torch.Tensor:
    """:func:`target_ranks` for scores in factored form, without the whole score matrix.

    A score matrix of at most ``dense_elements`` entries (one that fits in the processor's
    cache) is formed whole and ranked by :func:`target_ranks`. A larger one is never formed:
    the target's score is computed first (one dot product per row), then the product a column
    chunk of about ``chunk_elements`` entries at a time, into one reused buffer, compared while
    the chunk is in cache. The target's own entry in the product is compared with its score
    too and taken out of the counts, so that a rounding difference between the two
    computations cannot move the target past itself.
    """
    check_tie_policy(policy)
    n, n_items = scores.shape
    if n * n_items <= dense_elements:
        return target_ranks(scores.dense(), targets, policy, overwrite=True)
    device, dtype = scores.device, scores.hidden.dtype
    target_scores = scores.at(targets).view(-1, 1)
    width = max(1, min(n_items, chunk_elements // max(n, 1)))
    buffer = torch.empty(n, width, dtype=dtype, device=device)
    counts = (
        torch.zeros(n, dtype=torch.float64, device=device),
        torch.zeros(n, dtype=torch.float64, device=device),
    )
    # Rows grouped by the chunk that holds their target, to read the target's own entry.
    order = torch.argsort(targets, stable=True)
    sorted_targets = targets.index_select(0, order)
    starts = list(range(0, n_items, width))
    edges = torch.tensor(starts + [n_items], device=device)
    bounds = torch.searchsorted(sorted_targets, edges).tolist()
    own = torch.empty(n, dtype=dtype, device=device)
    for k, start in enumerate(starts):
        stop = min(start + width, n_items)
        block = scores.columns(start, stop, out=buffer[:, : stop - start])
        low, high = bounds[k], bounds[k + 1]
        if high > low:
            rows = order[low:high]
            own[rows] = block[rows, sorted_targets[low:high] - start]
        _count_columns(block, target_scores, policy, counts)
    greater, at_least = counts
    target_scores = target_scores.view(-1)
    if policy != "standard":
        at_least -= (own >= target_scores).double()  # at least as high, the target left out
    if policy != "conservative":
        greater -= (own > target_scores).double()
    if policy == "conservative":
        ranks = at_least + 1.0
    elif policy == "standard":
        ranks = greater + 1.0
    else:
        ranks = 1.0 + greater + (at_least - greater) / 2.0
    nan_target = torch.isnan(target_scores)
    return torch.where(nan_target, torch.full_like(ranks, float(n_items)), ranks)
