"""Every experiment shipped with the package parses and validates."""

import shutil

import pytest

from gru4rec_study.experiments.config import (
    PREPARED_FILES,
    load_experiment,
    shipped_experiment,
    shipped_experiments,
)

from conftest import write_events

PUBLIC = ("rsc15", "yoochoose", "rees46", "coveo", "retailrocket", "diginetica")
ROWS = [(1, "a", 0), (1, "b", 10), (2, "a", 86400), (2, "b", 86410)]


def _prepared(directory):
    directory.mkdir(parents=True)
    for name in PREPARED_FILES.values():
        write_events(directory / name, ROWS)
    return directory


def test_every_public_dataset_has_an_experiment():
    assert set(PUBLIC) <= set(shipped_experiments())


@pytest.mark.parametrize("name", shipped_experiments())
def test_a_shipped_experiment_loads_next_to_its_prepared_directory(tmp_path, name):
    path = tmp_path / f"{name}.toml"
    shutil.copy(shipped_experiment(name), path)
    if name in PUBLIC:
        _prepared(tmp_path / "prepared" / name)
    config = load_experiment(path)
    assert config.models and config.name == name
    if name in PUBLIC:
        assert config.data.prepared == str(tmp_path / "prepared" / name)
        assert config.data.train_valid == str(tmp_path / "prepared" / name / "train_valid.tsv")


@pytest.mark.parametrize("name", PUBLIC)
def test_a_public_experiment_runs_the_official_best_setting_and_every_baseline(tmp_path, name):
    config = load_experiment(shipped_experiment(name), prepared=_prepared(tmp_path / "p"))
    kinds = [m.kind for m in config.models]
    every_baseline = ["popularity", "spop", "markov", "itemknn", "sr", "ar", "sknn", "vsknn"]
    assert kinds == [*every_baseline, "stan", "vstan", "gru4rec"]
    shipped = load_experiment(shipped_experiment("baselines"))
    assert set(kinds) == {m.kind for m in shipped.models}
    assert config.models[-1].preset == name and config.models[-1].params == {}
    assert config.data.train == str(tmp_path / "p" / "train_full.tsv")
    assert config.evaluation.cutoffs == (1, 5, 10, 20)
