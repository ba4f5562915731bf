"""Popularity and Markov on the bundled data against a plain pandas/numpy computation."""

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp

from gru4rec_study.data import bundled_dataset, encode_sessions, read_events
from gru4rec_study.evaluation import evaluate
from gru4rec_study.evaluation.protocol import scored_steps
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


# session-rec's figures on this sample (train_full to test, 10,152 events).
SESSION_REC = {  # Recall@20, MRR@20, Coverage@20, Popularity@20
    "AR": (0.6344, 0.3263, 0.9274, 0.1722),
    "SR": (0.6186, 0.3524, 0.9175, 0.1502),
    "SKNN": (0.6423, 0.3206, 0.9171, 0.1812),
    "V-SKNN": (0.6880, 0.3668, 0.9431, 0.1526),
    "V-STAN": (0.6861, 0.3748, 0.9441, 0.1540),
}
# Conservative ties, short lists filled with popular items (popularity_tiebreak): Coverage@20,
# Popularity@20 as docs/deviations.md states them.
OURS = {
    "AR": (0.9284, 0.2049),
    "SR": (0.9144, 0.2221),
    "SKNN": (0.9151, 0.2036),
    "V-SKNN": (0.9427, 0.1712),
    "V-STAN": (0.9437, 0.1726),
}


def _models():
    from gru4rec_study.models import VSKNN, VSTAN, AssociationRules, SequentialRules, SessionKNN

    return {
        "AR": lambda: AssociationRules(),
        "SR": lambda: SequentialRules(steps=20, weighting="quadratic"),
        "SKNN": lambda: SessionKNN(k=100, sample_size=500),
        "V-SKNN": lambda: VSKNN(
            500, 5000, weighting="quadratic", weighting_score="div", idf_weighting=5.0
        ),
        "V-STAN": lambda: VSTAN(k=500, sample_size=5000),
    }


def _session_rec_rules(frame, items, steps=None, pruning=20):
    """Rules as session-rec mines and prunes them, over ``frame`` in its row order.

    AR (``steps`` None) counts every pair of clicks of a session both ways; SR adds 1/gap**2 to
    earlier -> later within ``steps`` clicks. Each item keeps its ``pruning`` strongest rules,
    equal weights going to the rule created first while reading the rows in order (the order a
    dict keeps its keys in and a stable sort leaves ties in).
    """
    item = items.get_indexer(frame["ItemId"])
    session = frame["SessionId"].to_numpy()
    row = np.arange(len(frame))
    start = np.r_[0, np.flatnonzero(session[1:] != session[:-1]) + 1]
    offset = row - np.repeat(start, np.diff(np.r_[start, len(frame)]))
    longest = int(offset.max()) + 1
    parts = []
    for gap in range(1, (steps or longest - 1) + 1):
        same = session[gap:] == session[:-gap]
        early, late = row[:-gap][same], row[gap:][same]
        if steps:  # created at the later click, nearest earlier click first
            parts.append((item[early], item[late], 1.0 / gap**2, late * longest + gap))
        else:  # created at the later click, earliest click first, both directions at once
            created = late * longest + offset[early]
            parts.append((item[early], item[late], 1.0, created))
            parts.append((item[late], item[early], 1.0, created))
    rules = pd.DataFrame(
        {
            "a": np.concatenate([p[0] for p in parts]),
            "b": np.concatenate([p[1] for p in parts]),
            "w": np.concatenate([np.broadcast_to(p[2], len(p[0])) for p in parts]),
            "created": np.concatenate([p[3] for p in parts]),
        }
    )
    rules = rules.groupby(["a", "b"]).agg(w=("w", "sum"), created=("created", "min"))
    rules = rules.reset_index().sort_values(["a", "w", "created"], ascending=[True, False, True])
    rules = rules[rules.groupby("a").cumcount() < pruning]
    shape = (len(items), len(items))
    return sp.csr_matrix((rules["w"], (rules["a"], rules["b"])), shape=shape)


def _session_rec_lists(model, test, item_order, cutoff=20):
    """Top lists as session-rec's evaluation builds them: every item's score (0 without a vote)
    in a pandas Series over the training items in order of first appearance (``item_order``),
    sorted descending; its first ``cutoff`` entries. Returns the lists and the targets."""
    lists, targets = [], []
    for scores, positions in scored_steps(model, test, 512):
        for row in scores.numpy()[:, item_order]:
            top = pd.Series(row).sort_values(ascending=False).index.to_numpy()[:cutoff]
            lists.append(item_order[top])
        targets.append(test.item_idx[positions])
    return np.array(lists), np.concatenate(targets)


@pytest.fixture(scope="module")
def bundled():
    train = encode_sessions(read_events(bundled_dataset("train_full")))
    test = encode_sessions(read_events(bundled_dataset("test")), train.item_map, 2)
    return train, test


@pytest.mark.parametrize("name", list(SESSION_REC))
def test_top_lists_filled_as_session_rec_fills_them_match_session_rec(name, bundled, frames):
    train, test = bundled
    recall, mrr, coverage, popularity = SESSION_REC[name]
    counts = train.item_counts()

    # Ours: conservative ties, short lists filled with the most popular items.
    model = _models()[name]().fit(train)
    result = evaluate(model, test, beyond_accuracy=True, item_counts=counts)
    assert abs(result.metrics["Recall@20"] - recall) <= 0.005
    if name != "AR":  # AR's integer counts tie; conservative is below session-rec's order
        assert abs(result.metrics["MRR@20"] - mrr) <= 0.005
    assert result.beyond_accuracy["Coverage@20"] == pytest.approx(OURS[name][0], abs=5e-5)
    assert result.beyond_accuracy["Popularity@20"] == pytest.approx(OURS[name][1], abs=5e-5)

    # session-rec's: the same scores, 0 without a vote, items in its order (training rows sorted
    # by session id, then time); the rule baselines pruned with its tie order.
    frame = frames[0]
    items = pd.Index(train.item_map.item_ids)
    item_order = items.get_indexer(pd.unique(frame["ItemId"]))
    model.popularity_tiebreak = False
    if name in ("AR", "SR"):
        model.matrix_ = _session_rec_rules(frame, items, None if name == "AR" else 20)
    lists, targets = _session_rec_lists(model, test, item_order)
    hit = lists == targets[:, None]
    assert len(lists) == 10152
    assert abs(hit.any(axis=1).mean() - recall) <= 0.005
    assert abs((hit / np.arange(1, 21)).sum(axis=1).mean() - mrr) <= 0.005
    assert abs(len(np.unique(lists)) / train.n_items - coverage) <= 0.005
    assert abs((counts / counts.max())[lists].mean() - popularity) <= 0.005


def test_stan_is_sensible_on_the_bundled_data():
    from gru4rec_study.models import STAN, SessionKNN

    # No published figure: STAN (session-rec's defaults, k 100) must beat plain SKNN.
    train = encode_sessions(read_events(bundled_dataset("train_full")))
    test = encode_sessions(read_events(bundled_dataset("test")), train.item_map, 2)
    stan = evaluate(STAN(k=100, sample_size=5000).fit(train), test).metrics
    sknn = evaluate(SessionKNN(k=100, sample_size=500).fit(train), test).metrics
    assert stan["Recall@20"] > sknn["Recall@20"] + 0.02
    assert stan["MRR@20"] > sknn["MRR@20"] + 0.02
    assert 0.6 < stan["Recall@20"] < 0.75 and 0.3 < stan["MRR@20"] < 0.45
