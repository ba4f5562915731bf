"""Fused CPU loops for the parts of a training step that are many passes in eager PyTorch.

Each eager PyTorch operation reads and writes whole tensors, so an Adagrad update of the dense
weights is five passes over memory and a row update gathers and scatters every touched row
twice. These loops, compiled by numba, do each update in one pass over the touched memory and
in parallel over rows. They run on CPU tensors that share memory with numpy arrays; on other
devices the callers keep the eager PyTorch path (which the tests compare them against).
"""

from __future__ import annotations

import numpy as np
import torch
from numba import prange

from gru4rec_study.compiled import jit

_JIT = {"boundscheck": False, "error_model": "numpy", "nogil": True}


def usable(*tensors: torch.Tensor) -> bool:
    """True when every tensor is a contiguous float32 CPU tensor (what the loops work on)."""
    return all(
        t.device.type == "cpu" and t.dtype == torch.float32 and t.is_contiguous() for t in tensors
    )


@jit(inline="always", **_JIT)
def _entry(param, acc, vel, i, j, g, neg_lr, momentum, eps, use_velocity):  # pragma: no cover
    a = acc[i, j] + g * g
    acc[i, j] = a
    step = (neg_lr / np.sqrt(a + eps)) * g
    if use_velocity:
        v = vel[i, j] * momentum + step
        vel[i, j] = v
        param[i, j] += v
    else:
        param[i, j] += step


@jit(parallel=True, **_JIT)
def _adagrad_dense(param, acc, vel, grad, neg_lr, momentum, eps, use_velocity):  # pragma: no cover
    for j in prange(param.shape[1]):  # one row: the flat dense weights
        _entry(param, acc, vel, 0, j, grad[0, j], neg_lr, momentum, eps, use_velocity)


@jit(parallel=True, **_JIT)
def _adagrad_rows(
    param, acc, vel, rows, grad, last, frozen_last, neg_lr, momentum, eps, flags
):  # pragma: no cover
    use_velocity, use_last, use_frozen = flags
    last_column = param.shape[1] - 1
    for k in prange(rows.shape[0]):
        i = rows[k]
        for j in range(last_column):
            _entry(param, acc, vel, i, j, grad[k, j], neg_lr, momentum, eps, use_velocity)
        if not (use_frozen and frozen_last[k]):
            g = last[k] if use_last else grad[k, last_column]
            _entry(param, acc, vel, i, last_column, g, neg_lr, momentum, eps, use_velocity)


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
    if grad.shape != param.shape:
        raise ValueError(
            f"dense gradient of shape {tuple(grad.shape)}, expected {tuple(param.shape)}"
        )
    velocity = vel if vel is not None else acc  # unused when there is no momentum
    _adagrad_dense(
        param.view(1, -1).numpy(),
        acc.view(1, -1).numpy(),
        velocity.view(1, -1).numpy(),
        grad.reshape(1, -1).numpy(),
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
    last_grad: torch.Tensor | None,
    frozen_last: torch.Tensor | None,
    learning_rate: float,
    momentum: float,
    eps: float,
) -> None:
    """The update of :func:`adagrad_dense` on ``rows`` (unique) of a 2-d table, in place.

    ``grad[k]`` is the gradient of row ``rows[k]``; with ``last_grad`` it covers all but the
    last column, whose gradient is ``last_grad[k]``. ``frozen_last[k]`` leaves entry
    (rows[k], -1) and its statistics as they are (its gradient must be zero).
    """
    expected = (len(rows), param.shape[1] - (last_grad is not None))
    if tuple(grad.shape) != expected:
        raise ValueError(f"row gradients of shape {tuple(grad.shape)}, expected {expected}")
    if last_grad is not None and last_grad.shape != (len(rows),):
        raise ValueError(f"last-column gradient of shape {tuple(last_grad.shape)}")
    if frozen_last is not None and frozen_last.shape != (len(rows),):
        raise ValueError(f"frozen mask of shape {tuple(frozen_last.shape)}")
    if len(rows) and (int(rows.min()) < 0 or int(rows.max()) >= param.shape[0]):
        raise ValueError(f"rows must lie in [0, {param.shape[0]})")
    rows = rows.to(torch.int64).contiguous()
    velocity = vel if vel is not None else acc
    unused = torch.zeros(1, dtype=torch.bool)
    _adagrad_rows(
        param.numpy(),
        acc.numpy(),
        velocity.numpy(),
        rows.numpy(),
        grad.numpy(),
        (last_grad if last_grad is not None else acc[0]).numpy(),
        (frozen_last if frozen_last is not None else unused).numpy(),
        _f32(-learning_rate),
        _f32(momentum),
        _f32(eps),
        (vel is not None, last_grad is not None, frozen_last is not None),
    )


@jit(parallel=True, **_JIT)
def _keep_mask(uniforms, p, scale, out):  # pragma: no cover
    for i in prange(out.shape[0]):
        out[i] = scale if uniforms[i] >= p else np.float32(0.0)


class DropoutMasks:
    """Inverted-dropout masks (1 / (1 - p) with probability 1 - p, else 0; float32, CPU).

    Entry k is kept when numpy's float32 uniform from the stream of ``bit_generator`` (the top
    24 bits of a 32-bit half of a PCG64 draw, divided by 2**24) is at least p. The uniforms and
    masks are written into buffers kept per dropout ``site``: a site's mask stays valid until
    that site's next mask. Fresh buffers per step would cost page faults at every step.
    """

    def __init__(self, bit_generator: np.random.BitGenerator) -> None:
        self._uniforms = np.random.Generator(bit_generator)
        self._buffers: dict[object, tuple[np.ndarray, torch.Tensor]] = {}

    def __call__(self, site: object, shape: tuple[int, ...], p: float) -> torch.Tensor:
        size = int(np.prod(shape))
        buffers = self._buffers.get(site)
        if buffers is None or len(buffers[0]) < size:
            buffers = (np.empty(size, dtype=np.float32), torch.empty(size, dtype=torch.float32))
            self._buffers[site] = buffers
        uniforms, mask = buffers[0][:size], buffers[1][:size]
        self._uniforms.random(out=uniforms, dtype=np.float32)
        _keep_mask(uniforms, float(p), _f32(1.0 / (1.0 - p)), mask.numpy())
        return mask.view(shape)


def dropout_mask(
    bit_generator: np.random.BitGenerator, shape: tuple[int, ...], p: float
) -> torch.Tensor:
    """One mask of :class:`DropoutMasks` in a tensor of its own."""
    return DropoutMasks(bit_generator)(None, shape, p)


@jit(**_JIT)
def _unique_items(index, n_inputs, position, rows, inverse, counts):  # pragma: no cover
    """Writes the sorted unique items into ``rows``; returns their number, or -1 when an item
    lies outside the table."""
    n_items = position.shape[0]
    n_unique = 0
    for i in range(index.shape[0]):
        item = index[i]
        if item < 0 or item >= n_items:
            for k in range(n_unique):  # restore the table before giving up
                position[rows[k]] = -1
            return -1
        if position[item] < 0:
            position[item] = n_unique
            rows[n_unique] = item
            n_unique += 1
    if n_items <= 8 * index.shape[0]:  # a scan of the table is cheaper than a sort
        k = 0
        for item in range(n_items):
            if position[item] >= 0:
                rows[k] = item
                k += 1
    else:
        rows[:n_unique] = np.sort(rows[:n_unique])
    for k in range(n_unique):
        position[rows[k]] = k
        counts[k] = 0.0
    for i in range(index.shape[0]):
        u = position[index[i]]
        inverse[i] = u
        if i >= n_inputs:
            counts[u] += 1.0
    for k in range(n_unique):
        position[rows[k]] = -1
    return n_unique


class UniqueItems:
    """The sorted unique items of a step, where each item of the step is among them, and how
    often each stands among the step's columns, in one pass (CPU).

    Equal to ``torch.unique(index, return_inverse=True)`` and a bincount of the inverse past
    the first ``n_inputs`` entries; a lookup table of ``n_items`` entries, kept between calls
    and restored after each, replaces the sort of the whole index.
    """

    def __init__(self, n_items: int) -> None:
        self.n_items = n_items
        self._position = np.full(n_items, -1, dtype=np.int64)

    def __call__(
        self, index: torch.Tensor, n_inputs: int
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """(rows, inverse, counts): ``index == rows[inverse]``; ``counts`` float32 per row."""
        size = len(index)
        rows, inverse = np.empty(size, dtype=np.int64), np.empty(size, dtype=np.int64)
        counts = np.empty(size, dtype=np.float32)
        n_unique = _unique_items(index.numpy(), n_inputs, self._position, rows, inverse, counts)
        if n_unique < 0:
            raise ValueError(f"item indices must lie in [0, {self.n_items})")
        return (
            torch.from_numpy(rows[:n_unique]),
            torch.from_numpy(inverse),
            torch.from_numpy(counts[:n_unique]),
        )
