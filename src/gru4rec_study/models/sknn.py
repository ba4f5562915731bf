"""SKNN: session-based k-nearest neighbours (Jannach & Ludewig 2017), as session-rec runs it.

For the prefix of a session, the candidate neighbours are the training sessions that hold any
item of the prefix; when there are more than ``sample_size`` of them, the most recent ones (by
their last click) are kept. Their similarity to the prefix is the cosine of the two item sets;
the ``k`` most similar sessions vote for each of their items with their similarity. Items no
neighbour holds get popularity below every vote unless ``popularity_tiebreak`` is off.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch
from numpy.typing import NDArray

from gru4rec_study.data.sessions import ItemMap, SessionData
from gru4rec_study.models.base import NotFittedError, popularity_below
from gru4rec_study.models.io import save_model_files
from gru4rec_study.models.itemknn import session_item_matrix
from gru4rec_study.validation import check_params


class _SKNNScorer:
    """Per slot: the prefix's item set, the sessions sharing an item with it, and the overlap."""

    def __init__(self, model: SessionKNN, n_slots: int) -> None:
        self.model = model
        self.prefix: list[set[int]] = [set() for _ in range(n_slots)]
        self.relevant = [np.empty(0, np.int64) for _ in range(n_slots)]  # sorted session ids
        self.overlap = [np.empty(0) for _ in range(n_slots)]  # items shared with the prefix

    def keep(self, mask: NDArray[np.bool_]) -> None:
        for name in ("prefix", "relevant", "overlap"):
            setattr(self, name, [v for v, k in zip(getattr(self, name), mask, strict=True) if k])

    def reset(self, slots: NDArray[np.int64]) -> None:
        for slot in slots:
            self.prefix[slot] = set()
            self.relevant[slot] = np.empty(0, np.int64)
            self.overlap[slot] = np.empty(0)

    def _add(self, slot: int, item: int) -> None:
        if item in self.prefix[slot]:
            return
        self.prefix[slot].add(item)
        old, new = self.relevant[slot], self.model.sessions_of(item)
        merged = np.union1d(old, new)
        overlap = np.zeros(len(merged))
        overlap[np.searchsorted(merged, old)] = self.overlap[slot]
        overlap[np.searchsorted(merged, new)] += 1.0
        self.relevant[slot], self.overlap[slot] = merged, overlap

    def scores(self, items: NDArray[np.int64]) -> torch.Tensor:
        rows = np.empty((len(items), self.model.item_map.n_items))
        for slot, item in enumerate(items):
            self._add(slot, int(item))
            rows[slot] = self.model.vote(
                self.relevant[slot], self.overlap[slot], len(self.prefix[slot])
            )
        return torch.from_numpy(rows)


class SessionKNN:
    """SKNN with recency sampling and cosine similarity."""

    name = "SKNN"
    PARAMS = {"k": "int", "sample_size": "int", "popularity_tiebreak": "bool"}

    def __init__(self, k: int = 100, sample_size: int = 500, popularity_tiebreak: bool = True):
        check_params(
            "SKNN",
            {"k": k, "sample_size": sample_size, "popularity_tiebreak": popularity_tiebreak},
            self.PARAMS,
        )
        if k < 1 or sample_size < 1:
            raise ValueError(
                f"SKNN parameters 'k' and 'sample_size' must be >= 1, got {k}, {sample_size}"
            )
        self.k = k  # neighbours that vote
        self.sample_size = sample_size  # most recent candidate sessions considered
        self.popularity_tiebreak = popularity_tiebreak
        self.item_map: ItemMap | None = None

    def fit(self, train: SessionData) -> SessionKNN:
        self.item_map = train.item_map
        self.sessions_ = session_item_matrix(train)  # (n_sessions, n_items), binary
        self.items_ = self.sessions_.T.tocsr()  # (n_items, n_sessions)
        self.session_size_ = np.diff(self.sessions_.indptr).astype(np.float64)
        ends = train.session_offsets[1:] - 1
        self.session_end_ = train.timestamp[ends]
        self.popularity_ = train.item_counts().astype(np.float64)
        self._below = popularity_below(self.popularity_)
        return self

    def sessions_of(self, item: int) -> NDArray[np.int64]:
        start, end = self.items_.indptr[item], self.items_.indptr[item + 1]
        return self.items_.indices[start:end].astype(np.int64)

    def vote(
        self, relevant: NDArray[np.int64], overlap: NDArray[np.float64], prefix_size: int
    ) -> NDArray[np.float64]:
        """Scores of all items for one prefix, shape (n_items,).

        ``relevant`` are the sessions sharing an item with the prefix and ``overlap`` how many.
        """
        if len(relevant) > self.sample_size:
            recent = np.argpartition(-self.session_end_[relevant], self.sample_size - 1)
            keep = recent[: self.sample_size]
            relevant, overlap = relevant[keep], overlap[keep]
        similarity = overlap / np.sqrt(self.session_size_[relevant] * prefix_size)
        if len(relevant) > self.k:
            top = np.argpartition(-similarity, self.k - 1)[: self.k]
            relevant, similarity = relevant[top], similarity[top]
        # Every neighbour votes for each of its items: gather their item lists in one go.
        starts, lengths = self.sessions_.indptr[relevant], self.session_size_[relevant]
        lengths = lengths.astype(np.int64)
        offsets = np.repeat(starts - np.cumsum(lengths) + lengths, lengths)
        items = self.sessions_.indices[offsets + np.arange(int(lengths.sum()))]
        n_items = self.item_map.n_items
        scores = np.bincount(items, weights=np.repeat(similarity, lengths), minlength=n_items)
        if self.popularity_tiebreak:
            scores = np.where(scores > 0, scores, self._below)
        return scores

    def scorer(self, n_slots: int) -> _SKNNScorer:
        if self.item_map is None:
            raise NotFittedError("SKNN: call fit() before scoring")
        return _SKNNScorer(self, n_slots)

    def get_config(self) -> dict[str, Any]:
        return {
            "k": self.k,
            "sample_size": self.sample_size,
            "popularity_tiebreak": self.popularity_tiebreak,
        }

    def state_tensors(self) -> dict[str, torch.Tensor]:
        s = self.sessions_
        return {
            "indptr": torch.from_numpy(s.indptr.astype(np.int64)),
            "indices": torch.from_numpy(s.indices.astype(np.int64)),
            "session_end": torch.from_numpy(self.session_end_),
            "popularity": torch.from_numpy(self.popularity_),
        }

    def save(self, directory: str | Path) -> Path:
        return save_model_files(self, directory)

    @classmethod
    def from_state(cls, config: dict[str, Any], item_map: ItemMap, tensors: dict) -> SessionKNN:
        import scipy.sparse as sp

        model = cls(**config)
        model.item_map = item_map
        indptr, indices = tensors["indptr"].numpy(), tensors["indices"].numpy()
        shape = (len(indptr) - 1, item_map.n_items)
        model.sessions_ = sp.csr_matrix((np.ones(len(indices)), indices, indptr), shape=shape)
        model.items_ = model.sessions_.T.tocsr()
        model.session_size_ = np.diff(indptr).astype(np.float64)
        model.session_end_ = tensors["session_end"].numpy()
        model.popularity_ = tensors["popularity"].numpy()
        model._below = popularity_below(model.popularity_)
        return model
