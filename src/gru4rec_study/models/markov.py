"""First-order Markov chain: scores are transition counts from the session's current item.

An item with no outgoing transition in training falls back to popularity. Items that the current
item never led to are ordered by popularity below every observed transition (an explicit
secondary key of the model, not a tie policy of the evaluator); ``popularity_tiebreak=False``
leaves them tied at zero.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse as sp
import torch
from numpy.typing import NDArray

from gru4rec_study.data.sessions import ItemMap, SessionData
from gru4rec_study.models.base import HistoryScorer, NotFittedError
from gru4rec_study.models.io import checked_tensor, csr_from_tensors, csr_tensors, save_model_files
from gru4rec_study.validation import check_params


def transition_counts(train: SessionData) -> sp.csr_matrix:
    """Counts of consecutive item pairs within sessions, shape (n_items, n_items)."""
    src = train.item_idx[:-1]
    dst = train.item_idx[1:]
    same_session = np.ones(len(src), dtype=bool)
    same_session[train.session_offsets[1:-1] - 1] = False  # pairs across a session boundary
    ones = np.ones(int(same_session.sum()), dtype=np.float64)
    shape = (train.n_items, train.n_items)
    return sp.csr_matrix((ones, (src[same_session], dst[same_session])), shape=shape)


class _MarkovScorer(HistoryScorer):
    def __init__(self, model: Markov, n_slots: int) -> None:
        super().__init__(n_slots)
        self._model = model

    def scores(self, items: NDArray[np.int64]) -> torch.Tensor:
        model = self._model
        rows = model.transitions_[items].toarray()  # shape (n_slots, n_items)
        no_evidence = model.out_degree_[items] == 0
        rows[no_evidence] = model.popularity_
        if model.popularity_tiebreak:
            # Popularity scaled into [0, 1) orders the items below any observed transition.
            rows[~no_evidence] += model.popularity_ / (model.popularity_.max() + 1.0)
        return torch.from_numpy(rows)


class Markov:
    """First-order Markov chain over items, with a popularity fallback."""

    name = "Markov"
    PARAMS = {"popularity_tiebreak": "bool"}

    def __init__(self, popularity_tiebreak: bool = True) -> None:
        check_params(self.name, {"popularity_tiebreak": popularity_tiebreak}, self.PARAMS)
        self.popularity_tiebreak = popularity_tiebreak  # order unseen transitions by popularity
        self.item_map: ItemMap | None = None
        self.transitions_: sp.csr_matrix | None = None

    def fit(self, train: SessionData) -> Markov:
        self.item_map = train.item_map
        self.transitions_ = transition_counts(train)
        self._derive()
        self.popularity_ = train.item_counts().astype(np.float64)
        return self

    def _derive(self) -> None:
        self.out_degree_ = np.asarray(self.transitions_.sum(axis=1)).ravel()

    def scorer(self, n_slots: int) -> _MarkovScorer:
        if self.transitions_ is None:
            raise NotFittedError("Markov: call fit() before scoring")
        return _MarkovScorer(self, n_slots)

    def get_config(self) -> dict[str, Any]:
        return {"popularity_tiebreak": self.popularity_tiebreak}

    def state_tensors(self) -> dict[str, torch.Tensor]:
        return {**csr_tensors(self.transitions_), "popularity": torch.from_numpy(self.popularity_)}

    def save(self, directory: str | Path) -> Path:
        return save_model_files(self, directory)

    @classmethod
    def from_state(cls, config: dict[str, Any], item_map: ItemMap, tensors: dict) -> Markov:
        model = cls(**config)
        model.item_map = item_map
        model.transitions_ = csr_from_tensors(tensors, item_map.n_items)
        model.popularity_ = checked_tensor(tensors, "popularity", (item_map.n_items,)).numpy()
        model._derive()
        return model
