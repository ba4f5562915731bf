"""Figures of the results: metric@K curves, the models side by side, full against sampled
evaluation, and accuracy against training time. Each is written as PNG and SVG.

Every function takes the numbers from the run directory's files (see
:mod:`~gru4rec_study.reporting.run_files`) and returns the paths it wrote; a figure whose data
the run does not have is not drawn, and its function returns an empty list.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib import ticker  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from gru4rec_study.reporting.formats import metric_value  # noqa: E402

SUFFIXES = ("png", "svg")
DPI = 120


def save_figure(fig: Figure, out_dir: Path, name: str) -> list[Path]:
    """Write ``fig`` as ``name.png`` and ``name.svg`` under ``out_dir``, then close it."""
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = []
    fig.tight_layout()
    for suffix in SUFFIXES:
        path = out_dir / f"{name}.{suffix}"
        fig.savefig(path, dpi=DPI, metadata={"Date": None} if suffix == "svg" else None)
        paths.append(path)
    plt.close(fig)
    return paths


def plain_log_labels(*axes: matplotlib.axis.Axis) -> None:
    """Label log axes 0.01, 1, 100 rather than in mathtext (much faster to draw)."""
    for axis in axes:
        axis.set_major_formatter(ticker.FuncFormatter(lambda v, _: f"{v:g}"))
        axis.set_minor_formatter(ticker.NullFormatter())


def _number(value: float | None) -> float:
    return np.nan if value is None else float(value)


def model_colors(models: list[str]) -> dict[str, Any]:
    """One colour per model, the same in every figure: tab10, or tab20 beyond ten models."""
    cmap = plt.get_cmap("tab10" if len(models) <= 10 else "tab20")
    return {model: cmap(i % cmap.N) for i, model in enumerate(models)}


def _legend_outside(ax) -> None:
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize="small", frameon=False)


def plot_cutoff_curves(
    curves: dict[str, dict[str, list[float | None]]],
    out_dir: Path,
    tie_policy: str,
    n_events: int,
) -> list[Path]:
    """``recall_at_k`` and ``mrr_at_k``: the metric at K = 1..max cutoff, one line per model."""
    if not curves or not n_events:  # no test events: nothing to draw
        return []
    paths = []
    for metric in ("Recall", "MRR"):
        fig, ax = plt.subplots(figsize=(7.5, 4))
        colors = model_colors(list(curves))
        for model, values in curves.items():
            ks = np.arange(1, len(values[metric]) + 1)
            ax.plot(
                ks,
                np.array(values[metric], dtype=float),
                marker="o",
                ms=3,
                label=model,
                color=colors[model],
            )
        max_cutoff = len(next(iter(curves.values()))[metric])
        ax.set_xticks(np.unique(np.r_[1, np.arange(5, max_cutoff + 1, 5), max_cutoff]))
        ax.set_xlabel("K (length of the recommendation list)")
        ax.set_ylabel(f"{metric}@K")
        ax.set_title(f"{metric}@K, full ranking, {tie_policy} ties ({n_events} events)")
        ax.grid(alpha=0.3)
        _legend_outside(ax)
        paths += save_figure(fig, out_dir, f"{metric.lower()}_at_k")
    return paths


def plot_model_bars(results: dict[str, Any], out_dir: Path) -> list[Path]:
    """``models``: every accuracy metric at every cutoff, one bar per model, 95% intervals."""
    models = list(results["models"])
    metrics = [f"{n}@{k}" for n in ("Recall", "MRR", "NDCG") for k in results["cutoffs"]]
    if not models or not results["n_events"]:
        return []
    fig, ax = plt.subplots(figsize=(min(16.0, max(7.5, 0.35 * len(models) * len(metrics))), 4.2))
    width = 0.8 / len(models)
    colors = model_colors(models)
    x = np.arange(len(metrics))
    for i, model in enumerate(models):
        entry = results["models"][model]
        values = np.array([_number(metric_value(entry, m)) for m in metrics])
        errors = _ci_errors(entry, metrics, values)
        ax.bar(
            x + (i - (len(models) - 1) / 2) * width,
            values,
            width,
            label=model,
            color=colors[model],
            yerr=errors,
            capsize=2,
            error_kw={"elinewidth": 0.8},
        )
    ax.set_xticks(x, metrics, rotation=30, ha="right")
    ax.set_ylabel("value")
    ax.set_title("Every model on the same test events (bars: 95% bootstrap interval)")
    ax.grid(axis="y", alpha=0.3)
    _legend_outside(ax)
    return save_figure(fig, out_dir, "models")


def _ci_errors(entry: dict[str, Any], metrics: list[str], values: np.ndarray) -> np.ndarray | None:
    """Shape (2, n_metrics): distances from the value down and up to the interval's ends."""
    intervals = entry.get("metrics_ci95")
    if not intervals:
        return None
    ends = np.array([intervals.get(m) or (np.nan, np.nan) for m in metrics], dtype=float).T
    return np.clip(np.abs(ends - values[None, :]), 0.0, None)


def plot_sampled_comparison(results: dict[str, Any], out_dir: Path) -> list[Path]:
    """``full_vs_sampled``: full-ranking and sampled values of every model, with their ratio."""
    comparison = results.get("sampled_comparison")
    if not comparison:
        return []
    metrics = list(comparison["orders"])
    models = list(comparison["models"])
    fig, axes = plt.subplots(1, len(metrics), figsize=(4.2 * len(metrics) + 1.5, 4.2))
    x = np.arange(len(models))
    for ax, metric in zip(np.atleast_1d(axes), metrics, strict=True):
        full = np.array([comparison["models"][m][metric]["full"] or 0.0 for m in models])
        sampled = np.array([comparison["models"][m][metric]["sampled"] or 0.0 for m in models])
        ax.bar(x - 0.2, full, 0.4, label="full ranking")
        ax.bar(x + 0.2, sampled, 0.4, label=f"{comparison['n_negatives']} sampled negatives")
        for xi, model in zip(x, models, strict=True):
            ratio = comparison["models"][model][metric]["ratio"]
            if ratio is not None:
                ax.annotate(
                    f"×{ratio:.1f}",
                    (xi + 0.2, sampled[xi]),
                    ha="center",
                    va="bottom",
                    fontsize="x-small",
                )
        ax.set_xticks(x, models, rotation=30, ha="right")
        ax.set_title(metric)
        ax.set_ylim(0, max(1e-9, sampled.max(), full.max()) * 1.15)
        ax.grid(axis="y", alpha=0.3)
    np.atleast_1d(axes)[-1].legend(fontsize="small", loc="upper left", bbox_to_anchor=(1.01, 1))
    fig.suptitle(
        f"Full ranking against sampled evaluation ({comparison['distribution']} negatives)"
    )
    return save_figure(fig, out_dir, "full_vs_sampled")


def plot_accuracy_vs_time(results: dict[str, Any], out_dir: Path) -> list[Path]:
    """``accuracy_vs_time``: Recall and MRR at the largest cutoff against training seconds."""
    cutoff = max(results["cutoffs"])
    models = {m: e for m, e in results["models"].items() if e.get("train_seconds") is not None}
    if not models or not results["n_events"]:
        return []
    seconds = np.array([max(e["train_seconds"], 1e-3) for e in models.values()])
    fig, axes = plt.subplots(1, 2, figsize=(9, 4.2))
    for ax, name in zip(axes, ("Recall", "MRR"), strict=True):
        metric = f"{name}@{cutoff}"
        values = np.array([_number(metric_value(e, metric)) for e in models.values()])
        colors = model_colors(list(results["models"]))
        ax.scatter(seconds, values, c=[colors[m] for m in models], zorder=3)
        for model, s, v in zip(models, seconds, values, strict=True):
            ax.annotate(model, (s, v), textcoords="offset points", xytext=(4, 4), fontsize="small")
        ax.set_xscale("log")
        plain_log_labels(ax.xaxis)
        ax.set_xlim(seconds.min() / 4, seconds.max() * 8)  # room for the labels
        ax.set_xlabel("training time (seconds, log scale)")
        ax.set_ylabel(metric)
        ax.grid(alpha=0.3)
        ax.set_ylim(0, np.nanmax(values) * 1.15 if np.isfinite(values).any() else 1)
    fig.suptitle("Accuracy against training time")
    return save_figure(fig, out_dir, "accuracy_vs_time")
