"""The bundled dataset: yoochoose-clicks-100k (RecSys Challenge 2015 sample, CC BY-NC-ND 4.0)."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

BUNDLED = "yoochoose-clicks-100k"
PARTS = ("train_full", "test", "train_tr", "train_valid")


def bundled_dataset(part: str, name: str = BUNDLED) -> Path:
    """Path of one part (``train_full``, ``test``, ``train_tr``, ``train_valid``) of the data."""
    if part not in PARTS:
        raise ValueError(f"part must be one of {PARTS}, got {part!r}")
    root = resources.files("gru4rec_study") / "data" / "bundled" / name
    return Path(str(root / f"{name}_{part}.txt.gz"))
