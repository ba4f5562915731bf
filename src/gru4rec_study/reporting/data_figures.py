"""Figures of the data and of training: the session-length distribution, item popularity
(log-log) of train and test, and the training loss per epoch.

The histograms come from ``data.json`` (distinct value and count, recorded by the run), the
loss from ``training_log.json``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib import ticker  # noqa: E402

from gru4rec_study.reporting.figures import plain_log_labels, save_figure  # noqa: E402

PARTS = ("train", "test")


def _histograms(data: dict[str, Any], key: str) -> dict[str, dict[str, list[int]]]:
    """``key`` histogram of every part that has a non-empty one."""
    found = {}
    for part in PARTS:
        histogram = (data.get(part) or {}).get(key)
        if histogram and any(histogram.values()) and all(histogram.values()):
            found[part] = histogram
    return found


def plot_session_lengths(data: dict[str, Any], out_dir: Path) -> list[Path]:
    """``session_lengths``: share of sessions of every length (log scale), train and test."""
    histograms = _histograms(data, "session_length_histogram")
    if not histograms:
        return []
    fig, ax = plt.subplots(figsize=(7.5, 4))
    for part, h in histograms.items():
        lengths, counts = np.array(h["length"]), np.array(h["n_sessions"], dtype=float)
        ax.plot(
            lengths,
            counts / counts.sum(),
            marker="o",
            ms=3,
            label=f"{part} ({int(counts.sum())} sessions, mean length"
            f" {(lengths * counts).sum() / counts.sum():.2f})",
        )
    ax.set_yscale("log")
    ax.set_xscale("log")
    plain_log_labels(ax.xaxis, ax.yaxis)
    ax.xaxis.set_major_locator(ticker.LogLocator(subs=(1.0, 2.0, 5.0)))
    ax.set_xlabel("session length (events, log scale)")
    ax.set_ylabel("share of sessions (log scale)")
    ax.set_title("Session-length distribution")
    ax.grid(alpha=0.3)
    ax.legend(fontsize="small")
    return save_figure(fig, out_dir, "session_lengths")


def plot_item_popularity(data: dict[str, Any], out_dir: Path) -> list[Path]:
    """``item_popularity``: support of every item against its popularity rank, log-log."""
    histograms = _histograms(data, "item_support_histogram")
    if not histograms:
        return []
    fig, ax = plt.subplots(figsize=(7.5, 4))
    for part, h in histograms.items():
        # The support of every item, most popular first, rebuilt from (support, n_items).
        support = np.repeat(np.array(h["support"]), np.array(h["n_items"]))[::-1]
        ranks = np.arange(1, len(support) + 1)
        share = 100.0 * support[: max(1, len(support) // 100)].sum() / support.sum()
        ax.loglog(
            ranks,
            support,
            label=f"{part} ({len(support)} items; top 1% hold {share:.0f}% of the events)",
        )
    plain_log_labels(ax.xaxis, ax.yaxis)
    ax.set_xlabel("item rank by support (log scale)")
    ax.set_ylabel("events with the item (log scale)")
    ax.set_title("Item popularity")
    ax.grid(alpha=0.3)
    ax.legend(fontsize="small", loc="lower left")
    return save_figure(fig, out_dir, "item_popularity")


def plot_training_loss(
    training_log: dict[str, list[dict[str, float]]], out_dir: Path
) -> list[Path]:
    """``training_loss``: mean training loss per epoch of every model that trains in epochs."""
    logs = {model: log for model, log in training_log.items() if log}
    if not logs:
        return []
    fig, ax = plt.subplots(figsize=(7.5, 4))
    for model, log in logs.items():
        epochs = [r["epoch"] for r in log]
        ax.plot(epochs, [r["loss"] for r in log], marker="o", ms=3, label=model)
    ax.set_xlabel("epoch")
    ax.set_ylabel("mean loss per training event")
    ax.set_title("Training loss")
    ax.xaxis.get_major_locator().set_params(integer=True)
    ax.grid(alpha=0.3)
    ax.legend(fontsize="small")
    return save_figure(fig, out_dir, "training_loss")
