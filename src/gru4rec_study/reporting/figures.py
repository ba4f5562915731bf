"""Figures of a run: Recall@K and MRR@K curves of every model, K = 1..max cutoff."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402


def cutoff_curves(ranks: np.ndarray, max_cutoff: int) -> tuple[np.ndarray, np.ndarray]:
    """Recall@K and MRR@K for K = 1..max_cutoff from per-event ranks."""
    ks = np.arange(1, max_cutoff + 1)
    hit = ranks[None, :] <= ks[:, None]
    recall = hit.mean(axis=1)
    mrr = np.where(hit, 1.0 / ranks[None, :], 0.0).mean(axis=1)
    return recall, mrr


def plot_cutoff_curves(
    ranks: pd.DataFrame, models: list[str], out_dir: Path, tie_policy: str, max_cutoff: int = 20
) -> list[Path]:
    """Write ``recall_at_k`` and ``mrr_at_k`` as PNG and SVG; return the paths."""
    out_dir.mkdir(parents=True, exist_ok=True)
    ks = np.arange(1, max_cutoff + 1)
    curves = {m: cutoff_curves(ranks[m].to_numpy(np.float64), max_cutoff) for m in models}
    paths = []
    for index, metric in enumerate(("Recall", "MRR")):
        fig, ax = plt.subplots(figsize=(7.5, 4), dpi=120)
        for model in models:
            ax.plot(ks, curves[model][index], marker="o", markersize=3, label=model)
        ax.set_xlabel("K (length of the recommendation list)")
        ax.set_ylabel(f"{metric}@K")
        ax.set_title(f"{metric}@K, full ranking, {tie_policy} ties ({len(ranks)} events)")
        ax.set_xticks([1, 5, 10, 15, 20] if max_cutoff == 20 else ks[:: max(1, max_cutoff // 10)])
        ax.grid(alpha=0.3)
        ax.legend(loc="center left", bbox_to_anchor=(1.01, 0.5), fontsize="small")
        fig.tight_layout()
        for suffix in ("png", "svg"):
            path = out_dir / f"{metric.lower()}_at_k.{suffix}"
            fig.savefig(path)
            paths.append(path)
        plt.close(fig)
    return paths
