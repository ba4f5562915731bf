import numpy as np
import pytest
import scipy.stats
import torch

from gru4rec_study.models.gru4rec import kernels
from gru4rec_study.models.gru4rec.optimizer import IndexedAdagradM, coalesce_rows, unique_rows
from gru4rec_study.models.gru4rec.sampler import SampleCache

EPS = 1e-6

# The eager path in float64, and float32 with and without the fused CPU loops.
PATHS = pytest.mark.parametrize(
    "dtype, fused",
    [(torch.float64, None), (torch.float32, True), (torch.float32, False)],
    ids=["float64-eager", "float32-fused", "float32-eager"],
)


@PATHS
def test_row_update_by_hand_with_momentum_and_repeated_rows(dtype, fused):
    table = torch.tensor([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]], dtype=dtype)
    opt = IndexedAdagradM(torch.zeros(1, dtype=dtype), {"t": table}, 0.1, 0.5, fused=fused)
    assert opt.fused is bool(fused)
    # Row 1 appears twice: its gradients are summed before the single update.
    rows, grad = coalesce_rows(
        torch.tensor([1, 1, 2]),
        torch.tensor([[1.0, 0.0], [1.0, 2.0], [0.5, 0.5]], dtype=dtype),
    )
    assert rows.tolist() == [1, 2]
    assert grad.tolist() == [[2.0, 2.0], [0.5, 0.5]]
    opt.step_rows("t", rows, grad)
    step = lambda g, acc: -0.1 * g / np.sqrt(acc + EPS)  # noqa: E731
    v1 = step(2.0, 4.0)  # acc = 2 ** 2, velocity starts at 0
    v2 = step(0.5, 0.25)
    close = {"rtol": 1e-6 if dtype == torch.float32 else 1e-12}
    np.testing.assert_allclose(table.numpy(), [[1, 2], [3 + v1, 4 + v1], [5 + v2, 6 + v2]], **close)
    # Second step touches row 2 only: row 1 keeps its value and its (undecayed) velocity.
    opt.step_rows("t", torch.tensor([2]), torch.tensor([[1.0, 1.0]], dtype=dtype))
    v2b = 0.5 * v2 + step(1.0, 1.25)
    np.testing.assert_allclose(table[1].numpy(), [3 + v1, 4 + v1], **close)
    np.testing.assert_allclose(table[2].numpy(), [5 + v2 + v2b, 6 + v2 + v2b], **close)
    np.testing.assert_allclose(opt.sparse_vel["t"][1].numpy(), [v1, v1], **close)


@PATHS
@pytest.mark.parametrize("momentum", [0.0, 0.3])
def test_dense_update_by_hand(dtype, fused, momentum):
    param = torch.tensor([1.0, -1.0], dtype=dtype)
    opt = IndexedAdagradM(param, {}, 0.5, momentum, fused=fused)
    opt.step_dense(torch.tensor([2.0, -1.0], dtype=dtype))
    opt.step_dense(torch.tensor([1.0, 0.0], dtype=dtype))
    first = np.array([-0.5 * 2 / np.sqrt(4 + EPS), 0.5 * 1 / np.sqrt(1 + EPS)])
    second = np.array([-0.5 * 1 / np.sqrt(5 + EPS), 0.0]) + momentum * first
    np.testing.assert_allclose(param.numpy(), np.array([1.0, -1.0]) + first + second, rtol=1e-6)
    np.testing.assert_allclose(opt.dense_acc.numpy(), [5.0, 1.0], rtol=1e-7)


@pytest.mark.parametrize("momentum", [0.0, 0.4])
def test_fused_updates_equal_the_eager_ones(momentum):
    """Fifty random steps on dense weights and on a table, with the last column's gradient
    inside the row gradients or given apart: the fused and eager paths stay within float32
    rounding of each other (the fused loop divides where the eager path multiplies by rsqrt),
    and each path gives the same bits whichever way the last column comes."""
    g = torch.Generator().manual_seed(3)
    dense, table = torch.randn(5000, generator=g), torch.randn(300, 17, generator=g)
    opts = {
        (fused, apart): IndexedAdagradM(dense.clone(), {"t": table.clone()}, 0.05, momentum, fused)
        for fused in (True, False)
        for apart in (True, False)
    }
    for _ in range(50):
        grad = torch.randn(5000, generator=g)
        rows = torch.unique(torch.randint(0, 300, (120,), generator=g))
        row_grad = torch.randn(len(rows), 17, generator=g)
        frozen = torch.rand(len(rows), generator=g) < 0.3
        row_grad[frozen, -1] = 0.0
        for (_, apart), opt in opts.items():
            opt.step_dense(grad)
            if apart:
                opt.step_rows("t", rows, row_grad[:, :-1], frozen, row_grad[:, -1].clone())
            else:
                opt.step_rows("t", rows, row_grad, frozen)
    for fused in (True, False):
        assert torch.equal(opts[fused, True].sparse["t"], opts[fused, False].sparse["t"])
    fused, eager = opts[True, False], opts[False, False]
    torch.testing.assert_close(fused.dense, eager.dense, rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(fused.sparse["t"], eager.sparse["t"], rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(fused.sparse_acc["t"], eager.sparse_acc["t"], rtol=1e-6, atol=0)
    assert not torch.equal(fused.sparse["t"], table)


def test_fused_updates_refuse_other_parameters():
    with pytest.raises(ValueError, match="float32 CPU"):
        IndexedAdagradM(torch.zeros(3, dtype=torch.float64), {}, 0.1, fused=True)
    assert not IndexedAdagradM(torch.zeros(3, dtype=torch.float64), {}, 0.1).fused


@PATHS
def test_frozen_last_column_keeps_value_and_velocity(dtype, fused):
    table = torch.ones(2, 3, dtype=dtype)
    opt = IndexedAdagradM(torch.zeros(1, dtype=dtype), {"t": table}, 0.1, 0.9, fused=fused)
    opt.sparse_vel["t"][:] = 0.25
    grad = torch.full((2, 3), 0.5, dtype=dtype)
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


@pytest.mark.parametrize("n_items", [50, 5000])  # a scan of the table, a sort of the items
def test_unique_items_equal_torch_unique_and_a_bincount_on_every_call(n_items):
    unique = kernels.UniqueItems(n_items)
    g = torch.Generator().manual_seed(2)
    for size, n_inputs in [(300, 40), (7, 0), (120, 120), (1, 0)]:
        index = torch.randint(0, n_items, (size,), generator=g)
        rows, inverse, counts = unique(index, n_inputs)
        ref_rows, ref_inverse = torch.unique(index, return_inverse=True)
        assert torch.equal(rows, ref_rows) and torch.equal(inverse, ref_inverse)
        ref_counts = torch.bincount(ref_inverse[n_inputs:], minlength=len(ref_rows)).float()
        assert torch.equal(counts, ref_counts)
    for bad in (n_items, -1):
        with pytest.raises(ValueError, match=rf"\[0, {n_items}\)"):
            unique(torch.tensor([3, 7, bad]), 0)
    rows, inverse, _ = unique(torch.tensor([4, 7, 4]), 1)  # the table was restored
    assert rows.tolist() == [4, 7] and inverse.tolist() == [0, 1, 0]


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


@pytest.mark.parametrize("p", [0.1, 0.4, 0.75])
def test_dropout_mask_keeps_with_probability_one_minus_p(p):
    mask = kernels.dropout_mask(np.random.PCG64(5), (300, 1000), p)
    values = set(np.unique(mask.numpy()).tolist())
    assert values == {0.0, np.float32(1.0 / (1.0 - p))}
    kept = int((mask > 0).sum())
    assert scipy.stats.binomtest(kept, mask.numel(), 1.0 - p).pvalue > 1e-3
    again = kernels.dropout_mask(np.random.PCG64(5), (300, 1000), p)
    assert torch.equal(mask, again)


def test_dropout_mask_follows_the_24_bit_uniforms_of_its_draws():
    """Entry k is kept exactly when numpy's float32 uniform from the same 32 bits is >= p."""
    words = np.random.PCG64(9).random_raw(5000)
    uniforms = (words.view(np.uint32) >> 8).astype(np.float64) / 2**24
    mask = kernels.dropout_mask(np.random.PCG64(9), (10_000,), 0.3)
    np.testing.assert_array_equal(mask.numpy() > 0, uniforms >= 0.3)


def test_dropout_masks_continue_one_stream_in_buffers_kept_per_site():
    masks = kernels.DropoutMasks(np.random.PCG64(11))
    first = masks("embed", (4, 6), 0.5)
    kept = first.clone()
    second = masks(0, (4, 6), 0.5)
    assert torch.equal(first, kept)  # another site's mask leaves this one as it was
    third = masks("embed", (2, 6), 0.5)  # the shrinking tail: a smaller mask, same buffer
    assert third.data_ptr() == first.data_ptr()
    # Together, the three masks are one mask of the stream's next 60 uniforms.
    whole = kernels.dropout_mask(np.random.PCG64(11), (60,), 0.5)
    assert torch.equal(torch.cat([kept.view(-1), second.view(-1), third.view(-1)]), whole)
