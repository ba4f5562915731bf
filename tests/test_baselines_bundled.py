"""Popularity and Markov on the bundled data against a plain pandas/numpy computation."""

import numpy as np
import pandas as pd
import pytest

from gru4rec_study.data import bundled_dataset, encode_sessions, read_events
from gru4rec_study.evaluation import evaluate
from gru4rec_study.models import Markov, Popularity


@pytest.fixture(scope="module")
def frames():
    def read(part):
        return pd.read_csv(bundled_dataset(part), sep="\t", dtype={"ItemId": str})

    train = read("train_full").sort_values(["SessionId", "Time"], kind="stable")
    test = read("test").sort_values(["SessionId", "Time"], kind="stable")
    return train, test


def _pairs(frame):
    same = frame["SessionId"].to_numpy()[1:] == frame["SessionId"].to_numpy()[:-1]
    items = frame["ItemId"].to_numpy()
    return items[:-1][same], items[1:][same]


def _conservative_recall_mrr(scores, targets, cutoff=20):
    target_scores = scores[np.arange(len(targets)), targets]
    ranks = (scores >= target_scores[:, None]).sum(axis=1)
    hit = ranks <= cutoff
    return hit.mean(), np.where(hit, 1.0 / ranks, 0.0).mean()


def test_popularity_and_markov_match_an_independent_computation(frames):
    train_frame, test_frame = frames
    items = pd.Index(pd.unique(train_frame["ItemId"]))
    counts = train_frame["ItemId"].value_counts().reindex(items).to_numpy(np.float64)
    src, dst = _pairs(test_frame)
    prev, targets = items.get_indexer(src), items.get_indexer(dst)
    assert (prev >= 0).all() and (targets >= 0).all() and len(targets) == 10152

    # Popularity: every event gets the same scores.
    pop_recall, pop_mrr = _conservative_recall_mrr(np.tile(counts, (len(targets), 1)), targets)

    # Markov: transition counts from the previous item, popularity below them; popularity alone
    # for an item that never led anywhere.
    a, b = _pairs(train_frame)
    transitions = np.zeros((len(items), len(items)))
    np.add.at(transitions, (items.get_indexer(a), items.get_indexer(b)), 1.0)
    rows = transitions[prev] + counts / (counts.max() + 1.0)
    no_evidence = transitions[prev].sum(axis=1) == 0
    rows[no_evidence] = counts
    mk_recall, mk_mrr = _conservative_recall_mrr(rows, targets)

    train = encode_sessions(read_events(bundled_dataset("train_full")))
    test = encode_sessions(read_events(bundled_dataset("test")), train.item_map, 2)
    pop = evaluate(Popularity().fit(train), test).metrics
    mk = evaluate(Markov().fit(train), test).metrics
    assert pop["Recall@20"] == pytest.approx(pop_recall, abs=1e-12)
    assert pop["MRR@20"] == pytest.approx(pop_mrr, abs=1e-12)
    assert mk["Recall@20"] == pytest.approx(mk_recall, abs=1e-12)
    assert mk["MRR@20"] == pytest.approx(mk_mrr, abs=1e-12)
