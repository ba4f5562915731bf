"""Where an experiment's data comes from: files, the bundled parts, a prepared directory."""

import pytest

from gru4rec_study.experiments.config import PREPARED_FILES, ConfigError, parse_experiment
from gru4rec_study.experiments.run import load_data

from conftest import write_events

MODELS = [{"kind": "popularity"}]

# Two sessions per part; every session starts a day after the previous one.
ROWS = {
    "train": [(1, "a", 0), (1, "b", 10), (2, "a", 86400), (2, "b", 86410), (2, "c", 86420)],
    "test": [(3, "a", 172800), (3, "c", 172810)],
    "train_tr": [(1, "a", 0), (1, "b", 10)],
    "train_valid": [(2, "a", 86400), (2, "b", 86410), (2, "c", 86420)],
}


def _prepared(tmp_path):
    directory = tmp_path / "prepared"
    directory.mkdir()
    for key, name in PREPARED_FILES.items():
        write_events(directory / name, ROWS[key])
    return directory


def _parse(tmp_path, data):
    return parse_experiment({"data": data, "models": MODELS}, "exp.toml", tmp_path)


def test_a_prepared_directory_gives_all_four_parts(tmp_path):
    _prepared(tmp_path)
    config = _parse(tmp_path, {"prepared": "prepared"})
    assert config.data.train.endswith("prepared/train_full.tsv")
    assert config.data.train_valid.endswith("prepared/train_valid.tsv")
    train, test, _, inputs = load_data(config)
    assert (train.n_events, test.n_events) == (5, 2)
    assert set(inputs) == {"train", "test"}
    train, valid, _, inputs = load_data(config, validation=True)
    assert (train.n_events, valid.n_events) == (2, 2)  # item c is not in train_tr
    assert set(inputs) == {"train_tr", "train_valid"}


def test_prepared_directory_errors_name_the_key_and_the_missing_file(tmp_path):
    with pytest.raises(ConfigError, match="data.prepared.*no such directory"):
        _parse(tmp_path, {"prepared": "nothere"})
    directory = _prepared(tmp_path)
    (directory / "train_valid.tsv").unlink()
    with pytest.raises(ConfigError, match="train_valid.tsv is missing"):
        _parse(tmp_path, {"prepared": "prepared"})
    with pytest.raises(ConfigError, match="either prepared or train"):
        _parse(tmp_path, {"prepared": "prepared", "train": "x.tsv"})


def test_the_bundled_data_brings_its_validation_split():
    config = parse_experiment(
        {"data": {"train": "bundled:train_full", "test": "bundled:test"}, "models": MODELS},
        "exp.toml",
        None,
    )
    assert (config.data.train_tr, config.data.train_valid) == (
        "bundled:train_tr",
        "bundled:train_valid",
    )


def test_validation_parts_come_in_pairs_and_must_exist(tmp_path):
    write_events(tmp_path / "tr.tsv", ROWS["train_tr"])
    with pytest.raises(ConfigError, match="both train_tr and train_valid"):
        _parse(tmp_path, {"train": "tr.tsv", "test": "tr.tsv", "train_tr": "tr.tsv"})
    with pytest.raises(ConfigError, match="data.train_valid.*no such file"):
        _parse(
            tmp_path,
            {"train": "tr.tsv", "test": "tr.tsv", "train_tr": "tr.tsv", "train_valid": "v.tsv"},
        )


def test_files_without_a_validation_split_say_so_when_it_is_needed(tmp_path):
    write_events(tmp_path / "tr.tsv", ROWS["train"])
    config = _parse(tmp_path, {"train": "tr.tsv", "test": "tr.tsv"})
    with pytest.raises(ValueError, match="no validation data"):
        load_data(config, validation=True)


def test_an_event_file_is_split_again_inside_its_training_part(tmp_path):
    rows = [
        (s, item, day * 86400 + step)
        for s, day in ((1, 0), (2, 2), (3, 4))
        for step, item in enumerate("abab")
    ]
    write_events(tmp_path / "all.tsv", rows)
    data = {"events": "all.tsv"}
    split = {"rule": "days", "test_days": 1.0, "min_item_support": 1}
    config = parse_experiment({"data": data, "split": split, "models": MODELS}, "e", tmp_path)
    train, test, report, _ = load_data(config)
    assert (train.n_sessions, test.n_sessions) == (2, 1)
    train, valid, report, _ = load_data(config, validation=True)
    assert (train.n_sessions, valid.n_sessions) == (1, 1)
    assert "validation_split" in report
