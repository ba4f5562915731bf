import numpy as np
import pytest

from gru4rec_study.data import DataError, split_events
from gru4rec_study.data.preprocess import filter_events

from conftest import events_frame

DAY = 86_400.0


def _sessions(n, start=0.0, gap=DAY / 4, items=("a", "b", "c")):
    rows = []
    for s in range(n):
        t = start + s * gap
        rows += [(f"s{s}", items[k % len(items)], t + 10 * k) for k in range(3)]
    return rows


def test_share_rule_puts_newest_sessions_in_test_without_leakage():
    events = events_frame(_sessions(10))
    train, test, report = split_events(events, "sessions", test_share=0.2)
    assert set(train["session_id"]) & set(test["session_id"]) == set()
    assert sorted(set(test["session_id"])) == ["s8", "s9"]
    assert train["timestamp"].max() <= report.split_time
    assert test.groupby("session_id")["timestamp"].min().min() >= report.split_time
    assert report.n_train_sessions == 8 and report.n_test_sessions == 2


def test_share_rule_truncates_and_counts_straddling_training_sessions():
    rows = [("old", "a", 0), ("old", "b", 1), ("old", "c", 100), ("new", "a", 50), ("new", "b", 60)]
    train, test, report = split_events(events_frame(rows), "sessions", test_share=0.5)
    assert report.split_time == 50
    assert train["timestamp"].max() <= 50
    assert report.n_train_events_after_split_time == 1
    assert train["item_id"].tolist() == ["a", "b"]


def test_days_rule_puts_sessions_ending_in_the_last_days_in_test():
    events = events_frame(_sessions(12, gap=DAY / 2))
    train, test, report = split_events(events, "days", test_days=1.0)
    tmax = events["timestamp"].max()
    assert report.split_time == tmax - DAY
    ends = test.groupby("session_id")["timestamp"].max()
    assert (ends >= report.split_time).all()
    assert train["timestamp"].max() < report.split_time
    assert set(train["session_id"]) & set(test["session_id"]) == set()


def test_unseen_test_items_and_short_sessions_are_removed_and_counted():
    rows = _sessions(8, items=("a", "b", "c"))
    rows += [("t1", "a", 1e6), ("t1", "zzz", 1e6 + 1), ("t1", "b", 1e6 + 2)]  # zzz unseen
    rows += [("t2", "zzz", 1e6 + 5), ("t2", "c", 1e6 + 6)]  # left with one event
    train, test, report = split_events(events_frame(rows), "sessions", test_share=0.2)
    assert report.n_test_events_unknown_item == 2
    assert report.n_test_sessions_too_short == 1
    assert "zzz" not in set(test["item_id"])
    assert "t2" not in set(test["session_id"])
    assert (test.groupby("session_id").size() >= 2).all()


def test_filter_removes_to_a_fixed_point_and_counts():
    rows = [(1, "a", 1), (1, "b", 2), (2, "a", 3), (2, "b", 4), (3, "a", 5), (3, "rare", 6)]
    events, report = filter_events(events_frame(rows), min_item_support=2, min_session_length=2)
    # "rare" goes, which leaves session 3 with one event, which then goes too.
    assert sorted(set(events["session_id"])) == ["1", "2"]
    assert sum(s["events_removed"] for s in report.steps) == 2


def test_filter_that_leaves_nothing_names_the_step():
    rows = [(1, "a", 1), (1, "b", 2), (2, "c", 3), (2, "d", 4)]
    with pytest.raises(DataError, match="item support >= 5"):
        filter_events(events_frame(rows), min_item_support=5, min_session_length=2)


def test_bad_split_parameters_are_errors():
    events = events_frame(_sessions(4))
    with pytest.raises(DataError, match="test_share"):
        split_events(events, "sessions", test_share=1.5)
    with pytest.raises(DataError, match="unknown rule"):
        split_events(events, "random")


def test_split_time_is_float_seconds():
    events = events_frame(_sessions(5))
    _, _, report = split_events(events, "days", test_days=0.5)
    assert isinstance(report.split_time, float)
    assert np.isfinite(report.split_time)


def test_a_split_that_leaves_no_test_events_is_an_error_with_counts():
    rows = _sessions(8, items=("a", "b", "c")) + [("new", "x", 1e6), ("new", "y", 1e6 + 1)]
    with pytest.raises(DataError, match=r"no test events.*2 events with items not in training"):
        split_events(events_frame(rows), "sessions", test_share=0.1)


def test_test_sessions_that_lose_every_event_are_counted():
    rows = _sessions(8) + [("t1", "a", 1e6), ("t1", "b", 1e6 + 1), ("t2", "x", 1e6 + 2)]
    rows += [("t2", "y", 1e6 + 3)]
    _, test, report = split_events(events_frame(rows), "sessions", test_share=0.2)
    assert report.n_test_sessions_too_short == 1
    assert report.n_test_sessions == 1
