"""The prepare recipes on the real diginetica and otto samples and on hand-written raw files."""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from gru4rec_study.data import DataError
from gru4rec_study.data.prepare import PART_FILES, prepare_dataset
from gru4rec_study.data.recipes import ColumnNames, get_recipe
from gru4rec_study.data.recipes.otto import read_otto

FIXTURES = Path(__file__).parent / "fixtures" / "raw"
DIGINETICA = FIXTURES / "diginetica-sample" / "sample_train-item-views.csv"
OTTO = FIXTURES / "otto-sample" / "train.jsonl"
DAY = 86_400


def _parts(out: Path) -> dict[str, pd.DataFrame]:
    return {name: pd.read_csv(out / f, sep="\t") for name, f in PART_FILES.items()}


def _official_diginetica(path: Path) -> dict[str, pd.DataFrame]:
    """The official Diginetica protocol, written independently with pandas."""
    raw = pd.read_csv(path, sep=";")
    day = pd.to_datetime(raw.eventdate) - pd.Timestamp("1970-01-01")
    day_ms = (day.dt.total_seconds() * 1000).astype("int64")
    raw["Time"] = day_ms.groupby(raw.session_id).transform("min") + raw.timeframe
    data = raw.rename(columns={"session_id": "SessionId", "item_id": "ItemId"})
    data = data[["SessionId", "ItemId", "Time"]].sort_values(["SessionId", "Time"], kind="stable")
    repeat = (data.ItemId == data.ItemId.shift()) & (data.SessionId == data.SessionId.shift())
    data = data[~repeat]
    while True:
        n = len(data)
        data = data[data.groupby("SessionId").ItemId.transform("size") > 1]
        data = data[data.groupby("ItemId").SessionId.transform("size") >= 5]
        if len(data) == n:
            break

    def split(data, tsplit):
        start = data.groupby("SessionId").Time.transform("min")
        test = data[start >= tsplit]
        train = data[data.Time < tsplit]
        return train[train.groupby("SessionId").ItemId.transform("size") > 1], test

    week = 7 * DAY * 1000
    train, test = split(data, data.Time.max() - week)
    train_tr, valid = split(train, data.Time.max() - 2 * week)
    return {"train_full": train, "test": test, "train_tr": train_tr, "train_valid": valid}


def test_diginetica_sample_matches_the_official_protocol_written_independently(tmp_path):
    prepared = prepare_dataset(get_recipe("diginetica"), [DIGINETICA], tmp_path)
    read = prepared.stats["parts"]["read"]
    # The sample's README: 12,391 events, 2,986 sessions, 7,139 items, lengths 1 .. 54.
    assert (read["events"], read["sessions"], read["items"]) == (12391, 2986, 7139)
    assert (read["length_min"], read["length_max"]) == (1, 54)
    ours, official = _parts(tmp_path), _official_diginetica(DIGINETICA)
    for name, table in official.items():
        expected = table.assign(Time=table.Time / 1000).reset_index(drop=True)
        got = ours[name]
        assert got[["SessionId", "ItemId"]].equals(expected[["SessionId", "ItemId"]]), name
        np.testing.assert_allclose(got.Time, expected.Time, rtol=0, atol=5e-4)
        assert prepared.stats["parts"][name]["events"] == len(expected)


def test_diginetica_times_agree_with_the_canonical_conversion(tmp_path):
    canonical = pd.read_csv(FIXTURES / "diginetica-sample" / "canonical.tsv.gz", sep="\t")
    raw = pd.read_csv(DIGINETICA, sep=";")
    constant_date = raw.groupby("session_id").eventdate.nunique() == 1
    recipe = get_recipe("diginetica")
    events = recipe.read([DIGINETICA], ColumnNames())
    ours = pd.DataFrame({c: events[c].to_numpy() for c in ("session_id", "item_id", "timestamp")})
    ours = ours.sort_values(["session_id", "timestamp"], kind="stable").reset_index(drop=True)
    keep = ours.session_id.map(constant_date).to_numpy()
    same = canonical.SessionId.map(constant_date).to_numpy()
    assert keep.sum() == same.sum() > 12_000
    np.testing.assert_allclose(ours.timestamp[keep] / 1000, canonical.Time[same], rtol=0, atol=5e-4)
    assert (ours.item_id[keep].to_numpy() == canonical.ItemId[same].to_numpy()).all()


def test_otto_clicks_match_the_canonical_conversion():
    events = read_otto([OTTO], ColumnNames())
    assert events.height == 862 and int(events["keep"].sum()) == 800
    clicks = events.filter(events["keep"])
    canonical = pd.read_csv(FIXTURES / "otto-sample" / "canonical_clicks.tsv", sep="\t")
    assert (clicks["session_id"].to_numpy() == canonical.SessionId.to_numpy()).all()
    assert (clicks["item_id"].to_numpy() == canonical.ItemId.to_numpy()).all()
    np.testing.assert_allclose(clicks["timestamp"].to_numpy() / 1000, canonical.Time, atol=5e-4)


def test_otto_sample_has_no_week_for_validation_and_says_so(tmp_path):
    with pytest.raises(DataError, match="validation split inside train_full"):
        prepare_dataset(get_recipe("otto"), [OTTO], tmp_path, min_item_support=1)


def _clicks(path: Path, rows: list[tuple[int, str, int]]) -> Path:
    path.write_text("".join(f"{s},{t},{i},0\n" for s, t, i in rows))
    return path


def _iso(seconds: float) -> str:
    return pd.Timestamp(seconds, unit="s").strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def _click_rows(n_days: int = 3) -> list[tuple[int, str, int]]:
    """Two sessions a day, items 1..3 in a loop, with one repeat in each session."""
    rows, t0, session = [], 1_396_310_400, 0
    for day in range(n_days):
        for k in range(2):
            session += 1
            start = t0 + day * DAY + k * 3600
            items = [1, 2, 2, 3]
            rows += [(session, _iso(start + 60 * j), item) for j, item in enumerate(items)]
    return rows


def test_yoochoose_reads_both_files_removes_repeats_and_splits_the_last_day(tmp_path):
    rows = _click_rows()
    clicks = _clicks(tmp_path / "clicks.dat", rows[:16])
    test_file = _clicks(tmp_path / "test.dat", rows[16:])
    out = tmp_path / "out"
    prepared = prepare_dataset(get_recipe("yoochoose"), [clicks, test_file], out, None, 1)
    parts = _parts(out)
    # 6 sessions of 4 clicks; the repeat goes, leaving 3 events each.
    assert prepared.stats["parts"]["preprocessed"]["events"] == 18
    # The last day starts at t0 + 2 days + 1h + 3 min - 1 day: sessions 5 and 6 start after.
    assert sorted(set(parts["test"].SessionId)) == [5, 6]
    assert sorted(set(parts["train_valid"].SessionId)) == [3, 4]
    assert sorted(set(parts["train_tr"].SessionId)) == [1, 2]
    assert parts["test"].Time.dtype == np.int64  # whole seconds are written as integers
    assert set(p.name for p in out.iterdir()) == {*PART_FILES.values(), "stats.tsv", "stats.json"}


def test_rsc15_keeps_repeats_and_filters_test_to_training_items(tmp_path):
    rows = _click_rows() + [(7, _iso(1_396_310_400 + 2 * DAY + 7200), 99)]
    rows += [
        (7, _iso(1_396_310_400 + 2 * DAY + 7260), 1),
        (7, _iso(1_396_310_400 + 2 * DAY + 7320), 2),
    ]
    prepared = prepare_dataset(
        get_recipe("rsc15"), [_clicks(tmp_path / "c.dat", rows)], tmp_path / "o", None, 1
    )
    split = prepared.stats["split"]
    assert prepared.stats["parts"]["preprocessed"]["events"] == 27  # no de-duplication
    assert split["n_test_events_unknown_item"] == 1  # item 99 is only in test
    test = pd.read_csv(tmp_path / "o" / "test.tsv", sep="\t")
    assert 99 not in set(test.ItemId) and 7 in set(test.SessionId)
