"""Scores that are a matrix product, handed to the evaluator in factored form.

A model whose scores are ``hidden @ weights_t + bias`` (GRU4Rec) can give the evaluator the
factors instead of the (n_slots, n_items) matrix; the evaluator then computes the product in
column chunks and counts ranks while each chunk is still in cache, so that no score matrix of a
whole batch is ever held.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch


@dataclass(frozen=True)
class LinearScores:
    """Scores ``hidden @ weights_t + bias`` of shape (n, n_items), not yet computed."""

    hidden: torch.Tensor  # (n, d)
    weights_t: torch.Tensor  # (d, n_items)
    bias: torch.Tensor  # (n_items,)

    @property
    def shape(self) -> tuple[int, int]:
        return self.hidden.shape[0], self.weights_t.shape[1]

    @property
    def device(self) -> torch.device:
        return self.hidden.device

    def dense(self) -> torch.Tensor:
        """The whole score matrix."""
        return torch.addmm(self.bias, self.hidden, self.weights_t)

    def columns(self, start: int, stop: int, out: torch.Tensor | None = None) -> torch.Tensor:
        """Scores of items ``start..stop-1``, shape (n, stop - start), optionally into ``out``."""
        w, b = self.weights_t[:, start:stop], self.bias[start:stop]
        if out is None:
            return torch.addmm(b, self.hidden, w)
        return torch.addmm(b, self.hidden, w, out=out)

    def at(self, items: torch.Tensor) -> torch.Tensor:
        """Score of ``items[i]`` for row ``i``, shape (n,): one dot product per row, so that the
        value of a row does not depend on the other rows."""
        w = self.weights_t.index_select(1, items).T  # (n, d)
        return (self.hidden * w).sum(dim=1) + self.bias.index_select(0, items)


def dense_scores(scores: torch.Tensor | LinearScores) -> torch.Tensor:
    """The score matrix, computing it when it comes in factored form."""
    return scores.dense() if isinstance(scores, LinearScores) else scores
