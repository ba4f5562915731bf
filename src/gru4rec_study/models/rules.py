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

import numpy as np
import scipy.sparse as sp

from gru4rec_study.data.sessions import SessionData
from gru4rec_study.models.item_to_item import ItemToItemModel
from gru4rec_study.models.itemknn import keep_top
from gru4rec_study.validation import given_params

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


class SequentialRules(ItemToItemModel):
    """SR: rules item -> later item within ``steps`` clicks, weighted by the gap."""

    name = "SR"
    PARAMS = {"steps": "int", "weighting": "str", "pruning": "int", "popularity_tiebreak": "bool"}

    def __init__(
        self,
        steps: int = 10,  # how many later clicks a rule reaches
        weighting: str = "div",  # weight of a rule by the gap between the two clicks
        pruning: int = 20,  # strongest rules kept per item; 0 keeps all
        popularity_tiebreak: bool = True,  # order items without a rule by popularity
    ) -> None:
        self._set_params(given_params(locals()))
        if steps < 1:
            raise ValueError(f"SR parameter 'steps' must be >= 1, got {steps}")
        if weighting not in WEIGHTINGS:
            raise ValueError(f"SR parameter 'weighting' must be one of {sorted(WEIGHTINGS)}")
        _check_pruning(self.name, pruning)

    @property
    def rules_(self) -> sp.csr_matrix | None:
        return self.matrix_

    def mine(self, train: SessionData) -> sp.csr_matrix:
        return sequential_rules(train, self.steps, self.weighting)

    def build_matrix(self, train: SessionData) -> sp.csr_matrix:
        rules = self.mine(train)
        return keep_top(rules, self.pruning) if self.pruning else rules


class AssociationRules(SequentialRules):
    """AR: rules between every two clicks of a session, in both directions, counted."""

    name = "AR"
    PARAMS = {"pruning": "int", "popularity_tiebreak": "bool"}

    def __init__(self, pruning: int = 20, popularity_tiebreak: bool = True) -> None:
        self._set_params(given_params(locals()))
        _check_pruning(self.name, pruning)

    def mine(self, train: SessionData) -> sp.csr_matrix:
        return association_rules(train)


def _check_pruning(name: str, pruning: int) -> None:
    if pruning < 0:
        raise ValueError(f"{name} parameter 'pruning' must not be negative, got {pruning}")
