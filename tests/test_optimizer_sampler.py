import numpy as np
import pytest
import scipy.stats
import torch

from gru4rec_study.models.gru4rec.optimizer import IndexedAdagradM, coalesce_rows, unique_rows
from gru4rec_study.models.gru4rec.sampler import SampleCache

EPS = 1e-6


def test_row_update_by_hand_with_momentum_and_repeated_rows():
    table = torch.tensor([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]], dtype=torch.float64)
    opt = IndexedAdagradM(torch.zeros(1, dtype=torch.float64), {"t": table}, 0.1, momentum=0.5)
    # Row 1 appears twice: its gradients are summed before the single update.
    rows, grad = coalesce_rows(
        torch.tensor([1, 1, 2]),
        torch.tensor([[1.0, 0.0], [1.0, 2.0], [0.5, 0.5]], dtype=torch.float64),
    )
    assert rows.tolist() == [1, 2]
    assert grad.tolist() == [[2.0, 2.0], [0.5, 0.5]]
    opt.step_rows("t", rows, grad)
    step = lambda g, acc: -0.1 * g / np.sqrt(acc + EPS)  # noqa: E731
    v1 = step(2.0, 4.0)  # acc = 2 ** 2, velocity starts at 0
    v2 = step(0.5, 0.25)
    np.testing.assert_allclose(table.numpy(), [[1, 2], [3 + v1, 4 + v1], [5 + v2, 6 + v2]])
    # Second step touches row 2 only: row 1 keeps its value and its (undecayed) velocity.
    opt.step_rows("t", torch.tensor([2]), torch.tensor([[1.0, 1.0]], dtype=torch.float64))
    v2b = 0.5 * v2 + step(1.0, 1.25)
    np.testing.assert_allclose(table[1].numpy(), [3 + v1, 4 + v1])
    np.testing.assert_allclose(table[2].numpy(), [5 + v2 + v2b, 6 + v2 + v2b])
    np.testing.assert_allclose(opt.sparse_vel["t"][1].numpy(), [v1, v1])


def test_dense_update_by_hand_without_momentum():
    param = torch.tensor([1.0, -1.0], dtype=torch.float64)
    opt = IndexedAdagradM(param, {}, 0.5)
    opt.step_dense(torch.tensor([2.0, -1.0], dtype=torch.float64))
    opt.step_dense(torch.tensor([1.0, 0.0], dtype=torch.float64))
    expected0 = 1.0 - 0.5 * 2 / np.sqrt(4 + EPS) - 0.5 * 1 / np.sqrt(5 + EPS)
    expected1 = -1.0 + 0.5 * 1 / np.sqrt(1 + EPS)
    np.testing.assert_allclose(param.numpy(), [expected0, expected1])


def test_frozen_last_column_keeps_value_and_velocity():
    table = torch.ones(2, 3, dtype=torch.float64)
    opt = IndexedAdagradM(torch.zeros(1, dtype=torch.float64), {"t": table}, 0.1, momentum=0.9)
    opt.sparse_vel["t"][:] = 0.25
    grad = torch.full((2, 3), 0.5, dtype=torch.float64)
    grad[1, -1] = 0.0
    opt.step_rows("t", torch.tensor([0, 1]), grad, torch.tensor([False, True]))
    assert table[1, -1].item() == 1.0
    assert opt.sparse_vel["t"][1, -1].item() == 0.25
    assert table[1, 0].item() != 1.0 and table[0, -1].item() != 1.0


def test_unique_rows_equals_torch_unique():
    index = torch.randint(0, 50, (300,))
    rows, inverse = unique_rows(index, 50)
    ref_rows, ref_inverse = torch.unique(index, return_inverse=True)
    assert torch.equal(rows, ref_rows) and torch.equal(inverse, ref_inverse)


def _cache(counts, alpha, n_sample=1000, seed=0):
    g = torch.Generator().manual_seed(seed)
    return SampleCache(np.array(counts), alpha, n_sample, 10_000_000, g, torch.device("cpu"))


@pytest.mark.parametrize("alpha", [0.0, 0.5, 1.0])
def test_samples_follow_support_to_the_power_alpha(alpha):
    counts = np.array([1, 4, 9, 16, 100, 3])
    cache = _cache(counts, alpha)
    draws = torch.cat([cache.next() for _ in range(300)]).numpy()
    observed = np.bincount(draws, minlength=len(counts))
    expected = counts**alpha / (counts**alpha).sum() * len(draws)
    assert scipy.stats.chisquare(observed, expected).pvalue > 1e-3


def test_bucketed_inversion_equals_bisection():
    counts = np.random.default_rng(1).zipf(1.3, 5000).clip(1, 10**6)
    cache = _cache(counts, 0.5)
    u = torch.rand((50, 1000), generator=torch.Generator().manual_seed(3), dtype=torch.float64)
    cache._generator = torch.Generator().manual_seed(3)
    drawn = cache.draw(50)
    reference = torch.searchsorted(cache._cdf, u, right=True)
    assert torch.equal(drawn, reference)
