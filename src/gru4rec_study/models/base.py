"""The contract between recommenders and the evaluator.

A recommender is fitted on training :class:`~gru4rec_study.data.SessionData` and then hands out a
:class:`SessionScorer`: an object with one state per slot of the session-parallel iterator. The
evaluator drives a model through three calls: ``keep`` (drop finished slots), ``reset`` (zero
the state of slots that start a new session) and ``scores`` (feed each slot's current item, get
scores for all items). A scorer with a true ``uses_time`` attribute (see
:class:`TimedSessionScorer`) also gets the timestamp of each slot's current event. A scorer
whose scores are a product of one vector per slot with the item vectors (see
:class:`VectorSessionScorer`) is driven through ``restart``, ``keep``, ``session_vectors`` and
``scores_of`` instead: the evaluator walks whole groups of sessions side by side and scores
their vectors in blocks.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import numpy as np
import torch
from numpy.typing import NDArray

from gru4rec_study.data.sessions import ItemMap, SessionData


@runtime_checkable
class SessionScorer(Protocol):
    """Per-slot session state of a fitted recommender."""

    def keep(self, mask: NDArray[np.bool_]) -> None:
        """Keep only the slots where ``mask`` is true, in order."""

    def reset(self, slots: NDArray[np.int64]) -> None:
        """Forget the session history of ``slots``: they start new sessions."""

    def scores(self, items: NDArray[np.int64]) -> torch.Tensor:
        """Feed one item index per slot; return float scores of shape (n_slots, n_items)."""


@runtime_checkable
class TimedSessionScorer(SessionScorer, Protocol):
    """A scorer that also wants the time of every fed event (STAN's recency decay)."""

    uses_time: bool  # true: the evaluator passes ``times`` to ``scores``

    def scores(
        self, items: NDArray[np.int64], times: NDArray[np.float64] | None = None
    ) -> torch.Tensor:
        """Feed one item and its timestamp (seconds, float64) per slot; scores (n_slots, n_items).

        Without ``times`` the model assumes a time of its own (documented by the model).
        """


@runtime_checkable
class VectorSessionScorer(SessionScorer, Protocol):
    """A scorer whose scores are a function of one vector per slot (GRU4Rec's hidden state).

    ``scores(items)`` must equal ``scores_of(session_vectors(items))``: the evaluator calls the
    two parts, and ``recommend`` calls ``scores``. A slot's vector must depend on its own
    session's items only, not on which or how many other slots there are: the evaluator walks
    sessions in an order and with a number of slots of its own choosing. A scorer without all
    of these methods is scored step by step.
    """

    def restart(self, n_slots: int) -> None:
        """Forget every session: ``n_slots`` slots that all start new sessions."""

    def session_vectors(self, items: NDArray[np.int64]) -> torch.Tensor:
        """Feed one item index per slot; return the slots' vectors, shape (n_slots, d).

        The returned tensor is not changed by later calls (``keep``, ``reset``, more items).
        """

    def scores_of(self, vectors: torch.Tensor, out: torch.Tensor | None = None) -> torch.Tensor:
        """Scores of shape (m, n_items) for (m, d) vectors, rows from any slots and steps.

        The scores have the vectors' dtype and device; they are written into ``out`` (and
        ``out`` returned) when it is given.
        """


def feed(
    scorer: SessionScorer, items: NDArray[np.int64], times: NDArray[np.float64] | None
) -> torch.Tensor:
    """``scorer.scores(items)``, with the event times for scorers that use them."""
    if times is not None and getattr(scorer, "uses_time", False):
        return scorer.scores(items, times)
    return scorer.scores(items)


@runtime_checkable
class Recommender(Protocol):
    """A session-based next-item recommender."""

    name: str
    item_map: ItemMap | None

    def fit(self, train: SessionData) -> Recommender: ...

    def scorer(self, n_slots: int) -> SessionScorer: ...

    def get_config(self) -> dict[str, Any]: ...

    def save(self, directory: str | Path) -> Path: ...


class NotFittedError(RuntimeError):
    """A model was asked to score before ``fit`` (or ``load``) gave it a catalogue."""


class TrainingError(RuntimeError):
    """Training diverged or failed; the model must not be evaluated or saved."""


class HistoryScorer:
    """Scorer state for models that only need each slot's last item (Popularity, Markov)."""

    def __init__(self, n_slots: int) -> None:
        self.n_slots = n_slots

    def keep(self, mask: NDArray[np.bool_]) -> None:
        self.n_slots = int(mask.sum())

    def reset(self, slots: NDArray[np.int64]) -> None:
        """Nothing to forget: these models look at the current item only."""


def popularity_below(popularity: NDArray[np.float64]) -> NDArray[np.float64]:
    """Popularity shifted into [-1, 0): below every positive score, in popularity order."""
    return popularity / (popularity.max() + 1.0) - 1.0


class ItemToItemScorer(HistoryScorer):
    """Scores after an item: its row of an item-by-item matrix (rules, similarities).

    Items the row leaves empty get ``below`` (see :func:`popularity_below`) when it is given.
    """

    def __init__(self, n_slots: int, matrix, below: NDArray[np.float64] | None) -> None:
        super().__init__(n_slots)
        self._matrix = matrix
        self._below = below

    def scores(self, items: NDArray[np.int64]) -> torch.Tensor:
        rows = self._matrix[items].toarray()
        if self._below is not None:
            rows = np.where(rows > 0, rows, self._below[None, :])
        return torch.from_numpy(rows)
