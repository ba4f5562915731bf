"""S-POP: items ranked by how often they occurred in the current session, then by popularity."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch
from numpy.typing import NDArray

from gru4rec_study.data.sessions import ItemMap, SessionData
from gru4rec_study.models.base import NotFittedError
from gru4rec_study.models.io import checked_tensor, save_model_files


class _SPopScorer:
    def __init__(self, n_slots: int, tiebreak: torch.Tensor) -> None:
        self.tiebreak = tiebreak  # shape (n_items,): popularity scaled into [0, 1)
        self.counts = torch.zeros(n_slots, len(tiebreak), dtype=torch.float64)

    def keep(self, mask: NDArray[np.bool_]) -> None:
        self.counts = self.counts[torch.from_numpy(mask)]

    def reset(self, slots: NDArray[np.int64]) -> None:
        if len(slots):
            self.counts[torch.from_numpy(np.asarray(slots, dtype=np.int64))] = 0.0

    def scores(self, items: NDArray[np.int64]) -> torch.Tensor:
        rows = torch.arange(len(items))
        self.counts[rows, torch.from_numpy(np.asarray(items, dtype=np.int64))] += 1.0
        return self.counts + self.tiebreak


class SessionPopularity:
    """S-POP: counts of each item in the session so far, ties broken by training support."""

    name = "S-POP"
    PARAMS: dict[str, str] = {}  # no parameters

    def __init__(self) -> None:
        self.item_map: ItemMap | None = None
        self.popularity_: torch.Tensor | None = None

    def fit(self, train: SessionData) -> SessionPopularity:
        self.item_map = train.item_map
        self.popularity_ = torch.from_numpy(train.item_counts().astype(np.float64))
        return self

    def scorer(self, n_slots: int) -> _SPopScorer:
        if self.popularity_ is None:
            raise NotFittedError("S-POP: call fit() before scoring")
        return _SPopScorer(n_slots, self.popularity_ / (self.popularity_.max() + 1.0))

    def get_config(self) -> dict[str, Any]:
        return {}

    def state_tensors(self) -> dict[str, torch.Tensor]:
        return {"popularity": self.popularity_}

    def save(self, directory: str | Path) -> Path:
        return save_model_files(self, directory)

    @classmethod
    def from_state(cls, config: dict[str, Any], item_map: ItemMap, tensors: dict):
        if config:
            raise ValueError(f"S-POP takes no parameters; the config holds {sorted(config)}")
        model = cls()
        model.item_map = item_map
        model.popularity_ = checked_tensor(tensors, "popularity", (item_map.n_items,))
        return model
