"""The results table: metrics as rows, models as columns, four decimals."""

from __future__ import annotations

from typing import Any

from gru4rec_study.evaluation.metrics import METRICS


def metric_rows(cutoffs: list[int]) -> list[str]:
    return [f"{name}@{k}" for name in METRICS for k in cutoffs]


def _cell(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.4f}"


def results_table(results: dict[str, Any]) -> str:
    """Plain-text table of ``results.json``, with the tie policy and event count below it."""
    models = list(results["models"])
    rows = [["Metric", *models]]
    for metric in metric_rows(results["cutoffs"]):
        rows.append([metric, *(_cell(results["models"][m]["metrics"][metric]) for m in models)])
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = [
        "  ".join(
            cell.ljust(widths[0]) if i == 0 else cell.rjust(widths[i] + 2)
            for i, cell in enumerate(row)
        )
        for row in rows
    ]
    lines.append(
        f"({results['n_events']} test events, {results['tie_policy']} ties, full ranking over all"
        " training items)"
    )
    return "\n".join(lines)


def results_markdown(results: dict[str, Any]) -> str:
    """The same table in Markdown."""
    models = list(results["models"])
    lines = ["| Metric | " + " | ".join(models) + " |", "|---" * (len(models) + 1) + "|"]
    for metric in metric_rows(results["cutoffs"]):
        cells = (_cell(results["models"][m]["metrics"][metric]) for m in models)
        lines.append(f"| {metric} | " + " | ".join(cells) + " |")
    lines.append("")
    lines.append(f"{results['n_events']} test events; tie policy: {results['tie_policy']}.")
    return "\n".join(lines)
