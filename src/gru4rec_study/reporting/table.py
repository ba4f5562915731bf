"""The results table: metrics as rows, models as columns, four decimals."""

from __future__ import annotations

from typing import Any

from gru4rec_study.evaluation.metrics import METRICS


def metric_rows(cutoffs: list[int]) -> list[str]:
    return [f"{name}@{k}" for name in METRICS for k in cutoffs]


def _cell(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.4f}"


def _with_sd(value: float | None, sd: float | None) -> str:
    return _cell(value) if sd is None else f"{_cell(value)} ± {sd:.4f}"


def _rows(results: dict[str, Any]) -> list[tuple[str, list[str]]]:
    """(label, cell per model) for every accuracy metric, then Coverage@K and Popularity@K.

    A model trained with several seeds shows the mean and the standard deviation over seeds.
    """
    models = list(results["models"].values())
    rows = [
        (m, [_with_sd(r["metrics"][m], (r.get("metrics_sd") or {}).get(m)) for r in models])
        for m in metric_rows(results["cutoffs"])
    ]
    if models and all(r.get("beyond_accuracy") for r in models):
        for name in ("Coverage", "Popularity"):
            for k in results["cutoffs"]:
                label = f"{name}@{k}"
                rows.append((label, [_cell(r["beyond_accuracy"][label]) for r in models]))
    return rows


def results_table(results: dict[str, Any]) -> str:
    """Plain-text table of ``results.json``, with the tie policy and event count below it."""
    models = list(results["models"])
    rows = [["Metric", *models]]
    for label, cells in _rows(results):
        rows.append([label, *cells])
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
    lines += _seed_notes(results)
    return "\n".join(lines)


def _seed_notes(results: dict[str, Any]) -> list[str]:
    return [
        f"({name}: mean ± standard deviation over seeds {r['seeds']}; per-event results from"
        f" seed {r['per_event_seed']})"
        for name, r in results["models"].items()
        if r.get("seeds")
    ]


def results_markdown(results: dict[str, Any]) -> str:
    """The same table in Markdown."""
    models = list(results["models"])
    lines = ["| Metric | " + " | ".join(models) + " |", "|---" * (len(models) + 1) + "|"]
    for label, cells in _rows(results):
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    lines.append("")
    lines.append(f"{results['n_events']} test events; tie policy: {results['tie_policy']}.")
    lines += _seed_notes(results)
    return "\n".join(lines)


def _fmt(value: float | None, digits: int = 4) -> str:
    return "n/a" if value is None else f"{value:.{digits}f}"


def ci_markdown(results: dict[str, Any]) -> str | None:
    """95% bootstrap intervals of every metric, or None when the run has none."""
    models = [m for m, r in results["models"].items() if r.get("metrics_ci95")]
    if not models:
        return None
    lines = ["| Metric | " + " | ".join(models) + " |", "|---" * (len(models) + 1) + "|"]
    for metric in metric_rows(results["cutoffs"]):
        cells = []
        for model in models:
            ci = results["models"][model]["metrics_ci95"][metric]
            cells.append("n/a" if ci is None else f"[{ci[0]:.4f}, {ci[1]:.4f}]")
        lines.append(f"| {metric} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _p_value(p: float | None) -> str:
    if p is None:
        return "n/a"
    return "< 1e-300" if p == 0 else f"{p:.3g}"


def significance_markdown(results: dict[str, Any]) -> str | None:
    rows = results.get("significance") or []
    if not rows:
        return None
    lines = [
        "| Model A | Model B | Metric | A - B | p (paired t) | p (t, Holm) | p (Wilcoxon) |"
        " Holm p < 0.05 |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        p_t, p_w = _p_value(r["t_test_p"]), _p_value(r["wilcoxon_p"])
        p_holm = _p_value(r.get("t_test_p_holm"))
        lines.append(
            f"| {r['model_a']} | {r['model_b']} | {r['metric']} | {_fmt(r['mean_difference'])} | "
            f"{p_t} | {p_holm} | {p_w} | {'yes' if r['significant'] else 'no'} |"
        )
    return "\n".join(lines)


def sampled_table(results: dict[str, Any], markdown: bool = False) -> str | None:
    """Full-ranking against sampled metrics of every model, with their ratio."""
    comparison = results.get("sampled_comparison")
    if not comparison:
        return None
    metrics = list(comparison["orders"])
    header = ["Model"] + [f"{m} {kind}" for m in metrics for kind in ("full", "sampled", "ratio")]
    rows = [header]
    for model, values in comparison["models"].items():
        cells = [model]
        for metric in metrics:
            v = values[metric]
            cells += [_fmt(v["full"]), _fmt(v["sampled"]), _fmt(v["ratio"], 2)]
        rows.append(cells)
    orders = [
        f"{metric}: ordering {'changes' if o['ordering_changes'] else 'does not change'}"
        f" (full: {' > '.join(o['full'])}; sampled: {' > '.join(o['sampled'])})"
        for metric, o in comparison["orders"].items()
    ]
    title = (
        f"Sampled evaluation ({comparison['n_negatives']} {comparison['distribution']}"
        " negatives per event) against full ranking:"
    )
    if markdown:
        lines = ["| " + " | ".join(header) + " |", "|---" * len(header) + "|"]
        lines += ["| " + " | ".join(r) + " |" for r in rows[1:]]
    else:
        widths = [max(len(r[i]) for r in rows) for i in range(len(header))]
        lines = [
            "  ".join(
                c.rjust(w) if i else c.ljust(w)
                for i, (c, w) in enumerate(zip(r, widths, strict=True))
            )
            for r in rows
        ]
    return "\n".join([title, "", *lines, "", *orders])
