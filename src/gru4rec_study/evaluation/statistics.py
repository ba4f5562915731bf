"""Confidence intervals and paired significance tests from per-event results.

Events of one session are not independent, so sessions are the unit of resampling: the bootstrap
draws whole sessions with replacement, and the paired tests compare per-session means of two
models on the same sessions.
"""

from __future__ import annotations

from itertools import combinations

import numpy as np
import scipy.stats
from numpy.typing import NDArray


def per_event_values(ranks: NDArray[np.float64], metric: str) -> NDArray[np.float64]:
    """The per-event value of ``metric`` (such as ``"MRR@20"``) from target ranks."""
    name, _, cutoff_text = metric.partition("@")
    cutoff = int(cutoff_text)
    hit = ranks <= cutoff
    if name == "Recall":
        return hit.astype(np.float64)
    if name == "MRR":
        return np.where(hit, 1.0 / ranks, 0.0)
    if name == "NDCG":
        return np.where(hit, 1.0 / np.log2(ranks + 1.0), 0.0)
    raise ValueError(f"unknown metric {metric!r}; use Recall@K, MRR@K or NDCG@K")


def _session_sums(values: NDArray, sessions: NDArray[np.int64]) -> tuple[NDArray, NDArray]:
    _, dense = np.unique(sessions, return_inverse=True)
    return np.bincount(dense, weights=values), np.bincount(dense).astype(np.float64)


def bootstrap_ci(
    values: NDArray[np.float64],
    sessions: NDArray[np.int64],
    n_resamples: int = 1000,
    level: float = 0.95,
    seed: int = 0,
) -> tuple[float, float] | None:
    """Percentile interval of the event mean, resampling whole sessions; None without events."""
    if len(values) == 0:
        return None
    sums, counts = _session_sums(values, sessions)
    rng = np.random.default_rng(seed)
    draws = rng.integers(0, len(sums), size=(n_resamples, len(sums)))
    means = sums[draws].sum(axis=1) / counts[draws].sum(axis=1)
    tail = (1.0 - level) / 2.0
    low, high = np.quantile(means, [tail, 1.0 - tail])
    return float(low), float(high)


def _wilcoxon_p(diff: NDArray[np.float64]) -> float:
    """Wilcoxon signed-rank p-value of non-zero differences: exact for at most 50 differences
    without tied magnitudes, else the normal approximation with tie correction (scipy would
    otherwise fall back to a permutation test, about a second per test)."""
    magnitudes = np.abs(diff)
    exact = len(diff) <= 50 and len(np.unique(magnitudes)) == len(magnitudes)
    return float(scipy.stats.wilcoxon(diff, method="exact" if exact else "asymptotic").pvalue)


def paired_test(
    values_a: NDArray[np.float64], values_b: NDArray[np.float64], sessions: NDArray[np.int64]
) -> dict[str, float | int | None]:
    """Paired t-test and Wilcoxon signed-rank test of per-session means of two models."""
    sums_a, counts = _session_sums(values_a, sessions)
    sums_b, _ = _session_sums(values_b, sessions)
    diff = sums_a / counts - sums_b / counts
    result: dict[str, float | int | None] = {
        "mean_difference": float(values_a.mean() - values_b.mean()) if len(values_a) else None,
        "n_events": len(values_a),
        "n_sessions": len(counts),
        "t_test_p": None,
        "wilcoxon_p": None,
    }
    if len(counts) >= 2 and np.any(diff != 0):
        result["t_test_p"] = float(scipy.stats.ttest_rel(sums_a / counts, sums_b / counts).pvalue)
        result["wilcoxon_p"] = _wilcoxon_p(diff[diff != 0])
    elif len(counts) >= 2:
        result["t_test_p"] = result["wilcoxon_p"] = 1.0
    return result


def significance_table(
    ranks: dict[str, NDArray[np.float64]],
    sessions: NDArray[np.int64],
    metrics: tuple[str, ...] = ("Recall@20", "MRR@20"),
    alpha: float = 0.05,
) -> list[dict]:
    """Paired tests between every pair of models, for every metric.

    ``significant`` uses the paired t-test's p-value after Holm's correction over all rows
    (``t_test_p_holm``), so that many comparisons do not inflate the false positives.
    """
    rows = []
    for (name_a, ranks_a), (name_b, ranks_b) in combinations(ranks.items(), 2):
        for metric in metrics:
            test = paired_test(
                per_event_values(ranks_a, metric), per_event_values(ranks_b, metric), sessions
            )
            rows.append({"model_a": name_a, "model_b": name_b, "metric": metric, **test})
    adjusted = holm([r["t_test_p"] for r in rows])
    for row, p in zip(rows, adjusted, strict=True):
        row["t_test_p_holm"] = p
        row["significant"] = p is not None and p < alpha
    return rows


def holm(p_values: list[float | None]) -> list[float | None]:
    """Holm-Bonferroni adjusted p-values (None stays None and is not counted)."""
    present = [(p, i) for i, p in enumerate(p_values) if p is not None]
    adjusted: list[float | None] = [None] * len(p_values)
    running = 0.0
    for rank, (p, i) in enumerate(sorted(present)):
        running = max(running, min(1.0, (len(present) - rank) * p))
        adjusted[i] = running
    return adjusted
