"""The results table as CSV (every value at full precision) and as a LaTeX (booktabs) table.

The CSV is long: one row per model and metric, with the standard deviation over seeds and the
95% bootstrap interval where the run has them, so it loads into any analysis tool unchanged.
The LaTeX table has metrics as rows and models as columns, four decimals, the best model of
every row in bold and the interval in small type under the value.
"""

from __future__ import annotations

import csv
import io
from typing import Any

from gru4rec_study.reporting.table import metric_rows

CSV_COLUMNS = ("model", "metric", "value", "sd", "ci95_low", "ci95_high")
SIGNIFICANCE_COLUMNS = (
    "model_a",
    "model_b",
    "metric",
    "mean_difference",
    "t_test_p",
    "t_test_p_holm",
    "wilcoxon_p",
    "significant",
    "n_sessions",
    "n_events",
)


def all_metrics(results: dict[str, Any]) -> list[str]:
    """Accuracy metrics, then Coverage@K and Popularity@K where every model has them."""
    names = metric_rows(results["cutoffs"])
    entries = results["models"].values()
    if entries and all(e.get("beyond_accuracy") for e in entries):
        names += [f"{n}@{k}" for n in ("Coverage", "Popularity") for k in results["cutoffs"]]
    return names


def metric_value(entry: dict[str, Any], metric: str) -> float | None:
    """The value of ``metric`` (accuracy or beyond-accuracy) in one model's results entry."""
    if metric in entry["metrics"]:
        return entry["metrics"][metric]
    return (entry.get("beyond_accuracy") or {}).get(metric)


def _csv_text(header: tuple[str, ...], rows: list[list[Any]]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(
        ["" if v is None else repr(v) if isinstance(v, float) else v for v in r] for r in rows
    )
    return buffer.getvalue()


def results_csv(results: dict[str, Any]) -> str:
    """Every metric of every model, one row each (empty cells where a value is undefined)."""
    rows = []
    for model, entry in results["models"].items():
        for metric in all_metrics(results):
            ci = (entry.get("metrics_ci95") or {}).get(metric) or (None, None)
            sd = (entry.get("metrics_sd") or {}).get(metric)
            rows.append([model, metric, metric_value(entry, metric), sd, ci[0], ci[1]])
    return _csv_text(CSV_COLUMNS, rows)


def significance_csv(results: dict[str, Any]) -> str | None:
    """The paired tests, one row per pair of models and metric; None when the run has none."""
    tests = results.get("significance") or []
    if not tests:
        return None
    return _csv_text(
        SIGNIFICANCE_COLUMNS, [[t.get(c) for c in SIGNIFICANCE_COLUMNS] for t in tests]
    )


LATEX_SPECIAL = {c: "\\" + c for c in "&%$#_{}"} | {"~": r"\textasciitilde{}", "^": r"\^{}"}


def latex_escape(text: str) -> str:
    text = text.replace("\\", r"\textbackslash{}")
    return "".join(LATEX_SPECIAL.get(c, c) for c in text)


def _latex_cell(entry: dict[str, Any], metric: str, best: bool) -> str:
    value = metric_value(entry, metric)
    if value is None:
        return "n/a"
    text = f"{value:.4f}"
    text = rf"\textbf{{{text}}}" if best else text
    sd = (entry.get("metrics_sd") or {}).get(metric)
    if sd is not None:
        text += rf" $\pm$ {sd:.4f}"
    ci = (entry.get("metrics_ci95") or {}).get(metric)
    if ci is not None:
        text += rf" {{\scriptsize [{ci[0]:.4f}, {ci[1]:.4f}]}}"
    return text


def results_latex(results: dict[str, Any]) -> str:
    """A booktabs ``table`` of every metric; the best value of each accuracy row in bold."""
    models = list(results["models"])
    lines = [
        r"\begin{table}[t]",
        r"\centering",
        r"\begin{tabular}{l" + "r" * len(models) + "}",
        r"\toprule",
        "Metric & " + " & ".join(latex_escape(m) for m in models) + r" \\",
        r"\midrule",
    ]
    accuracy = set(metric_rows(results["cutoffs"]))
    for metric in all_metrics(results):
        values = [metric_value(e, metric) for e in results["models"].values()]
        top = max((v for v in values if v is not None), default=None)
        cells = [
            _latex_cell(entry, metric, metric in accuracy and v is not None and v == top)
            for entry, v in zip(results["models"].values(), values, strict=True)
        ]
        lines.append(f"{latex_escape(metric)} & " + " & ".join(cells) + r" \\")
    lines += [r"\bottomrule", r"\end{tabular}", rf"\caption{{{_caption(results)}}}", r"\end{table}"]
    return "\n".join(lines) + "\n"


def _caption(results: dict[str, Any]) -> str:
    text = (
        f"{results['n_events']} test events, full ranking over all training items,"
        f" {latex_escape(results['tie_policy'])} ties; best value of each row in bold"
    )
    if any(e.get("metrics_ci95") for e in results["models"].values()):
        text += "; in brackets the 95\\% bootstrap interval over sessions"
    if any(e.get("metrics_sd") for e in results["models"].values()):
        text += r"; $\pm$ the standard deviation over seeds"
    return text + "."


def significance_latex(results: dict[str, Any]) -> str | None:
    """The paired tests as a booktabs table; None when the run has none."""
    tests = results.get("significance") or []
    if not tests:
        return None
    lines = [
        r"\begin{tabular}{lllrrrrc}",
        r"\toprule",
        r"Model A & Model B & Metric & A $-$ B & $p$ (t) & $p$ (t, Holm) & $p$ (Wilcoxon)"
        r" & Holm $p < 0.05$ \\",
        r"\midrule",
    ]
    for t in tests:
        cells = [latex_escape(t["model_a"]), latex_escape(t["model_b"]), latex_escape(t["metric"])]
        diff = t["mean_difference"]
        cells.append("n/a" if diff is None else f"{diff:.4f}")
        cells += [_latex_p(t.get(k)) for k in ("t_test_p", "t_test_p_holm", "wilcoxon_p")]
        cells.append("yes" if t["significant"] else "no")
        lines.append(" & ".join(cells) + r" \\")
    lines += [r"\bottomrule", r"\end{tabular}"]
    return "\n".join(lines) + "\n"


def _latex_p(p: float | None) -> str:
    if p is None:
        return "n/a"
    return "$< 10^{-300}$" if p == 0 else f"{p:.3g}"
