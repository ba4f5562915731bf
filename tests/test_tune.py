"""Tuning with Optuna: trials in a shared storage, resume, failures, the best run on test."""

import json
import os
import re
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

import optuna
import pandas as pd
import pytest
from optuna.trial import TrialState

from gru4rec_study.cli import main
from gru4rec_study.data import bundled_dataset
from gru4rec_study.experiments import load_experiment
from gru4rec_study.experiments.config import ConfigError
from gru4rec_study.experiments.tuning import TuneOptions, tune
from gru4rec_study.models import SessionKNN, TrainingError

SRC = Path(__file__).resolve().parents[1] / "src"
SLICES = {  # prepared file: bundled part, sessions kept (the newest training, the first test)
    "train_full.tsv": ("train_full", -1200),
    "test.tsv": ("test", 150),
    "train_tr.tsv": ("train_tr", -1200),
    "train_valid.tsv": ("train_valid", 150),
}
SPACE = """
model = "sknn"
[params]
k = { type = "categorical", choices = [5, 10, 20, 50] }
sample_size = { type = "categorical", choices = [50, 200] }
"""


@pytest.fixture(scope="module")
def experiment(tmp_path_factory):
    """A prepared directory of bundled slices, an experiment on it and a small SKNN space."""
    root = tmp_path_factory.mktemp("tune")
    (root / "prepared").mkdir()
    for name, (part, n) in SLICES.items():
        events = pd.read_csv(bundled_dataset(part), sep="\t", dtype=str)
        sessions = pd.unique(events["SessionId"])
        keep = sessions[n:] if n < 0 else sessions[:n]
        events[events["SessionId"].isin(keep)].to_csv(
            root / "prepared" / name, sep="\t", index=False
        )
    (root / "exp.toml").write_text("""
name = "tiny"
seed = 3
[data]
prepared = "prepared"
[evaluation]
cutoffs = [5, 20]
bootstrap_resamples = 0
[[models]]
kind = "markov"
[[models]]
kind = "sknn"
[[models]]
kind = "gru4rec"
preset = "rsc15"
""")
    (root / "space.toml").write_text(SPACE)
    return root


def _options(root, tmp_path, n_trials, **changes):
    values = {
        "model": "SKNN",
        "n_trials": n_trials,
        "space": str(root / "space.toml"),
        "storage": f"sqlite:///{tmp_path / 'study.db'}",
        "study_name": "s",
        "out_root": str(tmp_path / "runs"),
        "final": False,
    }
    return TuneOptions(**{**values, **changes})


def _study(tmp_path):
    return optuna.load_study(study_name="s", storage=f"sqlite:///{tmp_path / 'study.db'}")


def test_tuning_records_every_trial_and_runs_the_best_setting_on_test(experiment, tmp_path):
    config = load_experiment(experiment / "exp.toml")
    result = tune(config, _options(experiment, tmp_path, 3, final=True))

    study = _study(tmp_path)
    assert [t.state for t in study.trials] == [TrialState.COMPLETE] * 3
    assert result.n_added == 3 and result.n_complete == 3
    assert result.best_params == study.best_trial.params
    assert result.best_value == max(t.value for t in study.trials) == study.best_value
    assert study.user_attrs["metric"] == "MRR@20"

    best = json.loads((result.history_dir / "best.json").read_text())
    assert best["params"] == study.best_trial.params and best["best_value"] == study.best_value
    assert best["best_trial"] == study.best_trial.number and best["n_trials"]["COMPLETE"] == 3
    table = pd.read_csv(result.history_dir / "trials.csv")
    assert table["number"].tolist() == [0, 1, 2] and set(table["state"]) == {"COMPLETE"}
    assert table["value"].tolist() == pytest.approx([t.value for t in study.trials])
    assert table["params_k"].tolist() == [t.params["k"] for t in study.trials]
    records = json.loads((result.history_dir / "trials.json").read_text())
    assert [r["params"] for r in records] == [t.params for t in study.trials]
    assert all(r["duration_s"] > 0 and r["worker_seed"] == 3 for r in records)

    run_dir = result.run.run_dir
    saved = json.loads((run_dir / "config.json").read_text())
    assert [m["params"] for m in saved["models"]] == [study.best_trial.params]
    assert saved["name"] == "tiny-SKNN-tuned"
    results = json.loads((run_dir / "results.json").read_text())
    assert list(results["models"]) == ["SKNN"] and results["models"]["SKNN"]["metrics"]["MRR@20"]
    tuning = json.loads((run_dir / "tuning" / "best.json").read_text())
    assert tuning["params"] == study.best_trial.params


def test_a_second_invocation_resumes_the_study_and_stops_at_the_total(experiment, tmp_path):
    config = load_experiment(experiment / "exp.toml")
    tune(config, _options(experiment, tmp_path, 2))
    second = tune(config, _options(experiment, tmp_path, 2))
    assert second.n_added == 2
    study = _study(tmp_path)
    assert [t.number for t in study.trials] == [0, 1, 2, 3]
    seeds = [t.user_attrs["worker_seed"] for t in study.trials]
    assert seeds == [3, 3, 4, 4]  # the second worker takes the next unclaimed seed

    third = tune(config, _options(experiment, tmp_path, 5, total_trials=5))
    assert third.n_added == 1 and len(_study(tmp_path).trials) == 5
    assert tune(config, _options(experiment, tmp_path, 5, total_trials=5)).n_added == 0

    final = tune(config, _options(experiment, tmp_path, 0, final=True))  # the best, on test
    saved = json.loads((final.run.run_dir / "config.json").read_text())
    assert final.n_added == 0 and saved["models"][0]["params"] == _study(tmp_path).best_params


def _worker(experiment, tmp_path, *options):
    """The command line of a worker process on the study ``s`` of ``tmp_path``."""
    command = [
        sys.executable,
        "-m",
        "gru4rec_study.cli",
        "-q",
        "tune",
        str(experiment / "exp.toml"),
    ]
    command += ["--storage", f"sqlite:///{tmp_path / 'study.db'}", "--study-name", "s"]
    command += ["--no-final", "--out", str(tmp_path / "runs"), *options]
    env = {**os.environ, "PYTHONPATH": str(SRC)}
    return subprocess.Popen(command, env=env, stdout=subprocess.PIPE, text=True)


def test_a_trial_left_running_by_a_killed_worker_is_failed_on_resume(experiment, tmp_path):
    (tmp_path / "slow.toml").write_text("""
model = "gru4rec"
[fixed]
n_epochs = 50
layers = [8]
n_sample = 16
[params]
batch_size = { type = "categorical", choices = [32] }
""")
    space = ["--space", str(tmp_path / "slow.toml")]
    options = ["--model", "GRU4Rec", *space, "--trials", "1", "--heartbeat", "1"]
    worker = _worker(experiment, tmp_path, *options)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and worker.poll() is None:
        try:
            if _study(tmp_path).get_trials(states=(TrialState.RUNNING,)):
                break
        except KeyError:  # the study is not there yet
            pass
        time.sleep(0.2)
    time.sleep(1.5)  # a heartbeat or two
    worker.kill()
    worker.wait()
    assert [t.state for t in _study(tmp_path).trials] == [TrialState.RUNNING]
    time.sleep(2.5)  # past the grace period of twice the heartbeat interval

    config = load_experiment(experiment / "exp.toml")
    options = _options(experiment, tmp_path, 1, model="GRU4Rec", space=space[1], heartbeat=1)
    result = tune(config, replace(options, overrides={"n_epochs": 1}))
    trials = _study(tmp_path).trials
    assert [t.state for t in trials] == [TrialState.FAIL, TrialState.COMPLETE]
    assert [t.number for t in trials] == [0, 1] and result.n_added == 1


def test_a_failed_trial_is_recorded_and_the_study_goes_on(experiment, tmp_path, monkeypatch):
    fit, calls = SessionKNN.fit, []

    def fail_first(self, train):
        calls.append(self.k)
        if len(calls) == 1:
            raise TrainingError("the loss became nan")
        return fit(self, train)

    monkeypatch.setattr(SessionKNN, "fit", fail_first)
    config = load_experiment(experiment / "exp.toml")
    result = tune(config, _options(experiment, tmp_path, 3))
    study = _study(tmp_path)
    assert [t.state for t in study.trials] == [TrialState.FAIL] + [TrialState.COMPLETE] * 2
    assert study.trials[0].user_attrs["error"] == "the loss became nan"
    records = json.loads((result.history_dir / "trials.json").read_text())
    assert records[0]["state"] == "FAIL" and records[0]["error"] == "the loss became nan"
    assert result.best_value == max(t.value for t in study.trials[1:])


def test_a_gru4rec_trial_whose_loss_becomes_nan_fails_without_a_final_run(experiment, tmp_path):
    (tmp_path / "nan.toml").write_text("""
model = "gru4rec"
[fixed]
learning_rate = 1e30
n_epochs = 1
layers = [8]
n_sample = 16
[params]
batch_size = { type = "categorical", choices = [32] }
""")
    config = load_experiment(experiment / "exp.toml")
    space = str(tmp_path / "nan.toml")
    options = _options(experiment, tmp_path, 1, model="GRU4Rec", space=space, final=True)
    result = tune(config, options)
    (trial,) = _study(tmp_path).trials
    assert trial.state == TrialState.FAIL and "loss became nan" in trial.user_attrs["error"]
    assert result.best_params is None and result.run is None


def test_mistakes_are_errors_before_anything_trains(experiment, tmp_path):
    config = load_experiment(experiment / "exp.toml")
    with pytest.raises(ConfigError, match=r"--model 'KNN' is not a model .*'Markov', 'SKNN'"):
        tune(config, _options(experiment, tmp_path, 1, model="KNN"))
    with pytest.raises(ConfigError, match="--metric 'map@20'"):
        tune(config, _options(experiment, tmp_path, 1, metric="map@20"))
    with pytest.raises(ConfigError, match="no shipped parameter space for model kind 'markov'"):
        tune(config, _options(experiment, tmp_path, 1, model="Markov", space=None))
    assert not (tmp_path / "study.db").exists()

    tune(config, _options(experiment, tmp_path, 1))
    with pytest.raises(ConfigError, match="was tuned with another metric"):
        tune(config, _options(experiment, tmp_path, 1, metric="recall@20"))


def test_the_cli_tunes_and_prints_the_best_setting_and_the_run(experiment, tmp_path, capsys):
    out = tmp_path / "runs"
    args = ["tune", str(experiment / "exp.toml"), "--model", "sknn", "--trials", "2"]
    args += ["--space", str(experiment / "space.toml"), "--out", str(out), "--seed", "7"]
    args += ["--param", "popularity_tiebreak=false", "--metric", "recall@20"]
    assert main(["-q", *args]) == 0
    printed = capsys.readouterr().out
    assert "trials added by this worker: 2; complete in the study: 2" in printed
    assert (out / "tune" / "tiny-SKNN-space.db").is_file()
    best = json.loads((out / "tune" / "tiny-SKNN-space" / "best.json").read_text())
    assert best["metric"] == "Recall@20" and best["model_params"]["popularity_tiebreak"] is False
    assert f"best parameters: {json.dumps(best['params'])}" in printed
    (run_dir,) = [p for p in out.iterdir() if p.name.startswith("tiny-SKNN-tuned")]
    saved = json.loads((run_dir / "config.json").read_text())
    assert saved["models"][0]["params"] == best["model_params"]
    assert re.search(r"Recall@20\s+\d\.\d{4}", printed)

    assert (
        main(["-q", "tune", str(experiment / "exp.toml"), "--model", "nope", "--trials", "1"]) == 2
    )
    assert "--model 'nope' is not a model of the experiment" in capsys.readouterr().err

    bad = ["tune", str(experiment / "exp.toml"), "--model", "sknn", "--trials", "1"]
    assert main(["-q", *bad, "--storage", "foo://bar", "--out", str(out)]) == 2
    assert "--storage foo://bar: cannot open the study storage" in capsys.readouterr().err
    # A database whose driver is not installed (or not reachable): the same clear message.
    url = "postgresql://u:p@127.0.0.1:1/db"
    assert main(["-q", *bad, "--storage", url, "--out", str(out)]) == 2
    assert f"--storage {url}: cannot open the study storage" in capsys.readouterr().err
    # No trial in the study and none to add: an error, not an empty result.
    fresh = ["--storage", f"sqlite:///{tmp_path / 'empty.db'}", "--out", str(out)]
    assert main(["-q", *bad[:-1], "0", *fresh]) == 2
    assert "has no complete trial and this worker adds none" in capsys.readouterr().err
    assert not (tmp_path / "empty.db").exists()


def test_two_workers_add_their_trials_to_one_study(experiment, tmp_path):
    space = ["--model", "SKNN", "--space", str(experiment / "space.toml")]
    workers = [
        _worker(experiment, tmp_path, *space, "--trials", str(n), "--seed", str(seed))
        for n, seed in ((3, 1), (2, 2))
    ]
    printed = [w.communicate(timeout=300)[0] for w in workers]
    assert [w.returncode for w in workers] == [0, 0]
    assert "trials added by this worker: 3;" in printed[0]
    assert "trials added by this worker: 2;" in printed[1]

    trials = _study(tmp_path).trials
    assert sorted(t.number for t in trials) == [0, 1, 2, 3, 4]
    assert all(t.state == TrialState.COMPLETE for t in trials)
    by_worker = [t.user_attrs["worker_seed"] for t in trials]
    assert (by_worker.count(1), by_worker.count(2)) == (3, 2)
