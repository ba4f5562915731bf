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
from gru4rec_study.validation import check_params, given_params


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
        check_params(self.name, given_params(locals()), self.PARAMS)
        if k < 1 or sample_size < 1:
            raise ValueError(
                f"{self.name} parameters 'k' and 'sample_size' must be >= 1, got {k}, {sample_size}"
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
        similarity = overlap / np.sqrt(self.session_size_[relevant] * prefix_size)
        relevant, similarity = self._neighbours(relevant, similarity)
        return self._finish(self._gather_votes(relevant, similarity))

    def _neighbours(self, relevant: NDArray[np.int64], similarity: NDArray, *aligned: NDArray):
        """The ``k`` most similar of the ``sample_size`` most recent candidate sessions.

        Returns ``relevant``, ``similarity`` and every array of ``aligned``, filtered alike.
        """
        arrays = (relevant, similarity, *aligned)
        if len(relevant) > self.sample_size:
            recent = np.argpartition(-self.session_end_[relevant], self.sample_size - 1)
            arrays = tuple(a[recent[: self.sample_size]] for a in arrays)
        if len(arrays[0]) > self.k:
            top = np.argpartition(-arrays[1], self.k - 1)[: self.k]
            arrays = tuple(a[top] for a in arrays)
        return arrays

    def _finish(self, scores: NDArray[np.float64]) -> NDArray[np.float64]:
        """Items no neighbour voted for get popularity below every vote, if asked."""
        if self.popularity_tiebreak:
            return np.where(scores > 0, scores, self._below)
        return scores

    def _gather_votes(
        self, sessions: NDArray[np.int64], votes: NDArray[np.float64]
    ) -> NDArray[np.float64]:
        """Every session adds its vote to each of its items, shape (n_items,)."""
        starts = self.sessions_.indptr[sessions]
        lengths = self.session_size_[sessions].astype(np.int64)
        offsets = np.repeat(starts - np.cumsum(lengths) + lengths, lengths)
        items = self.sessions_.indices[offsets + np.arange(int(lengths.sum()))]
        n_items = self.item_map.n_items
        return np.bincount(items, weights=np.repeat(votes, lengths), minlength=n_items)

    def scorer(self, n_slots: int) -> _SKNNScorer:
        if self.item_map is None:
            raise NotFittedError("SKNN: call fit() before scoring")
        return _SKNNScorer(self, n_slots)

    def get_config(self) -> dict[str, Any]:
        return {key: getattr(self, key) for key in self.PARAMS}

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
    def from_state(cls, config: dict[str, Any], item_map: ItemMap, tensors: dict):
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


POSITION_WEIGHTS = {  # weight of the prefix click at position p (1-based) of a prefix of n
    "same": lambda p, n: np.ones_like(p, dtype=np.float64),
    "div": lambda p, n: p / n,
    "quadratic": lambda p, n: (p / n) ** 2,
    "linear": lambda p, n: np.where(p <= 10, 1.0 - 0.1 * (n - p), 0.0),
    "log": lambda p, n: 1.0 / np.log10((n - p) + 1.7),
}
STEP_WEIGHTS = {  # weight of a neighbour whose most recent shared click is ``step`` back
    "same": lambda s: np.ones_like(s, dtype=np.float64),
    "div": lambda s: 1.0 / s,
    "quadratic": lambda s: 1.0 / (s * s),
    "linear": lambda s: np.where(s <= 100, 1.0 - 0.1 * s, 0.0),
    "log": lambda s: 1.0 / np.log10(s + 1.7),
}


class _VSKNNScorer:
    """Per slot: the prefix as a list of clicks."""

    def __init__(self, model: VSKNN, n_slots: int) -> None:
        self.model = model
        self.prefix: list[list[int]] = [[] for _ in range(n_slots)]

    def keep(self, mask: NDArray[np.bool_]) -> None:
        self.prefix = [p for p, k in zip(self.prefix, mask, strict=True) if k]

    def reset(self, slots: NDArray[np.int64]) -> None:
        for slot in slots:
            self.prefix[slot] = []

    def scores(self, items: NDArray[np.int64]) -> torch.Tensor:
        rows = np.empty((len(items), self.model.item_map.n_items))
        for slot, item in enumerate(items):
            self.prefix[slot].append(int(item))
            rows[slot] = self.model.vote_prefix(self.prefix[slot])
        return torch.from_numpy(rows)


class VSKNN(SessionKNN):
    """V-SKNN (Ludewig & Jannach 2018): SKNN with later prefix clicks weighted more in the
    similarity, neighbours weighted by how recent their shared click is, and idf weighting.

    Similarity of a neighbour: the sum of the position weights of the prefix items it holds,
    over the number of distinct prefix items; an item repeated in the prefix has the weight of
    its last position. A neighbour's vote is its similarity times the step weight of its most
    recent shared click, and an item's score is the sum of votes times
    (1 + ``idf_weighting`` * log(n_sessions / support)).
    """

    name = "V-SKNN"
    PARAMS = {
        "k": "int",
        "sample_size": "int",
        "weighting": "str",
        "weighting_score": "str",
        "idf_weighting": "float",
        "popularity_tiebreak": "bool",
    }

    def __init__(
        self,
        k: int = 100,
        sample_size: int = 1000,
        weighting: str = "div",
        weighting_score: str = "div",
        idf_weighting: float = 0.0,
        popularity_tiebreak: bool = True,
    ) -> None:
        check_params(self.name, given_params(locals()), self.PARAMS)
        if weighting not in POSITION_WEIGHTS or weighting_score not in STEP_WEIGHTS:
            raise ValueError(
                f"V-SKNN parameters 'weighting' and 'weighting_score' must be one of"
                f" {sorted(POSITION_WEIGHTS)}"
            )
        if idf_weighting < 0:
            raise ValueError("V-SKNN parameter 'idf_weighting' must not be negative")
        super().__init__(k, sample_size, popularity_tiebreak)
        self.weighting = weighting  # position weights of the prefix clicks
        self.weighting_score = weighting_score  # weight by the step of the last shared click
        self.idf_weighting = idf_weighting  # strength of the idf factor on item scores

    def fit(self, train: SessionData) -> VSKNN:
        super().fit(train)
        self._set_item_factor()
        return self

    def _set_item_factor(self) -> None:
        """1 + idf_weighting * log(n_sessions / support) for every item."""
        idf = np.log(len(self.session_size_) / np.maximum(self.popularity_, 1.0))
        self.item_factor_ = 1.0 + self.idf_weighting * idf

    def scorer(self, n_slots: int) -> _VSKNNScorer:
        if self.item_map is None:
            raise NotFittedError("V-SKNN: call fit() before scoring")
        return _VSKNNScorer(self, n_slots)

    def vote_prefix(self, prefix: list[int]) -> NDArray[np.float64]:
        """Scores of all items after the clicks ``prefix`` (oldest first), shape (n_items,)."""
        n = len(prefix)
        last_position = {item: p for p, item in enumerate(prefix, start=1)}
        items = np.fromiter(last_position, dtype=np.int64)
        positions = np.fromiter(last_position.values(), dtype=np.float64)
        weights = POSITION_WEIGHTS[self.weighting](positions, n)
        lists = [self.sessions_of(i) for i in items]
        sessions = np.concatenate(lists)
        owner = np.repeat(np.arange(len(items)), [len(x) for x in lists])
        relevant, inverse = np.unique(sessions, return_inverse=True)
        similarity = np.bincount(inverse, weights=weights[owner]) / len(items)
        latest = np.zeros(len(relevant))
        np.maximum.at(latest, inverse, positions[owner])
        relevant, similarity, latest = self._neighbours(relevant, similarity, latest)
        votes = similarity * STEP_WEIGHTS[self.weighting_score](n - latest + 1.0)
        return self._finish(self._gather_votes(relevant, votes) * self.item_factor_)

    @classmethod
    def from_state(cls, config: dict[str, Any], item_map: ItemMap, tensors: dict) -> VSKNN:
        model = super().from_state(config, item_map, tensors)
        model._set_item_factor()
        return model
