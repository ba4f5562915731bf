import pandas as pd
import pytest

from gru4rec_study.cli import main
from gru4rec_study.data import encode_sessions, read_events, split_events
from gru4rec_study.data.synthetic import synthetic_events
from gru4rec_study.evaluation import evaluate
from gru4rec_study.models import Markov, Popularity


def test_synthetic_sessions_are_seeded_and_sized():
    a = synthetic_events(500, 200, seed=3)
    assert a.equals(synthetic_events(500, 200, seed=3))
    assert not a.equals(synthetic_events(500, 200, seed=4))
    assert a["session_id"].nunique() == 500
    assert a["item_id"].astype(int).between(0, 199).all()
    assert (a.groupby("session_id")["timestamp"].apply(lambda t: t.is_monotonic_increasing)).all()
    span_days = (a["timestamp"].max() - a["timestamp"].min()) / 86_400
    assert 6 < span_days < 7.5


def test_synthetic_popularity_is_skewed_and_lengths_have_a_tail():
    events = synthetic_events(5000, 500, seed=1)
    counts = events["item_id"].value_counts()
    assert counts.iloc[:50].sum() > 0.3 * len(events)  # the top 10% of items
    lengths = events.groupby("session_id").size()
    assert lengths.min() == 1 and lengths.max() >= 20 and 3 < lengths.mean() < 5


def test_a_sequence_model_beats_popularity_on_synthetic_sessions():
    events = synthetic_events(6000, 1000, seed=2)
    train_events, test_events, _ = split_events(events, "days", test_days=1.0)
    train = encode_sessions(train_events)
    test = encode_sessions(test_events, train.item_map, min_session_length=2)
    markov = evaluate(Markov().fit(train), test).metrics["Recall@20"]
    popularity = evaluate(Popularity().fit(train), test).metrics["Recall@20"]
    assert markov > 2 * popularity


def test_synth_command_writes_a_readable_file(tmp_path, capsys):
    out = tmp_path / "synth.tsv.gz"
    assert main(["-q", "synth", "--sessions", "300", "--items", "100", "--out", str(out)]) == 0
    events = read_events(out)
    assert events["session_id"].nunique() == 300
    assert "300 sessions" in capsys.readouterr().out


def test_bad_synthetic_sizes_are_errors():
    with pytest.raises(ValueError, match="n_items"):
        synthetic_events(10, 1)
    with pytest.raises(ValueError, match="mean_length"):
        synthetic_events(10, 10, mean_length=0.5)
    assert isinstance(synthetic_events(1, 2), pd.DataFrame)
