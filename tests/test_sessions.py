import numpy as np

from gru4rec_study.data import ItemMap, encode_sessions

from conftest import events_frame


def test_mixed_item_ids_get_contiguous_indices():
    events = events_frame([(1, 900000000001, 1), (1, "sku-ABC", 2), (1, 5, 3), (2, 5, 4)])
    data = encode_sessions(events)
    assert data.n_items == 3
    # Not all integers: text order, whatever the row order.
    assert data.item_map.item_ids.tolist() == ["5", "900000000001", "sku-ABC"]
    assert data.item_idx.tolist() == [1, 2, 0, 0]


def test_integer_ids_are_indexed_by_value_then_text():
    events = events_frame([(10, "10", 1), (10, "9", 2), (9, "05", 3), (9, "5", 4)])
    data = encode_sessions(events)
    assert data.item_map.item_ids.tolist() == ["05", "5", "9", "10"]
    assert data.item_idx.tolist() == [3, 2, 0, 1]  # session "10" starts first


def test_sessions_are_ordered_by_start_time():
    events = events_frame([(7, "a", 50), (7, "b", 51), (3, "c", 10), (3, "d", 11), (3, "e", 12)])
    data = encode_sessions(events)
    assert data.session_ids.tolist() == ["3", "7"]
    assert data.session_offsets.tolist() == [0, 3, 5]
    assert data.item_map.item_ids[data.item_idx].tolist() == ["c", "d", "e", "a", "b"]


def test_unknown_items_are_removed_counted_and_stitched():
    item_map = ItemMap(np.array(["a", "b", "c"], dtype=object))
    events = events_frame([(1, "a", 1), (1, "x", 2), (1, "b", 3), (2, "y", 4), (2, "c", 5)])
    data = encode_sessions(events, item_map, min_session_length=2)
    # A, X, B becomes the pair A -> B; session 2 is left with one event and is dropped.
    assert data.item_idx.tolist() == [0, 1]
    assert data.n_sessions == 1
    assert data.report.n_unknown_item_events == 2
    assert data.report.n_short_sessions == 1
    assert data.report.n_short_session_events == 1
    assert data.n_prediction_events == 1


def test_item_counts_and_prediction_events():
    data = encode_sessions(events_frame([(1, "a", 1), (1, "a", 2), (1, "b", 3), (2, "b", 4)]))
    assert data.item_counts().tolist() == [2, 2]
    assert data.n_prediction_events == 2


def test_sessions_that_lose_every_event_are_counted_as_removed():
    item_map = ItemMap(np.array(["a", "b"], dtype=object))
    events = events_frame([(1, "a", 1), (1, "b", 2), (2, "x", 3), (2, "y", 4)])
    data = encode_sessions(events, item_map, min_session_length=2)
    assert data.report.n_sessions_in == 2
    assert data.report.n_short_sessions == 1
    assert data.n_sessions == 1


def test_equal_start_times_order_sessions_by_id_whatever_the_row_order():
    rows = [(20, "a", 5), (20, "b", 6), (3, "c", 5), (3, "d", 7)]
    for order in (rows, rows[2:] + rows[:2]):
        data = encode_sessions(events_frame(order))
        assert data.session_ids.tolist() == ["3", "20"]
