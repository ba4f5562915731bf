import math

import numpy as np
import pytest
import torch

from gru4rec_study.evaluation import metric_values, target_ranks

SCORES = torch.tensor([[0.5, 0.9, 0.5, 0.1, 0.5]])  # target 0 ties with items 2 and 4


@pytest.mark.parametrize(
    ("policy", "rank"), [("conservative", 4.0), ("standard", 2.0), ("median", 3.0)]
)
def test_tie_policies_by_hand(policy, rank):
    assert target_ranks(SCORES, torch.tensor([0]), policy).item() == rank


def test_ranks_are_the_same_in_any_column_chunk_size():
    scores = torch.randn(50, 1000).round(decimals=1)  # many ties
    targets = torch.randint(0, 1000, (50,))
    for policy in ("conservative", "standard", "median"):
        full = target_ranks(scores, targets, policy)
        for chunk in (1, 7, 333, 5000):
            assert torch.equal(target_ranks(scores, targets, policy, chunk_size=chunk), full)


def test_constant_scores_rank_last_under_conservative_ties():
    scores = torch.ones(1, 10)
    rank = target_ranks(scores, torch.tensor([3]), "conservative")
    assert rank.item() == 10
    assert metric_values(rank.numpy(), [5])["Recall@5"] == 0.0


def test_nan_target_score_ranks_last():
    scores = torch.tensor([[float("nan"), 1.0, 2.0]])
    assert target_ranks(scores, torch.tensor([0]), "standard").item() == 3


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
