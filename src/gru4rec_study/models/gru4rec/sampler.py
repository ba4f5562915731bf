"""Shared negative samples drawn with P(item) proportional to support ** alpha, from a cache.

As in the official code, rows of ``n_sample`` ids are drawn ahead by inverse-CDF sampling (item =
number of CDF values <= u, for u ~ U[0, 1)), one row is used per mini-batch, and a new block is
drawn when the block runs out; a block holds ``cache_size`` ids at most, and at most
``BLOCK_IDS``. The inversion first looks u
up in a table of ``n_buckets`` equal-width buckets of [0, 1); only a u whose bucket contains a
CDF value needs the bisection, so the result is exactly that of a bisection, at a fraction of
its cost.
"""

from __future__ import annotations

import numpy as np
import torch
from numpy.typing import NDArray

BLOCK_IDS = 1 << 17


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
        # Draw at most BLOCK_IDS ids at a time: fresh 80 MB blocks cost more in page faults
        # than the draws themselves on a CPU, and the distribution is the same.
        self.n_rows = max(1, min(cache_size, BLOCK_IDS) // max(n_sample, 1))
        cdf = sampling_cdf(item_counts, alpha)
        self.n_buckets = 1 << max(16, int(np.ceil(np.log2(16 * len(item_counts)))))
        edges = torch.arange(self.n_buckets + 1, dtype=torch.float64) / self.n_buckets
        # bucket_items[k] = number of CDF values <= k / n_buckets
        self._bucket_items = torch.searchsorted(cdf, edges, right=True).to(device)
        self._cdf = cdf.to(device)
        self._n_items = len(item_counts)
        self._generator = generator
        self._device = device
        self._block = torch.empty(0, n_sample, dtype=torch.int64, device=device)
        self._next = 0

    def draw(self, n_rows: int) -> torch.Tensor:
        """Draw ``n_rows`` fresh rows, shape (n_rows, n_sample), int64."""
        u = torch.rand(
            (n_rows, self.n_sample),
            generator=self._generator,
            device=self._device,
            dtype=torch.float64,
        )
        bucket = (u * self.n_buckets).long().view(-1)
        low = self._bucket_items.index_select(0, bucket)
        high = self._bucket_items.index_select(0, bucket + 1)
        items = low.clone()
        ambiguous = torch.nonzero(low != high).view(-1)
        if len(ambiguous):
            exact = torch.searchsorted(self._cdf, u.view(-1).index_select(0, ambiguous), right=True)
            items.index_copy_(0, ambiguous, exact)
        return items.clamp_(max=self._n_items - 1).view(n_rows, self.n_sample)

    def next(self) -> torch.Tensor:
        """The next row of samples, shape (n_sample,)."""
        if self._next >= len(self._block):
            self._block = self.draw(self.n_rows)
            self._next = 0
        row = self._block[self._next]
        self._next += 1
        return row
