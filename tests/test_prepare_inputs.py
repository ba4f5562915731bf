"""prepare on hand-written raw files: sessions cut at gaps, event types, times, bad input."""

import json
import logging
from pathlib import Path

import pandas as pd
import pytest

from gru4rec_study.cli import main
from gru4rec_study.data import DataError
from gru4rec_study.data.prepare import PART_FILES, prepare_dataset, preprocess
from gru4rec_study.data.recipes import ColumnNames, get_recipe

HOUR = 3600


def _write(path: Path, header: str, rows: list[tuple], sep: str = ",") -> Path:
    path.write_text(header + "\n" + "".join(sep.join(map(str, r)) + "\n" for r in rows))
    return path


def _parts(out: Path) -> dict[str, pd.DataFrame]:
    return {name: pd.read_csv(out / f, sep="\t") for name, f in PART_FILES.items()}


def _retailrocket_rows(t0_ms: int) -> list[tuple]:
    """Visitor 1: views 1,2 then a cart event exactly an hour later, then a view an hour after
    the cart (one session: the gap counts all events); visitor 2: views 3600 s apart (one
    session) and 3601 s apart (two sessions)."""
    h = HOUR * 1000
    return [
        (t0_ms, 1, "view", 10, ""),
        (t0_ms + 1000, 1, "view", 11, ""),
        (t0_ms + 1000 + h, 1, "addtocart", 11, ""),
        (t0_ms + 1000 + 2 * h, 1, "view", 12, ""),
        (t0_ms, 2, "view", 10, ""),
        (t0_ms + h, 2, "view", 11, ""),
        (t0_ms + 2 * h + 1000, 2, "view", 12, ""),
        (t0_ms + 2 * h + 2000, 2, "view", 10, ""),
    ]


def test_retailrocket_gap_of_exactly_an_hour_stays_and_one_second_more_cuts(tmp_path):
    t0 = 1_442_545_200_000 - 30 * 86_400_000  # a month before the official split end
    raw = _write(
        tmp_path / "events.csv",
        "timestamp,visitorid,event,itemid,transactionid",
        _retailrocket_rows(t0),
    )
    recipe = get_recipe("retailrocket")
    events = recipe.read([raw], ColumnNames())
    full, report, _ = preprocess(events, recipe, 1, 2, "events.csv")
    sessions = full.group_by("session_id", maintain_order=True).agg("item_id")["item_id"]
    assert [list(s) for s in sessions] == [[10, 11, 12], [10, 11], [12, 10]]
    assert report.steps[0]["events_removed"] == 1  # the cart event


def test_rees46_cuts_sessions_on_views_only(tmp_path):
    header = "event_time,event_type,product_id,category_id,category_code,brand,price,user_id,"
    header += "user_session"
    rows = [
        ("2019-11-20 10:00:00 UTC", "view", 1, 0, "", "", 1.0, 7, "a"),
        ("2019-11-20 10:30:00 UTC", "cart", 1, 0, "", "", 1.0, 7, "a"),
        ("2019-11-20 11:00:01 UTC", "view", 2, 0, "", "", 1.0, 7, "a"),  # 3601 s after the view
        ("2019-11-20 11:10:00 UTC", "view", 3, 0, "", "", 1.0, 7, "a"),
    ]
    raw = _write(tmp_path / "2019-Nov.csv", header, rows)
    recipe = get_recipe("rees46")
    full, report, _ = preprocess(recipe.read([raw], ColumnNames()), recipe, 1, 1, "x")
    assert full["session_id"].to_list() == [1, 2, 2]
    assert full["timestamp"][0] == 1_574_244_000_000  # 2019-11-20 10:00 UTC in ms


def test_coveo_keeps_detail_events_and_cuts_at_gaps_on_all_events(tmp_path):
    header = "session_id_hash,event_type,product_action,product_sku_hash,"
    header += "server_timestamp_epoch_ms,hashed_url"
    h = HOUR * 1000
    rows = [
        ("s1", "event", "detail", "p1", 1_600_000_000_000, "u"),
        ("s1", "pageview", "", "", 1_600_000_000_000 + h, "u"),  # keeps the session going
        ("s1", "event", "detail", "p2", 1_600_000_000_000 + 2 * h, "u"),
        ("s1", "event", "add", "p2", 1_600_000_000_000 + 2 * h + 5, "u"),
    ]
    raw = _write(tmp_path / "browsing_train.csv", header, rows)
    recipe = get_recipe("coveo")
    full, _, _ = preprocess(recipe.read([raw], ColumnNames()), recipe, 1, 2, "x")
    assert full["item_id"].to_list() == ["p1", "p2"]
    assert full["session_id"].n_unique() == 1


def _generic_rows(n_sessions: int = 6) -> list[tuple]:
    rows = []
    for s in range(n_sessions):
        t = 1_600_000_000 + s * 86_400
        rows += [(f"s{s}", "a", t), (f"s{s}", "b", t + 10), (f"s{s}", "c", t + 20)]
    return rows


def test_generic_user_column_gap_is_documented_side(tmp_path):
    rows = [("u", "a", 0 + 1_600_000_000), ("u", "b", 1_600_003_600), ("u", "c", 1_600_007_201)]
    rows += [("u", "d", 1_600_007_202)]
    raw = _write(tmp_path / "log.tsv", "User\tItemId\tTime", rows, sep="\t")
    columns = ColumnNames(session=None, user="User")
    recipe = get_recipe("generic", columns=columns)
    assert recipe.session_gap_ms == 3_600_000
    full, _, _ = preprocess(recipe.read([raw], columns), recipe, 1, 1, "x")
    assert full["session_id"].to_list() == [1, 1, 2, 2]


def test_millisecond_times_one_apart_keep_their_order_to_the_written_file(tmp_path, caplog):
    t = 1_659_304_800_000
    rows = []
    for s in range(8):
        base = t + s * 86_400_000
        # Written out of order: the file order is c, a, b; the times order a, b, c, 1 ms apart.
        rows += [(s, "c", base + 2), (s, "a", base), (s, "b", base + 1)]
    raw = _write(tmp_path / "log.csv", "SessionId,ItemId,Time", rows)
    with caplog.at_level(logging.WARNING):
        prepare_dataset(get_recipe("generic"), [raw], tmp_path / "o", None, 1)
    assert "looks like milliseconds" in caplog.text and "'Time'" in caplog.text
    full = pd.read_csv(tmp_path / "o" / "train_full.tsv", sep="\t", dtype={"Time": str})
    assert full.ItemId.tolist()[:3] == ["a", "b", "c"]
    assert full.Time.tolist()[:3] == ["1659304800.000", "1659304800.001", "1659304800.002"]


def test_dates_only_keep_the_file_order_and_warn_naming_the_column(tmp_path, caplog):
    rows = []
    for s in range(8):
        day = f"2016-05-{9 + s:02d}"
        rows += [(s, "z", day), (s, "a", day), (s, "m", day)]
    raw = _write(tmp_path / "log.csv", "sid,item,when", rows)
    columns = ColumnNames(session="sid", item="item", time="when")
    with caplog.at_level(logging.WARNING):
        prepare_dataset(get_recipe("generic"), [raw], tmp_path / "o", columns, 1)
    assert "'when' holds dates only" in caplog.text
    full = pd.read_csv(tmp_path / "o" / "train_full.tsv", sep="\t")
    assert full.ItemId.tolist()[:3] == ["z", "a", "m"]
    assert full.Time.tolist()[:3] == [1_462_752_000] * 3  # whole seconds are written as integers


def test_iso_times_with_a_zone_are_converted_to_utc_seconds(tmp_path):
    rows = [
        (r[0], r[1], pd.Timestamp(r[2], unit="s", tz="UTC").tz_convert("Europe/Berlin").isoformat())
        for r in _generic_rows()
    ]
    raw = _write(tmp_path / "log.csv", "SessionId,ItemId,Time", rows)
    prepare_dataset(get_recipe("generic"), [raw], tmp_path / "o", None, 1)
    full = pd.read_csv(tmp_path / "o" / "train_full.tsv", sep="\t")
    assert full.Time.iloc[0] == 1_600_000_000


def test_a_missing_column_names_the_file_the_column_and_the_columns_found(tmp_path):
    raw = _write(
        tmp_path / "events.csv", "timestamp,visitorid,event,transactionid", [(1, 2, "view", "")]
    )
    with pytest.raises(
        DataError,
        match=r"events.csv: missing column\(s\) 'itemid'; columns found: "
        r"\['timestamp', 'visitorid', 'event', 'transactionid'\]",
    ):
        prepare_dataset(get_recipe("retailrocket"), [raw], tmp_path / "o")


def test_a_file_of_another_format_is_named_briefly(tmp_path):
    otto = Path(__file__).parent / "fixtures" / "raw" / "otto-sample" / "train.jsonl"
    with pytest.raises(DataError) as error:
        prepare_dataset(get_recipe("diginetica"), [otto], tmp_path / "o")
    message = str(error.value)
    assert "missing column(s) 'session_id'" in message and "is this the raw file" in message
    assert len(message) < 400  # not the whole first JSON line (about 20 KB)


def test_a_click_file_with_too_few_fields_says_how_many_it_has(tmp_path):
    raw = tmp_path / "clicks.dat"
    raw.write_text("1,2014-04-07T10:51:09.277Z\n2,2014-04-07T10:52:09.277Z\n")
    with pytest.raises(DataError) as error:
        prepare_dataset(get_recipe("rsc15"), [raw], tmp_path / "o")
    message = str(error.value)
    assert "clicks.dat: a yoochoose click file has 4 comma-separated fields" in message
    assert "its first line has 2" in message and "missing_columns" not in message


def test_every_session_of_one_event_is_an_error_from_the_filter_naming_what_went(tmp_path):
    rows = [(s, "a", 1_600_000_000 + s) for s in range(10)]
    raw = _write(tmp_path / "log.csv", "SessionId,ItemId,Time", rows)
    with pytest.raises(
        DataError,
        match=r"session length >= 2' left no events \(removed: .*10 events, 10 sessions, 1 items",
    ):
        prepare_dataset(get_recipe("generic"), [raw], tmp_path / "o")
    assert not (tmp_path / "o").exists()


def test_missing_raw_file_and_unknown_dataset_are_clear_errors(tmp_path, capsys):
    with pytest.raises(DataError, match="nope.dat: no such file"):
        prepare_dataset(get_recipe("yoochoose"), [tmp_path / "nope.dat"], tmp_path / "o")
    with pytest.raises(DataError, match="unknown dataset 'movielens'; known: rsc15, yoochoose"):
        get_recipe("movielens")
    assert main(["prepare", "yoochoose", str(tmp_path / "nope.dat"), "--out", str(tmp_path)]) == 2
    assert "no such file" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["prepare", "movielens", "x", "--out", str(tmp_path)])
    assert "invalid choice: 'movielens'" in capsys.readouterr().err


def test_cli_prepare_writes_the_files_and_prints_the_statistics(tmp_path, capsys):
    raw = _write(tmp_path / "log.tsv", "SessionId\tItemId\tTime", _generic_rows(), sep="\t")
    out = tmp_path / "out"
    code = main(
        [
            "-q",
            "prepare",
            "generic",
            str(raw),
            "--out",
            str(out),
            "--min-item-support",
            "1",
            "--test-days",
            "1.5",
        ]
    )
    assert code == 0
    printed = capsys.readouterr().out
    assert "part     train_full" in printed and "removed  pass 1: session length >= 2" in printed
    stats = json.loads((out / "stats.json").read_text())
    parts = _parts(out)
    for name, table in parts.items():
        assert stats["parts"][name]["events"] == len(table)
        assert stats["parts"][name]["sessions"] == table.SessionId.nunique()
    # Six daily sessions, the last ends at t0 + 5 days + 20 s: test starts at t0 + 3.5 days
    # + 20 s (s4, s5), validation at t0 + 2 days + 20 s (s3; s2 starts 20 s before it).
    assert sorted(parts["test"].SessionId) == ["s4"] * 3 + ["s5"] * 3
    assert sorted(set(parts["train_valid"].SessionId)) == ["s3"]
    assert sorted(set(parts["train_tr"].SessionId)) == ["s0", "s1", "s2"]
    tsv = (out / "stats.tsv").read_text().splitlines()
    assert tsv[0].split("\t")[:4] == ["kind", "name", "events", "sessions"]


def test_synth_writes_the_yoochoose_raw_format_that_prepare_reads(tmp_path, capsys):
    raw = tmp_path / "clicks.dat"
    assert (
        main(
            [
                "synth",
                "--format",
                "yoochoose",
                "--sessions",
                "3000",
                "--items",
                "200",
                "--out",
                str(raw),
            ]
        )
        == 0
    )
    first = raw.read_text().splitlines()[0].split(",")
    assert first[0] == "1" and first[1].startswith("2014-04-") and first[1].endswith("Z")
    assert main(["-q", "prepare", "yoochoose", str(raw), "--out", str(tmp_path / "o")]) == 0
    assert (tmp_path / "o" / "train_valid.tsv").exists()
