"""The shared part of the baselines whose scores are a row of an item-by-item matrix.

Item-kNN (similarities) and the rule baselines (rule weights) differ only in how they build the
matrix from training sessions; scoring, the popularity order of empty entries, configuration
and saving are the same, and live here.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse as sp
import torch

from gru4rec_study.data.sessions import ItemMap, SessionData
from gru4rec_study.models.base import ItemToItemScorer, NotFittedError, popularity_below
from gru4rec_study.models.io import checked_tensor, csr_from_tensors, csr_tensors, save_model_files
from gru4rec_study.validation import check_params


class ItemToItemModel:
    """Base class: subclasses set ``name`` and ``PARAMS`` and implement :meth:`build_matrix`."""

    name: str
    PARAMS: dict[str, str]

    def _set_params(self, values: dict[str, Any]) -> None:
        """Check the constructor arguments against ``PARAMS`` and store them as attributes."""
        check_params(self.name, values, self.PARAMS)
        for key, value in values.items():
            setattr(self, key, value)
        self.item_map: ItemMap | None = None
        self.matrix_: sp.csr_matrix | None = None

    def build_matrix(self, train: SessionData) -> sp.csr_matrix:
        """The (n_items, n_items) matrix whose row i holds the scores after item i."""
        raise NotImplementedError

    def fit(self, train: SessionData):
        self.item_map = train.item_map
        self.matrix_ = self.build_matrix(train)
        self.popularity_ = train.item_counts().astype(np.float64)
        return self

    def scorer(self, n_slots: int) -> ItemToItemScorer:
        if self.matrix_ is None:
            raise NotFittedError(f"{self.name}: call fit() before scoring")
        below = popularity_below(self.popularity_) if self.popularity_tiebreak else None
        return ItemToItemScorer(n_slots, self.matrix_, below)

    def get_config(self) -> dict[str, Any]:
        return {key: getattr(self, key) for key in self.PARAMS}

    def state_tensors(self) -> dict[str, torch.Tensor]:
        return {**csr_tensors(self.matrix_), "popularity": torch.from_numpy(self.popularity_)}

    def save(self, directory: str | Path) -> Path:
        return save_model_files(self, directory)

    @classmethod
    def from_state(cls, config: dict[str, Any], item_map: ItemMap, tensors: dict):
        model = cls(**config)
        model.item_map = item_map
        model.matrix_ = csr_from_tensors(tensors, item_map.n_items)
        model.popularity_ = checked_tensor(tensors, "popularity", (item_map.n_items,)).numpy()
        return model
