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

import numpy as np
import scipy.sparse as sp

from gru4rec_study.data.sessions import SessionData
from gru4rec_study.models.item_to_item import ItemToItemModel
from gru4rec_study.validation import given_params


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
    """Keep the ``k`` largest entries of every row; among equal values the lower column index.

    A fixed tie rule (``numpy.argpartition`` picks among ties in a version-dependent order), so
    the pruned matrix, and every score built on it, is the same on every machine.
    """
    matrix = matrix.tocsr()
    matrix.sum_duplicates()  # also sorts the column indices of every row
    row_of = np.repeat(np.arange(matrix.shape[0]), np.diff(matrix.indptr))
    order = np.lexsort((matrix.indices, -matrix.data, row_of))  # row, value desc, column
    position = np.arange(len(order)) - matrix.indptr[row_of[order]]
    keep = np.zeros(len(matrix.data), dtype=bool)
    keep[order[position < k]] = True
    matrix.data[~keep] = 0.0
    matrix.eliminate_zeros()
    return matrix


class ItemKNN(ItemToItemModel):
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
        n_neighbors: int = 100,  # similar items kept per item
        alpha: float = 0.5,  # 0.5: cosine; other values: asymmetric cosine
        lmbd: float = 20.0,  # shrinkage of the denominator
        popularity_tiebreak: bool = True,  # order dissimilar items by popularity
    ) -> None:
        self._set_params(given_params(locals()))
        if n_neighbors < 1:
            raise ValueError(f"Item-kNN parameter 'n_neighbors' must be >= 1, got {n_neighbors}")
        if not 0.0 <= alpha <= 1.0:
            raise ValueError(f"Item-kNN parameter 'alpha' must be in [0, 1], got {alpha}")
        if not lmbd >= 0.0:
            raise ValueError(f"Item-kNN parameter 'lmbd' must not be negative, got {lmbd}")

    def build_matrix(self, train: SessionData) -> sp.csr_matrix:
        return item_similarities(train, self.n_neighbors, self.alpha, self.lmbd)
