"""Item-kNN: the item-to-item similarity baseline of the GRU4Rec paper (Hidasi et al., 2016).

Two items are similar when they occur in the same sessions: sim(i, j) = co(i, j) /
(supp_i ** alpha * supp_j ** (1 - alpha) + lmbd), with co the number of training sessions that
hold both, supp the number that hold each, alpha = 0.5 giving the cosine, and lmbd shrinking the
similarities of rarely seen items. Each item keeps its ``n_neighbors`` most similar items; the
scores after an item are its similarity row (the current item itself scores 0, so a repeated
click is never predicted); items with no similarity are ordered by popularity, far below every
similar item, unless ``popularity_tiebreak`` is off.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse as sp
import torch

from gru4rec_study.data.sessions import ItemMap, SessionData
from gru4rec_study.models.base import ItemToItemScorer, NotFittedError, popularity_below
from gru4rec_study.models.io import csr_from_tensors, csr_tensors, save_model_files
from gru4rec_study.validation import check_params


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
    return keep_top(sims, n_neighbors)


def keep_top(matrix: sp.csr_matrix, k: int) -> sp.csr_matrix:
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


class ItemKNN:
    """Item-to-item similarity from session co-occurrence."""

    name = "Item-kNN"

    PARAMS = {
        "n_neighbors": "int",
        "alpha": "float",
        "lmbd": "float",
        "popularity_tiebreak": "bool",
    }

    def __init__(
        self,
        n_neighbors: int = 100,
        alpha: float = 0.5,
        lmbd: float = 20.0,
        popularity_tiebreak: bool = True,
    ) -> None:
        check_params(
            "Item-kNN",
            {
                "n_neighbors": n_neighbors,
                "alpha": alpha,
                "lmbd": lmbd,
                "popularity_tiebreak": popularity_tiebreak,
            },
            self.PARAMS,
        )
        if n_neighbors < 1:
            raise ValueError(f"Item-kNN parameter 'n_neighbors' must be >= 1, got {n_neighbors}")
        if not 0.0 <= alpha <= 1.0:
            raise ValueError(f"Item-kNN parameter 'alpha' must be in [0, 1], got {alpha}")
        if not lmbd >= 0.0:
            raise ValueError(f"Item-kNN parameter 'lmbd' must not be negative, got {lmbd}")
        self.n_neighbors = n_neighbors  # similar items kept per item
        self.alpha = alpha  # 0.5: cosine; other values: asymmetric cosine
        self.lmbd = lmbd  # shrinkage of the denominator
        self.popularity_tiebreak = popularity_tiebreak  # order dissimilar items by popularity
        self.item_map: ItemMap | None = None
        self.similarities_: sp.csr_matrix | None = None

    def fit(self, train: SessionData) -> ItemKNN:
        self.item_map = train.item_map
        self.similarities_ = item_similarities(train, self.n_neighbors, self.alpha, self.lmbd)
        self.popularity_ = train.item_counts().astype(np.float64)
        return self

    def scorer(self, n_slots: int) -> ItemToItemScorer:
        if self.similarities_ is None:
            raise NotFittedError("Item-kNN: call fit() before scoring")
        below = popularity_below(self.popularity_) if self.popularity_tiebreak else None
        return ItemToItemScorer(n_slots, self.similarities_, below)

    def get_config(self) -> dict[str, Any]:
        return {
            "n_neighbors": self.n_neighbors,
            "alpha": self.alpha,
            "lmbd": self.lmbd,
            "popularity_tiebreak": self.popularity_tiebreak,
        }

    def state_tensors(self) -> dict[str, torch.Tensor]:
        return {**csr_tensors(self.similarities_), "popularity": torch.from_numpy(self.popularity_)}

    def save(self, directory: str | Path) -> Path:
        return save_model_files(self, directory)

    @classmethod
    def from_state(cls, config: dict[str, Any], item_map: ItemMap, tensors: dict) -> ItemKNN:
        model = cls(**config)
        model.item_map = item_map
        model.similarities_ = csr_from_tensors(tensors, item_map.n_items)
        model.popularity_ = tensors["popularity"].numpy()
        return model
