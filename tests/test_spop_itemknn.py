import numpy as np
import pytest

from gru4rec_study.data import encode_sessions
from gru4rec_study.models import ItemKNN, SessionPopularity
from gru4rec_study.models.itemknn import item_similarities

from conftest import events_frame

ROWS = [
    ("s1", "a", 1),
    ("s1", "b", 2),
    ("s1", "a", 3),
    ("s2", "a", 4),
    ("s2", "c", 5),
    ("s3", "b", 6),
    ("s3", "c", 7),
    ("s3", "d", 8),
]


def test_item_similarities_by_hand():
    train = encode_sessions(events_frame(ROWS))
    index = {item: int(train.item_map.lookup([item])[0]) for item in "abcd"}
    sims = item_similarities(train, n_neighbors=10, alpha=0.5, lmbd=1.0).toarray()
    # Sessions holding each item: a 2, b 2, c 2, d 1; a and b share s1, b and c share s3 ...
    expected_ab = 1 / (np.sqrt(2) * np.sqrt(2) + 1)
    expected_cd = 1 / (np.sqrt(2) * np.sqrt(1) + 1)
    assert sims[index["a"], index["b"]] == pytest.approx(expected_ab)
    assert sims[index["c"], index["d"]] == pytest.approx(expected_cd)
    assert sims[index["a"], index["d"]] == 0.0
    assert np.all(np.diag(sims) == 0.0)
    assert np.allclose(sims, sims.T)  # symmetric for alpha = 0.5


def test_item_knn_keeps_the_nearest_neighbours_only():
    train = encode_sessions(events_frame(ROWS))
    sims = item_similarities(train, n_neighbors=1, alpha=0.5, lmbd=0.0)
    assert np.all(np.diff(sims.indptr) <= 1)
    model = ItemKNN(n_neighbors=1, lmbd=0.0, popularity_tiebreak=False).fit(train)
    scores = model.scorer(1).scores(train.item_map.lookup(["d"]))
    # d co-occurs with b and c only (equally): exactly one of them is kept.
    nonzero = {train.item_map.item_ids[i] for i in scores[0].nonzero().view(-1).tolist()}
    assert len(nonzero) == 1 and nonzero <= {"b", "c"}


def test_spop_counts_the_session_then_breaks_ties_by_popularity():
    train = encode_sessions(events_frame(ROWS))
    ids = {item: int(train.item_map.lookup([item])[0]) for item in "abcd"}
    scorer = SessionPopularity().fit(train).scorer(2)
    scorer.scores(np.array([ids["d"], ids["b"]]))
    scores = scorer.scores(np.array([ids["d"], ids["c"]]))
    order0 = [train.item_map.item_ids[i] for i in scores[0].argsort(descending=True).tolist()]
    assert order0[0] == "d"  # seen twice in slot 0
    assert order0[1] == "a"  # then the most popular (a: 3 events)
    scorer.reset(np.array([0]))
    after = scorer.scores(np.array([ids["c"], ids["c"]]))
    assert after[0, ids["d"]] < 1.0  # slot 0 forgot d
    assert after[1, ids["c"]] >= 2.0  # slot 1 has seen c twice


def test_item_knn_orders_dissimilar_items_by_popularity_below_the_similar_ones():
    train = encode_sessions(events_frame(ROWS))
    ids = train.item_map.item_ids
    model = ItemKNN(n_neighbors=10, lmbd=1.0).fit(train)
    scores = model.scorer(1).scores(train.item_map.lookup(["d"]))[0]
    order = [ids[i] for i in scores.argsort(descending=True).tolist()]
    # d is similar to b and c (equally); a is not similar; d itself comes last (support 1).
    assert set(order[:2]) == {"b", "c"} and order[2:] == ["a", "d"]


@pytest.mark.parametrize(
    ("params", "name"),
    [
        ({"n_neighbors": 0}, "n_neighbors"),
        ({"n_neighbors": True}, "n_neighbors"),
        ({"n_neighbors": 10.5}, "n_neighbors"),
        ({"alpha": 2.0}, "alpha"),
        ({"lmbd": -1.0}, "lmbd"),
        ({"n_neighbors": "ten"}, "n_neighbors"),
    ],
)
def test_bad_item_knn_parameters_name_the_parameter(params, name):
    with pytest.raises(ValueError, match=name):
        ItemKNN(**params)
