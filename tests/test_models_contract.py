"""The contract every recommender keeps: fit, scores (n, n_items), determinism, save/load."""

import numpy as np
import pytest
import torch

from gru4rec_study.data import encode_sessions
from gru4rec_study.evaluation import evaluate
from gru4rec_study.models import (
    STAN,
    VSKNN,
    VSTAN,
    AssociationRules,
    GRU4Rec,
    GRU4RecConfig,
    ItemKNN,
    Markov,
    NotFittedError,
    Popularity,
    SequentialRules,
    SessionKNN,
    SessionPopularity,
    load_model,
    recommend,
)

from conftest import events_frame, synthetic_sessions

SMALL_GRU = GRU4RecConfig(layers=(12,), batch_size=8, n_sample=16, n_epochs=2, seed=3)
FACTORIES = {
    "popularity": Popularity,
    "spop": SessionPopularity,
    "markov": Markov,
    "itemknn": ItemKNN,
    "sr": SequentialRules,
    "ar": AssociationRules,
    "sknn": lambda: SessionKNN(k=10, sample_size=50),
    "vsknn": lambda: VSKNN(k=10, sample_size=50, weighting="quadratic", idf_weighting=5.0),
    "stan": lambda: STAN(k=10, sample_size=50),
    "vstan": lambda: VSTAN(k=10, sample_size=50),
    "gru4rec": lambda: GRU4Rec(SMALL_GRU),
}


@pytest.fixture(scope="module")
def data():
    events = synthetic_sessions(200, 30, seed=1)
    train = encode_sessions(events[events["session_id"].astype(int) < 160])
    test = encode_sessions(
        events[events["session_id"].astype(int) >= 160], train.item_map, min_session_length=2
    )
    return train, test


@pytest.fixture(params=list(FACTORIES), scope="module")
def kind(request):
    return request.param


def test_fit_returns_the_model_and_scores_have_the_catalogue_shape(kind, data):
    train, _ = data
    model = FACTORIES[kind]()
    assert model.fit(train) is model
    scorer = model.scorer(3)
    scores = scorer.scores(np.array([0, 1, 2]))
    assert scores.shape == (3, train.n_items)
    assert torch.isfinite(scores).all()
    scorer.keep(np.array([True, False, True]))
    assert scorer.scores(np.array([4, 5])).shape == (2, train.n_items)


def test_scoring_before_fit_is_an_error(kind):
    with pytest.raises(NotFittedError):
        FACTORIES[kind]().scorer(1)


def test_same_seed_gives_the_same_metrics_to_the_last_digit(kind, data):
    train, test = data
    a = evaluate(FACTORIES[kind]().fit(train), test)
    b = evaluate(FACTORIES[kind]().fit(train), test)
    assert a.metrics == b.metrics
    np.testing.assert_array_equal(a.ranks, b.ranks)


def test_saved_and_loaded_model_scores_identically(kind, data, tmp_path):
    train, test = data
    model = FACTORIES[kind]().fit(train)
    model.save(tmp_path / kind)
    loaded = load_model(tmp_path / kind)
    assert loaded.item_map.item_ids.tolist() == model.item_map.item_ids.tolist()
    np.testing.assert_array_equal(evaluate(loaded, test).ranks, evaluate(model, test).ranks)
    # Only tensors: the file loads with weights_only=True.
    tensors = torch.load(tmp_path / kind / "weights.pt", weights_only=True)
    assert all(isinstance(t, torch.Tensor) for t in tensors.values())


def test_an_item_seen_only_as_a_last_click_still_gets_scores(kind):
    rows = [(s, "a", 10 * s) for s in range(6)] + [(s, "b", 10 * s + 1) for s in range(6)]
    rows += [(9, "a", 100), (9, "z", 101)]  # z only ever ends a session
    train = encode_sessions(events_frame(rows))
    model = FACTORIES[kind]().fit(train)
    z = int(train.item_map.lookup(["z"])[0])
    scores = model.scorer(1).scores(np.array([z]))
    assert torch.isfinite(scores).all()
    if kind == "markov":  # no outgoing transition: popularity fallback
        assert torch.argmax(scores[0]).item() == int(train.item_map.lookup(["a"])[0])


def test_recommend_skips_unknown_items_and_rejects_empty_prefixes(kind, data, caplog):
    train, _ = data
    model = FACTORIES[kind]().fit(train)
    known = str(train.item_map.item_ids[0])
    recs = recommend(model, [[known, "no-such-item"]], k=5)
    assert len(recs[0]) == 5
    assert "unknown" in caplog.text
    assert recs[0][0][1] >= recs[0][-1][1]
    with pytest.raises(ValueError, match="empty"):
        recommend(model, [[]])
    with pytest.raises(ValueError, match="none of its items"):
        recommend(model, [["no-such-item"]])


def test_recommend_rejects_a_bare_string_and_warns_when_k_exceeds_the_catalogue(kind, data, caplog):
    train, _ = data
    model = FACTORIES[kind]().fit(train)
    known = str(train.item_map.item_ids[0])
    with pytest.raises(TypeError, match="list of prefixes"):
        recommend(model, known)
    with pytest.raises(TypeError, match="list of prefixes"):
        recommend(model, [known])
    recs = recommend(model, [[known]], k=train.n_items + 50)
    assert len(recs[0]) == train.n_items
    assert f"more than the {train.n_items} items" in caplog.text


def test_an_unfitted_model_is_named_as_not_fitted_by_evaluate_and_recommend(kind, data):
    train, test = data
    model = FACTORIES[kind]()
    with pytest.raises(ValueError, match="not fitted"):
        evaluate(model, test)
    with pytest.raises(ValueError, match="not fitted"):
        recommend(model, [["x"]])
