"""Item-kNN: the item-to-item similarity baseline of the GRU4Rec paper (Hidasi et al., 2016).

Two items are similar when they occur in the same sessions: sim(i, j) = co(i, j) /
(supp_i ** alpha * supp_j ** (1 - alpha) + lmbd), with co the number of training sessions that
hold both, supp the number that hold each, alpha = 0.5 giving the cosine, and lmbd shrinking the
similarities of rarely seen items. Each item keeps its ``n_neighbors`` most similar items; the
scores after an item are its similarity row.
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
from gru4rec_study.models.io import save_model_files


def session_item_matrix(train: SessionData) -> sp.csr_matrix:
    """Binary matrix of shape (n_sessions, n_items): 1 where the session holds the item."""
    rows = np.repeat(np.arange(train.n_sessions), train.session_lengths)
    ones = np.ones(len(rows), dtype=np.float64)
    matrix = sp.csr_matrix((ones, (rows, train.item_idx)), shape=(train.n_sessions, train.n_items))
    matrix.data[:] = 1.0  # repeated clicks count once
    return matrix


def item_similarities(
    train: SessionData, n_neighbors: int, alpha: float, lmbd: float
) -> sp.csr_matrix:
    """The kept similarities, shape (n_items, n_items), zero diagonal."""
    sessions = session_item_matrix(train)
    support = np.asarray(sessions.sum(axis=0)).ravel()
    co = (sessions.T @ sessions).tocoo()
    off_diagonal = co.row != co.col
    rows, cols, data = co.row[off_diagonal], co.col[off_diagonal], co.data[off_diagonal]
    data = data / (support[rows] ** alpha * support[cols] ** (1.0 - alpha) + lmbd)
    sims = sp.csr_matrix((data, (rows, cols)), shape=co.shape)
    return _keep_top(sims, n_neighbors)


def _keep_top(matrix: sp.csr_matrix, k: int) -> sp.csr_matrix:
    """Keep the ``k`` largest entries of every row."""
    matrix = matrix.tocsr()
    keep = np.zeros(len(matrix.data), dtype=bool)
    for row in range(matrix.shape[0]):
        start, end = matrix.indptr[row], matrix.indptr[row + 1]
        if end - start <= k:
            keep[start:end] = True
        else:
            top = np.argpartition(-matrix.data[start:end], k - 1)[:k]
            keep[start + top] = True
    matrix.data[~keep] = 0.0
    matrix.eliminate_zeros()
    return matrix


class _ItemKNNScorer(HistoryScorer):
    def __init__(self, model: ItemKNN, n_slots: int) -> None:
        super().__init__(n_slots)
        self._model = model

    def scores(self, items: NDArray[np.int64]) -> torch.Tensor:
        return torch.from_numpy(self._model.similarities_[items].toarray())


class ItemKNN:
    """Item-to-item similarity from session co-occurrence."""

    name = "Item-kNN"

    def __init__(self, n_neighbors: int = 100, alpha: float = 0.5, lmbd: float = 20.0) -> None:
        if n_neighbors < 1:
            raise ValueError(f"Item-kNN parameter 'n_neighbors' must be >= 1, got {n_neighbors}")
        if not 0.0 <= alpha <= 1.0 or lmbd < 0:
            raise ValueError("Item-kNN parameters: alpha must be in [0, 1] and lmbd >= 0")
        self.n_neighbors = n_neighbors  # similar items kept per item
        self.alpha = alpha  # 0.5: cosine; other values: asymmetric cosine
        self.lmbd = lmbd  # shrinkage of the denominator
        self.item_map: ItemMap | None = None
        self.similarities_: sp.csr_matrix | None = None

    def fit(self, train: SessionData) -> ItemKNN:
        self.item_map = train.item_map
        self.similarities_ = item_similarities(train, self.n_neighbors, self.alpha, self.lmbd)
        return self

    def scorer(self, n_slots: int) -> _ItemKNNScorer:
        if self.similarities_ is None:
            raise NotFittedError("Item-kNN: call fit() before scoring")
        return _ItemKNNScorer(self, n_slots)

    def get_config(self) -> dict[str, Any]:
        return {"n_neighbors": self.n_neighbors, "alpha": self.alpha, "lmbd": self.lmbd}

    def state_tensors(self) -> dict[str, torch.Tensor]:
        s = self.similarities_
        return {
            "indptr": torch.from_numpy(s.indptr.astype(np.int64)),
            "indices": torch.from_numpy(s.indices.astype(np.int64)),
            "data": torch.from_numpy(s.data),
        }

    def save(self, directory: str | Path) -> Path:
        return save_model_files(self, directory)

    @classmethod
    def from_state(cls, config: dict[str, Any], item_map: ItemMap, tensors: dict) -> ItemKNN:
        model = cls(**config)
        n = item_map.n_items
        model.item_map = item_map
        model.similarities_ = sp.csr_matrix(
            (tensors["data"].numpy(), tensors["indices"].numpy(), tensors["indptr"].numpy()),
            shape=(n, n),
        )
        return model
