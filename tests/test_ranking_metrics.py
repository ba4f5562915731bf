import math

import numpy as np
import pytest
import torch

from gru4rec_study.evaluation import metric_values, target_ranks

SCORES = torch.tensor([[0.5, 0.9, 0.5, 0.1, 0.5]])  # target 0 ties with items 2 and 4
# The compiled CPU loop and the chunked in-place comparisons (the path off the CPU).
COUNTING = pytest.mark.parametrize("compiled", [True, False], ids=["loop", "chunks"])


@COUNTING
@pytest.mark.parametrize(
    ("policy", "rank"), [("conservative", 4.0), ("standard", 2.0), ("median", 3.0)]
)
def test_tie_policies_by_hand(policy, rank, compiled):
    assert target_ranks(SCORES, torch.tensor([0]), policy, compiled=compiled).item() == rank


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_ranks_equal_a_numpy_count_by_either_route_and_any_chunk_size(dtype):
    scores = torch.randn(50, 1000, dtype=dtype).round(decimals=1)  # many ties
    targets = torch.randint(0, 1000, (50,))
    values = scores.numpy()
    target = values[np.arange(50), targets.numpy()][:, None]
    greater, at_least = (values > target).sum(1), (values >= target).sum(1)
    expected = {
        "conservative": at_least,
        "standard": 1 + greater,
        "median": 1 + greater + (at_least - greater - 1) / 2,
    }
    for policy in ("conservative", "standard", "median"):
        ranks = target_ranks(scores, targets, policy, compiled=True)
        np.testing.assert_array_equal(ranks.numpy(), expected[policy])
        for chunk in (1, 7, 333, 5000):
            chunked = target_ranks(scores.clone(), targets, policy, chunk, True, compiled=False)
            assert torch.equal(chunked, ranks)


def test_the_compiled_loop_leaves_the_scores_alone():
    scores = torch.randn(4, 30)
    before = scores.clone()
    target_ranks(scores, torch.tensor([0, 1, 2, 3]), "median", overwrite=True)
    assert torch.equal(scores, before)


@COUNTING
def test_constant_scores_rank_last_under_conservative_ties(compiled):
    scores = torch.ones(1, 10)
    rank = target_ranks(scores, torch.tensor([3]), "conservative", compiled=compiled)
    assert rank.item() == 10
    assert metric_values(rank.numpy(), [5])["Recall@5"] == 0.0


@COUNTING
def test_nan_target_score_ranks_last(compiled):
    scores = torch.tensor([[float("nan"), 1.0, 2.0]])
    assert target_ranks(scores, torch.tensor([0]), "standard", compiled=compiled).item() == 3


def test_unknown_tie_policy_is_an_error():
    with pytest.raises(ValueError, match="tie policy"):
        target_ranks(SCORES, torch.tensor([0]), "optimistic")


def test_metrics_by_hand():
    ranks = np.array([1.0, 3.0, 25.0, 10.0])
    values = metric_values(ranks, [5, 10, 20])
    assert values["Recall@5"] == pytest.approx(2 / 4)
    assert values["Recall@10"] == pytest.approx(3 / 4)
    assert values["Recall@20"] == pytest.approx(3 / 4)
    assert values["MRR@5"] == pytest.approx((1 + 1 / 3) / 4)
    assert values["MRR@20"] == pytest.approx((1 + 1 / 3 + 1 / 10) / 4)
    assert values["NDCG@5"] == pytest.approx((1 + 1 / math.log2(4)) / 4)
    assert values["NDCG@10"] == pytest.approx((1 + 1 / math.log2(4) + 1 / math.log2(11)) / 4)


def test_metrics_of_no_events_are_undefined():
    values = metric_values(np.array([]), [5, 20])
    assert values == {f"{m}@{k}": None for k in (5, 20) for m in ("Recall", "MRR", "NDCG")}


def test_bad_cutoff_is_an_error():
    with pytest.raises(ValueError, match="cutoffs"):
        metric_values(np.array([1.0]), [0])
