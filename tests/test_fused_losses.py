"""The compiled CPU losses against the eager forms (themselves pinned to numpy and autograd)."""

import numpy as np
import pytest
import torch

from gru4rec_study.models.gru4rec import fused_losses, losses


def _merged_case(seed, n=16, n_unique=40, n_sample=30, scale=2.0):
    """Scores of n rows on unique items, with repeated targets and samples, a target that is
    also a sample, and items that fill no column (inputs only)."""
    g = torch.Generator().manual_seed(seed)
    targets = torch.randint(0, n_unique - 5, (n,), generator=g)
    samples = torch.randint(0, n_unique - 5, (n_sample,), generator=g)
    index = torch.cat([targets, samples])  # items n_unique - 5 .. n_unique - 1 are absent
    scores = torch.randn(n, n_unique, generator=g) * scale
    log_q = torch.rand(len(index), generator=g) * 3.0
    return scores, index, log_q, losses.Columns(n, index, n_unique)


def _close(fused, eager, rtol=2e-5):
    assert fused[0].item() == pytest.approx(eager[0].item(), rel=rtol)
    np.testing.assert_allclose(fused[1].numpy(), eager[1].numpy(), rtol=rtol, atol=1e-7)


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("with_log_q", [False, True])
def test_cross_entropy_equals_the_eager_form(seed, with_log_q):
    scores, _, log_q, columns = _merged_case(seed)
    log_q = log_q if with_log_q else None
    fused = fused_losses.cross_entropy(scores, log_q, columns)
    _close(fused, losses.cross_entropy(scores.clone(), log_q, columns))
    absent = columns.counts == 0
    assert absent.any() and torch.all(fused[1][:, absent] == 0)  # exactly zero


@pytest.mark.parametrize("seed", [0, 1])
@pytest.mark.parametrize(("elu", "bpreg"), [(0.0, 0.0), (0.5, 1.0), (1.0, 0.9), (0.0, 2.0)])
def test_bpr_max_equals_the_eager_form(seed, elu, bpreg):
    scores, _, _, columns = _merged_case(seed)
    fused = fused_losses.bpr_max(scores, elu, bpreg, columns)
    _close(fused, losses.bpr_max(scores.clone(), elu, bpreg, columns))
    absent = columns.counts == 0
    assert torch.all(fused[1][:, absent] == 0)


@pytest.mark.parametrize("loss", ["cross-entropy", "bpr-max"])
def test_extreme_scores_stay_finite_and_equal(loss):
    """Scores of +-60: every exponent floor and the clamps of the exponential are reached."""
    scores, _, log_q, columns = _merged_case(3, scale=60.0)
    if loss == "cross-entropy":
        fused = fused_losses.cross_entropy(scores, log_q, columns)
        eager = losses.cross_entropy(scores.clone(), log_q, columns)
    else:
        fused = fused_losses.bpr_max(scores, 1.0, 0.9, columns)
        eager = losses.bpr_max(scores.clone(), 1.0, 0.9, columns)
    assert torch.isfinite(fused[1]).all()
    _close(fused, eager, rtol=1e-4)


@pytest.mark.parametrize("bad", [float("nan"), float("inf")])
def test_a_nan_or_infinite_score_makes_the_loss_nan(bad):
    scores, _, log_q, columns = _merged_case(4)
    scores[2, 5] = bad
    assert torch.isnan(fused_losses.cross_entropy(scores, log_q, columns)[0])
    assert torch.isnan(fused_losses.bpr_max(scores, 1.0, 0.5, columns)[0])


def test_the_exponential_is_within_one_ulp_of_numpy():
    points = [np.linspace(-87, 88, 200_001), [-30.0, 0.0, 1e-8, -1e-8]]
    x = np.concatenate(points).astype(np.float32)
    got = fused_losses.exp_values(torch.from_numpy(x))
    expected = np.exp(x.astype(np.float64))
    ulp = np.spacing(expected.astype(np.float32)).astype(np.float64)
    assert np.max(np.abs(got.numpy() - expected) / ulp) <= 1.0
    assert np.isnan(fused_losses.exp_values(torch.tensor([float("nan")])).numpy()[0])
