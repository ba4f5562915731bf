"""Shared negative samples drawn with P(item) proportional to support ** alpha, from a cache.

As in the official code, a block of ``cache_size // n_sample`` rows of ``n_sample`` ids is drawn
ahead by inverse-CDF sampling (a right bisection into the cumulative distribution), one row is
used per mini-batch, and the block is drawn anew when it runs out.
"""

from __future__ import annotations

import numpy as np
import torch
from numpy.typing import NDArray


def sampling_cdf(item_counts: NDArray[np.int64], alpha: float) -> torch.Tensor:
    """Cumulative distribution of P(item) ~ count ** alpha (float64, last value exactly 1)."""
    weights = np.power(item_counts.astype(np.float64), alpha)
    cdf = np.cumsum(weights) / weights.sum()
    cdf[-1] = 1.0
    return torch.from_numpy(cdf)


class SampleCache:
    """Hands out one row of ``n_sample`` negative item indices per call."""

    def __init__(
        self,
        item_counts: NDArray[np.int64],
        alpha: float,
        n_sample: int,
        cache_size: int,
        generator: torch.Generator,
        device: torch.device,
    ) -> None:
        self.n_sample = n_sample
        self.n_rows = max(1, cache_size // max(n_sample, 1))
        self._cdf = sampling_cdf(item_counts, alpha).to(device)
        self._n_items = len(item_counts)
        self._generator = generator
        self._device = device
        self._block = torch.empty(0, n_sample, dtype=torch.int64, device=device)
        self._next = 0

    def draw(self, n_rows: int) -> torch.Tensor:
        """Draw ``n_rows`` fresh rows, shape (n_rows, n_sample), int64."""
        u = torch.rand(
            (n_rows, self.n_sample), generator=self._generator, device=self._device,
            dtype=torch.float64,
        )
        return torch.searchsorted(self._cdf, u, right=True).clamp_(max=self._n_items - 1)

    def next(self) -> torch.Tensor:
        """The next row of samples, shape (n_sample,)."""
        if self._next >= len(self._block):
            self._block = self.draw(self.n_rows)
            self._next = 0
        row = self._block[self._next]
        self._next += 1
        return row
