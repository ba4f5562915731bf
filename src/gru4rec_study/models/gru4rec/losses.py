"""GRU4Rec's losses on the (n, n + n_sample) score matrix, with their gradients in closed form.

Row ``i`` holds the scores of slot ``i`` against the mini-batch's targets (columns ``0..n-1``)
followed by the shared negative samples; its positive is column ``i`` (the diagonal). Each
function returns the loss summed over rows and the gradient of that sum with respect to the raw
scores; dividing by the number of rows is the caller's job. The formulas follow Hidasi &
Karatzoglou, "Recurrent neural networks with top-k gains" (CIKM 2018): cross-entropy
(softmax over all columns, with the logQ correction of Yi et al., RecSys 2019) and BPR-max with
score regularisation (equations 7 and 8 there).
"""

from __future__ import annotations

import torch

EPS = 1e-24  # added inside the logarithms, as in the official code


def cross_entropy(
    scores: torch.Tensor, log_q: torch.Tensor | None
) -> tuple[torch.Tensor, torch.Tensor]:
    """Softmax cross-entropy of the diagonal.

    Parameters
    ----------
    scores
        Shape (n, n_cols): raw scores.
    log_q
        Shape (n_cols,): ``logq * log q_j`` subtracted from every column, or None.

    Returns
    -------
    loss (0-dim tensor, summed over rows) and its gradient with respect to ``scores``.
    """
    n = scores.shape[0]
    logits = scores - log_q if log_q is not None else scores.clone()
    logits -= logits.amax(dim=1, keepdim=True)
    # exp(-30) ~ 1e-13 is below float32 resolution next to the row maximum's exp(0) = 1; the
    # clamp keeps exp and the gradients away from subnormal numbers, which are very slow on CPUs.
    exp = logits.clamp_(min=-30.0).exp_()
    total = exp.sum(dim=1)
    p_pos = exp.diagonal()[:n] / total
    loss = -torch.log(p_pos + EPS).sum()

    # d/dz_ij of -log(p_ii + eps) = p_ii / (p_ii + eps) * (p_ij - [i == j])
    coef = p_pos / (p_pos + EPS)
    grad = exp.mul_((coef / total).unsqueeze(1))
    grad.diagonal()[:n] -= coef
    return loss, grad


def bpr_max(
    scores: torch.Tensor, elu_param: float, bpreg: float
) -> tuple[torch.Tensor, torch.Tensor]:
    """BPR-max with score regularisation, on ELU-transformed scores.

    L_i = -log(sum_j s_ij * sigmoid(r_ii - r_ij) + eps) + bpreg * sum_j s_ij * r_ij ** 2, where
    r = ELU(scores) (identity when ``elu_param`` is 0) and s_i is the softmax of r_i over the
    negatives (j != i).

    Returns
    -------
    loss (0-dim tensor, summed over rows) and its gradient with respect to ``scores``.
    """
    n = scores.shape[0]
    r = torch.nn.functional.elu(scores, alpha=elu_param) if elu_param > 0 else scores
    diag_mask = torch.zeros_like(r, dtype=torch.bool)
    diag_mask.diagonal()[:n] = True

    # Softmax weights over the negatives: the positive gets weight 0 (the floor of -30 on the
    # exponent would otherwise give it e^-30 of the best negative).
    masked = r.masked_fill(diag_mask, float("-inf"))
    weights = (masked - masked.amax(dim=1, keepdim=True)).clamp_(min=-30.0).exp_()
    weights.masked_fill_(diag_mask, 0.0)
    weights /= weights.sum(dim=1, keepdim=True)
    r_pos = r.diagonal()[:n].unsqueeze(1)
    sig = torch.sigmoid(r_pos - r)
    ranking = (weights * sig).sum(dim=1) + EPS
    r_sq = r * r
    loss = -torch.log(ranking).sum() + bpreg * (weights * r_sq).sum()

    # Gradient with respect to r, column by column (j != i), then the positive.
    g = bpreg * r_sq - sig / ranking.unsqueeze(1)  # dL/ds_ij
    direct = weights * sig * (1.0 - sig) / ranking.unsqueeze(1)  # through sigmoid(r_ii - r_ij)
    grad_r = weights * (g - (weights * g).sum(dim=1, keepdim=True)) + direct
    grad_r += 2.0 * bpreg * weights * r
    grad_r.diagonal()[:n] = -direct.sum(dim=1)
    if elu_param > 0:
        grad_r = torch.where(scores > 0, grad_r, grad_r * (r + elu_param))
    return loss, grad_r


def _with_autograd(loss_fn, scores: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Loss and its gradient with respect to ``scores`` by autograd (for the legacy losses)."""
    with torch.enable_grad():
        leaf = scores.detach().requires_grad_()
        loss = loss_fn(leaf)
        (grad,) = torch.autograd.grad(loss, leaf)
    return loss.detach(), grad


def _activation(scores: torch.Tensor, elu_param: float) -> torch.Tensor:
    return torch.nn.functional.elu(scores, alpha=elu_param) if elu_param > 0 else scores


def _negative_softmax(r: torch.Tensor) -> torch.Tensor:
    """Softmax of every row over the columns j != i (the positive gets weight 0)."""
    n = r.shape[0]
    mask = torch.zeros_like(r, dtype=torch.bool)
    mask.diagonal()[:n] = True
    return torch.softmax(r.masked_fill(mask, float("-inf")), dim=1)


def top1(scores: torch.Tensor, elu_param: float = 0.0) -> tuple[torch.Tensor, torch.Tensor]:
    """TOP1 (Hidasi et al., ICLR 2016) with the regularising sigmoid(r_ij ** 2) term.

    L_i = mean_j [sigmoid(r_ij - r_ii) + sigmoid(r_ij ** 2)] - sigmoid(r_ii ** 2) / n_cols, the
    mean over all columns including the positive, as in the Theano original.
    """

    def loss_fn(s: torch.Tensor) -> torch.Tensor:
        r = _activation(s, elu_param)
        n, n_cols = r.shape
        r_pos = r.diagonal()[:n].unsqueeze(1)
        terms = torch.sigmoid(r - r_pos) + torch.sigmoid(r * r)
        return (terms.mean(dim=1) - torch.sigmoid(r_pos.squeeze(1) ** 2) / n_cols).sum()

    return _with_autograd(loss_fn, scores)


def top1_max(scores: torch.Tensor, elu_param: float = 0.0) -> tuple[torch.Tensor, torch.Tensor]:
    """TOP1-max (CIKM 2018): sum_j s_ij [sigmoid(r_ij - r_ii) + sigmoid(r_ij ** 2)], s the
    softmax over the negatives."""

    def loss_fn(s: torch.Tensor) -> torch.Tensor:
        r = _activation(s, elu_param)
        n = r.shape[0]
        r_pos = r.diagonal()[:n].unsqueeze(1)
        weights = _negative_softmax(r)
        return (weights * (torch.sigmoid(r - r_pos) + torch.sigmoid(r * r))).sum()

    return _with_autograd(loss_fn, scores)


def bpr(scores: torch.Tensor, elu_param: float = 0.0) -> tuple[torch.Tensor, torch.Tensor]:
    """BPR as in the Theano original: L_i = sum_j -log sigmoid(r_ii - r_ij), over all columns
    including the positive (a constant log 2)."""

    def loss_fn(s: torch.Tensor) -> torch.Tensor:
        r = _activation(s, elu_param)
        n = r.shape[0]
        r_pos = r.diagonal()[:n].unsqueeze(1)
        return -torch.nn.functional.logsigmoid(r_pos - r).sum()

    return _with_autograd(loss_fn, scores)


LEGACY_LOSSES = {"top1": top1, "top1-max": top1_max, "bpr": bpr}  # loss name -> function
