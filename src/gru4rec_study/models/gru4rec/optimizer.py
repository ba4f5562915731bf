"""Adagrad with heavy-ball momentum, dense and row-sparse, as in the official GRU4Rec.

For every parameter: acc += g ** 2; step = -lr * g / sqrt(acc + eps); with momentum
v = mu * v + step and theta += v, otherwise theta += step. Item tables are updated only on the
rows a mini-batch touched, after summing the gradients of repeated rows; the velocity of an
untouched row is not decayed ("lazy" momentum).
"""

from __future__ import annotations

import torch

EPS = 1e-6


class IndexedAdagradM:
    """Adagrad (+ momentum) for a list of dense tensors and a dict of row-sparse item tables."""

    def __init__(
        self,
        dense: list[torch.Tensor],
        sparse: dict[str, torch.Tensor],
        learning_rate: float,
        momentum: float = 0.0,
    ) -> None:
        self.lr = learning_rate
        self.momentum = momentum
        self.dense = dense
        self.sparse = sparse
        self.dense_acc = [torch.zeros_like(p) for p in dense]
        self.dense_vel = [torch.zeros_like(p) for p in dense] if momentum > 0 else []
        self.sparse_acc = {k: torch.zeros_like(p) for k, p in sparse.items()}
        self.sparse_vel = {k: torch.zeros_like(p) for k, p in sparse.items()} if momentum > 0 else {}

    def step_dense(self, grads: list[torch.Tensor]) -> None:
        """Update every dense parameter with its full gradient."""
        torch._foreach_addcmul_(self.dense_acc, grads, grads)
        denom = torch._foreach_add(self.dense_acc, EPS)
        torch._foreach_rsqrt_(denom)
        steps = torch._foreach_mul(grads, denom)
        if self.momentum > 0:
            torch._foreach_mul_(self.dense_vel, self.momentum)
            torch._foreach_add_(self.dense_vel, steps, alpha=-self.lr)
            torch._foreach_add_(self.dense, self.dense_vel)
        else:
            torch._foreach_add_(self.dense, steps, alpha=-self.lr)

    def step_rows(self, name: str, rows: torch.Tensor, grad: torch.Tensor) -> None:
        """Update table ``name`` on ``rows`` (unique indices) with their summed gradients."""
        acc = self.sparse_acc[name].index_select(0, rows).addcmul_(grad, grad)
        self.sparse_acc[name].index_copy_(0, rows, acc)
        step = grad * acc.add_(EPS).rsqrt_()
        param = self.sparse[name]
        if self.momentum > 0:
            vel = self.sparse_vel[name].index_select(0, rows).mul_(self.momentum)
            vel.add_(step, alpha=-self.lr)
            self.sparse_vel[name].index_copy_(0, rows, vel)
            param.index_add_(0, rows, vel)
        else:
            param.index_add_(0, rows, step, alpha=-self.lr)

    def state_size(self) -> int:
        """Number of optimizer state values (for logging)."""
        tensors = self.dense_acc + self.dense_vel + list(self.sparse_acc.values())
        return sum(t.numel() for t in tensors + list(self.sparse_vel.values()))


def coalesce_rows(index: torch.Tensor, grad: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Sum the gradient rows of repeated indices: (unique rows, summed grads of shape (U, d))."""
    rows, inverse = torch.unique(index, return_inverse=True)
    summed = torch.zeros((len(rows),) + grad.shape[1:], dtype=grad.dtype, device=grad.device)
    summed.index_add_(0, inverse, grad)
    return rows, summed
