import math

import numpy as np
import pandas as pd
import pytest
import scipy.stats
import torch

from gru4rec_study.data import encode_sessions
from gru4rec_study.evaluation import SampledEvaluation, bootstrap_ci, evaluate, paired_test
from gru4rec_study.evaluation.sampled import NegativeSampler, sampled_ranks
from gru4rec_study.evaluation.statistics import per_event_values, significance_table
from gru4rec_study.models import Markov, Popularity

from conftest import synthetic_sessions


def test_per_event_values_by_hand():
    ranks = np.array([1.0, 3.0, 25.0])
    assert per_event_values(ranks, "Recall@20").tolist() == [1.0, 1.0, 0.0]
    assert per_event_values(ranks, "MRR@20").tolist() == pytest.approx([1.0, 1 / 3, 0.0])
    assert per_event_values(ranks, "NDCG@5").tolist() == pytest.approx([1.0, 0.5, 0.0])
    with pytest.raises(ValueError, match="unknown metric"):
        per_event_values(ranks, "Precision@5")


def test_bootstrap_interval_resamples_sessions():
    rng = np.random.default_rng(0)
    sessions = np.repeat(np.arange(400), 3)
    session_means = rng.random(400)
    values = np.repeat(session_means, 3)
    low, high = bootstrap_ci(values, sessions, n_resamples=2000, seed=1)
    assert low < values.mean() < high
    # Three identical events per session: the width is that of 400 means, not of 1,200 events.
    half_width = 1.96 * session_means.std(ddof=1) / np.sqrt(400)
    assert (high - low) / 2 == pytest.approx(half_width, rel=0.15)
    assert bootstrap_ci(values, sessions, seed=1) == bootstrap_ci(values, sessions, seed=1)
    assert bootstrap_ci(np.array([]), np.array([], dtype=np.int64)) is None


def test_paired_test_equals_scipy_on_session_means():
    rng = np.random.default_rng(3)
    sessions = rng.integers(0, 50, size=600)
    a, b = rng.random(600), rng.random(600) * 0.9
    frame = pd.DataFrame({"s": sessions, "a": a, "b": b}).groupby("s").mean()
    result = paired_test(a, b, sessions)
    assert result["t_test_p"] == pytest.approx(scipy.stats.ttest_rel(frame["a"], frame["b"]).pvalue)
    assert result["n_sessions"] == 50 and result["n_events"] == 600
    assert paired_test(a, a, sessions)["t_test_p"] == 1.0


def test_significance_table_covers_every_pair_and_metric():
    ranks = {
        "A": np.array([1.0, 2.0, 30.0, 1.0]),
        "B": np.array([5.0, 40.0, 40.0, 2.0]),
        "C": np.array([1.0, 1.0, 1.0, 1.0]),
    }
    rows = significance_table(ranks, np.array([0, 0, 1, 2]))
    assert len(rows) == 3 * 2
    assert {(r["model_a"], r["model_b"]) for r in rows} == {("A", "B"), ("A", "C"), ("B", "C")}


def test_sampled_ranks_by_hand():
    scores = torch.tensor([[0.5, 0.9, 0.5, 0.1, 0.5], [0.5, 0.9, 0.5, 0.1, 0.5]])
    targets = torch.tensor([0, 0])
    negatives = np.array([[1, 3], [2, 4]])
    assert sampled_ranks(scores, targets, negatives, "conservative").tolist() == [2.0, 3.0]
    assert sampled_ranks(scores, targets, negatives, "standard").tolist() == [2.0, 1.0]
    assert sampled_ranks(scores, targets, negatives, "median").tolist() == [2.0, 2.0]


def test_negatives_never_hit_the_target_and_follow_the_seed():
    spec = SampledEvaluation(n_negatives=4, seed=5)
    targets = np.array([0, 1, 2, 0, 1])
    draws = NegativeSampler(spec, 5, None).draw(targets)
    assert draws.shape == (5, 4)
    assert not (draws == targets[:, None]).any()
    np.testing.assert_array_equal(draws, NegativeSampler(spec, 5, None).draw(targets))


def test_more_negatives_than_items_is_a_clear_error():
    with pytest.raises(ValueError, match="n_negatives = 10 but the catalogue has only 5 items"):
        NegativeSampler(SampledEvaluation(n_negatives=10), 5, None)
    with pytest.raises(ValueError, match="training item counts"):
        NegativeSampler(SampledEvaluation(distribution="popularity"), 500, None)


def test_sampled_metrics_are_at_least_the_full_ones():
    events = synthetic_sessions(400, 60, seed=4)
    ids = events["session_id"].astype(int)
    train = encode_sessions(events[ids < 300])
    test = encode_sessions(events[ids >= 300], train.item_map, min_session_length=2)
    for distribution in ("uniform", "popularity"):
        spec = SampledEvaluation(n_negatives=20, distribution=distribution, seed=2)
        for model in (Popularity().fit(train), Markov().fit(train)):
            result = evaluate(model, test, sampled=spec, item_counts=train.item_counts())
            assert (result.sampled_ranks <= result.ranks).all()
            assert result.sampled_metrics["Recall@5"] >= result.metrics["Recall@5"]
            again = evaluate(model, test, sampled=spec, item_counts=train.item_counts())
            np.testing.assert_array_equal(again.sampled_ranks, result.sampled_ranks)


def test_coverage_and_popularity_at_k_by_hand():
    from conftest import events_frame

    # Supports 4, 3, 2, 1 for items a, b, c, d.
    rows = [(f"s{i}", item, i) for i, item in enumerate("aaaabbbccd")]
    rows = [(s, item, t) for s, item, t in rows] + [(f"s{i}", "x", i + 0.5) for i in range(10)]
    train = encode_sessions(events_frame(rows))
    test = encode_sessions(
        events_frame([("t", "a", 100), ("t", "b", 101), ("t", "c", 102)]),
        train.item_map,
        min_session_length=2,
    )
    result = evaluate(
        Popularity().fit(train),
        test,
        cutoffs=(1, 2),
        beyond_accuracy=True,
        item_counts=train.item_counts(),
    )
    # x (support 10) then a (4) top every list; 5 items in the catalogue.
    assert result.beyond_accuracy["Coverage@1"] == pytest.approx(1 / 5)
    assert result.beyond_accuracy["Coverage@2"] == pytest.approx(2 / 5)
    assert result.beyond_accuracy["Popularity@1"] == pytest.approx(1.0)
    assert result.beyond_accuracy["Popularity@2"] == pytest.approx((1.0 + 0.4) / 2)
    with pytest.raises(ValueError, match="item counts"):
        evaluate(Popularity().fit(train), test, beyond_accuracy=True)


def test_holm_adjustment_by_hand():
    from gru4rec_study.evaluation.statistics import holm

    adjusted = holm([0.01, 0.04, None, 0.03])
    # Sorted 0.01, 0.03, 0.04 with 3 tests: 0.03, max(0.03, 0.06), max(0.06, 0.04).
    assert adjusted[2] is None
    assert adjusted[0] == pytest.approx(0.03)
    assert adjusted[3] == pytest.approx(0.06)
    assert adjusted[1] == pytest.approx(0.06)


def test_wilcoxon_with_tied_differences_is_the_normal_approximation_by_hand():
    # 30 sessions of one event: model A hits 20 of them, B 8 (4 both): 16 +1s, 4 -1s, 10 zeros.
    a = np.array([1.0] * 20 + [0.0] * 10)
    b = np.array([1.0] * 4 + [0.0] * 16 + [1.0] * 4 + [0.0] * 6)
    result = paired_test(a, b, np.arange(30))
    k, positives = 20, 16  # non-zero differences, all of magnitude 1: one tie group of k
    t_plus = positives * (k + 1) / 2
    mean = k * (k + 1) / 4
    var = k * (k + 1) * (2 * k + 1) / 24 - (k**3 - k) / 48
    z = (t_plus - mean) / math.sqrt(var)
    assert result["wilcoxon_p"] == pytest.approx(math.erfc(abs(z) / math.sqrt(2)), rel=1e-9)
