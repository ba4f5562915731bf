"""GRU4Rec's losses on the (n, n + n_sample) score matrix, with their gradients in closed form.

Row ``i`` holds the scores of slot ``i`` against the mini-batch's targets (columns ``0..n-1``)
followed by the shared negative samples; its positive is column ``i`` (the diagonal). The
training step passes cross-entropy and BPR-max the scores of the step's unique items instead,
with a :class:`Columns` that says how often each stands in the full matrix. Each
function returns the loss summed over rows and the gradient of that sum with respect to the raw
scores; dividing by the number of rows is the caller's job. The formulas follow Hidasi &
Karatzoglou, "Recurrent neural networks with top-k gains" (CIKM 2018): cross-entropy
(softmax over all columns, with the logQ correction of Yi et al., RecSys 2019) and BPR-max with
score regularisation (equations 7 and 8 there).
"""

from __future__ import annotations

import torch

EPS = 1e-24  # added inside the logarithms, as in the official code


class Columns:
    """How the columns of a score matrix map onto items: the merged form of the losses.

    The step's (n, n + n_sample) score matrix repeats items (a popular sample drawn twice, a
    target that is also a sample). Its losses are computed on the unique items instead:
    ``index[c]`` is the unique column of original column ``c``, and ``index[i]`` for ``i < n``
    that of row ``i``'s positive. A loss over the unique columns, each weighted by the original
    columns it stands for, equals the loss over the original columns, and its gradient arrives
    summed over the repeats. :meth:`diagonal` is the official layout itself.
    """

    def __init__(
        self, n_rows: int, index: torch.Tensor, n_unique: int, counts: torch.Tensor | None = None
    ) -> None:
        """``counts``: the number of entries of ``index`` per unique column, if known."""
        self.index = index
        self.rows = torch.arange(n_rows, device=index.device)
        self.positives = index[:n_rows]
        if counts is None:
            counts = torch.bincount(index, minlength=n_unique).float()
        self.counts = counts
        absent = self.counts == 0  # items of the step that fill no column (inputs only)
        self.absent: torch.Tensor | None = absent if bool(absent.any()) else None

    @classmethod
    def diagonal(cls, scores: torch.Tensor) -> Columns:
        """Every column its own item; row ``i``'s positive in column ``i``."""
        n, n_cols = scores.shape
        return cls(n, torch.arange(n_cols, device=scores.device), n_cols)

    def at_positives(self, matrix: torch.Tensor) -> torch.Tensor:
        """Entry of every row at its positive, shape (n,)."""
        return matrix[self.rows, self.positives]

    def log_weights(self, log_q: torch.Tensor | None) -> torch.Tensor:
        """log sum over the original columns c of each unique column of exp(-log_q[c])."""
        if log_q is None:
            return self.counts.log()
        summed = torch.zeros(len(self.counts), dtype=log_q.dtype, device=log_q.device)
        return summed.index_add_(0, self.index, torch.exp(-log_q)).log_()


def cross_entropy(
    scores: torch.Tensor, log_q: torch.Tensor | None, columns: Columns | None = None
) -> tuple[torch.Tensor, torch.Tensor]:
    """Softmax cross-entropy of every row's positive.

    Parameters
    ----------
    scores
        Shape (n, n_cols): raw scores, of the unique columns when ``columns`` merges them.
    log_q
        Shape (n + n_sample,): ``logq * log q_c`` subtracted from every original column, or
        None; entry ``i < n`` is that of row ``i``'s positive.
    columns
        The merged form (see :class:`Columns`); None: the diagonal layout as it is.

    Returns
    -------
    loss (0-dim tensor, summed over rows) and its gradient with respect to ``scores``.
    """
    n = scores.shape[0]
    columns = columns or Columns.diagonal(scores)
    logits = scores + columns.log_weights(log_q)
    shift = logits.amax(dim=1, keepdim=True)
    # exp(-30) ~ 1e-13 is below float32 resolution next to the row maximum's exp(0) = 1; the
    # clamp keeps exp and the gradients away from subnormal numbers, which are very slow on CPUs.
    exp = logits.sub_(shift).clamp_(min=-30.0).exp_()
    if columns.absent is not None:
        exp.masked_fill_(columns.absent, 0.0)
    total = exp.sum(dim=1)
    positive = columns.at_positives(scores) - shift.view(-1)
    if log_q is not None:
        positive -= log_q[:n]
    p_pos = positive.clamp_(min=-30.0).exp_() / total
    loss = -torch.log(p_pos + EPS).sum()

    # d/dz_ic of -log(p_i + eps) = p_i / (p_i + eps) * (p_ic - [c is the positive])
    coef = p_pos / (p_pos + EPS)
    grad = exp.mul_((coef / total).unsqueeze(1))
    grad[columns.rows, columns.positives] -= coef
    return loss, grad


def _row_dot(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Per-row dot products of two (n, m) matrices."""
    return torch.linalg.vecdot(a, b, dim=1)


def _negative_weights(r: torch.Tensor, columns: Columns) -> torch.Tensor:
    """Softmax of every row over its negatives, each unique column weighted by its repeats.

    The positive's own column is no negative (it counts its other copies only); the floor of
    -30 on the exponent keeps subnormal numbers out.
    """
    masked = r.clone()
    others = columns.counts[columns.positives]  # copies of each row's positive, itself included
    alone = others == 1  # the positive's column stays in the maximum only if it has other copies
    masked[columns.rows[alone], columns.positives[alone]] = float("-inf")
    weights = masked.sub_(masked.amax(dim=1, keepdim=True)).clamp_(min=-30.0).exp_()
    weights.mul_(columns.counts)
    weights[columns.rows, columns.positives] *= (others - 1.0) / others
    return weights.div_(weights.sum(dim=1, keepdim=True))


def bpr_max(
    scores: torch.Tensor, elu_param: float, bpreg: float, columns: Columns | None = None
) -> tuple[torch.Tensor, torch.Tensor]:
    """BPR-max with score regularisation, on ELU-transformed scores.

    L_i = -log(sum_j s_ij * sigmoid(r_ii - r_ij) + eps) + bpreg * sum_j s_ij * r_ij ** 2, where
    r = ELU(scores) (identity when ``elu_param`` is 0) and s_i is the softmax of r_i over the
    negatives (j != i). ``columns`` merges repeated items as for :func:`cross_entropy`.

    With R_i = sum_j s_ij sigmoid_ij + eps and S_i = sum_j s_ij r_ij ** 2, the gradient is, for
    a negative j, s_ij * ((R_i - eps - sigmoid_ij ** 2) / R_i + bpreg * (r_ij ** 2 + 2 r_ij -
    S_i)), and for the positive -(R_i - eps - sum_j s_ij sigmoid_ij ** 2) / R_i.

    Returns
    -------
    loss (0-dim tensor, summed over rows) and its gradient with respect to ``scores``.
    """
    columns = columns or Columns.diagonal(scores)
    r = torch.nn.functional.elu(scores, alpha=elu_param) if elu_param > 0 else scores
    weights = _negative_weights(r, columns)
    sig = torch.sub(columns.at_positives(r).unsqueeze(1), r).sigmoid_()
    weighted_sig = _row_dot(weights, sig)  # R_i - eps
    ranking = weighted_sig + EPS
    loss = -torch.log(ranking).sum()
    inv_ranking = ranking.reciprocal().unsqueeze(1)
    if bpreg > 0:
        r_sq = r * r
        reg = _row_dot(weights, r_sq)  # S_i
        loss = loss + bpreg * reg.sum()
        inner = torch.add(r_sq, r, alpha=2.0).mul_(bpreg)
        inner.add_(weighted_sig.unsqueeze(1) * inv_ranking - bpreg * reg.unsqueeze(1))
    else:
        inner = (weighted_sig.unsqueeze(1) * inv_ranking).expand_as(r).clone()
    sig_sq = sig.mul_(sig)
    inner.addcmul_(sig_sq, inv_ranking, value=-1.0)
    grad_r = inner.mul_(weights)
    positive = (_row_dot(weights, sig_sq) - weighted_sig) * inv_ranking.view(-1)
    grad_r[columns.rows, columns.positives] += positive
    if elu_param > 0:
        # ELU's derivative from its output: 1 where scores > 0, r + elu_param elsewhere.
        grad_r = torch.ops.aten.elu_backward(grad_r, elu_param, 1.0, 1.0, True, r)
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
