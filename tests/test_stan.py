import numpy as np
import pytest
import torch

from gru4rec_study.data import encode_sessions
from gru4rec_study.evaluation import evaluate
from gru4rec_study.models import STAN, VSTAN

from conftest import KNN_ROWS as ROWS
from conftest import events_frame

TEN_SECONDS = 10 / 86_400  # lambda_snh is in days


def _after_a_then_b(model):
    """Scores after the prefix a (at t=10), b (at t=11), by item name."""
    train = encode_sessions(events_frame(ROWS))
    ids = {x: int(train.item_map.lookup([x])[0]) for x in "abcdexy"}
    scorer = model.fit(train).scorer(1)
    scorer.scores(np.array([ids["a"]]), np.array([10.0]))
    scores = scorer.scores(np.array([ids["b"]]), np.array([11.0]))[0].numpy()
    return {x: scores[i] for x, i in ids.items()}


def _hand_similarities():
    # Prefix weights exp((p - 2) / 1): a e^-1, b 1; cosine against binary neighbours,
    # times exp(-(11 - end) / 10 s).
    norm = np.sqrt(np.exp(-2) + 1)
    s1 = (np.exp(-1) + 1) / (norm * np.sqrt(3)) * np.exp(-8 / 10)
    s2 = np.exp(-1) / (norm * np.sqrt(2)) * np.exp(-6 / 10)
    s3 = 1 / (norm * np.sqrt(2)) * np.exp(-4 / 10)
    return s1, s2, s3


def _hand_model(cls, **changes):
    """STAN or V-STAN with the unit decays the hand computations below assume."""
    params = dict(k=10, sample_size=10, lambda_spw=1.0, lambda_snh=TEN_SECONDS, lambda_inh=1.0)
    return cls(**params, popularity_tiebreak=False, **changes)


def test_stan_scores_by_hand():
    scores = _after_a_then_b(_hand_model(STAN))
    s1, s2, s3 = _hand_similarities()
    # Item weights exp(-|q - q*|): q* is the last shared click (s1: b at 2, s2: a at 1, s3: b at 1).
    e = np.exp(-1)
    assert scores["c"] == pytest.approx(s1 * e)
    assert scores["d"] == pytest.approx(s2 * e)
    assert scores["e"] == pytest.approx(s3 * e)
    assert scores["a"] == pytest.approx(s1 * e + s2)
    assert scores["b"] == pytest.approx(s1 + s3)
    assert scores["x"] == 0.0


def test_stan_without_remind_gives_prefix_items_no_votes():
    scores = _after_a_then_b(_hand_model(STAN, remind=False))
    assert scores["a"] == 0.0 and scores["b"] == 0.0
    assert scores["c"] == pytest.approx(_hand_similarities()[0] * np.exp(-1))


def test_vstan_adds_idf_and_shared_click_position_by_hand():
    scores = _after_a_then_b(_hand_model(VSTAN, lambda_ipw=2.0, lambda_idf=0.5))
    s1, s2, s3 = _hand_similarities()
    e = np.exp(-1)
    # idf factor 1 + 0.5 log(4 sessions / events); the prefix position of the latest shared
    # click is 2 for s1 and s3 (weight 1) and 1 for s2 (weight exp(-1 / 2)).
    idf = {x: 1 + 0.5 * np.log(4 / n) for x, n in {"a": 2, "b": 2, "c": 1, "d": 1}.items()}
    ipw2 = np.exp(-0.5)
    assert scores["c"] == pytest.approx(s1 * e * idf["c"])
    assert scores["d"] == pytest.approx(s2 * e * idf["d"] * ipw2)
    assert scores["a"] == pytest.approx((s1 * e + s2 * ipw2) * idf["a"])
    assert scores["b"] == pytest.approx((s1 + s3) * idf["b"])


def test_vec_similarity_divides_by_the_distinct_prefix_items():
    model = VSTAN(
        k=10,
        sample_size=10,
        lambda_spw=None,
        lambda_snh=None,
        lambda_inh=None,
        lambda_ipw=None,
        lambda_idf=None,
        similarity="vec",
        popularity_tiebreak=False,
    )
    scores = _after_a_then_b(model)
    # Unit weights: s1 shares a and b (2 / 2), s2 and s3 share one item (1 / 2).
    assert scores["c"] == pytest.approx(1.0)
    assert scores["d"] == pytest.approx(0.5) and scores["e"] == pytest.approx(0.5)
    assert scores["a"] == pytest.approx(1.5)


def test_the_time_only_scales_the_scores_of_one_prediction():
    train = encode_sessions(events_frame(ROWS))
    model = STAN(k=10, sample_size=10, popularity_tiebreak=False).fit(train)
    early = model.scorer(1).scores(np.array([0]), np.array([10.0])).numpy()
    late = model.scorer(1).scores(np.array([0]), np.array([10.0 + 86_400.0])).numpy()
    np.testing.assert_allclose(late, early * np.exp(-1 / 5))  # lambda_snh 5 days
    default = model.scorer(1).scores(np.array([0])).numpy()  # no time: the end of training
    np.testing.assert_allclose(default, early * np.exp(1 / 86_400 / 5))


class _TimeRecorder:
    """A scorer that records the times the evaluator passes."""

    uses_time = True

    def __init__(self, n_items, seen):
        self.n_items, self.seen = n_items, seen

    def keep(self, mask):
        pass

    def reset(self, slots):
        pass

    def scores(self, items, times=None):
        self.seen.append((np.asarray(items).copy(), np.asarray(times).copy()))
        return torch.zeros(len(items), self.n_items)


def test_the_evaluator_passes_the_current_events_times():
    train = encode_sessions(events_frame(ROWS))
    test = encode_sessions(
        events_frame(
            [
                ("t1", "a", 1_500_000_000.25),
                ("t1", "b", 1_500_000_007.5),
                ("t1", "c", 1_500_000_009.0),
                ("t2", "d", 1_600_000_000.0),
                ("t2", "e", 1_600_000_001.0),
            ]
        ),
        train.item_map,
    )
    seen = []
    model = type("Recorder", (), {"name": "recorder", "item_map": train.item_map})()
    model.scorer = lambda n: _TimeRecorder(train.n_items, seen)
    evaluate(model, test, batch_size=1)
    times = np.concatenate([t for _, t in seen])
    assert times.dtype == np.float64  # seconds with fractions survive
    np.testing.assert_array_equal(times, [1_500_000_000.25, 1_500_000_007.5, 1_600_000_000.0])


def test_bad_stan_parameters_name_the_parameter():
    with pytest.raises(ValueError, match="lambda_inh"):
        STAN(lambda_inh=0.0)
    with pytest.raises(ValueError, match="similarity"):
        VSTAN(similarity="jaccard")
    with pytest.raises(ValueError, match="'k'"):
        STAN(k=0)
