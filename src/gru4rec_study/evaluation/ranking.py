"""Rank of the target among all items, under an explicit tie policy, counted in column chunks.

With ``greater`` the number of items scoring above the target and ``at_least`` the number scoring
at least as high (the target included):

- ``conservative``: rank = at_least (the target goes below every tie; the default),
- ``standard``: rank = 1 + greater (the target goes above every tie),
- ``median``: rank = 1 + greater + (at_least - greater - 1) / 2 (the middle of the ties).

On the CPU the counts a policy needs (at_least, greater, or both for median) come from one
read of every score row (a compiled loop, parallel over rows); elsewhere the scores are compared
in place, chunk by chunk, and the comparisons summed.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import torch
from numba import prange

from gru4rec_study.compiled import jit, match_threads

TiePolicy = Literal["conservative", "standard", "median"]
TIE_POLICIES: tuple[str, ...] = ("conservative", "standard", "median")


def check_tie_policy(policy: str) -> None:
    if policy not in TIE_POLICIES:
        raise ValueError(f"tie policy must be one of {TIE_POLICIES}, got {policy!r}")


_POLICY_CODES = {"conservative": 0, "standard": 1, "median": 2}


@jit(parallel=True, boundscheck=False, nogil=True)
def _rank_rows(scores, targets, policy, ranks):  # pragma: no cover
    n_items = scores.shape[1]
    for i in prange(scores.shape[0]):
        row = scores[i]
        target = row[targets[i]]
        # One comparison per score where the policy needs one count (a vectorised loop).
        if target != target:  # NaN
            ranks[i] = n_items
        elif policy == 0:
            at_least = 0
            for j in range(n_items):
                at_least += row[j] >= target
            ranks[i] = at_least
        elif policy == 1:
            above = 0
            for j in range(n_items):
                above += row[j] > target
            ranks[i] = above + 1
        else:
            above, tied = 0, 0
            for j in range(n_items):
                above += row[j] > target
                tied += row[j] == target
            ranks[i] = 1.0 + above + (tied - 1.0) / 2.0


def _ranks_on_cpu(scores: torch.Tensor, targets: torch.Tensor, policy: str) -> torch.Tensor:
    ranks = np.empty(len(targets), dtype=np.float64)
    match_threads()
    _rank_rows(scores.numpy(), targets.numpy(), _POLICY_CODES[policy], ranks)
    return torch.from_numpy(ranks)


def _counts_in_chunks(
    scores: torch.Tensor,
    target_scores: torch.Tensor,
    policy: str,
    chunk_size: int,
    overwrite: bool,
) -> tuple[torch.Tensor, torch.Tensor]:
    """(greater, at_least) as float64 counts, by in-place comparisons of column chunks."""
    greater = torch.zeros(len(target_scores), dtype=torch.float64, device=scores.device)
    at_least = torch.zeros_like(greater)
    for start in range(0, scores.shape[1], chunk_size):
        block = scores[:, start : start + chunk_size]
        # The comparison overwrites the chunk with 1.0 / 0.0; the row sums are the counts.
        if policy != "conservative":
            work = block.clone() if (policy == "median" or not overwrite) else block
            greater += work.gt_(target_scores).sum(dim=1)
        if policy != "standard":
            work = block if overwrite else block.clone()
            at_least += work.ge_(target_scores).sum(dim=1)
    return greater, at_least


def target_ranks(
    scores: torch.Tensor,
    targets: torch.Tensor,
    policy: TiePolicy = "conservative",
    chunk_size: int = 65_536,
    overwrite: bool = False,
    compiled: bool | None = None,
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
        Columns compared at a time off the CPU (at most 2**24, so that float counts stay
        exact).
    overwrite
        Off the CPU, count in place in ``scores`` (which may then be destroyed) instead of in a
        copy of each column chunk; the evaluator does this to avoid any temporary of the scores'
        size. The CPU loop only reads the scores.
    compiled
        Count with the compiled CPU loop (None: whenever ``scores`` is a float32 or float64
        CPU tensor with contiguous rows and no gradient), else with the chunked comparisons.

    Returns
    -------
    float64 tensor of shape (n,): 1-based ranks. A NaN target score gets rank n_items.
    """
    check_tie_policy(policy)
    n_rows, n_items = scores.shape
    if targets.shape != (n_rows,):
        raise ValueError(f"{tuple(targets.shape)} targets for {n_rows} rows of scores")
    if n_rows and (int(targets.min()) < 0 or int(targets.max()) >= n_items):
        raise ValueError(f"target indices must lie in [0, {n_items})")
    loop_can = (
        scores.device.type == "cpu"
        and scores.stride(1) == 1
        and scores.dtype in (torch.float32, torch.float64)
        and not scores.requires_grad
    )
    if compiled and not loop_can:
        raise ValueError("the compiled count needs float32 or float64 CPU scores with unit stride")
    if compiled is None:
        compiled = loop_can
    if compiled:
        return _ranks_on_cpu(scores, targets.to(torch.int64).contiguous(), policy)
    target_scores = scores.gather(1, targets.view(-1, 1))
    # A NaN score compares false with everything: rank it last rather than first.
    nan_target = torch.isnan(target_scores.view(-1))
    chunk_size = min(chunk_size, 1 << 24)
    greater, at_least = _counts_in_chunks(scores, target_scores, policy, chunk_size, overwrite)
    if policy == "conservative":
        ranks = at_least
    elif policy == "standard":
        ranks = greater + 1.0
    else:
        ranks = 1.0 + greater + (at_least - greater - 1.0) / 2.0
    return torch.where(nan_target, torch.full_like(ranks, float(n_items)), ranks)
