"""End to end through the command line, on a slice of the bundled data."""

import gzip
import json
import re
from pathlib import Path

import pandas as pd
import pytest
import torch

from gru4rec_study.cli import build_parser, main
from gru4rec_study.data import bundled_dataset


@pytest.fixture(scope="module")
def slice_files(tmp_path_factory):
    root = tmp_path_factory.mktemp("slice")
    paths = {}
    for part, n in (("train_full", 2500), ("test", 250)):
        events = pd.read_csv(bundled_dataset(part), sep="\t", dtype=str)
        keep = pd.unique(events["SessionId"])[:n]
        paths[part] = root / f"{part}.tsv"
        events[events["SessionId"].isin(keep)].to_csv(paths[part], sep="\t", index=False)
    return paths


def _cli(*args: str) -> int:
    return main(["-q", *args])


def _experiment(tmp_path, slice_files, extra=""):
    path = tmp_path / "exp.toml"
    path.write_text(f"""
name = "e2e"
seed = 5
[data]
train = "{slice_files["train_full"]}"
test = "{slice_files["test"]}"
[evaluation]
cutoffs = [5, 10, 20]
sampled_negatives = 100
bootstrap_resamples = 200
[[models]]
kind = "popularity"
[[models]]
kind = "markov"
[[models]]
kind = "gru4rec"
preset = "rsc15"
params = {{ n_epochs = 2, layers = [16], n_sample = 64 }}
{extra}
""")
    return path


def test_run_writes_a_complete_run_directory(tmp_path, slice_files, capsys):
    assert (
        main(
            ["-q", "run", str(_experiment(tmp_path, slice_files)), "--out", str(tmp_path / "runs")]
        )
        == 0
    )
    printed = capsys.readouterr().out
    assert re.search(r"Metric\s+Popularity\s+Markov\s+GRU4Rec", printed)
    assert re.search(r"Recall@20\s+\d\.\d{4}\s+\d\.\d{4}\s+\d\.\d{4}", printed)
    (run_dir,) = (tmp_path / "runs").iterdir()

    results = json.loads((run_dir / "results.json").read_text())
    assert results["tie_policy"] == "conservative" and results["n_events"] > 0
    assert set(results["models"]) == {"Popularity", "Markov", "GRU4Rec"}
    for model in results["models"].values():
        assert model["n_events"] == results["n_events"]
        assert set(model["metrics"]) == {
            f"{m}@{k}" for m in ("Recall", "MRR", "NDCG") for k in (5, 10, 20)
        }
    config = json.loads((run_dir / "config.json").read_text())
    assert config["models"][2]["params"]["n_epochs"] == 2 and config["seed"] == 5
    assert "run" in (run_dir / "command.txt").read_text()
    env = json.loads((run_dir / "environment.json").read_text())
    assert env["seed"] == 5 and env["versions"]["torch"] and env["versions"]["polars"]
    assert env["versions"]["numba"] and env["versions"]["llvmlite"]
    # What GRU4Rec's numbers depend on besides the seed: the kernels' instruction set, threads.
    assert env["machine"]["cpu_capability"] == torch.backends.cpu.get_cpu_capability()
    assert env["machine"]["torch_threads"] == torch.get_num_threads()
    inputs = json.loads((run_dir / "inputs.json").read_text())
    assert re.fullmatch(r"[0-9a-f]{64}", inputs["train"]["sha256"])
    log = json.loads((run_dir / "training_log.json").read_text())
    assert [r["epoch"] for r in log["GRU4Rec"]] == [1, 2]
    assert {"loss", "seconds", "events_per_second"} <= set(log["GRU4Rec"][0])
    gru = results["models"]["GRU4Rec"]
    low, high = gru["metrics_ci95"]["Recall@20"]
    assert low <= gru["metrics"]["Recall@20"] <= high
    assert gru["sampled_metrics"]["Recall@20"] >= gru["metrics"]["Recall@20"]
    assert len(results["significance"]) == 3 * 2
    comparison = results["sampled_comparison"]
    assert comparison["n_negatives"] == 100
    assert isinstance(comparison["orders"]["MRR@20"]["ordering_changes"], bool)
    assert "Sampled evaluation (100 uniform negatives" in printed
    data = json.loads((run_dir / "data.json").read_text())
    assert "n_unknown_item_events" in data["test_encoding"]
    for name in ("recall_at_k.png", "mrr_at_k.png", "recall_at_k.svg"):
        assert (run_dir / "figures" / name).stat().st_size > 1000
    for model in ("Popularity", "Markov", "GRU4Rec"):
        assert (run_dir / "models" / model / "weights.pt").is_file()
    with gzip.open(run_dir / "ranks.tsv.gz", "rt") as handle:
        ranks = pd.read_csv(handle, sep="\t")
    assert len(ranks) == results["n_events"]
    assert (ranks[["Popularity", "Markov", "GRU4Rec"]] >= 1).all().all()

    # The report is rebuilt from the run directory alone.
    assert main(["-q", "report", str(run_dir)]) == 0
    report = (run_dir / "results.md").read_text()
    assert "Recall@20" in report and "confidence intervals" in report
    assert "Paired significance tests" in report and "against sampled evaluation" in report


def test_unknown_experiment_key_is_an_error_naming_key_and_file(tmp_path, slice_files, capsys):
    path = _experiment(tmp_path, slice_files, extra="[evaluation2]\nx = 1\n")
    assert main(["-q", "run", str(path)]) == 2
    err = capsys.readouterr().err
    assert "exp.toml" in err and "evaluation2" in err


def test_bad_model_parameter_fails_before_training(tmp_path, slice_files, capsys):
    path = _experiment(
        tmp_path,
        slice_files,
        extra="[[models]]\nkind = 'gru4rec'\nparams = { dropout_p_hidden = 1.5 }\n",
    )
    assert main(["-q", "run", str(path), "--out", str(tmp_path / "r")]) == 2
    assert "dropout_p_hidden" in capsys.readouterr().err
    assert not (tmp_path / "r").exists()


def test_split_train_evaluate_recommend(tmp_path, slice_files, capsys):
    both = pd.concat([pd.read_csv(slice_files[p], sep="\t") for p in ("train_full", "test")])
    events = tmp_path / "events.tsv"
    both.to_csv(events, sep="\t", index=False)
    out = tmp_path / "split"
    assert (
        main(
            [
                "-q",
                "split",
                str(events),
                "--rule",
                "sessions",
                "--test-share",
                "0.2",
                "--out",
                str(out),
            ]
        )
        == 0
    )
    report = json.loads((out / "split_report.json").read_text())
    assert report["split"]["n_test_sessions"] > 0
    train = pd.read_csv(out / "train.tsv", sep="\t")
    test = pd.read_csv(out / "test.tsv", sep="\t")
    assert not set(train["SessionId"]) & set(test["SessionId"])
    assert train["Time"].max() <= report["split"]["split_time"]

    model_dir = tmp_path / "model"
    gru_params = ["--param", "layers=16", "--param", "n_sample=64", "--epochs", "1"]
    train_args = ["train", str(out / "train.tsv"), "--model", "gru4rec", "--preset", "rsc15"]
    assert _cli(*train_args, *gru_params, "--out", str(model_dir)) == 0
    evaluate_args = ["evaluate", str(model_dir), str(out / "test.tsv"), "--tie-policy", "median"]
    assert _cli(*evaluate_args, "--cutoffs", "1", "20", "--out", str(tmp_path / "r.json")) == 0
    assert "MRR@1" in capsys.readouterr().out
    assert json.loads((tmp_path / "r.json").read_text())["tie_policy"] == "median"

    item = str(train["ItemId"].iloc[0])
    assert (
        main(["-q", "recommend", str(model_dir), "--items", f"{item},unknown-item", "-k", "3"]) == 0
    )
    lines = capsys.readouterr().out.strip().splitlines()
    assert lines[0] == f"after {item},unknown-item:" and len(lines) == 4
    # Spaces around the ids of --items are not part of them.
    assert main(["-q", "recommend", str(model_dir), "--items", f" {item} , {item}", "-k", "3"]) == 0
    assert len(capsys.readouterr().out.strip().splitlines()) == 4

    assert (
        _cli("train", str(out / "train.tsv"), "--model", "markov", "--out", str(tmp_path / "mk"))
        == 0
    )


def test_missing_input_file_is_a_clear_cli_error(tmp_path, capsys):
    assert main(["-q", "train", str(tmp_path / "none.tsv"), "--out", str(tmp_path / "m")]) == 2
    assert "none.tsv" in capsys.readouterr().err


def test_every_command_in_the_readme_exists():
    readme = (Path(__file__).parents[1] / "README.md").read_text()
    commands = set(re.findall(r"gru4rec-study ([a-z]+)", readme))
    choices = build_parser()._subparsers._group_actions[0].choices
    assert commands and commands <= set(choices)


def test_a_filter_that_leaves_nothing_fails_before_training(tmp_path, capsys):
    events = tmp_path / "events.tsv"
    rows = ["SessionId\tItemId\tTime"] + [
        f"{s}\titem{s}-{k}\t{10 * s + k}" for s in range(20) for k in range(3)
    ]
    events.write_text("\n".join(rows) + "\n")
    assert (
        main(
            ["-q", "split", str(events), "--min-item-support", "5", "--out", str(tmp_path / "out")]
        )
        == 2
    )
    assert "item support >= 5" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize(
    ("extra_toml", "message"),
    [
        ("[split]\ntest_days = 'x'\n", "test_days"),
        ("[split]\ntest_days = nan\n", "test_days"),
        ("[split]\ntest_days = 2.0\n", "[split] applies only to data.events"),
        ("[evaluation2]\n", "evaluation2"),
    ],
)
def test_bad_split_and_unknown_tables_are_errors(
    tmp_path, slice_files, capsys, extra_toml, message
):
    path = _experiment(tmp_path, slice_files, extra=extra_toml)
    assert main(["-q", "run", str(path), "--out", str(tmp_path / "r")]) == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "r").exists()


def _write_experiment(tmp_path, body):
    path = tmp_path / "bad.toml"
    path.write_text(body)
    return path


BASE = """
[data]
train = "{train}"
test = "{test}"
"""


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ('[evaluation]\ncutoffs = "25"\n', "cutoffs"),
        ("[evaluation]\ncutoffs = [5.9]\n", "cutoffs"),
        ("[evaluation]\nbatch_size = 'a'\n", "batch_size"),
        ("[[models]]\nkind = 'popularity'\n[[models]]\nkind = 'popularity'\n", "second model"),
        ("[[models]]\nkind = 'popularity'\nname = '../../escaped'\n", "plain name"),
        ("[[models]]\nkind = 'gru4rec'\nparams = { batch_size = 32.0 }\n", "batch_size"),
        ("[[models]]\nkind = 'gru4rec'\nparams = { momentum = inf }\n", "momentum"),
        ("[[models]]\nkind = 'gru4rec'\nparams = { seed = -3 }\n", "seed"),
        ("[[models]]\nkind = 'gru4rec'\nparams = { device = 'cuda:7' }\n", "device"),
        ("[evaluation]\ncutoffs = [5, 5]\n", "cutoffs must not repeat"),
    ],
)
def test_bad_experiment_values_fail_before_anything_runs(
    tmp_path, slice_files, capsys, body, message
):
    text = BASE.format(train=slice_files["train_full"], test=slice_files["test"]) + body
    if "[[models]]" not in body:
        text += "[[models]]\nkind = 'popularity'\n"
    path = _write_experiment(tmp_path, text)
    assert main(["-q", "run", str(path), "--out", str(tmp_path / "r")]) == 2
    err = capsys.readouterr().err
    assert message in err and "bad.toml" in err
    assert not (tmp_path / "r").exists()


@pytest.mark.parametrize("top", ["seed = -1", "seeds = [1, -2]"])
def test_negative_seeds_fail_before_anything_runs(tmp_path, slice_files, capsys, top):
    text = top + BASE.format(train=slice_files["train_full"], test=slice_files["test"])
    path = _write_experiment(tmp_path, text + "[[models]]\nkind = 'gru4rec'\n")
    assert main(["-q", "run", str(path), "--out", str(tmp_path / "r")]) == 2
    err = capsys.readouterr().err
    assert "non-negative" in err and "bad.toml" in err
    assert not (tmp_path / "r").exists()


def test_a_diverging_model_stops_the_run_naming_the_file_and_the_model(
    tmp_path, slice_files, capsys
):
    text = BASE.format(train=slice_files["train_full"], test=slice_files["test"])
    text += "[[models]]\nkind = 'popularity'\n[[models]]\nkind = 'gru4rec'\nname = 'GRU-hot'\n"
    text += "params = { loss = 'bpr-max', learning_rate = 1e6, bpreg = 1.0, layers = [16] }\n"
    path = _write_experiment(tmp_path, text)
    assert main(["-q", "run", str(path), "--out", str(tmp_path / "r")]) == 2
    err = capsys.readouterr().err
    assert "bad.toml: model 2 of 2 (GRU-hot)" in err and "diverged) in epoch 1" in err
    (run_dir,) = (tmp_path / "r").iterdir()
    assert f"the run directory {run_dir} holds only the models trained before it" in err
    assert not (run_dir / "results.json").exists()
    assert not (run_dir / "models" / "GRU-hot").exists()


def test_missing_and_unknown_bundled_inputs_name_the_key(tmp_path, capsys):
    for train, expected in (("nothere.tsv", "data.train"), ("bundled:trainfull", "bundled parts")):
        path = _write_experiment(
            tmp_path,
            f'[data]\ntrain = "{train}"\ntest = "bundled:test"\n'
            "[[models]]\nkind = 'popularity'\n",
        )
        assert main(["-q", "run", str(path), "--out", str(tmp_path / "r")]) == 2
        err = capsys.readouterr().err
        assert expected in err and "bad.toml" in err
    assert not (tmp_path / "r").exists()


def test_demo_with_zero_epochs_fails_before_training(tmp_path, capsys):
    assert main(["-q", "demo", "--epochs", "0", "--out", str(tmp_path / "r")]) == 2
    assert "--epochs must be at least 1, got 0" in capsys.readouterr().err
    assert not (tmp_path / "r").exists()


def test_evaluate_rejects_a_zero_cutoff_before_evaluating(tmp_path, slice_files, capsys):
    model_dir = tmp_path / "pop"
    assert (
        main(
            [
                "-q",
                "train",
                str(slice_files["train_full"]),
                "--model",
                "popularity",
                "--out",
                str(model_dir),
            ]
        )
        == 0
    )
    assert main(["-q", "evaluate", str(model_dir), str(slice_files["test"]), "--cutoffs", "0"]) == 2
    assert "cutoffs" in capsys.readouterr().err


def test_train_rejects_a_parameter_of_the_wrong_type(tmp_path, slice_files, capsys):
    assert (
        main(
            [
                "-q",
                "train",
                str(slice_files["train_full"]),
                "--param",
                "learning_rate=abc",
                "--out",
                str(tmp_path / "m"),
            ]
        )
        == 2
    )
    assert "learning_rate" in capsys.readouterr().err


def test_demo_runs_end_to_end_on_the_bundled_data(tmp_path, capsys):
    assert main(["-q", "demo", "--epochs", "1", "--out", str(tmp_path / "runs")]) == 0
    printed = capsys.readouterr().out
    assert re.search(r"Metric\s+Popularity\s+Markov\s+GRU4Rec", printed)
    assert "10152 test events, conservative ties" in printed
    (run_dir,) = (tmp_path / "runs").iterdir()
    assert (run_dir / "figures" / "recall_at_k.png").is_file()
    assert (run_dir / "figures" / "mrr_at_k.png").is_file()
    results = json.loads((run_dir / "results.json").read_text())
    assert results["n_events"] == 10152
    assert printed.rstrip().endswith(f"Report: {run_dir / 'report.html'}")
    html = (run_dir / "report.html").read_text()
    assert 'id="fig-session_lengths"' in html and 'id="fig-training_loss"' in html


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--sessions", "0", "--items", "10"], "--sessions"),
        (["--sessions", "5", "--items", "10", "--days", "-1"], "--days"),
        (["--sessions", "5", "--items", "10", "--days", "nan"], "--days"),
        (["--sessions", "5", "--items", "10", "--seed", "-1"], "--seed"),
    ],
)
def test_bad_synth_arguments_name_the_flag(tmp_path, capsys, args, message):
    assert _cli("synth", *args, "--out", str(tmp_path / "s.tsv")) == 2
    assert message in capsys.readouterr().err


def test_sampled_negatives_beyond_the_catalogue_fail_before_training(tmp_path, capsys):
    path = tmp_path / "neg.toml"
    path.write_text(
        '[data]\ntrain = "bundled:train_full"\ntest = "bundled:test"\n'
        "[evaluation]\nsampled_negatives = 5000\n[[models]]\nkind = 'gru4rec'\n"
    )
    assert _cli("run", str(path), "--out", str(tmp_path / "r")) == 2
    err = capsys.readouterr().err
    assert "neg.toml" in err and "sampled_negatives = 5000" in err and "2933 items" in err
    assert not (tmp_path / "r").exists()


def test_train_rejects_a_negative_seed_for_every_model(tmp_path, slice_files, capsys):
    out = tmp_path / "m"
    args = ["train", str(slice_files["train_full"]), "--model", "sknn", "--seed", "-4"]
    assert main(["-q", *args, "--out", str(out)]) == 2
    assert "--seed must be a non-negative integer, got -4" in capsys.readouterr().err
    assert not out.exists()


def test_train_rejects_epochs_and_unknown_parameters_for_baselines(tmp_path, slice_files, capsys):
    train = str(slice_files["train_full"])
    assert _cli("train", train, "--model", "itemknn", "--epochs", "3", "--out", "x") == 2
    assert "--epochs" in capsys.readouterr().err
    assert _cli("train", train, "--model", "spop", "--param", "x=1", "--out", "x") == 2
    assert "unknown parameter 'x'" in capsys.readouterr().err
    assert (
        _cli("train", train, "--model", "itemknn", "--param", "n_neighbors=2.5", "--out", "x") == 2
    )
    assert "n_neighbors" in capsys.readouterr().err


def test_several_seeds_give_mean_and_spread(tmp_path, slice_files, capsys):
    path = tmp_path / "seeds.toml"
    path.write_text(f"""
seeds = [1, 2]
[data]
train = "{slice_files["train_full"]}"
test = "{slice_files["test"]}"
[evaluation]
bootstrap_resamples = 0
[[models]]
kind = "markov"
[[models]]
kind = "gru4rec"
params = {{ n_epochs = 1, layers = [8], n_sample = 32, batch_size = 16 }}
""")
    assert _cli("run", str(path), "--out", str(tmp_path / "runs")) == 0
    printed = capsys.readouterr().out
    assert "mean ± standard deviation over seeds [1, 2]" in printed
    (run_dir,) = (tmp_path / "runs").iterdir()
    gru = json.loads((run_dir / "results.json").read_text())["models"]["GRU4Rec"]
    per_seed = gru["metrics_per_seed"]
    assert set(per_seed) == {"1", "2"} and per_seed["1"] != per_seed["2"]
    mean = (per_seed["1"]["MRR@20"] + per_seed["2"]["MRR@20"]) / 2
    assert gru["metrics"]["MRR@20"] == pytest.approx(mean)
    assert gru["metrics_sd"]["MRR@20"] == pytest.approx(
        abs(per_seed["1"]["MRR@20"] - per_seed["2"]["MRR@20"]) / 2**0.5
    )
    assert (run_dir / "models" / "GRU4Rec@seed-2" / "weights.pt").is_file()
    markov = json.loads((run_dir / "results.json").read_text())["models"]["Markov"]
    assert "metrics_per_seed" not in markov  # deterministic models run once


def test_run_takes_a_shipped_name_and_a_prepared_directory(tmp_path, slice_files, capsys):
    prepared = tmp_path / "prepared"
    prepared.mkdir()
    for name, part in (
        ("train_full.tsv", "train_full"),
        ("test.tsv", "test"),
        ("train_tr.tsv", "train_full"),
        ("train_valid.tsv", "test"),
    ):
        (prepared / name).write_bytes(slice_files[part].read_bytes())
    experiment = _write_experiment(
        tmp_path, '[data]\ntrain = "gone.tsv"\ntest = "gone.tsv"\n[[models]]\nkind = "popularity"\n'
    )
    out = tmp_path / "r"
    assert _cli("run", str(experiment), "--prepared", str(prepared), "--out", str(out)) == 0
    (run_dir,) = out.iterdir()
    inputs = json.loads((run_dir / "inputs.json").read_text())
    assert inputs["train"]["path"] == str(prepared / "train_full.tsv")
    capsys.readouterr()
    assert _cli("run", "rsc15", "--prepared", str(tmp_path / "nothere"), "--out", str(out)) == 2
    assert "nothere" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("flag", "value"),
    [
        ("--test-share", "1.5"),
        ("--test-days", "-1"),
        ("--min-session-length", "0"),
        ("--min-item-support", "-3"),
    ],
)
def test_split_checks_its_numbers_before_reading(tmp_path, capsys, flag, value):
    # The events file does not even exist: the argument error must come first.
    args = ["split", str(tmp_path / "none.tsv"), "--out", str(tmp_path / "o"), flag, value]
    assert _cli(*args) == 2
    assert flag in capsys.readouterr().err


def test_output_cut_short_by_the_reader_is_not_a_traceback(tmp_path):
    # `gru4rec-study ... | head`: the reader closes the pipe before the output is written.
    import subprocess
    import sys

    out = tmp_path / "s.tsv"
    command = (
        f"{sys.executable} -m gru4rec_study.cli -q synth --sessions 200 --items 30 --out {out}"
        f" && {sys.executable} -m gru4rec_study.cli -q split {out} --rule sessions"
        f" --min-item-support 1 --out {tmp_path / 'sp'} | true"
    )
    done = subprocess.run(command, shell=True, capture_output=True, text=True, timeout=120)
    assert (tmp_path / "sp" / "test.tsv").is_file()
    assert "BrokenPipe" not in done.stderr and "Traceback" not in done.stderr, done.stderr


def test_train_refuses_two_different_epoch_counts(tmp_path, slice_files, capsys):
    out = tmp_path / "m"
    train = str(slice_files["train_full"])
    args = ("train", train, "--epochs", "3", "--param", "n_epochs=5", "--out", str(out))
    assert _cli(*args) == 2
    assert "--epochs 3 and --param n_epochs=5 disagree" in capsys.readouterr().err
    assert not out.exists()
