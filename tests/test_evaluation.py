import dataclasses

import numpy as np
import pytest
import torch

from gru4rec_study.data import encode_sessions, read_events
from gru4rec_study.evaluation import evaluate
from gru4rec_study.models import GRU4Rec, GRU4RecConfig, Markov, Popularity

from conftest import events_frame, write_events

TRAIN = [(s, f"i{(s + k) % 6}", 10 * s + k) for s in range(30) for k in range(4)]


def _train():
    return encode_sessions(events_frame(TRAIN))


def _test(rows, train):
    return encode_sessions(events_frame(rows), train.item_map, min_session_length=2)


def test_one_session_of_three_events_with_a_large_batch():
    train = _train()
    test = _test([("t", "i0", 1), ("t", "i1", 2), ("t", "i2", 3)], train)
    result = evaluate(Markov().fit(train), test, batch_size=100)
    assert result.n_events == 2


@pytest.mark.parametrize("batch_size", [1, 2, 3, 5, 64])
def test_sessions_of_lengths_2_2_6_give_seven_events(batch_size):
    train = _train()
    rows = [("a", "i0", 1), ("a", "i1", 2), ("b", "i2", 3), ("b", "i3", 4)]
    rows += [("c", f"i{k}", 10 + k) for k in range(6)]
    test = _test(rows, train)
    result = evaluate(Markov().fit(train), test, batch_size=batch_size)
    assert result.n_events == 7
    assert sorted(result.event_index.tolist()) == [1, 3, 5, 6, 7, 8, 9]


def test_results_do_not_depend_on_the_evaluation_batch_size(bundled_slice):
    train, test = bundled_slice
    gru = GRU4Rec(GRU4RecConfig(layers=(16,), batch_size=16, n_sample=64, n_epochs=1)).fit(train)
    for model in (Markov().fit(train), gru):
        reference = evaluate(model, test, batch_size=512)
        for batch_size in (1, 7, 100):
            other = evaluate(model, test, batch_size=batch_size)
            np.testing.assert_array_equal(other.ranks, reference.ranks)
            assert other.metrics == reference.metrics


def test_a_target_that_popularity_ranks_25th_is_no_hit_at_20():
    # Items p0..p29 with strictly decreasing support; the target is p24, the 25th.
    rows = []
    for rank in range(30):
        for k in range(60 - rank):
            rows.append((f"s{rank}-{k}", f"p{rank}", k))
            rows.append((f"s{rank}-{k}", f"p{rank}", k + 0.5))
    train = encode_sessions(events_frame(rows))
    test = _test([("t", "p0", 1e6), ("t", "p24", 1e6 + 1)], train)
    result = evaluate(Popularity().fit(train), test)
    assert result.ranks.tolist() == [25.0]
    assert result.metrics["Recall@20"] == 0.0
    assert result.metrics["MRR@20"] == 0.0


def test_unsorted_rows_give_the_same_sessions_transitions_and_metrics(tmp_path):
    sorted_rows = [(1, 10, 100), (1, 11, 101), (1, 12, 102), (2, 20, 105), (2, 21, 106)]
    shuffled = [(2, 20, 105), (1, 10, 100), (2, 21, 106), (1, 11, 101), (1, 12, 102)]
    a = encode_sessions(read_events(write_events(tmp_path / "a.tsv", sorted_rows)))
    b = encode_sessions(read_events(write_events(tmp_path / "b.tsv", shuffled)))

    def names(d):
        return d.item_map.item_ids[d.item_idx].tolist()

    assert names(a) == names(b)
    assert a.session_offsets.tolist() == b.session_offsets.tolist()
    ta, tb = Markov().fit(a).transitions_, Markov().fit(b).transitions_

    def pairs(d, t):
        ids = d.item_map.item_ids
        return {(ids[i], ids[j]): t[i, j] for i, j in zip(*t.nonzero(), strict=True)}

    assert pairs(a, ta) == pairs(b, tb)
    ra, rb = evaluate(Markov().fit(a), a), evaluate(Markov().fit(b), b)
    assert ra.metrics == rb.metrics


def test_no_next_item_events_gives_undefined_metrics():
    train = _train()
    test = encode_sessions(events_frame([("t", "i0", 1)]), train.item_map)
    result = evaluate(Popularity().fit(train), test)
    assert result.n_events == 0
    assert all(v is None for v in result.metrics.values())


def test_unseen_test_items_are_removed_before_evaluation():
    train = _train()
    test = _test(
        [("t", "i0", 1), ("t", "new", 2), ("t", "i1", 3), ("u", "new", 4), ("u", "i2", 5)], train
    )
    assert test.report.n_unknown_item_events == 2
    assert test.report.n_short_sessions == 1
    assert evaluate(Markov().fit(train), test).n_events == 1


class _ConstantScorer:
    def __init__(self, n_items):
        self.n_items = n_items

    def keep(self, mask):
        pass

    def reset(self, slots):
        pass

    def scores(self, items):
        return torch.ones(len(items), self.n_items)


class _Constant:
    """A model that gives every item the same score."""

    name = "Constant"

    def __init__(self, item_map):
        self.item_map = item_map

    def scorer(self, n_slots):
        return _ConstantScorer(self.item_map.n_items)


def test_a_model_with_constant_scores_ranks_the_target_last_under_conservative_ties():
    rows = [(0, f"i{k}", k) for k in range(10)]
    train = encode_sessions(events_frame(rows))
    assert train.n_items == 10
    test = _test([("t", "i3", 100), ("t", "i7", 101)], train)
    result = evaluate(_Constant(train.item_map), test, tie_policy="conservative")
    assert result.ranks.tolist() == [10.0]
    assert result.metrics["Recall@5"] == 0.0
    assert evaluate(_Constant(train.item_map), test, tie_policy="standard").ranks.tolist() == [1.0]
    assert evaluate(_Constant(train.item_map), test, tie_policy="median").ranks.tolist() == [5.5]


class _NanScorer(_ConstantScorer):
    def scores(self, items):
        return torch.full((len(items), self.n_items), float("nan"))


def test_nan_target_scores_are_ranked_last_and_counted_in_a_warning(caplog):
    rows = [(0, f"i{k}", k) for k in range(10)]
    train = encode_sessions(events_frame(rows))
    test = _test([("t", "i3", 100), ("t", "i7", 101), ("t", "i2", 102)], train)
    model = _Constant(train.item_map)
    model.scorer = lambda n_slots: _NanScorer(train.item_map.n_items)
    with caplog.at_level("WARNING", logger="gru4rec_study.evaluation.protocol"):
        result = evaluate(model, test)
    assert result.ranks.tolist() == [10.0, 10.0]
    assert "Constant: 2 of 2 events score their target NaN; they are ranked last" in caplog.text
    caplog.clear()
    with caplog.at_level("WARNING", logger="gru4rec_study.evaluation.protocol"):
        evaluate(_Constant(train.item_map), test)
    assert "NaN" not in caplog.text


def test_the_pipeline_runs_on_numpy_2_and_pandas_2_or_later():
    import pandas as pd

    assert int(np.__version__.split(".")[0]) >= 2
    assert int(pd.__version__.split(".")[0]) >= 2


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"cutoffs": (5, 5)}, "cutoffs must not repeat"),
        ({"cutoffs": (0, 5)}, "cutoffs must be positive"),
        ({"batch_size": 0}, "batch_size must be at least 1"),
    ],
)
def test_bad_evaluation_arguments_name_the_argument(kwargs, message):
    train = _train()
    test = _test([("t", "i0", 1), ("t", "i1", 2)], train)
    with pytest.raises(ValueError, match=message):
        evaluate(Popularity().fit(train), test, **kwargs)


@pytest.mark.parametrize("where", [0, -1])
@pytest.mark.parametrize("value", [-1, 6])
def test_item_indices_outside_the_catalogue_are_named(where, value):
    train = _train()
    test = _test([("t", "i0", 1), ("t", "i1", 2), ("t", "i2", 3)], train)
    item_idx = test.item_idx.copy()
    item_idx[where] = value  # an input (first event) or a target (last event) out of range
    bad = dataclasses.replace(test, item_idx=item_idx)
    with pytest.raises(ValueError, match=r"test item indices must lie in \[0, 6\)"):
        evaluate(Markov().fit(train), bad)
