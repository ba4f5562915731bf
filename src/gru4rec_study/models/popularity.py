"""Popularity: every item scored by its number of training events, whatever the session."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch
from numpy.typing import NDArray

from gru4rec_study.data.sessions import ItemMap, SessionData
from gru4rec_study.models.base import HistoryScorer, NotFittedError
from gru4rec_study.models.io import checked_tensor, save_model_files


class _PopularityScorer(HistoryScorer):
    def __init__(self, n_slots: int, counts: torch.Tensor) -> None:
        super().__init__(n_slots)
        self._counts = counts

    def scores(self, items: NDArray[np.int64]) -> torch.Tensor:
        return self._counts.repeat(len(items), 1)


class Popularity:
    """Rank items by their training support (event count)."""

    name = "Popularity"
    PARAMS: dict[str, str] = {}  # no parameters

    def __init__(self) -> None:
        self.item_map: ItemMap | None = None
        self.counts_: torch.Tensor | None = None

    def fit(self, train: SessionData) -> Popularity:
        self.item_map = train.item_map
        self.counts_ = torch.from_numpy(train.item_counts().astype(np.float32)).unsqueeze(0)
        return self

    def scorer(self, n_slots: int) -> _PopularityScorer:
        if self.counts_ is None:
            raise NotFittedError("Popularity: call fit() before scoring")
        return _PopularityScorer(n_slots, self.counts_)

    def get_config(self) -> dict[str, Any]:
        return {}

    def state_tensors(self) -> dict[str, torch.Tensor]:
        return {"counts": self.counts_}

    def save(self, directory: str | Path) -> Path:
        return save_model_files(self, directory)

    @classmethod
    def from_state(cls, config: dict[str, Any], item_map: ItemMap, tensors: dict) -> Popularity:
        if config:
            raise ValueError(f"Popularity takes no parameters; the config holds {sorted(config)}")
        model = cls()
        model.item_map = item_map
        model.counts_ = checked_tensor(tensors, "counts", (1, item_map.n_items))
        return model
