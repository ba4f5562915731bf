"""Fused CPU loops for the parts of a training step that are many passes in eager PyTorch.

Each eager PyTorch operation reads and writes whole tensors, so an Adagrad update of the dense
weights is five passes over memory and a row update gathers and scatters every touched row
twice. These loops, compiled by numba, do each update in one pass over the touched memory and
in parallel over rows. They run on CPU tensors that share memory with numpy arrays; on other
devices the callers keep the eager PyTorch path (which the tests compare them against).
"""

from __future__ import annotations

import numba
import numpy as np
import torch
from numba import njit, prange

_JIT = {"cache": True, "boundscheck": False, "error_model": "numpy", "nogil": True}


def usable(*tensors: torch.Tensor) -> bool:
    """True when every tensor is a contiguous float32 CPU tensor (what the loops work on)."""
    return all(
        t.device.type == "cpu" and t.dtype == torch.float32 and t.is_contiguous() for t in tensors
    )


def match_threads() -> None:
    """Use as many threads in the loops as PyTorch uses in its operations."""
    numba.set_num_threads(max(1, min(torch.get_num_threads(), numba.config.NUMBA_NUM_THREADS)))


@njit(parallel=True, **_JIT)
def _adagrad_dense(param, acc, vel, grad, neg_lr, momentum, eps, use_velocity):  # pragma: no cover
    for i in prange(param.shape[0]):
        g = grad[i]
        a = acc[i] + g * g
        acc[i] = a
        step = (neg_lr / np.sqrt(a + eps)) * g
        if use_velocity:
            v = vel[i] * momentum + step
            vel[i] = v
            param[i] += v
        else:
            param[i] += step


@njit(parallel=True, **_JIT)
def _adagrad_rows(
    param, acc, vel, rows, grad, frozen_last, neg_lr, momentum, eps, use_velocity, use_frozen
):  # pragma: no cover
    width = param.shape[1]
    for k in prange(rows.shape[0]):
        i = rows[k]
        for j in range(width):
            g = grad[k, j]
            a = acc[i, j] + g * g
            acc[i, j] = a
            step = (neg_lr / np.sqrt(a + eps)) * g
            if use_velocity:
                if use_frozen and j == width - 1 and frozen_last[k]:
                    continue
                v = vel[i, j] * momentum + step
                vel[i, j] = v
                param[i, j] += v
            else:
                param[i, j] += step


def _f32(value: float) -> np.float32:
    return np.float32(value)


def adagrad_dense(
    param: torch.Tensor,
    acc: torch.Tensor,
    vel: torch.Tensor | None,
    grad: torch.Tensor,
    learning_rate: float,
    momentum: float,
    eps: float,
) -> None:
    """acc += g ** 2; step = -lr * g / sqrt(acc + eps); vel = mu * vel + step; param += vel."""
    velocity = vel if vel is not None else acc  # unused when there is no momentum
    _adagrad_dense(
        param.numpy(),
        acc.numpy(),
        velocity.numpy(),
        grad.numpy(),
        _f32(-learning_rate),
        _f32(momentum),
        _f32(eps),
        vel is not None,
    )


def adagrad_rows(
    param: torch.Tensor,
    acc: torch.Tensor,
    vel: torch.Tensor | None,
    rows: torch.Tensor,
    grad: torch.Tensor,
    frozen_last: torch.Tensor | None,
    learning_rate: float,
    momentum: float,
    eps: float,
) -> None:
    """The update of :func:`adagrad_dense` on ``rows`` (unique) of 2-d tables, in place.

    ``frozen_last[k]`` keeps the value and velocity of entry (rows[k], -1) unchanged.
    """
    velocity = vel if vel is not None else acc
    frozen = frozen_last if frozen_last is not None else torch.zeros(1, dtype=torch.bool)
    _adagrad_rows(
        param.numpy(),
        acc.numpy(),
        velocity.numpy(),
        rows.numpy(),
        grad.numpy(),
        frozen.numpy(),
        _f32(-learning_rate),
        _f32(momentum),
        _f32(eps),
        vel is not None,
        frozen_last is not None,
    )
