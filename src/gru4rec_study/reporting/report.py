"""Writing the report of a run directory from its files alone.

``write_report`` writes, beside the run's own files: ``results.txt`` (the plain table),
``results.md``, ``results.tex`` and ``results.csv`` (the table with 95% intervals where the run
has them), ``significance.csv`` and ``significance.tex`` (the paired tests, where the run has
them), ``figures/`` (every figure as PNG and SVG) and ``report.html`` (all of it on one
self-contained page).
"""

from __future__ import annotations

import logging
from pathlib import Path

from gru4rec_study.reporting.data_figures import (
    plot_item_popularity,
    plot_session_lengths,
    plot_training_loss,
)
from gru4rec_study.reporting.figures import (
    plot_accuracy_vs_time,
    plot_cutoff_curves,
    plot_model_bars,
    plot_sampled_comparison,
)
from gru4rec_study.reporting.formats import (
    results_csv,
    results_latex,
    significance_csv,
    significance_latex,
)
from gru4rec_study.reporting.html import report_html
from gru4rec_study.reporting.run_files import RunFiles, read_run
from gru4rec_study.reporting.table import (
    ci_markdown,
    results_markdown,
    results_table,
    sampled_table,
    significance_markdown,
)

logger = logging.getLogger(__name__)


def _markdown(results: dict) -> str:
    markdown = ["# Results", results_markdown(results)]
    for title, body in (
        ("## 95% confidence intervals (bootstrap over sessions)", ci_markdown(results)),
        ("## Paired significance tests (per-session means)", significance_markdown(results)),
        ("## Full ranking against sampled evaluation", sampled_table(results, markdown=True)),
    ):
        if body:
            markdown += [title, body]
    return "\n\n".join(markdown) + "\n"


def write_tables(run: RunFiles) -> dict[str, Path]:
    """The table in text, Markdown, LaTeX and CSV, and the tests in CSV and LaTeX."""
    results = run.results
    texts = {
        "table": (
            "results.txt",
            "\n\n".join(s for s in (results_table(results), sampled_table(results)) if s) + "\n",
        ),
        "markdown": ("results.md", _markdown(results)),
        "latex": ("results.tex", results_latex(results)),
        "csv": ("results.csv", results_csv(results)),
        "significance_csv": ("significance.csv", significance_csv(results)),
        "significance_latex": ("significance.tex", significance_latex(results)),
    }
    paths = {}
    for key, (name, text) in texts.items():
        if text is not None:
            paths[key] = run.path / name
            paths[key].write_text(text)
    return paths


def write_figures(run: RunFiles) -> list[Path]:
    """Every figure the run has data for, PNG and SVG, under ``figures/``."""
    out_dir = run.path / "figures"
    results = run.results
    paths = plot_cutoff_curves(run.curves, out_dir, results["tie_policy"], results["n_events"])
    paths += plot_model_bars(results, out_dir)
    paths += plot_training_loss(run.training_log, out_dir)
    paths += plot_session_lengths(run.data, out_dir)
    paths += plot_item_popularity(run.data, out_dir)
    paths += plot_sampled_comparison(results, out_dir)
    paths += plot_accuracy_vs_time(results, out_dir)
    return paths


def write_report(run_dir: str | Path) -> dict[str, Path]:
    """Write the tables, figures and ``report.html`` of ``run_dir``; return their paths.

    Keys: ``table``, ``markdown``, ``latex``, ``csv`` (and ``significance_csv``,
    ``significance_latex`` when the run has tests), ``html``, and every figure file's name.
    """
    run = read_run(run_dir)
    paths = write_tables(run)
    figures = write_figures(run)
    paths.update({p.name: p for p in figures})
    paths["html"] = run.path / "report.html"
    pngs = [p for p in figures if p.suffix == ".png"]
    paths["html"].write_text(report_html(run, pngs), encoding="utf-8")
    logger.info("report of %s: %d files, %d figures", run.path, len(paths), len(pngs))
    return paths
