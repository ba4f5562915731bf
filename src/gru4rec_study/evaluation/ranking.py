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
