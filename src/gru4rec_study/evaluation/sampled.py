"""Sampled evaluation, as an explicit comparison mode: the target against N sampled negatives.

Full ranking is the protocol; this mode exists to measure how much ranking against a sample
inflates the metrics. Negatives are drawn per event without replacement among the items other
than the target, uniformly or in proportion to training support, from a seeded generator.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from numpy.typing import NDArray

DISTRIBUTIONS = ("uniform", "popularity")


@dataclass(frozen=True)
class SampledEvaluation:
    """How negatives are drawn for sampled evaluation."""

    n_negatives: int = 100  # negatives per event
    distribution: str = "uniform"  # "uniform" or "popularity" (training support)
    seed: int = 0  # seeds the draws

    def __post_init__(self) -> None:
        if self.n_negatives < 1:
            raise ValueError(
                f"sampled evaluation: n_negatives must be >= 1, got {self.n_negatives}"
            )
        if self.distribution not in DISTRIBUTIONS:
            raise ValueError(f"sampled evaluation: distribution must be one of {DISTRIBUTIONS}")


class NegativeSampler:
    """Draws (n, n_negatives) item indices, none equal to the row's target."""

    def __init__(self, spec: SampledEvaluation, n_items: int, item_counts: NDArray | None):
        if spec.n_negatives > n_items - 1:
            raise ValueError(
                f"sampled evaluation: n_negatives = {spec.n_negatives} but the catalogue has only"
                f" {n_items} items ({n_items - 1} possible negatives per event)"
            )
        self.spec = spec
        self.n_items = n_items
        self.rng = np.random.default_rng(spec.seed)
        self.p = None
        if spec.distribution == "popularity":
            if item_counts is None:
                raise ValueError("sampled evaluation by popularity needs the training item counts")
            counts = np.asarray(item_counts, dtype=np.float64)
            self.p = counts / counts.sum()

    def draw(self, targets: NDArray[np.int64]) -> NDArray[np.int64]:
        """Shape (len(targets), n_negatives): distinct items, none equal to its row's target."""
        n = self.spec.n_negatives
        rows = np.empty((len(targets), n), dtype=np.int64)
        for i, target in enumerate(targets):
            if self.p is None:
                drawn = self.rng.choice(self.n_items - 1, size=n, replace=False)
                rows[i] = drawn + (drawn >= target)  # skip the target
            else:
                p = self.p.copy()
                p[target] = 0.0
                rows[i] = self.rng.choice(self.n_items, size=n, replace=False, p=p / p.sum())
        return rows


def sampled_ranks(
    scores: torch.Tensor, targets: torch.Tensor, negatives: NDArray[np.int64], policy: str
) -> torch.Tensor:
    """Rank of the target among itself and its negatives, under the tie policy."""
    target_scores = scores.gather(1, targets.view(-1, 1))
    negative_scores = scores.gather(1, torch.from_numpy(negatives).to(scores.device))
    greater = (negative_scores > target_scores).sum(dim=1).double()
    equal = (negative_scores == target_scores).sum(dim=1).double()
    if policy == "conservative":
        return 1.0 + greater + equal
    if policy == "standard":
        return 1.0 + greater
    return 1.0 + greater + equal / 2.0
