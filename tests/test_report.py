"""The report of a run directory: tables, figures and the HTML page, on a tiny synthetic run."""

import csv
import io
import json
import logging
import re
import shutil
import subprocess
from html import escape

import matplotlib.image
import numpy as np
import pytest

from gru4rec_study.cli import main
from gru4rec_study.data import write_events
from gru4rec_study.data.synthetic import synthetic_events
from gru4rec_study.experiments import load_experiment, run_experiment
from gru4rec_study.reporting import read_run, write_report
from gru4rec_study.reporting.formats import latex_escape

MODELS = ("Popularity", "Markov", "GRU4Rec")
FIGURES = (
    "recall_at_k",
    "mrr_at_k",
    "models",
    "training_loss",
    "session_lengths",
    "item_popularity",
    "full_vs_sampled",
    "accuracy_vs_time",
)


class _Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """A run of three models on 400 synthetic sessions, with intervals, tests, sampling."""
    root = tmp_path_factory.mktemp("tiny")
    write_events(synthetic_events(400, 60, seed=3), root / "events.tsv")
    (root / "tiny.toml").write_text("""
name = "tiny"
seed = 1
[data]
events = "events.tsv"
[split]
rule = "sessions"
test_share = 0.25
min_item_support = 1
[evaluation]
cutoffs = [5, 10]
sampled_negatives = 20
bootstrap_resamples = 100
[[models]]
kind = "popularity"
[[models]]
kind = "markov"
[[models]]
kind = "gru4rec"
params = { n_epochs = 3, layers = [8], n_sample = 16, batch_size = 16 }
""")
    records = _Records()
    logger = logging.getLogger("gru4rec_study")
    logger.addHandler(records)
    level = logger.level
    logger.setLevel(logging.INFO)
    try:
        result = run_experiment(load_experiment(root / "tiny.toml"), root / "runs", ["test"])
    finally:
        logger.removeHandler(records)
        logger.setLevel(level)
    paths = write_report(result.run_dir)
    return result.run_dir, result.results, paths, records.messages


def test_a_run_of_several_models_logs_which_model_it_is_on(run):
    messages = run[3]
    for i, model in enumerate(MODELS, start=1):
        assert f"model {i} of 3: {model}" in messages


def test_csv_cells_equal_the_numbers_in_results_json(run):
    run_dir, results, paths, _ = run
    rows = list(csv.DictReader(io.StringIO(paths["csv"].read_text())))
    assert len(rows) == len(MODELS) * (6 + 4)  # 3 metrics x 2 cutoffs, + Coverage/Popularity
    for row in rows:
        entry = results["models"][row["model"]]
        if row["metric"] in entry["metrics"]:
            assert float(row["value"]) == entry["metrics"][row["metric"]]
            low, high = entry["metrics_ci95"][row["metric"]]
            assert (float(row["ci95_low"]), float(row["ci95_high"])) == (low, high)
        else:
            assert float(row["value"]) == entry["beyond_accuracy"][row["metric"]]
            assert row["ci95_low"] == row["ci95_high"] == ""
        assert row["sd"] == ""


def test_significance_csv_holds_every_paired_test(run):
    _, results, paths, _ = run
    rows = list(csv.DictReader(io.StringIO(paths["significance_csv"].read_text())))
    assert len(rows) == len(results["significance"]) == 3 * 2
    for row, test in zip(rows, results["significance"], strict=True):
        assert (row["model_a"], row["model_b"], row["metric"]) == (
            test["model_a"],
            test["model_b"],
            test["metric"],
        )
        assert float(row["mean_difference"]) == test["mean_difference"]
        assert row["significant"] == str(test["significant"])


def _latex_rows(text: str) -> dict[str, list[str]]:
    rows = {}
    for line in text.splitlines():
        if line.endswith(r"\\") and "&" in line:
            cells = [c.strip() for c in line.removesuffix(r"\\").split("&")]
            rows[cells[0]] = cells[1:]
    return rows


def test_latex_cells_are_the_results_rounded_with_their_intervals(run):
    _, results, paths, _ = run
    text = paths["latex"].read_text()
    assert text.startswith(r"\begin{table}") and r"\toprule" in text and r"\bottomrule" in text
    rows = _latex_rows(text)
    assert rows["Metric"] == list(MODELS)
    for metric in ("Recall@5", "MRR@10", "NDCG@10"):
        values = [results["models"][m]["metrics"][metric] for m in MODELS]
        for model, cell, value in zip(MODELS, rows[metric], values, strict=True):
            low, high = results["models"][model]["metrics_ci95"][metric]
            number = f"{value:.4f}"
            bold = value == max(values)
            assert cell.startswith(rf"\textbf{{{number}}}" if bold else number)
            assert cell.endswith(rf"{{\scriptsize [{low:.4f}, {high:.4f}]}}")
    coverage = results["models"]["Markov"]["beyond_accuracy"]["Coverage@10"]
    assert rows["Coverage@10"][1] == f"{coverage:.4f}"
    significance = paths["significance_latex"].read_text().splitlines()
    assert sum(line.endswith(r"\\") for line in significance) == 1 + 6


def test_latex_escapes_special_characters():
    assert latex_escape("GRU4Rec_bpr & 100% #1") == r"GRU4Rec\_bpr \& 100\% \#1"


def test_curves_at_the_cutoffs_equal_the_metrics(run):
    _, results, _, _ = run
    for model in MODELS:
        entry = results["models"][model]
        for name in ("Recall", "MRR", "NDCG"):
            curve = entry["curves"][name]
            assert len(curve) == 10
            for k in results["cutoffs"]:
                assert curve[k - 1] == entry["metrics"][f"{name}@{k}"]
            if name == "Recall":
                assert curve == sorted(curve)


def test_curves_of_a_run_without_them_come_from_the_ranks(run, tmp_path):
    run_dir, results, _, _ = run
    copy = tmp_path / "old"
    shutil.copytree(run_dir, copy)
    stripped = json.loads((copy / "results.json").read_text())
    for entry in stripped["models"].values():
        del entry["curves"]
    (copy / "results.json").write_text(json.dumps(stripped))
    curves = read_run(copy).curves
    for model in MODELS:
        for name in ("Recall", "MRR"):
            assert curves[model][name] == pytest.approx(results["models"][model]["curves"][name])


def test_every_figure_is_written_as_png_and_svg(run):
    run_dir, _, paths, _ = run
    for name in FIGURES:
        for suffix in ("png", "svg"):
            path = run_dir / "figures" / f"{name}.{suffix}"
            assert paths[path.name] == path and path.stat().st_size > 5000


def test_data_histograms_describe_the_training_data(run):
    run_dir, _, _, _ = run
    data = json.loads((run_dir / "data.json").read_text())
    for part in ("train", "test"):
        lengths = data[part]["session_length_histogram"]
        assert sum(lengths["n_sessions"]) == data[part]["n_sessions"]
        n_events = int(np.dot(lengths["length"], lengths["n_sessions"]))
        assert n_events == data[part]["n_events"]
        support = data[part]["item_support_histogram"]
        assert sum(support["n_items"]) == data[part]["n_items"]
        assert int(np.dot(support["support"], support["n_items"])) == n_events
        assert lengths["length"] == sorted(lengths["length"]) and min(support["support"]) >= 1


def test_the_html_page_holds_every_figure_and_table_and_loads_nothing(run):
    _, results, paths, _ = run
    html = paths["html"].read_text()
    for name in FIGURES:
        assert re.search(
            rf'<figure id="fig-{name}"><img alt="{name}" src="data:image/png;base64,', html
        )
    assert not re.search(r"https?://", html)
    assert not re.search(r"<(script|link|iframe)\b", html)
    assert all(src.startswith("data:") for src in re.findall(r'src="([^"]*)"', html))
    for model in MODELS:
        entry = results["models"][model]
        low, high = entry["metrics_ci95"]["Recall@10"]
        assert f"{entry['metrics']['Recall@10']:.4f}<small>[{low:.4f}, {high:.4f}]</small>" in html
    assert "Paired significance tests" in html and "sampled evaluation" in html
    assert html.count("<figure") == len(FIGURES)


def test_a_run_directory_with_results_only_gives_tables_and_a_page(run, tmp_path):
    run_dir, results, _, _ = run
    (tmp_path / "results.json").write_text((run_dir / "results.json").read_text())
    paths = write_report(tmp_path)
    assert {"table", "markdown", "latex", "csv", "significance_csv", "html"} <= set(paths)
    figures = {p.stem for p in (tmp_path / "figures").glob("*.png")}
    assert figures == {"recall_at_k", "mrr_at_k", "models", "full_vs_sampled", "accuracy_vs_time"}
    assert "<figure" in paths["html"].read_text()


def test_report_of_a_folder_without_results_is_a_clear_error(tmp_path, capsys):
    assert main(["-q", "report", str(tmp_path)]) == 2
    assert "no results.json" in capsys.readouterr().err


def test_report_command_prints_the_table_and_the_page(run, capsys):
    run_dir = run[0]
    assert main(["-q", "report", str(run_dir)]) == 0
    printed = capsys.readouterr().out
    assert re.search(r"Recall@10\s+\d\.\d{4}\s+\d\.\d{4}\s+\d\.\d{4}", printed)
    assert f"Report: {run_dir / 'report.html'}" in printed
    assert "results.tex" in printed and "results.csv" in printed


CHROMIUM = next(
    (p for p in map(shutil.which, ("chromium", "chromium-browser", "google-chrome")) if p), None
)


@pytest.mark.skipif(CHROMIUM is None, reason="no chromium installed")
def test_the_html_page_renders_in_headless_chromium(run, tmp_path):
    html = run[2]["html"]
    shot = tmp_path / "shot.png"
    subprocess.run(
        [
            CHROMIUM,
            "--headless",
            "--disable-gpu",
            "--no-sandbox",
            "--hide-scrollbars",
            f"--user-data-dir={tmp_path / 'profile'}",
            f"--screenshot={shot}",
            "--window-size=1280,2400",
            html.resolve().as_uri(),
        ],
        capture_output=True,
        timeout=180,
        check=False,
    )
    pixels = matplotlib.image.imread(shot)
    assert pixels.shape[:2] == (2400, 1280)
    grey = pixels[..., :3].mean(axis=2)
    assert grey.var() > 0.005  # text, tables and figures, not a blank page
    # The figures are drawn: the lower half (below the tables) is not background alone.
    assert (np.abs(grey[1200:] - np.median(grey)) > 0.2).mean() > 0.01


def test_report_of_a_corrupt_results_file_names_it(tmp_path, capsys):
    (tmp_path / "results.json").write_text("{bad")
    assert main(["-q", "report", str(tmp_path)]) == 2
    assert f"{tmp_path / 'results.json'}: not valid JSON" in capsys.readouterr().err


def test_the_page_reports_what_the_filters_and_the_split_removed(run):
    run_dir, _, paths, _ = run
    data = json.loads((run_dir / "data.json").read_text())
    split = data["split"]
    html = paths["html"].read_text()
    assert f"Split (rule sessions): {split['n_train_sessions']} training sessions" in html
    assert (
        f"{split['n_test_events_unknown_item']} test events with items unknown to training and"
        f" {split['n_test_sessions_too_short']} test sessions" in html
    )
    for step in data["filters"]:
        assert f"Filter {escape(step['step'])}: removed {step['events_removed']} events" in html
