import numpy as np
import pytest

from gru4rec_study.data import bundled_dataset, encode_sessions, read_events
from gru4rec_study.evaluation import evaluate
from gru4rec_study.models import SessionKNN

from conftest import KNN_ROWS as ROWS
from conftest import events_frame


def test_votes_by_hand():
    train = encode_sessions(events_frame(ROWS))
    ids = {x: int(train.item_map.lookup([x])[0]) for x in "abcdexy"}
    model = SessionKNN(k=10, sample_size=10, popularity_tiebreak=False).fit(train)
    scores = model.scorer(1).scores(np.array([ids["a"]]))[0].numpy()
    # Neighbours of {a}: s1 (cosine 1/sqrt(3)) and s2 (1/sqrt(2)).
    assert scores[ids["c"]] == pytest.approx(1 / np.sqrt(3))
    assert scores[ids["d"]] == pytest.approx(1 / np.sqrt(2))
    assert scores[ids["a"]] == pytest.approx(1 / np.sqrt(3) + 1 / np.sqrt(2))
    assert scores[ids["x"]] == 0.0 and scores[ids["e"]] == 0.0


def test_k_and_recency_sampling_limit_the_neighbours():
    train = encode_sessions(events_frame(ROWS))
    ids = {x: int(train.item_map.lookup([x])[0]) for x in "abcde"}
    # {a, b}: candidates s1, s2, s3; the most recent two are s2 and s3 (s1 ends first).
    model = SessionKNN(k=10, sample_size=2, popularity_tiebreak=False).fit(train)
    scorer = model.scorer(1)
    scorer.scores(np.array([ids["a"]]))
    scores = scorer.scores(np.array([ids["b"]]))[0].numpy()
    assert scores[ids["c"]] == 0.0  # s1 was not sampled
    assert scores[ids["d"]] > 0 and scores[ids["e"]] > 0
    best = SessionKNN(k=1, sample_size=10, popularity_tiebreak=False).fit(train).scorer(1)
    best.scores(np.array([ids["a"]]))
    top = best.scores(np.array([ids["b"]]))[0].numpy()
    assert top[ids["c"]] > 0 and top[ids["d"]] == 0.0  # s1 holds both a and b


def test_sknn_matches_session_rec_on_the_bundled_data():
    # session-rec (k 100, sample 500, cosine) on this sample: Recall@20 0.6423, MRR@20 0.3206.
    train = encode_sessions(read_events(bundled_dataset("train_full")))
    test = encode_sessions(read_events(bundled_dataset("test")), train.item_map, 2)
    metrics = evaluate(SessionKNN(k=100, sample_size=500).fit(train), test).metrics
    assert abs(metrics["Recall@20"] - 0.6423) <= 0.005
    assert abs(metrics["MRR@20"] - 0.3206) <= 0.005


def test_bad_sknn_parameters_name_the_parameter():
    with pytest.raises(ValueError, match="'k'"):
        SessionKNN(k=0)
    with pytest.raises(ValueError, match="sample_size"):
        SessionKNN(sample_size=2.5)


def test_vsknn_weights_by_hand():
    from gru4rec_study.models import VSKNN

    train = encode_sessions(events_frame(ROWS))
    ids = {x: int(train.item_map.lookup([x])[0]) for x in "abcde"}
    model = VSKNN(
        k=10,
        sample_size=10,
        weighting="div",
        weighting_score="div",
        idf_weighting=0.0,
        popularity_tiebreak=False,
    ).fit(train)
    scorer = model.scorer(1)
    scorer.scores(np.array([ids["a"]]))
    scores = scorer.scores(np.array([ids["b"]]))[0].numpy()
    # Prefix a, b: position weights a 1/2, b 2/2, over 2 distinct items.
    # s1 holds a and b: similarity (0.5 + 1) / 2 = 0.75, last shared click b (step 1).
    # s2 holds a: 0.25, step 2 -> vote 0.125. s3 holds b: 0.5, step 1.
    assert scores[ids["c"]] == pytest.approx(0.75)
    assert scores[ids["d"]] == pytest.approx(0.125)
    assert scores[ids["e"]] == pytest.approx(0.5)
    assert scores[ids["a"]] == pytest.approx(0.75 + 0.125)


def test_vsknn_matches_session_rec_on_the_bundled_data():
    from gru4rec_study.models import VSKNN

    # session-rec (k 500, sample 5000, quadratic, score weighting div, idf weighting 5):
    # Recall@20 0.6880, MRR@20 0.3668.
    train = encode_sessions(read_events(bundled_dataset("train_full")))
    test = encode_sessions(read_events(bundled_dataset("test")), train.item_map, 2)
    model = VSKNN(
        k=500, sample_size=5000, weighting="quadratic", weighting_score="div", idf_weighting=5.0
    ).fit(train)
    metrics = evaluate(model, test).metrics
    assert abs(metrics["Recall@20"] - 0.6880) <= 0.005
    assert abs(metrics["MRR@20"] - 0.3668) <= 0.005
