"""The evaluation protocol: every model ranks the same next-item events over the whole catalogue.

Test sessions are walked with the session-parallel iterator (slots reset at every new session),
or, for a scorer of session vectors (GRU4Rec), in groups of sessions side by side, longest
first; for each event after the first of a session the model scores all training items given the
prefix, and the target's rank is stored per event. Metrics are computed from those ranks, so
they cannot depend on the evaluation batch size.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from dataclasses import dataclass, field

import numpy as np
import torch
from numpy.typing import NDArray

from gru4rec_study.data.batching import session_parallel_steps
from gru4rec_study.data.sessions import SessionData
from gru4rec_study.evaluation.metrics import metric_values
from gru4rec_study.evaluation.ranking import TiePolicy, check_tie_policy, target_ranks
from gru4rec_study.evaluation.sampled import NegativeSampler, SampledEvaluation, sampled_ranks
from gru4rec_study.models.base import Recommender, SessionScorer, VectorSessionScorer, feed
from gru4rec_study.models.top_items import top_items
from gru4rec_study.progress import progress

logger = logging.getLogger(__name__)

DEFAULT_CUTOFFS = (5, 10, 20)
# Rows of one score block of a vector scorer. A whole evaluation in blocks of 256 rows is as
# fast as in blocks of 512 (within 3% at 2,933, 40,000 and 200,000 items; 128 rows are 5-8%
# slower) and keeps half the scores in memory.
SCORE_BLOCK_ROWS = 256
# Next-item events of one group of sessions walked side by side by a vector scorer: bounds the
# vectors kept before they are scored (32 MB of float64 vectors of 128 units, twice that while
# they are joined into one matrix).
MAX_WALK_EVENTS = 1 << 15
MAX_SCORE_ELEMENTS = 1 << 26  # default bound on the entries of one step's (or block's) scores


@dataclass
class EvaluationResult:
    """Per-event ranks of one model on one test set, and the metrics computed from them."""

    model: str
    tie_policy: str
    cutoffs: tuple[int, ...]
    ranks: NDArray[np.float64]  # shape (n_events,): rank of the target of every event
    event_index: NDArray[np.int64]  # shape (n_events,): position of each target in the test data
    session_index: NDArray[np.int64]  # shape (n_events,): test session of every event
    seconds: float = 0.0
    metrics: dict[str, float | None] = field(default_factory=dict)
    sampled_ranks: NDArray[np.float64] | None = None  # ranks among sampled negatives, if asked
    sampled_metrics: dict[str, float | None] | None = None
    beyond_accuracy: dict[str, float | None] | None = None  # Coverage@K, Popularity@K, if asked

    def __post_init__(self) -> None:
        if not self.metrics:
            self.metrics = metric_values(self.ranks, self.cutoffs)
        if self.sampled_ranks is not None and self.sampled_metrics is None:
            self.sampled_metrics = metric_values(self.sampled_ranks, self.cutoffs)

    @property
    def n_events(self) -> int:
        return len(self.ranks)

    def as_dict(self) -> dict:
        return {
            "model": self.model,
            "tie_policy": self.tie_policy,
            "n_events": self.n_events,
            "seconds": self.seconds,
            "metrics": self.metrics,
            "sampled_metrics": self.sampled_metrics,
            "beyond_accuracy": self.beyond_accuracy,
        }


class _TopListStats:
    """Accumulates Coverage@K and Popularity@K over the top-K lists of every event."""

    def __init__(self, cutoffs: tuple[int, ...], item_counts: NDArray | None, n_items: int):
        if item_counts is None:
            raise ValueError("Coverage@K and Popularity@K need the training item counts")
        counts = torch.as_tensor(np.asarray(item_counts, dtype=np.float64))
        self.popularity = counts / counts.max()
        self.cutoffs = cutoffs
        self.n_items = n_items
        self.seen = {k: torch.zeros(n_items, dtype=torch.bool) for k in cutoffs}
        self.popularity_sum = dict.fromkeys(cutoffs, 0.0)

    def add(self, scores: torch.Tensor) -> None:
        top = top_items(scores, max(self.cutoffs))[1].cpu()
        for k in self.cutoffs:
            self.seen[k][top[:, :k].reshape(-1)] = True
            self.popularity_sum[k] += float(self.popularity[top[:, :k]].mean(dim=1).sum())

    def values(self, n_events: int) -> dict[str, float | None]:
        out: dict[str, float | None] = {}
        for k in self.cutoffs:
            out[f"Coverage@{k}"] = float(self.seen[k].float().mean()) if n_events else None
            out[f"Popularity@{k}"] = self.popularity_sum[k] / n_events if n_events else None
        return out


def _check_arguments(model, test, cutoffs, tie_policy, batch_size) -> tuple[int, ...]:
    check_tie_policy(tie_policy)
    if model.item_map is None:
        raise ValueError(f"{model.name}: the model is not fitted; call fit() before evaluate()")
    if model.item_map.n_items != test.n_items:
        raise ValueError(f"{model.name}: the test data is not encoded with the model's item map")
    if len(test.item_idx) and (test.item_idx.min() < 0 or test.item_idx.max() >= test.n_items):
        raise ValueError(
            f"{model.name}: test item indices must lie in [0, {test.n_items}), the model's"
            f" catalogue; got {test.item_idx.min()} to {test.item_idx.max()}"
        )
    cutoffs = tuple(int(c) for c in cutoffs)
    if not cutoffs or min(cutoffs) < 1:
        raise ValueError(f"cutoffs must be positive integers, got {cutoffs}")
    if len(set(cutoffs)) != len(cutoffs):
        raise ValueError(f"cutoffs must not repeat, got {cutoffs}")
    if batch_size < 1:
        raise ValueError(f"batch_size must be at least 1, got {batch_size}")
    return cutoffs


def scored_steps(
    model: Recommender, test: SessionData, batch_size: int
) -> Iterator[tuple[torch.Tensor, NDArray[np.int64]]]:
    """Yield (scores, target positions) blocks covering every event once.

    A scorer that hands out session vectors (a
    :class:`~gru4rec_study.models.base.VectorSessionScorer`, such as GRU4Rec's) walks groups of
    sessions side by side, longest first (:func:`vector_walk`), and its vectors are scored in
    blocks of ``score_block_rows(batch_size)`` rows written into one reused score matrix (valid
    until the next block is asked for). Other scorers follow the session-parallel steps of
    ``batch_size`` slots and are scored step by step.
    """
    probe = model.scorer(1)
    if isinstance(probe, VectorSessionScorer):
        yield from _vector_blocks(probe, test, score_block_rows(batch_size))
        return
    del probe
    scorer: SessionScorer | None = None
    for step in session_parallel_steps(test.session_offsets, batch_size):
        if scorer is None:
            scorer = model.scorer(len(step.positions))
        else:
            if step.keep is not None:
                scorer.keep(step.keep)
            scorer.reset(step.reset)
        items = test.item_idx[step.positions]
        # The current events' times (not the targets'), for the scorers that use them.
        times = test.timestamp[step.positions] if getattr(scorer, "uses_time", False) else None
        yield feed(scorer, items, times), step.targets


def walk_groups(session_offsets: NDArray[np.int64], max_events: int) -> Iterator[NDArray[np.int64]]:
    """The sessions with a next-item event, in groups of consecutive sessions, longest first.

    A group holds at most ``max_events`` next-item events (or a single session), which bounds
    the vectors kept for it. Equal lengths keep the sessions' order.
    """
    events = np.diff(session_offsets) - 1
    total = np.concatenate([[0], np.cumsum(np.maximum(events, 0))])
    start = 0
    while start < len(events):
        stop = int(np.searchsorted(total, total[start] + max_events, side="right")) - 1
        stop = max(stop, start + 1)
        group = start + np.flatnonzero(events[start:stop] > 0)
        if len(group):
            yield group[np.argsort(-events[group], kind="stable")]
        start = stop


def vector_walk(
    scorer: VectorSessionScorer, test: SessionData
) -> Iterator[tuple[torch.Tensor, NDArray[np.int64]]]:
    """Yield (vectors, target positions) of every group of :func:`walk_groups`.

    All sessions of a group run side by side, longest first, so the ones still going at every
    step are a prefix of the slots: the walk has as many steps as the group's longest session
    has next-item events, and a step keeps a prefix of the slots instead of refilling them.
    Row ``i`` of the vectors is the state that predicts the event at ``positions[i]``. The
    vectors are handed on whenever ``MAX_WALK_EVENTS`` rows have gathered, so a session longer
    than that is handed on in parts.
    """
    offsets = test.session_offsets
    for group in walk_groups(offsets, MAX_WALK_EVENTS):
        firsts, lengths = offsets[group], offsets[group + 1] - offsets[group] - 1
        going = len(group) - np.cumsum(np.bincount(lengths))  # sessions with events at step t
        scorer.restart(len(group))
        vectors: list[torch.Tensor] = []
        targets: list[NDArray[np.int64]] = []
        slots = len(group)
        kept = 0
        for step in range(int(lengths[0])):
            if going[step] < slots:
                scorer.keep(np.arange(slots) < going[step])
                slots = int(going[step])
            positions = firsts[:slots] + step
            vectors.append(scorer.session_vectors(test.item_idx[positions]))
            targets.append(positions + 1)
            kept += slots
            if kept >= MAX_WALK_EVENTS:  # a session longer than a group: scored in parts
                yield torch.cat(vectors), np.concatenate(targets)
                vectors, targets, kept = [], [], 0
        if kept:
            yield torch.cat(vectors), np.concatenate(targets)


def _vector_blocks(
    scorer: VectorSessionScorer, test: SessionData, block_rows: int
) -> Iterator[tuple[torch.Tensor, NDArray[np.int64]]]:
    """The vectors of :func:`vector_walk`, scored in blocks of ``block_rows`` rows."""
    buffer: torch.Tensor | None = None
    for rows, positions in vector_walk(scorer, test):
        if buffer is None:
            # One score matrix for every block, its pages touched once.
            size = min(block_rows, test.n_prediction_events)
            buffer = rows.new_empty((size, test.n_items))
        for first in range(0, len(rows), block_rows):
            block, targets = rows[first : first + block_rows], positions[first : first + block_rows]
            yield scorer.scores_of(block, buffer[: len(block)]), targets


def score_block_rows(batch_size: int) -> int:
    """Rows of the score blocks of a vector scorer: at most ``SCORE_BLOCK_ROWS``."""
    return max(1, min(batch_size, SCORE_BLOCK_ROWS))


def evaluate(
    model,
    test: SessionData,
    cutoffs: tuple[int, ...] | list[int] = DEFAULT_CUTOFFS,
    tie_policy: TiePolicy = "conservative",
    batch_size: int = 512,
    show_progress: bool = False,
    max_score_elements: int = MAX_SCORE_ELEMENTS,
    sampled: SampledEvaluation | None = None,
    item_counts: NDArray[np.int64] | None = None,
    beyond_accuracy: bool = False,
) -> EvaluationResult:
    """Rank the target of every next-item event of ``test`` among all of ``model``'s items.

    Parameters
    ----------
    model
        A fitted recommender; ``test`` must be encoded with its item map.
    test
        Test sessions; every event after the first of a session is predicted from its prefix.
    cutoffs
        List lengths K for Recall@K, MRR@K and NDCG@K.
    tie_policy
        ``conservative`` (default), ``standard`` or ``median``; see :mod:`.ranking`.
    batch_size
        Number of sessions scored in parallel (for GRU4Rec, which walks groups of up to
        ``MAX_WALK_EVENTS`` events side by side: the rows of its score blocks, at most
        ``SCORE_BLOCK_ROWS``); it changes speed, not results (float64 scores; only items with
        exactly equal parameters can round apart, docs/deviations.md row 19).
    max_score_elements
        Upper bound on the number of entries of one step's (or block's) score matrix (batch x
        n_items); the batch is made smaller for large catalogues, so the scores stay bounded
        (2**26 entries by default: 512 MB in float64, the precision of the GRU4Rec and Markov
        scores). The model adds its own scoring copy: GRU4Rec keeps its weights in
        float64 (8 bytes per item and unit of each item table: 0.8 GB for a million items of
        100 units with the shared embedding), and on catalogues of up to 2**22 / (3 H_1)
        items its first layer's input product per item (at most 32 MB).
    sampled
        Also rank every target against sampled negatives (a labelled comparison mode; the
        metrics stay full-ranking). ``item_counts`` (training support) is needed for sampling
        by popularity.
    beyond_accuracy
        Also compute Coverage@K (share of the training items in any top-K list) and
        Popularity@K (mean support / max support of the recommended items), as session-rec
        does; needs ``item_counts``.
    """
    cutoffs = _check_arguments(model, test, cutoffs, tie_policy, batch_size)
    batch_size = max(1, min(batch_size, max_score_elements // max(test.n_items, 1)))
    n_events = test.n_prediction_events
    sampler = NegativeSampler(sampled, test.n_items, item_counts) if sampled else None
    sample_ranks = np.full(n_events, np.nan) if sampler else None
    lists = _TopListStats(cutoffs, item_counts, test.n_items) if beyond_accuracy else None
    ranks = np.full(n_events, np.nan)
    event_index = np.empty(n_events, dtype=np.int64)
    # Events keep test-data order: the target at position p of session s is event p - s - 1.
    session_of = np.repeat(np.arange(test.n_sessions), test.session_lengths)
    items = test.item_idx.astype(np.int64)

    nan_targets = 0
    started = time.perf_counter()
    bar = progress(desc=f"evaluating {model.name}", total=n_events, unit="ev", show=show_progress)
    for scores, positions in scored_steps(model, test, batch_size) if n_events else ():
        targets = torch.from_numpy(items[positions]).to(scores.device)
        events = positions - session_of[positions] - 1
        # Top lists and sampled ranks first: the full ranking overwrites the scores.
        if lists is not None:
            lists.add(scores)
        if sampler is not None and sample_ranks is not None:
            negatives = sampler.draw(test.item_idx[positions])
            sample_ranks[events] = (
                sampled_ranks(scores, targets, negatives, tie_policy).cpu().numpy()
            )
        # n values, not a pass over the scores: a model gone NaN shows in its targets' scores.
        nan_targets += int(torch.isnan(scores.gather(1, targets.view(-1, 1))).sum())
        ranks[events] = target_ranks(scores, targets, tie_policy, overwrite=True).cpu().numpy()
        event_index[events] = positions
        bar.update(len(positions))
        del scores  # before the next block's scores exist: one score matrix at a time
    bar.close()
    seconds = time.perf_counter() - started
    if np.isnan(ranks).any():
        raise RuntimeError(f"{model.name}: {int(np.isnan(ranks).sum())} events were not evaluated")
    if nan_targets:
        logger.warning(
            "%s: %d of %d events score their target NaN; they are ranked last",
            model.name,
            nan_targets,
            n_events,
        )
    if n_events == 0:
        logger.warning(
            "%s: the test data has no next-item events; metrics are undefined", model.name
        )
    result = EvaluationResult(
        model.name,
        tie_policy,
        cutoffs,
        ranks,
        event_index,
        session_of[event_index],
        seconds,
        sampled_ranks=sample_ranks,
        beyond_accuracy=lists.values(n_events) if lists is not None else None,
    )
    logger.info("%s: %d events in %.2f s; %s", model.name, n_events, seconds, result.metrics)
    return result
