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
from gru4rec_study.models.io import checked_csr_arrays, checked_tensor, save_model_files
from gru4rec_study.models.knn_batch import (
    PositionTable,
    PrefixEntries,
    PrefixHistory,
    SessionIndex,
    accumulate,
    candidates,
    expand,
    prefix_entries,
    row_of,
    segment_max,
    select_neighbours,
)
from gru4rec_study.validation import check_params, given_params


class NeighbourScorer:
    """Per slot the clicks of the current session; all slots of a step are scored together."""

    def __init__(self, model: SessionKNN, n_slots: int) -> None:
        self.model = model
        self.uses_time = model.uses_time
        self.history = PrefixHistory(n_slots)
        self.table = PositionTable()

    def keep(self, mask: NDArray[np.bool_]) -> None:
        self.history.keep(mask)

    def reset(self, slots: NDArray[np.int64]) -> None:
        self.history.reset(slots)

    def scores(
        self, items: NDArray[np.int64], times: NDArray[np.float64] | None = None
    ) -> torch.Tensor:
        """Feed one click per slot (and its time, for the models that use it)."""
        if times is None and self.uses_time:
            times = np.full(len(items), self.model.index_.end[-1])
        self.history.append(np.asarray(items, dtype=np.int64), times)
        prefix = prefix_entries(self.history, self.model.item_map.n_items)
        return torch.from_numpy(self.model.score_prefixes(prefix, self.history.time, self.table))


class SessionKNN:
    """SKNN with recency sampling and cosine similarity."""

    uses_positions = False  # STAN weighs neighbours by the position of the shared click
    name = "SKNN"
    PARAMS = {"k": "int", "sample_size": "int", "popularity_tiebreak": "bool"}
    uses_time = False  # the scorer wants the time of every click

    def __init__(self, k: int = 100, sample_size: int = 500, popularity_tiebreak: bool = True):
        check_params(self.name, given_params(locals()), self.PARAMS)
        self._check_sizes(k, sample_size)
        self.k = k  # neighbours that vote
        self.sample_size = sample_size  # most recent candidate sessions considered
        self.popularity_tiebreak = popularity_tiebreak
        self.item_map: ItemMap | None = None

    def _check_sizes(self, k: int, sample_size: int) -> None:
        if k < 1 or sample_size < 1:
            raise ValueError(
                f"{self.name} parameters 'k' and 'sample_size' must be >= 1, got {k}, {sample_size}"
            )

    def fit(self, train: SessionData) -> SessionKNN:
        self.item_map = train.item_map
        self.index_ = SessionIndex.fit(train)
        self._set_popularity(train.item_counts().astype(np.float64))
        return self

    def _set_popularity(self, popularity: NDArray[np.float64]) -> None:
        self.popularity_ = popularity
        self._below = popularity_below(popularity)

    def scorer(self, n_slots: int) -> NeighbourScorer:
        if self.item_map is None:
            raise NotFittedError(f"{self.name}: call fit() before scoring")
        return NeighbourScorer(self, n_slots)

    def score_prefixes(
        self, prefix: PrefixEntries, now: NDArray[np.float64], table: PositionTable
    ) -> NDArray[np.float64]:
        """Scores of all items after every prefix, shape (n_slots, n_items)."""
        index = self.index_
        overlap = candidates(prefix, np.ones(len(prefix.item)), index)
        rows = row_of(overlap.indptr)
        similarity = overlap.data / np.sqrt(index.size[overlap.indices] * prefix.n_distinct[rows])
        neighbours = select_neighbours(overlap, rows, similarity, self.sample_size, self.k)
        expanded = expand(neighbours, index)
        votes = expanded.per_entry(neighbours.similarity)
        return self._finish(accumulate(expanded, votes, len(prefix.length), self.item_map.n_items))

    def _finish(self, scores: NDArray[np.float64]) -> NDArray[np.float64]:
        """Items no neighbour voted for get popularity below every vote, if asked (in place)."""
        if self.popularity_tiebreak:
            np.copyto(scores, self._below[None, :], where=scores <= 0)
        return scores

    def get_config(self) -> dict[str, Any]:
        return {key: getattr(self, key) for key in self.PARAMS}

    def state_tensors(self) -> dict[str, torch.Tensor]:
        s = self.index_.sessions
        return {
            "indptr": torch.from_numpy(s.indptr.astype(np.int64)),
            "indices": torch.from_numpy(s.indices.astype(np.int64)),
            "positions": torch.from_numpy(s.data.astype(np.float64)),
            "session_end": torch.from_numpy(self.index_.end),
            "popularity": torch.from_numpy(self.popularity_),
        }

    def save(self, directory: str | Path) -> Path:
        return save_model_files(self, directory)

    @classmethod
    def from_state(cls, config: dict[str, Any], item_map: ItemMap, tensors: dict):
        model = cls(**config)
        model.item_map = item_map
        if "positions" not in tensors and not cls.uses_positions:
            # Saved before positions were kept; SKNN and V-SKNN do not use them.
            tensors = {**tensors, "positions": torch.ones(len(tensors.get("indices", ())))}
        n_items = item_map.n_items
        positions, indices, indptr = checked_csr_arrays(tensors, None, n_items, data="positions")
        if len(indptr) < 2:
            raise ValueError("tensor 'indptr' holds no training session")
        if (positions < 1).any() or (positions != np.round(positions)).any():
            raise ValueError("tensor 'positions' must hold click positions: whole numbers from 1")
        end = checked_tensor(tensors, "session_end", (len(indptr) - 1,)).numpy()
        model.index_ = SessionIndex.from_arrays(indptr, indices, positions, end, n_items)
        model._set_popularity(checked_tensor(tensors, "popularity", (n_items,)).numpy())
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
        self.item_factor_ = 1.0 + self.idf_weighting * idf(self.index_.n_sessions, self.popularity_)

    def score_prefixes(
        self, prefix: PrefixEntries, now: NDArray[np.float64], table: PositionTable
    ) -> NDArray[np.float64]:
        """Scores of all items after every prefix, shape (n_slots, n_items)."""
        length = prefix.length.astype(np.float64)
        weights = POSITION_WEIGHTS[self.weighting](prefix.position, length[prefix.slot])
        weighted = candidates(prefix, weights, self.index_)
        rows = row_of(weighted.indptr)
        similarity = weighted.data / prefix.n_distinct[rows]
        neighbours = select_neighbours(weighted, rows, similarity, self.sample_size, self.k)
        expanded = expand(neighbours, self.index_)
        # The prefix position of the most recent click each neighbour shares.
        latest = segment_max(table.lookup(prefix, expanded.key, self.item_map.n_items), expanded)
        step = length[neighbours.slot] - latest + 1.0
        votes = neighbours.similarity * STEP_WEIGHTS[self.weighting_score](step)
        n_slots, n_items = len(prefix.length), self.item_map.n_items
        votes = expanded.per_entry(votes)
        votes *= self.item_factor_[expanded.item]
        return self._finish(accumulate(expanded, votes, n_slots, n_items))

    @classmethod
    def from_state(cls, config: dict[str, Any], item_map: ItemMap, tensors: dict) -> VSKNN:
        model = super().from_state(config, item_map, tensors)
        model._set_item_factor()
        return model


def idf(n_sessions: int, support: NDArray[np.float64]) -> NDArray[np.float64]:
    """log(n_sessions / support) of every item; support is the item's event count (at least 1)."""
    return np.log(n_sessions / np.maximum(support, 1.0))
