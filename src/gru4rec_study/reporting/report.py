"""Writing the report of a run directory from its files alone."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from gru4rec_study.reporting.figures import plot_cutoff_curves
from gru4rec_study.reporting.table import (
    ci_markdown,
    results_markdown,
    results_table,
    sampled_table,
    significance_markdown,
)


def write_report(run_dir: str | Path) -> dict[str, Path]:
    """Write ``results.txt``, ``results.md`` and the figures of ``run_dir``; return their paths."""
    run_dir = Path(run_dir)
    results_path = run_dir / "results.json"
    if not results_path.is_file():
        raise FileNotFoundError(f"{run_dir}: not a run directory (no results.json)")
    results = json.loads(results_path.read_text())
    paths = {"table": run_dir / "results.txt", "markdown": run_dir / "results.md"}
    sections = [results_table(results), sampled_table(results)]
    paths["table"].write_text("\n\n".join(s for s in sections if s) + "\n")
    markdown = ["# Results", results_markdown(results)]
    for title, body in (
        ("## 95% confidence intervals (bootstrap over sessions)", ci_markdown(results)),
        ("## Paired significance tests (per-session means)", significance_markdown(results)),
        ("## Full ranking against sampled evaluation", sampled_table(results, markdown=True)),
    ):
        if body:
            markdown += [title, body]
    paths["markdown"].write_text("\n\n".join(markdown) + "\n")
    ranks_path = run_dir / "ranks.tsv.gz"
    if results["n_events"] and ranks_path.is_file():
        ranks = pd.read_csv(ranks_path, sep="\t", dtype={"SessionId": str, "ItemId": str})
        figures = plot_cutoff_curves(
            ranks,
            list(results["models"]),
            run_dir / "figures",
            results["tie_policy"],
            max(20, max(results["cutoffs"])),
        )
        paths.update({p.name: p for p in figures})
    return paths
