import numpy as np
import pytest
import torch

from gru4rec_study.models.gru4rec import losses

SCORES = np.array(
    [[2.0, 0.5, -1.0, 0.3], [0.1, 1.5, 0.7, -0.4], [-0.2, 0.9, 0.4, 1.1]], dtype=np.float64
)


def _numpy_xe(scores, log_q=None):
    z = scores - (log_q if log_q is not None else 0.0)
    p = np.exp(z - z.max(axis=1, keepdims=True))
    p /= p.sum(axis=1, keepdims=True)
    return -np.log(np.diag(p[:, : len(p)]) + 1e-24).sum()


def _numpy_bpr_max(scores, alpha, reg):
    r = np.where(scores > 0, scores, alpha * (np.exp(scores) - 1)) if alpha > 0 else scores
    total = 0.0
    for i in range(len(r)):
        neg = np.delete(r[i], i)
        s = np.exp(neg - neg.max())
        s /= s.sum()
        sig = 1 / (1 + np.exp(-(r[i, i] - neg)))
        total += -np.log((s * sig).sum() + 1e-24) + reg * (s * neg**2).sum()
    return total


def _autograd(fn, scores):
    leaf = torch.tensor(scores, requires_grad=True)
    fn(leaf).backward()
    return leaf.grad.numpy()


def test_cross_entropy_value_and_gradient_on_3x4_scores():
    loss, grad = losses.cross_entropy(torch.tensor(SCORES), None)
    assert loss.item() == pytest.approx(_numpy_xe(SCORES), rel=1e-12)
    ref = _autograd(
        lambda s: torch.nn.functional.cross_entropy(s, torch.arange(3), reduction="sum"), SCORES
    )
    np.testing.assert_allclose(grad.numpy(), ref, rtol=1e-10, atol=1e-12)


def test_cross_entropy_with_log_q_subtracts_it_from_every_column():
    log_q = np.log(np.array([5.0, 2.0, 9.0, 1.0]))
    loss, grad = losses.cross_entropy(torch.tensor(SCORES), torch.tensor(log_q))
    assert loss.item() == pytest.approx(_numpy_xe(SCORES, log_q), rel=1e-12)
    ref = _autograd(
        lambda s: torch.nn.functional.cross_entropy(
            s - torch.tensor(log_q), torch.arange(3), reduction="sum"
        ),
        SCORES,
    )
    np.testing.assert_allclose(grad.numpy(), ref, rtol=1e-10, atol=1e-12)


def _torch_bpr_max(s, alpha, reg):
    """BPR-max from its definition, for autograd (independent of the closed form)."""
    r = torch.nn.functional.elu(s, alpha) if alpha > 0 else s
    n = len(r)
    total = 0
    for i in range(n):
        neg = torch.cat([r[i, :i], r[i, i + 1 :]])
        w = torch.softmax(neg, 0)
        total = total - torch.log((w * torch.sigmoid(r[i, i] - neg)).sum() + 1e-24)
        total = total + reg * (w * neg**2).sum()
    return total


@pytest.mark.parametrize(("alpha", "reg"), [(0.0, 0.0), (0.5, 1.0), (1.0, 1.85)])
def test_bpr_max_value_and_gradient_on_3x4_scores(alpha, reg):
    loss, grad = losses.bpr_max(torch.tensor(SCORES), alpha, reg)
    assert loss.item() == pytest.approx(_numpy_bpr_max(SCORES, alpha, reg), rel=1e-10)
    ref = _autograd(lambda s: _torch_bpr_max(s, alpha, reg), SCORES)
    np.testing.assert_allclose(grad.numpy(), ref, rtol=1e-8, atol=1e-12)


def test_cross_entropy_by_hand_on_2x2():
    loss, _ = losses.cross_entropy(
        torch.tensor([[1.0, 0.0], [0.0, 0.0]], dtype=torch.float64), None
    )
    expected = -np.log(np.e / (np.e + 1)) - np.log(0.5)
    assert loss.item() == pytest.approx(expected, rel=1e-12)


def _sigmoid(x):
    return 1 / (1 + np.exp(-x))


def _numpy_top1(s):
    n, n_cols = s.shape
    return sum(
        np.mean(_sigmoid(s[i] - s[i, i]) + _sigmoid(s[i] ** 2)) - _sigmoid(s[i, i] ** 2) / n_cols
        for i in range(n)
    )


def _numpy_top1_max(s):
    total = 0.0
    for i in range(len(s)):
        neg = np.delete(s[i], i)
        w = np.exp(neg - neg.max())
        w /= w.sum()
        total += (w * (_sigmoid(neg - s[i, i]) + _sigmoid(neg**2))).sum()
    return total


def _numpy_bpr(s):
    return sum(-np.log(_sigmoid(s[i, i] - s[i])).sum() for i in range(len(s)))


def _finite_difference(fn, scores, h=1e-6):
    grad = np.zeros_like(scores)
    for index in np.ndindex(scores.shape):
        up, down = scores.copy(), scores.copy()
        up[index] += h
        down[index] -= h
        grad[index] = (fn(up) - fn(down)) / (2 * h)
    return grad


@pytest.mark.parametrize(
    ("name", "reference"),
    [("top1", _numpy_top1), ("top1-max", _numpy_top1_max), ("bpr", _numpy_bpr)],
)
def test_legacy_losses_value_and_gradient_on_3x4_scores(name, reference):
    loss, grad = losses.LEGACY_LOSSES[name](torch.tensor(SCORES), 0.0)
    assert loss.item() == pytest.approx(reference(SCORES), rel=1e-12)
    np.testing.assert_allclose(grad.numpy(), _finite_difference(reference, SCORES), atol=1e-7)


@pytest.mark.parametrize("loss", ["cross-entropy", "bpr-max"])
def test_the_merged_form_equals_the_loss_on_the_full_matrix(loss):
    gen = torch.Generator().manual_seed(5)
    n, n_unique = 4, 8
    # Row 0's item is alone; row 1's also fills a sample column; rows 2 and 3 share an item;
    # item 7 fills no column (an input of the step only).
    index = torch.tensor([0, 1, 2, 2, 1, 3, 4, 5, 6, 6, 3])
    unique = torch.randn(n, n_unique, generator=gen, dtype=torch.float64)
    full = unique.index_select(1, index)
    if loss == "cross-entropy":
        log_q = torch.rand(len(index), generator=gen, dtype=torch.float64)
        expected = losses.cross_entropy(full, log_q)
        got = losses.cross_entropy(unique, log_q, losses.Columns(n, index, n_unique))
    else:
        expected = losses.bpr_max(full, 0.5, 0.7)
        got = losses.bpr_max(unique, 0.5, 0.7, losses.Columns(n, index, n_unique))
    summed = torch.zeros_like(unique).index_add_(1, index, expected[1])
    assert got[0].item() == pytest.approx(expected[0].item(), rel=1e-12)
    np.testing.assert_allclose(got[1].numpy(), summed.numpy(), rtol=1e-10, atol=1e-14)
    assert torch.all(got[1][:, 7] == 0)  # exactly: an item that is no column gets no gradient
