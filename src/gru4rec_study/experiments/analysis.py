"""What a run adds to the metrics: confidence intervals, significance, the sampled comparison."""

from __future__ import annotations

from typing import Any

from gru4rec_study.evaluation import EvaluationResult, bootstrap_ci, significance_table
from gru4rec_study.evaluation.statistics import per_event_values
from gru4rec_study.progress import progress


def confidence_intervals(
    result: EvaluationResult, n_resamples: int, seed: int, show_progress: bool = False
) -> dict[str, list[float] | None]:
    """95% bootstrap interval (over sessions) of every metric of ``result``."""
    intervals = {}
    bar = progress(
        result.metrics, desc=f"bootstrap {result.model}", unit="metric", show=show_progress
    )
    for metric in bar:
        values = per_event_values(result.ranks, metric)
        ci = bootstrap_ci(values, result.session_index, n_resamples, seed=seed)
        intervals[metric] = list(ci) if ci is not None else None
    return intervals


def significance(evaluations: dict[str, EvaluationResult], cutoff: int) -> list[dict[str, Any]]:
    """Paired tests of Recall@cutoff and MRR@cutoff between every pair of models."""
    if len(evaluations) < 2:
        return []
    first = next(iter(evaluations.values()))
    if first.n_events == 0:
        return []
    ranks = {label: result.ranks for label, result in evaluations.items()}
    return significance_table(ranks, first.session_index, (f"Recall@{cutoff}", f"MRR@{cutoff}"))


def sampled_comparison(evaluations: dict[str, EvaluationResult], cutoff: int) -> dict[str, Any]:
    """Full against sampled metrics of every model, their ratio, and whether the order changes."""
    rows, orders = {}, {}
    for metric in (f"Recall@{cutoff}", f"MRR@{cutoff}"):
        full = {m: r.metrics[metric] for m, r in evaluations.items()}
        sampled = {m: r.sampled_metrics[metric] for m, r in evaluations.items()}
        for model in evaluations:
            ratio = sampled[model] / full[model] if full[model] else None
            rows.setdefault(model, {})[metric] = {
                "full": full[model],
                "sampled": sampled[model],
                "ratio": ratio,
            }
        by_full = sorted(full, key=lambda m: -(full[m] or 0.0))
        by_sampled = sorted(sampled, key=lambda m: -(sampled[m] or 0.0))
        orders[metric] = {
            "full": by_full,
            "sampled": by_sampled,
            "ordering_changes": by_full != by_sampled,
        }
    return {"models": rows, "orders": orders}
