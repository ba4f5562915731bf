"""Cross-entropy and BPR-max on the step's unique items as compiled CPU loops, row by row.

The eager forms in :mod:`.losses` make some twenty passes over the (n, U) score matrix; these
loops make four over each row while it sits in the cache, in parallel over rows, with the
same formulas (see :mod:`.losses`) and sums accumulated in float64. Their exponential is a
polynomial that the compiler vectorises (:func:`_exp`: within one float32 ulp of the exact
value on [-87, 88], clamped outside it); the tests compare both losses and gradients with the
eager forms. Constants from other modules come in as arguments, so that numba's cache, which
watches this file only, cannot keep a stale one.
"""

from __future__ import annotations

import numpy as np
import torch
from numba import prange

from gru4rec_study.compiled import jit
from gru4rec_study.models.gru4rec.losses import EPS, Columns

_JIT = {"boundscheck": False, "error_model": "numpy", "nogil": True}
# Sums may be reassociated (so that they vectorise); NaN and infinity keep their meaning.
_FAST = {"fastmath": {"reassoc", "contract"}}
_POW2 = np.array([2.0**k for k in range(-126, 128)], dtype=np.float32)  # 2 ** k for exp
_FLOOR = np.float32(-30.0)  # the exponent floor of the eager forms


@jit(inline="always", **_JIT)
def _exp(x):  # pragma: no cover
    """exp(x) for float32 x: exp(x) = 2 ** k * exp(f) with |f| <= ln(2) / 2, exp(f) a degree-7
    polynomial (the classic single-precision minimax coefficients); NaN stays NaN."""
    y = min(max(x, np.float32(-87.0)), np.float32(88.0)) if x == x else np.float32(0.0)
    k = np.floor(y * np.float32(1.4426950408889634) + np.float32(0.5))
    f = (y - k * np.float32(0.693359375)) - k * np.float32(-2.12194440e-4)
    p = np.float32(1.9875691500e-4)
    p = p * f + np.float32(1.3981999507e-3)
    p = p * f + np.float32(8.3334519073e-3)
    p = p * f + np.float32(4.1665795894e-2)
    p = p * f + np.float32(1.6666665459e-1)
    p = p * f + np.float32(5.0000001201e-1)
    p = p * f * f + f + np.float32(1.0)
    value = p * _POW2[np.int32(k) + 126]
    return value if x == x else x


@jit(**_JIT, fastmath={"nnan", "nsz", "reassoc"})
def _row_max(row, skip):  # pragma: no cover
    """Maximum of ``row`` without entry ``skip`` (-1: none); NaN entries give no meaning to it,
    which the callers catch by their own NaN check."""
    top = -np.inf
    for j in range(row.shape[0]):
        value = row[j] if j != skip else -np.inf
        top = max(top, value)
    return top


@jit(parallel=True, **_JIT, **_FAST)
def _cross_entropy(scores, positives, log_w, log_q_pos, eps, grad, losses):  # pragma: no cover
    n, width = scores.shape
    for i in prange(n):
        check = 0.0  # NaN when any score is NaN or infinite
        for j in range(width):
            check += scores[i, j] * 0.0
            grad[i, j] = scores[i, j] + log_w[j]
        top = _row_max(grad[i], -1)
        total = 0.0
        for j in range(width):
            e = np.float32(0.0)
            if log_w[j] > -np.inf:
                e = _exp(max(grad[i, j] - top, _FLOOR))
            grad[i, j] = e
            total += e
        z = scores[i, positives[i]] - top - log_q_pos[i]
        p_pos = _exp(max(np.float32(z), _FLOOR)) / total
        losses[i] = -np.log(p_pos + eps)
        coef = p_pos / (p_pos + eps)
        scale = np.float32(coef / total)
        for j in range(width):
            grad[i, j] *= scale
        grad[i, positives[i]] -= np.float32(coef)
        if check != 0.0 or total != total:
            losses[i] = np.nan


@jit(parallel=True, **_JIT, **_FAST)
def _bpr_max(
    scores, positives, counts, elu_param, bpreg, eps, r_out, weights, sig, losses
):  # pragma: no cover
    n, width = scores.shape
    alpha = np.float32(elu_param)
    for i in prange(n):
        p = positives[i]
        alone = counts[p] == 1.0  # the positive's column holds no other copy of it
        check = 0.0  # NaN when any score is NaN or infinite
        for j in range(width):
            s = scores[i, j]
            check += s * np.float32(0.0)
            r_out[i, j] = alpha * (_exp(s) - np.float32(1.0)) if (alpha > 0 and s <= 0) else s
        top = _row_max(r_out[i], p if alone else -1)
        r_pos = r_out[i, p]
        total, w_sig, w_sq, w_sig_sq = 0.0, 0.0, 0.0, 0.0
        for j in range(width):
            r = r_out[i, j]
            w = _exp(max(r - np.float32(top), _FLOOR)) * counts[j]
            if j == p:
                w = w * (counts[p] - np.float32(1.0)) / counts[p]
            sg = np.float32(1.0) / (np.float32(1.0) + _exp(r - r_pos))
            weights[i, j] = w
            sig[i, j] = sg
            total += w
            w_sig += w * sg
            w_sq += w * r * r
            w_sig_sq += w * sg * sg
        ranking_sum = w_sig / total  # R - eps
        ranking = ranking_sum + eps
        reg = w_sq / total  # S
        losses[i] = -np.log(ranking) + bpreg * reg
        if check != 0.0 or total != total:
            losses[i] = np.nan
        norm = np.float32(1.0 / total)
        inv = np.float32(1.0 / ranking)
        shift = np.float32(ranking_sum / ranking - bpreg * reg)
        b = np.float32(bpreg)
        for j in range(width):
            r = r_out[i, j]
            sg = sig[i, j]
            inner = b * (r * r + np.float32(2.0) * r) + shift - sg * sg * inv
            g = inner * weights[i, j] * norm
            if j == p:
                g += np.float32((w_sig_sq / total - ranking_sum) / ranking)
            if alpha > 0 and r <= 0:
                g = g * (r + alpha)
            r_out[i, j] = g


def cross_entropy(
    scores: torch.Tensor, log_q: torch.Tensor | None, columns: Columns
) -> tuple[torch.Tensor, torch.Tensor]:
    """:func:`.losses.cross_entropy` on float32 CPU scores (merged columns)."""
    n = scores.shape[0]
    log_w = columns.log_weights(log_q)  # -inf for items that fill no column
    log_q_pos = log_q[:n] if log_q is not None else torch.zeros(n)
    grad = torch.empty_like(scores)
    losses = np.empty(n, dtype=np.float64)
    _cross_entropy(
        scores.contiguous().numpy(),
        columns.positives.contiguous().numpy(),
        log_w.float().contiguous().numpy(),
        log_q_pos.float().contiguous().numpy(),
        EPS,
        grad.numpy(),
        losses,
    )
    return torch.tensor(losses.sum(), dtype=torch.float32), grad


def bpr_max(
    scores: torch.Tensor, elu_param: float, bpreg: float, columns: Columns
) -> tuple[torch.Tensor, torch.Tensor]:
    """:func:`.losses.bpr_max` on float32 CPU scores (merged columns)."""
    n = scores.shape[0]
    grad = torch.empty_like(scores)
    weights, sig = torch.empty_like(scores), torch.empty_like(scores)
    losses = np.empty(n, dtype=np.float64)
    _bpr_max(
        scores.contiguous().numpy(),
        columns.positives.contiguous().numpy(),
        columns.counts.float().contiguous().numpy(),
        float(elu_param),
        float(bpreg),
        EPS,
        grad.numpy(),
        weights.numpy(),
        sig.numpy(),
        losses,
    )
    return torch.tensor(losses.sum(), dtype=torch.float32), grad


@jit(**_JIT)
def _exp_values(x, out):  # pragma: no cover
    for i in range(x.shape[0]):
        out[i] = _exp(x[i])


def exp_values(x: torch.Tensor) -> torch.Tensor:
    """The loops' exponential on a 1-d float32 tensor (for tests and checks)."""
    out = torch.empty_like(x)
    _exp_values(x.contiguous().numpy(), out.numpy())
    return out
