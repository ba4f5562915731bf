import logging

import numpy as np
import pandas as pd
import pytest

from gru4rec_study.data import DataError, EventColumns, read_events

from conftest import write_events


def test_reads_tsv_and_gzip_alike(tmp_path):
    rows = [(1, 10, 100), (1, 11, 101), (2, 20, 105)]
    plain = read_events(write_events(tmp_path / "a.tsv", rows))
    gz = read_events(write_events(tmp_path / "a.tsv.gz", rows))
    assert plain.equals(gz)
    assert list(plain.columns) == ["session_id", "item_id", "timestamp"]
    assert plain["timestamp"].dtype == np.float64


def test_reads_csv_with_renamed_columns(tmp_path):
    path = write_events(
        tmp_path / "a.csv",
        [("s1", "x", 5), ("s1", "y", 6)],
        header=("sess", "product", "ts"),
        sep=",",
    )
    events = read_events(path, EventColumns(session="sess", item="product", time="ts"))
    assert events["item_id"].tolist() == ["x", "y"]


def test_out_of_order_rows_are_sorted_stably_and_logged(tmp_path, caplog):
    rows = [(2, 20, 105), (1, 10, 100), (2, 21, 106), (1, 11, 101), (1, 12, 102)]
    with caplog.at_level(logging.INFO, logger="gru4rec_study"):
        events = read_events(write_events(tmp_path / "a.tsv", rows))
    assert "not sorted" in caplog.text
    assert events["session_id"].tolist() == ["1", "1", "1", "2", "2"]
    assert events["item_id"].tolist() == ["10", "11", "12", "20", "21"]


def test_sorted_input_is_not_reported(tmp_path, caplog):
    rows = [(1, 10, 100), (2, 20, 105), (2, 21, 106)]
    with caplog.at_level(logging.INFO, logger="gru4rec_study"):
        read_events(write_events(tmp_path / "a.tsv", rows))
    assert "not sorted" not in caplog.text


def test_equal_times_keep_file_order(tmp_path):
    rows = [(1, "b", 5), (1, "a", 5), (1, "c", 4)]
    events = read_events(write_events(tmp_path / "a.tsv", rows))
    assert events["item_id"].tolist() == ["c", "b", "a"]


def test_ids_of_any_type_survive_unchanged(tmp_path):
    rows = [(1, 900000000001, 1), (1, "sku-ABC", 2), (1, 5, 3)]
    events = read_events(write_events(tmp_path / "a.tsv", rows))
    assert events["item_id"].tolist() == ["900000000001", "sku-ABC", "5"]


def test_missing_column_names_file_and_column(tmp_path):
    path = write_events(tmp_path / "a.tsv", [(1, 2)], header=("SessionId", "ItemId"))
    with pytest.raises(DataError, match=r"a\.tsv.*'Time'.*columns found"):
        read_events(path)


def test_non_numeric_time_names_file_column_and_value(tmp_path):
    path = write_events(tmp_path / "a.tsv", [(1, 2, 3), (1, 3, "yesterday")])
    with pytest.raises(DataError, match=r"a\.tsv.*'Time'.*'yesterday'.*line 2"):
        read_events(path)


def test_missing_file_is_a_clear_error(tmp_path):
    with pytest.raises(DataError, match="no such file"):
        read_events(tmp_path / "nope.tsv")


def test_empty_file_is_a_clear_error(tmp_path):
    path = tmp_path / "empty.tsv"
    path.write_text("")
    with pytest.raises(DataError, match=r"empty\.tsv.*empty"):
        read_events(path)


def test_header_only_file_is_a_clear_error(tmp_path):
    path = write_events(tmp_path / "h.tsv", [])
    with pytest.raises(DataError, match=r"h\.tsv.*no events"):
        read_events(path)


def test_rows_with_more_fields_than_the_header_are_an_error(tmp_path):
    path = tmp_path / "extra.tsv"
    path.write_text("SessionId\tItemId\tTime\n1\t10\t100\t7\n1\t11\t101\t8\n")
    with pytest.raises(
        DataError, match=r"extra\.tsv: line 2 has 4 fields, more than the header's 3"
    ):
        read_events(path)
    path.write_text("SessionId\tItemId\tTime\n1\t10\t100\n1\t11\t101\t8\n")
    with pytest.raises(DataError, match=r"extra\.tsv: line 3 has 4 fields"):
        read_events(path)


def test_rows_with_fewer_fields_name_the_line(tmp_path):
    path = tmp_path / "short.tsv"
    path.write_text("SessionId\tItemId\tTime\n1\t10\t100\n1\t11\n")
    with pytest.raises(
        DataError, match=r"short\.tsv: line 3 has 2 fields, fewer than the header's 3"
    ):
        read_events(path)


def test_a_repeated_header_column_is_an_error(tmp_path):
    path = tmp_path / "twice.tsv"
    path.write_text("SessionId\tItemId\tTime\tTime\n1\t10\t100\t5\n1\t11\t101\t6\n")
    with pytest.raises(DataError, match=r"twice\.tsv: the header repeats column\(s\) \['Time'\]"):
        read_events(path)


def test_unreadable_files_name_the_file(tmp_path):
    import gzip

    truncated = tmp_path / "cut.tsv.gz"
    truncated.write_bytes(gzip.compress(b"SessionId\tItemId\tTime\n1\t2\t3\n" * 50)[:40])
    with pytest.raises(DataError, match=r"cut\.tsv\.gz"):
        read_events(truncated)
    latin = tmp_path / "latin.tsv"
    latin.write_bytes(b"SessionId\tItemId\tTime\n1\t\xe9\t3\n")
    with pytest.raises(DataError, match=r"latin\.tsv.*UTF-8"):
        read_events(latin)


def test_a_file_with_its_rows_shuffled_reads_as_the_sorted_file(tmp_path):
    from gru4rec_study.data import bundled_dataset

    events = read_events(bundled_dataset("train_full")).iloc[:6000]
    # Equal times within a session keep file order by design: leave those sessions out.
    tied = events.duplicated(["session_id", "timestamp"], keep=False)
    events = events[~events["session_id"].isin(events.loc[tied, "session_id"])]
    events = events.reset_index(drop=True)
    names = {"session_id": "SessionId", "item_id": "ItemId", "timestamp": "Time"}
    path = tmp_path / "shuffled.tsv"
    events.sample(frac=1.0, random_state=3).rename(columns=names).to_csv(
        path, sep="\t", index=False
    )
    pd.testing.assert_frame_equal(read_events(path), events)


def test_sessions_in_another_order_give_the_same_indices_and_results():
    # Ties in rule weights, top lists and equal session start times fall back to the id order,
    # never to the row order.
    from gru4rec_study.data import bundled_dataset, encode_sessions
    from gru4rec_study.evaluation import evaluate
    from gru4rec_study.models import AssociationRules, SequentialRules

    events = read_events(bundled_dataset("train_full")).iloc[:8000]
    train_rows, test_rows = events.iloc[:6000], events.iloc[6000:]
    ids = train_rows["session_id"].unique()
    permuted = np.random.default_rng(0).permutation(ids)
    reordered = train_rows.set_index("session_id").loc[permuted].reset_index()
    train, train2 = encode_sessions(train_rows), encode_sessions(reordered)
    assert train.item_map.item_ids.tolist() == train2.item_map.item_ids.tolist()
    assert np.array_equal(train.item_idx, train2.item_idx)
    test = encode_sessions(test_rows, train.item_map, 2)
    counts = train.item_counts()
    for model in (AssociationRules, SequentialRules):
        a = evaluate(model().fit(train), test, beyond_accuracy=True, item_counts=counts)
        b = evaluate(model().fit(train2), test, beyond_accuracy=True, item_counts=counts)
        assert np.array_equal(a.ranks, b.ranks) and a.beyond_accuracy == b.beyond_accuracy


def test_sessions_in_another_order_are_sorted_without_an_info_message(tmp_path, caplog):
    rows = [(2, 20, 105), (2, 21, 106), (1, 10, 100)]  # grouped, time-ordered, not in id order
    with caplog.at_level(logging.INFO, logger="gru4rec_study"):
        events = read_events(write_events(tmp_path / "a.tsv", rows))
    assert "not sorted" not in caplog.text
    assert events["session_id"].tolist() == ["1", "2", "2"]
