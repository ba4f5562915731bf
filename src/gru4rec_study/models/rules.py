"""Rule baselines: sequential rules (SR) and association rules (AR), as session-rec defines them.

Kamehkhosh, Jannach & Ludewig (2017). SR: every later click of a session within ``steps``
positions after an item adds weight(gap) to the rule item -> later item, with weight ``div``
1/gap, ``quadratic`` 1/gap**2, ``linear`` 1 - 0.1 * gap, ``log`` 1/log10(gap + 1.7) or ``same``
1. AR: every pair of clicks of a session adds 1 to the rule in both directions. Each item keeps
its ``pruning`` strongest rules (0 keeps all). The scores after an item are its rule weights;
items without a rule get popularity shifted below every rule weight unless
``popularity_tiebreak`` is off.
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
from gru4rec_study.models.itemknn import keep_top
from gru4rec_study.validation import check_params

WEIGHTINGS = {
    "div": lambda gap: 1.0 / gap,
    "quadratic": lambda gap: 1.0 / (gap * gap),
    "linear": lambda gap: max(1.0 - 0.1 * gap, 0.0),
    "log": lambda gap: 1.0 / np.log10(gap + 1.7),
    "same": lambda gap: 1.0,
}


def sequential_rules(train: SessionData, steps: int, weighting: str) -> sp.csr_matrix:
    """Summed rule weights, shape (n_items, n_items): row = earlier item, column = later item."""
    session_of = np.repeat(np.arange(train.n_sessions), train.session_lengths)
    rows, cols, weights = [], [], []
    for gap in range(1, steps + 1):
        same = session_of[gap:] == session_of[:-gap]
        rows.append(train.item_idx[:-gap][same])
        cols.append(train.item_idx[gap:][same])
        weights.append(np.full(int(same.sum()), WEIGHTINGS[weighting](gap)))
    shape = (train.n_items, train.n_items)
    data = (np.concatenate(weights), (np.concatenate(rows), np.concatenate(cols)))
    return sp.csr_matrix(data, shape=shape)


def association_rules(train: SessionData) -> sp.csr_matrix:
    """Co-occurrence counts of every pair of clicks in a session, both directions."""
    session_of = np.repeat(np.arange(train.n_sessions), train.session_lengths)
    longest = int(train.session_lengths.max()) if train.n_sessions else 1
    rows, cols = [], []
    for gap in range(1, longest):
        same = session_of[gap:] == session_of[:-gap]
        first, second = train.item_idx[:-gap][same], train.item_idx[gap:][same]
        rows += [first, second]
        cols += [second, first]
    rows_all, cols_all = np.concatenate(rows or [[]]), np.concatenate(cols or [[]])
    ones = np.ones(len(rows_all))
    shape = (train.n_items, train.n_items)
    return sp.csr_matrix((ones, (rows_all.astype(np.int64), cols_all.astype(np.int64))), shape)


class SequentialRules:
    """SR: rules item -> later item within ``steps`` clicks, weighted by the gap."""

    name = "SR"
    PARAMS = {"steps": "int", "weighting": "str", "pruning": "int", "popularity_tiebreak": "bool"}

    def __init__(
        self,
        steps: int = 10,
        weighting: str = "div",
        pruning: int = 20,
        popularity_tiebreak: bool = True,
    ) -> None:
        values = {
            "steps": steps,
            "weighting": weighting,
            "pruning": pruning,
            "popularity_tiebreak": popularity_tiebreak,
        }
        check_params("SR", values, self.PARAMS)
        if steps < 1:
            raise ValueError(f"SR parameter 'steps' must be >= 1, got {steps}")
        if weighting not in WEIGHTINGS:
            raise ValueError(f"SR parameter 'weighting' must be one of {sorted(WEIGHTINGS)}")
        if pruning < 0:
            raise ValueError(f"SR parameter 'pruning' must not be negative, got {pruning}")
        self.steps = steps  # how many later clicks a rule reaches
        self.weighting = weighting  # weight of a rule by the gap between the two clicks
        self.pruning = pruning  # strongest rules kept per item; 0 keeps all
        self.popularity_tiebreak = popularity_tiebreak
        self.item_map: ItemMap | None = None
        self.rules_: sp.csr_matrix | None = None

    def fit(self, train: SessionData) -> SequentialRules:
        self.item_map = train.item_map
        rules = sequential_rules(train, self.steps, self.weighting)
        self.rules_ = keep_top(rules, self.pruning) if self.pruning else rules
        self.popularity_ = train.item_counts().astype(np.float64)
        return self

    def scorer(self, n_slots: int) -> ItemToItemScorer:
        if self.rules_ is None:
            raise NotFittedError(f"{self.name}: call fit() before scoring")
        below = popularity_below(self.popularity_) if self.popularity_tiebreak else None
        return ItemToItemScorer(n_slots, self.rules_, below)

    def get_config(self) -> dict[str, Any]:
        return {
            "steps": self.steps,
            "weighting": self.weighting,
            "pruning": self.pruning,
            "popularity_tiebreak": self.popularity_tiebreak,
        }

    def state_tensors(self) -> dict[str, torch.Tensor]:
        return {**csr_tensors(self.rules_), "popularity": torch.from_numpy(self.popularity_)}

    def save(self, directory: str | Path) -> Path:
        return save_model_files(self, directory)

    @classmethod
    def from_state(cls, config: dict[str, Any], item_map: ItemMap, tensors: dict):
        model = cls(**config)
        model.item_map = item_map
        model.rules_ = csr_from_tensors(tensors, item_map.n_items)
        model.popularity_ = tensors["popularity"].numpy()
        return model


class AssociationRules(SequentialRules):
    """AR: rules between every two clicks of a session, in both directions, counted."""

    name = "AR"
    PARAMS = {"pruning": "int", "popularity_tiebreak": "bool"}

    def __init__(self, pruning: int = 20, popularity_tiebreak: bool = True) -> None:
        check_params(
            "AR", {"pruning": pruning, "popularity_tiebreak": popularity_tiebreak}, self.PARAMS
        )
        if pruning < 0:
            raise ValueError(f"AR parameter 'pruning' must not be negative, got {pruning}")
        self.pruning = pruning  # strongest rules kept per item; 0 keeps all
        self.popularity_tiebreak = popularity_tiebreak
        self.item_map: ItemMap | None = None
        self.rules_: sp.csr_matrix | None = None

    def fit(self, train: SessionData) -> AssociationRules:
        self.item_map = train.item_map
        rules = association_rules(train)
        self.rules_ = keep_top(rules, self.pruning) if self.pruning else rules
        self.popularity_ = train.item_counts().astype(np.float64)
        return self

    def get_config(self) -> dict[str, Any]:
        return {"pruning": self.pruning, "popularity_tiebreak": self.popularity_tiebreak}
