"""The shared progress helper: when bars are drawn, and that the long loops use it."""

import io

import numpy as np

from gru4rec_study.data import encode_sessions
from gru4rec_study.data.synthetic import synthetic_events
from gru4rec_study.evaluation import evaluate
from gru4rec_study.experiments.analysis import confidence_intervals
from gru4rec_study.models import GRU4Rec, GRU4RecConfig, ItemKNN
from gru4rec_study.progress import progress, progress_wanted


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_bars_are_wanted_only_on_a_terminal_outside_ci_and_not_quiet(monkeypatch):
    monkeypatch.delenv("CI", raising=False)
    monkeypatch.setattr("sys.stderr", _Terminal())
    assert progress_wanted() is True
    assert progress_wanted(quiet=True) is False
    monkeypatch.setenv("CI", "true")
    assert progress_wanted() is False
    monkeypatch.setenv("CI", "")
    assert progress_wanted() is True
    monkeypatch.setattr("sys.stderr", io.StringIO())  # a pipe or a file
    assert progress_wanted() is False


def test_a_hidden_bar_still_iterates_and_counts():
    bar = progress(range(5), desc="x", show=False)
    assert bar.disable and list(bar) == [0, 1, 2, 3, 4]


def _data():
    events = synthetic_events(120, 30, seed=2)
    train = encode_sessions(events[events["session_id"].astype(int) < 100])
    test = encode_sessions(
        events[events["session_id"].astype(int) >= 100], train.item_map, min_session_length=2
    )
    return train, test


def test_training_evaluation_and_bootstrap_draw_bars_on_stderr(capsys):
    train, test = _data()
    gru = GRU4Rec(GRU4RecConfig(layers=[4], n_sample=4, batch_size=8, n_epochs=2), True)
    gru.fit(train)
    knn = ItemKNN().fit(train)
    result = evaluate(knn, test, (5,), show_progress=True)
    confidence_intervals(result, 100, seed=0, show_progress=True)
    err = capsys.readouterr().err
    for desc in (
        "GRU4Rec epoch 2/2",
        "evaluating Item-kNN",
        "bootstrap Item-kNN",
    ):
        assert desc in err
    assert np.isfinite(result.ranks).all()


def test_no_bar_without_show_progress(capsys):
    train, test = _data()
    evaluate(ItemKNN().fit(train), test, (5,))
    assert "evaluating" not in capsys.readouterr().err
