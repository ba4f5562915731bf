"""Adagrad with heavy-ball momentum, dense and row-sparse, as in the official GRU4Rec.

For every parameter: acc += g ** 2; step = -lr * g / sqrt(acc + eps); with momentum
v = mu * v + step and theta += v, otherwise theta += step. Item tables are updated only on the
rows a mini-batch touched, after summing the gradients of repeated rows; the velocity of an
untouched row is not decayed ("lazy" momentum).

On the CPU each update is one fused loop (:mod:`.kernels`); elsewhere, or with ``fused=False``,
it is a sequence of PyTorch operations with the same arithmetic.
"""

from __future__ import annotations

import torch

from gru4rec_study.compiled import match_threads
from gru4rec_study.models.gru4rec import kernels

EPS = 1e-6


class IndexedAdagradM:
    """Adagrad (+ momentum) for one flat dense tensor and a dict of row-sparse item tables."""

    def __init__(
        self,
        dense: torch.Tensor,
        sparse: dict[str, torch.Tensor],
        learning_rate: float,
        momentum: float = 0.0,
        fused: bool | None = None,
    ) -> None:
        """``fused``: use the fused CPU loops (None: whenever the parameters allow them)."""
        self.lr = learning_rate
        self.momentum = momentum
        self.dense = dense
        self.sparse = sparse
        self.dense_acc = torch.zeros_like(dense)
        self.dense_vel = torch.zeros_like(dense) if momentum > 0 else None
        self.sparse_acc = {k: torch.zeros_like(p) for k, p in sparse.items()}
        self.sparse_vel = (
            {k: torch.zeros_like(p) for k, p in sparse.items()} if momentum > 0 else {}
        )
        usable = kernels.usable(dense, *sparse.values())
        if fused and not usable:
            raise ValueError("fused updates need contiguous float32 CPU parameters")
        self.fused = usable if fused is None else fused
        if self.fused:
            match_threads()

    def step_dense(self, grad: torch.Tensor) -> None:
        """Update the dense parameters with their full (flat) gradient."""
        if self.fused:
            kernels.adagrad_dense(
                self.dense, self.dense_acc, self.dense_vel, grad, self.lr, self.momentum, EPS
            )
            return
        self.dense_acc.addcmul_(grad, grad)
        scale = torch.add(self.dense_acc, EPS).rsqrt_()
        if self.dense_vel is not None:
            self.dense_vel.mul_(self.momentum).addcmul_(scale, grad, value=-self.lr)
            self.dense.add_(self.dense_vel)
        else:
            self.dense.addcmul_(scale, grad, value=-self.lr)

    def step_rows(
        self,
        name: str,
        rows: torch.Tensor,
        grad: torch.Tensor,
        frozen_last_column: torch.Tensor | None = None,
        last_column_grad: torch.Tensor | None = None,
    ) -> None:
        """Update table ``name`` on ``rows`` (unique indices) with their summed gradients.

        ``grad[k]`` is the gradient of row ``rows[k]``; with ``last_column_grad`` (shape
        (len(rows),)) it covers every column but the last, whose gradient that is.

        ``frozen_last_column`` (shape (len(rows),), bool) marks rows whose last column the step
        did not touch (an output bias of an item that was only an input): with momentum those
        entries keep their value and velocity, as an untouched row would.
        """
        if self.fused:
            kernels.adagrad_rows(
                self.sparse[name],
                self.sparse_acc[name],
                self.sparse_vel.get(name),
                rows,
                grad.contiguous(),
                last_column_grad,
                frozen_last_column,
                self.lr,
                self.momentum,
                EPS,
            )
            return
        if last_column_grad is not None:
            grad = torch.cat([grad, last_column_grad.view(-1, 1)], 1)
        acc = self.sparse_acc[name].index_select(0, rows).addcmul_(grad, grad)
        self.sparse_acc[name].index_copy_(0, rows, acc)
        scale = acc.add_(EPS).rsqrt_()
        param = self.sparse[name]
        if self.momentum > 0:
            old_vel = self.sparse_vel[name].index_select(0, rows)
            vel = old_vel.mul(self.momentum).addcmul_(scale, grad, value=-self.lr)
            if frozen_last_column is not None:
                vel[:, -1] = torch.where(frozen_last_column, old_vel[:, -1], vel[:, -1])
            self.sparse_vel[name].index_copy_(0, rows, vel)
            if frozen_last_column is not None:  # vel is now the increment
                vel[:, -1] = torch.where(frozen_last_column, 0.0, vel[:, -1])
            param.index_add_(0, rows, vel)
        else:
            param.index_add_(0, rows, scale.mul_(grad), alpha=-self.lr)


def unique_rows(index: torch.Tensor, n_rows: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Sorted unique values of ``index`` (all in [0, n_rows)) and the inverse mapping.

    Equal to ``torch.unique(index, return_inverse=True)``, by counting instead of sorting.
    """
    present = torch.zeros(n_rows, dtype=torch.bool, device=index.device)
    present[index] = True
    rows = torch.nonzero(present).view(-1)
    position = torch.empty(n_rows, dtype=torch.int64, device=index.device)
    position[rows] = torch.arange(len(rows), device=index.device)
    return rows, position.index_select(0, index)


def coalesce_rows(index: torch.Tensor, grad: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Sum the gradient rows of repeated indices: (unique rows, summed grads of shape (U, d))."""
    rows, inverse = torch.unique(index, return_inverse=True)
    summed = torch.zeros((len(rows),) + grad.shape[1:], dtype=grad.dtype, device=grad.device)
    summed.index_add_(0, inverse, grad)
    return rows, summed
