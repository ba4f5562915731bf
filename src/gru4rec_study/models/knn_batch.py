"""Batched neighbour search for the session-kNN family (SKNN, V-SKNN, STAN, V-STAN).

All slots of one evaluation step are scored together with sparse matrix products instead of a
Python loop per event:

1. the distinct items of every prefix, with the position of their last click
   (:func:`prefix_entries`),
2. the candidate neighbours: every training session that holds a prefix item, with the weighted
   overlap, as one (n_slots, n_sessions) product (:func:`candidates`),
3. per prefix the ``sample_size`` most recent candidates and among them the ``k`` most similar
   (:func:`select_neighbours`),
4. the items of the chosen neighbours as flat arrays (:func:`expand`), from which each model
   computes its per-item votes, summed into the (n_slots, n_items) scores (:func:`accumulate`).

Training sessions are stored in order of their last click, so "more recent" is "larger session
index": recency sampling keeps the tail of a sorted candidate row, and equal similarities at the
``k``-th place go to the more recent sessions.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from numpy.typing import NDArray

from gru4rec_study.data.sessions import SessionData


@dataclass
class SessionIndex:
    """Training sessions as distinct items, ordered by the time of their last click.

    ``sessions`` has shape (n_sessions, n_items) with the 1-based position of each item's last
    click in the session as value; ``items`` is its binary transpose (n_items, n_sessions).
    """

    sessions: sp.csr_matrix
    items: sp.csr_matrix
    size: NDArray[np.float64]  # shape (n_sessions,): distinct items per session
    end: NDArray[np.float64]  # shape (n_sessions,): time of the last click, non-decreasing

    def __post_init__(self) -> None:
        self.length = np.diff(self.sessions.indptr).astype(np.int64)
        self.item_of_entry = self.sessions.indices.astype(np.int64)

    @classmethod
    def from_arrays(cls, indptr, indices, last_position, end, n_items: int) -> SessionIndex:
        """Build from one CSR row per session, in any session order (sorted here, stably)."""
        matrix = sp.csr_matrix(
            (np.asarray(last_position, np.float64), indices, indptr),
            shape=(len(indptr) - 1, n_items),
        )
        return cls.from_matrix(matrix, np.asarray(end, np.float64))

    @classmethod
    def from_matrix(cls, matrix: sp.csr_matrix, end: NDArray[np.float64]) -> SessionIndex:
        order = np.argsort(end, kind="stable")
        sessions = matrix[order]
        sessions.sort_indices()
        binary = sessions.copy()
        binary.data = np.ones_like(binary.data)
        items = binary.T.tocsr()
        items.sort_indices()
        size = np.diff(sessions.indptr).astype(np.float64)
        return cls(sessions, items, size, end[order])

    @classmethod
    def fit(cls, train: SessionData) -> SessionIndex:
        """Distinct items and last click positions of every training session."""
        lengths = train.session_lengths
        session = np.repeat(np.arange(train.n_sessions), lengths)
        position = np.arange(train.n_events) - np.repeat(train.session_offsets[:-1], lengths) + 1
        key = session * train.n_items + train.item_idx
        order = np.argsort(key, kind="stable")  # positions ascend within a key
        last = np.r_[key[order][1:] != key[order][:-1], True]
        keep = order[last]
        matrix = sp.csr_matrix(
            (position[keep].astype(np.float64), (session[keep], train.item_idx[keep])),
            shape=(train.n_sessions, train.n_items),
        )
        end = train.timestamp[train.session_offsets[1:] - 1].astype(np.float64)
        return cls.from_matrix(matrix, end)

    @property
    def n_sessions(self) -> int:
        return self.sessions.shape[0]


class PrefixHistory:
    """The clicks of every slot's current session, as a padded (n_slots, capacity) array."""

    def __init__(self, n_slots: int) -> None:
        self.items = np.zeros((n_slots, 8), dtype=np.int64)
        self.length = np.zeros(n_slots, dtype=np.int64)
        self.time = np.zeros(n_slots, dtype=np.float64)  # time of each slot's latest click

    def keep(self, mask: NDArray[np.bool_]) -> None:
        self.items, self.length, self.time = self.items[mask], self.length[mask], self.time[mask]

    def reset(self, slots: NDArray[np.int64]) -> None:
        self.length[slots] = 0

    def append(self, items: NDArray[np.int64], times: NDArray[np.float64] | None) -> None:
        if self.length.max(initial=0) >= self.items.shape[1]:
            grown = np.zeros((len(self.length), 2 * self.items.shape[1]), dtype=np.int64)
            grown[:, : self.items.shape[1]] = self.items
            self.items = grown
        self.items[np.arange(len(items)), self.length] = items
        self.length += 1
        if times is not None:
            self.time = np.asarray(times, dtype=np.float64).copy()


@dataclass
class PrefixEntries:
    """The distinct items of every prefix, sorted by (slot, item)."""

    slot: NDArray[np.int64]
    item: NDArray[np.int64]
    position: NDArray[np.float64]  # 1-based position of the item's last click in the prefix
    indptr: NDArray[np.int64]  # shape (n_slots + 1,): where each slot's entries start
    length: NDArray[np.int64]  # shape (n_slots,): clicks in the prefix, repeats included

    @property
    def n_distinct(self) -> NDArray[np.float64]:
        return np.diff(self.indptr).astype(np.float64)


def prefix_entries(history: PrefixHistory, n_items: int) -> PrefixEntries:
    """The distinct items of every slot's prefix and where each was clicked last."""
    length = history.length
    filled = np.arange(history.items.shape[1])[None, :] < length[:, None]
    slot, column = np.nonzero(filled)
    item = history.items[slot, column]
    key = slot * n_items + item
    order = np.argsort(key, kind="stable")
    last = np.r_[key[order][1:] != key[order][:-1], True]
    keep = order[last]
    slot, item = slot[keep], item[keep]
    indptr = np.zeros(len(length) + 1, dtype=np.int64)
    np.cumsum(np.bincount(slot, minlength=len(length)), out=indptr[1:])
    return PrefixEntries(slot, item, column[keep] + 1.0, indptr, length)


def candidates(
    prefix: PrefixEntries, weights: NDArray[np.float64], index: SessionIndex
) -> sp.csr_matrix:
    """(n_slots, n_sessions) sums of the prefix weights of the items each session shares.

    The sparsity pattern is the set of candidate neighbours; column indices are sorted, so each
    row lists its candidates from the oldest to the most recent.
    """
    shape = (len(prefix.length), index.items.shape[0])
    # scipy drops sums that are exactly 0; with weights that are not all positive, a count in
    # the real part keeps every candidate and the weighted sum travels in the imaginary part.
    positive = bool((weights > 0).all())
    data = weights if positive else 1.0 + 1j * weights
    product = sp.csr_matrix((data, prefix.item, prefix.indptr), shape=shape) @ index.items
    product.sort_indices()
    if not positive:
        product = sp.csr_matrix(
            (product.data.imag.copy(), product.indices, product.indptr), shape=product.shape
        )
    return product


@dataclass
class Neighbours:
    """The chosen neighbours of every slot: flat arrays grouped by slot, oldest first."""

    slot: NDArray[np.int64]
    session: NDArray[np.int64]
    similarity: NDArray[np.float64]
    entry: NDArray[np.int64]  # position of each neighbour in the candidates' data array


def row_of(indptr: NDArray) -> NDArray[np.int64]:
    """The row of every stored entry of a CSR matrix with row pointers ``indptr``."""
    return np.repeat(np.arange(len(indptr) - 1), np.diff(indptr))


def select_neighbours(
    matrix: sp.csr_matrix,
    row: NDArray[np.int64],
    similarity: NDArray[np.float64],
    sample_size: int,
    k: int,
) -> Neighbours:
    """Per row, the ``k`` most similar of the ``sample_size`` most recent candidates.

    ``matrix`` holds the candidates (sorted column indices, see :func:`candidates`), ``row`` the
    row of each stored entry (:func:`row_of`) and ``similarity`` a value for each. Equal
    similarities at the ``k``-th place go to the more recent sessions.
    """
    count = np.diff(matrix.indptr)
    entry = np.arange(matrix.nnz)

    # Recency sampling: the tail of each row.
    if count.max(initial=0) > sample_size:
        rank = entry - matrix.indptr[row]
        keep = rank >= count[row] - sample_size
        row, entry = row[keep], entry[keep]
        count = np.minimum(count, sample_size)
    sims = similarity[entry]

    # Top k: the k-th largest similarity of each full row, then ties from the recent end.
    if count.max(initial=0) > k:
        keep = _top_k(row, sims, count, k)
        row, entry, sims = row[keep], entry[keep], sims[keep]
    return Neighbours(row, matrix.indices[entry].astype(np.int64), sims, entry)


def _top_k(
    row: NDArray[np.int64], sims: NDArray[np.float64], count: NDArray[np.int64], k: int
) -> NDArray[np.bool_]:
    """Mask of the entries to keep: per row the k largest, ties broken towards the row's end."""
    starts = np.zeros(len(count) + 1, dtype=np.int64)
    np.cumsum(count, out=starts[1:])
    full = np.flatnonzero(count > k)
    width = int(count[full].max())
    padded = np.full((len(full), width), -np.inf)
    where = np.full(len(count), -1, dtype=np.int64)
    where[full] = np.arange(len(full))
    in_full = where[row] >= 0
    rank = np.arange(len(row)) - starts[row]
    padded[where[row[in_full]], rank[in_full]] = sims[in_full]
    kth = -np.partition(-padded, k - 1, axis=1)[:, k - 1]
    threshold = np.full(len(count), -np.inf)
    threshold[full] = kth
    limit = threshold[row]
    above = sims > limit
    tie = sims == limit
    n_above = _per_row(np.cumsum(above), starts)
    tie_rank = np.cumsum(tie)  # 1-based rank of each tie within its row, from the left
    n_tie = _per_row(tie_rank, starts)
    before = np.r_[0, tie_rank][starts[:-1]]
    from_right = n_tie[row] - (tie_rank - before[row]) + 1
    return ~in_full | above | (tie & (from_right <= k - n_above[row]))


def _per_row(cumulative: NDArray[np.int64], starts: NDArray[np.int64]) -> NDArray[np.int64]:
    """Row totals from the running total over the flat entries and the row starts."""
    padded = np.r_[0, cumulative]
    return padded[starts[1:]] - padded[starts[:-1]]


@dataclass
class Expanded:
    """The distinct items of every chosen neighbour, as flat arrays (one entry per item)."""

    lengths: NDArray[np.int64]  # shape (n_pairs,): entries of every neighbour
    item: NDArray[np.int64]
    position: NDArray[np.float64]  # 1-based position of the item's last click in the neighbour
    key: NDArray[np.int64]  # slot * n_items + item: the flat index into the score matrix
    starts: NDArray[np.int64]  # shape (n_pairs,): first entry of every neighbour

    def per_entry(self, values: NDArray) -> NDArray:
        """Spread one value per neighbour over its entries."""
        return np.repeat(values, self.lengths)


def expand(neighbours: Neighbours, index: SessionIndex) -> Expanded:
    """Enumerate the items of every chosen neighbour."""
    sessions = index.sessions
    lengths = index.length[neighbours.session]
    starts = np.zeros(len(lengths), dtype=np.int64)
    np.cumsum(lengths[:-1], out=starts[1:])
    at = np.repeat(sessions.indptr[neighbours.session] - starts, lengths)
    at += np.arange(len(at))
    item = index.item_of_entry[at]
    key = np.repeat(neighbours.slot * sessions.shape[1], lengths)
    key += item
    return Expanded(lengths, item, sessions.data[at], key, starts)


def segment_max(values: NDArray, expanded: Expanded) -> NDArray:
    """Maximum of ``values`` (one per expanded entry) over each neighbour's entries."""
    if len(expanded.starts) == 0:
        return np.zeros(0, dtype=values.dtype)
    return np.maximum.reduceat(values, expanded.starts)


def accumulate(
    expanded: Expanded, votes: NDArray[np.float64], n_slots: int, n_items: int
) -> NDArray[np.float64]:
    """Sum the votes of every entry into the (n_slots, n_items) scores."""
    flat = np.bincount(expanded.key, weights=votes, minlength=n_slots * n_items)
    return flat.reshape(n_slots, n_items)


class PositionTable:
    """A reusable flat (n_slots * n_items) table of prefix positions, zero off the prefix."""

    def __init__(self) -> None:
        self._table = np.zeros(0, dtype=np.float64)

    def lookup(self, prefix: PrefixEntries, keys: NDArray[np.int64], n_items: int) -> NDArray:
        """Position in the prefix of each (slot * n_items + item) of ``keys``; 0 if absent."""
        size = len(prefix.length) * n_items
        if len(self._table) < size:
            self._table = np.zeros(size, dtype=np.float64)
        where = prefix.slot * n_items + prefix.item
        self._table[where] = prefix.position
        found = self._table[keys]
        self._table[where] = 0.0
        return found
