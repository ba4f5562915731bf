import numpy as np
import pytest
import torch

from gru4rec_study.data import encode_sessions
from gru4rec_study.evaluation import evaluate
from gru4rec_study.models import (
    GRU4Rec,
    GRU4RecConfig,
    NotFittedError,
    Popularity,
    TrainingError,
    load_preset,
)
from gru4rec_study.models.gru4rec import preset_names

from conftest import synthetic_sessions


def test_hidden_state_is_reset_between_sessions(bundled_slice):
    train, _ = bundled_slice
    model = GRU4Rec(GRU4RecConfig(layers=(16,), batch_size=8, n_sample=32, n_epochs=1)).fit(train)
    a, b, c = 0, 1, 2
    scorer = model.scorer(2)
    scorer.scores(np.array([b, c]))
    scorer.scores(np.array([c, b]))
    scorer.reset(np.array([1]))  # slot 1 starts a new session with item a
    after_reset = scorer.scores(np.array([b, a]))[1]
    fresh = model.scorer(1).scores(np.array([a]))[0]
    torch.testing.assert_close(after_reset, fresh, rtol=0, atol=1e-12)


def test_two_test_sessions_starting_with_the_same_item_score_alike(bundled_slice):
    train, test = bundled_slice
    model = GRU4Rec(GRU4RecConfig(layers=(16,), batch_size=8, n_sample=32, n_epochs=1)).fit(train)
    first_items = test.item_idx[test.session_offsets[:-1]]
    values, counts = np.unique(first_items, return_counts=True)
    item = values[np.argmax(counts)]
    assert counts.max() >= 2
    scorer = model.scorer(2)  # both sessions side by side, in different slots
    scores = scorer.scores(np.array([item, item]))
    # Equal up to float64 rounding of the matrix product, and so equal in rank order.
    torch.testing.assert_close(scores[0], scores[1], rtol=0, atol=1e-12)
    assert torch.equal(torch.argsort(scores[0]), torch.argsort(scores[1]))


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        # The loss overflows to infinity or NaN.
        ({"layers": (16,), "learning_rate": 1e30, "momentum": 0.9, "batch_size": 8}, ""),
        # Adagrad keeps the steps finite: the loss grows huge (about 1e17) but stays finite.
        (
            {"layers": (32,), "learning_rate": 1e6, "elu_param": 0.5, "bpreg": 1.0},
            r"loss per event reached \S+ \(above 1e\+06: diverged\) ",
        ),
        # Bounded losses stay finite (BPR-max without score regularisation below 55.3 per
        # event): the GRU weights give the divergence away.
        *[
            (
                {"layers": (32,), "learning_rate": 1e6, **loss},
                r"a GRU weight reached \S+ \(above 1e\+05: diverged\) ",
            )
            for loss in (
                {"elu_param": 0.5, "bpreg": 0.0},
                {"loss": "cross-entropy"},
                {"loss": "top1-max"},
            )
        ],
    ],
)
def test_diverging_training_stops_with_a_clear_error(bundled_slice, settings, message):
    train, _ = bundled_slice
    config = GRU4RecConfig(**{"loss": "bpr-max", "n_sample": 32, "n_epochs": 3, **settings})
    model = GRU4Rec(config)
    with pytest.raises(TrainingError, match=message + r"in epoch \d+, mini-batch \d+") as caught:
        model.fit(train)
    assert ("or momentum (now 0.9)" in str(caught.value)) == ("momentum" in settings)
    assert model.network_ is None
    with pytest.raises(NotFittedError):
        model.scorer(1)


def test_training_data_that_gives_no_mini_batch_is_an_error(bundled_slice):
    train, _ = bundled_slice
    config = GRU4RecConfig(layers=(8,), n_sample=0, batch_size=1, n_epochs=1)
    with pytest.raises(ValueError, match="n_sample = 0 a step needs two sessions side by side"):
        GRU4Rec(config).fit(train)


@pytest.mark.parametrize(
    ("loss", "extra"),
    [
        ("cross-entropy", {"n_sample": 0}),
        ("cross-entropy", {"logq": 1.0}),
        ("bpr-max", {"elu_param": 0.5}),
        ("top1", {"elu_param": 0.0}),
        ("top1-max", {"elu_param": 0.0}),
        ("bpr", {"elu_param": 0.0}),
    ],
)
def test_gru4rec_learns_sequential_structure_that_popularity_cannot(loss, extra):
    events = synthetic_sessions(1500, 40, seed=2)
    ids = events["session_id"].astype(int)
    train = encode_sessions(events[ids < 1200])
    test = encode_sessions(events[ids >= 1200], train.item_map, min_session_length=2)
    params = {"n_sample": 16, **extra}
    config = GRU4RecConfig(
        layers=(32,), batch_size=32, n_epochs=5, learning_rate=0.1, seed=1, loss=loss, **params
    )
    gru = evaluate(GRU4Rec(config).fit(train), test).metrics["Recall@5"]
    pop = evaluate(Popularity().fit(train), test).metrics["Recall@5"]
    assert gru > 0.6 and gru > 3 * pop


def test_training_log_has_loss_time_and_throughput_per_epoch(bundled_slice):
    train, _ = bundled_slice
    model = GRU4Rec(GRU4RecConfig(layers=(8,), batch_size=16, n_sample=16, n_epochs=2)).fit(train)
    assert [r["epoch"] for r in model.training_log_] == [1, 2]
    for record in model.training_log_:
        assert record["events"] == train.n_prediction_events
        assert np.isfinite(record["loss"]) and record["seconds"] > 0
        assert record["events_per_second"] > 0


def test_model_file_holds_only_what_recommending_needs(bundled_slice, tmp_path):
    train, _ = bundled_slice
    model = GRU4Rec(GRU4RecConfig(layers=(16,), batch_size=8, n_sample=64, n_epochs=1)).fit(train)
    model.save(tmp_path / "m")
    n_params = sum(t.numel() for t in model.state_tensors().values())
    size = (tmp_path / "m" / "weights.pt").stat().st_size
    assert size < 4 * n_params + 20_000  # weights in float32 plus a little framing


def test_presets_hold_the_published_values():
    assert set(preset_names()) == {
        "rsc15",
        "yoochoose",
        "rees46",
        "coveo",
        "retailrocket",
        "diginetica",
    }
    rsc15 = load_preset("rsc15")
    assert (rsc15.layers, rsc15.batch_size, rsc15.learning_rate, rsc15.momentum) == (
        (100,),
        32,
        0.2,
        0.2,
    )
    assert (rsc15.dropout_p_hidden, rsc15.logq, rsc15.sample_alpha, rsc15.n_sample) == (
        0.4,
        1.0,
        0.5,
        2048,
    )
    digi = load_preset("diginetica")
    assert (digi.loss, digi.layers, digi.batch_size, digi.elu_param, digi.bpreg) == (
        "bpr-max",
        (512,),
        128,
        1.0,
        0.9,
    )
    assert load_preset("rsc15", n_epochs=3).n_epochs == 3


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("loss", "top5"),
        ("batch_size", 0),
        ("dropout_p_hidden", 1.0),
        ("layers", ()),
        ("learning_rate", 0.0),
        ("learning_rate", float("nan")),
        ("momentum", float("inf")),
        ("seed", -4),
    ],
)
def test_bad_parameters_name_the_parameter(key, value):
    with pytest.raises(ValueError, match=key):
        GRU4RecConfig(**{key: value})


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("momentum", 1.0, "must be below 1"),
        ("momentum", 5.0, "must be below 1"),
        ("learning_rate", 1e300, "must be at most 3.4e\\+38, the largest float32"),
        ("bpreg", 1e39, "must be at most 3.4e\\+38"),
        ("device", "mps", "must be 'cpu' or a CUDA device"),
        ("device", "meta", "must be 'cpu' or a CUDA device"),
    ],
)
def test_settings_the_float32_training_cannot_use_are_named(key, value, message):
    with pytest.raises(ValueError, match=f"'{key}' {message}"):
        GRU4RecConfig(**{key: value})


def test_unknown_parameter_and_preset_are_errors():
    with pytest.raises(ValueError, match="unknown key"):
        GRU4RecConfig.from_dict({"final_act": "softmax"})
    with pytest.raises(ValueError, match="unknown GRU4Rec preset"):
        load_preset("movielens")


def test_cuda_device_without_cuda_is_a_clear_error(bundled_slice):
    if torch.cuda.is_available():
        pytest.skip("CUDA is available here")
    with pytest.raises(ValueError, match="CUDA is not available"):
        GRU4Rec(GRU4RecConfig(device="cuda:0", n_epochs=1)).fit(bundled_slice[0])


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("batch_size", 32.0),
        ("batch_size", True),
        ("constrained_embedding", "maybe"),
        ("learning_rate", "abc"),
        ("seed", "x"),
        ("device", "tpu"),
        ("layers", "100/x"),
        ("n_sample", 1.5),
    ],
)
def test_parameters_of_the_wrong_type_name_the_parameter(key, value):
    with pytest.raises(ValueError, match=key):
        GRU4RecConfig(**{key: value})


def test_a_nan_or_infinite_setting_is_named_as_not_finite():
    with pytest.raises(ValueError, match="'momentum' must be a finite number, got inf"):
        GRU4RecConfig(momentum=float("inf"))
