"""The session-parallel mini-batch iterator of GRU4Rec (Hidasi et al., ICLR 2016, section 3.1.1).

``batch_size`` slots each hold one session. All slots advance in lock-step; when a slot's session
has used its last event as a target, the slot takes the next unused session (sessions in the
order of their first event, slots in increasing order) and its state must be reset. When no
session is left the slot is removed, so the batch shrinks at the end instead of being padded.
Training and evaluation use this same iterator.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray


@dataclass(frozen=True)
class SessionParallelStep:
    """One step: apply ``keep`` and ``reset`` to the slot states, then feed ``positions``.

    The first step of a pass has ``keep=None`` and resets every slot, so a consumer allocates
    ``len(positions)`` fresh states there.
    """

    positions: NDArray[np.int64]  # shape (n_slots,): event index of every slot's input item
    keep: NDArray[np.bool_] | None  # mask over the previous step's slots; None keeps all
    reset: NDArray[np.int64]  # slots (after ``keep``) that start a new session: zero their state

    @property
    def targets(self) -> NDArray[np.int64]:
        """Event index of every slot's target: the event right after its input."""
        return self.positions + 1


def session_parallel_steps(
    session_offsets: NDArray[np.int64], batch_size: int, min_slots: int = 1
) -> Iterator[SessionParallelStep]:
    """Yield the steps of one pass over all sessions.

    Parameters
    ----------
    session_offsets
        Shape (n_sessions + 1,): start of every session's events, sessions in iteration order.
    batch_size
        Number of slots.
    min_slots
        Stop when fewer valid slots than this remain (GRU4Rec trains with 2 when it uses no
        extra negative samples, since a single row has no negatives).
    """
    if batch_size < 1:
        raise ValueError(f"batch_size must be at least 1, got {batch_size}")
    n_sessions = len(session_offsets) - 1
    n_slots = min(batch_size, n_sessions)
    session = np.arange(n_slots)
    start = session_offsets[session].copy()
    end = session_offsets[session + 1].copy()
    next_session = n_slots
    keep: NDArray[np.bool_] | None = None
    reset = np.arange(n_slots)
    first = True

    # Sessions shorter than two events yield no step; hand their slots on before starting.
    while len(start) >= max(min_slots, 1):
        done = (end - start) <= 1
        if done.any():
            keep, reset, start, end, next_session = _refill(
                done, start, end, next_session, session_offsets, keep, reset
            )
            continue
        min_len = int((end - start).min())
        if first:
            # The first step starts every slot afresh: no earlier state to keep.
            keep, reset, first = None, np.arange(len(start)), False
        for i in range(min_len - 1):
            yield SessionParallelStep(start + i, keep, reset)
            keep, reset = None, np.empty(0, dtype=np.int64)
        start = start + (min_len - 1)


def _refill(done, start, end, next_session, session_offsets, keep, reset):
    """Give finished slots the next sessions in slot order; drop slots when none is left."""
    n_sessions = len(session_offsets) - 1
    finished = np.flatnonzero(done)
    new_session = next_session + np.arange(len(finished))
    valid = new_session < n_sessions
    start, end = start.copy(), end.copy()
    start[finished[valid]] = session_offsets[new_session[valid]]
    end[finished[valid]] = session_offsets[new_session[valid] + 1]
    next_session += int(valid.sum())
    alive = np.ones(len(start), dtype=bool)
    alive[finished[~valid]] = False

    # Combine with a pending keep/reset from an earlier refill before any step was yielded.
    reset_mask = np.zeros(len(start), dtype=bool)
    reset_mask[reset] = True
    reset_mask[finished[valid]] = True
    if not alive.all():
        keep = alive if keep is None else _compose_keep(keep, alive)
        reset_mask = reset_mask[alive]
        start, end = start[alive], end[alive]
    return keep, np.flatnonzero(reset_mask), start, end, next_session


def _compose_keep(first: NDArray[np.bool_], second: NDArray[np.bool_]) -> NDArray[np.bool_]:
    """The mask that applies ``first`` and then ``second`` (a mask over the survivors)."""
    combined = first.copy()
    combined[np.flatnonzero(first)[~second]] = False
    return combined


class StepSchedule:
    """The steps of one pass, computed once and replayed for every epoch.

    A pass depends only on the session offsets, the batch size and ``min_slots``, so training
    walks the same steps in every epoch; replaying them from flat arrays (positions as int32
    when they fit: 4 bytes per training event) costs a fraction of recomputing the slot
    refills per step.
    """

    def __init__(
        self, session_offsets: NDArray[np.int64], batch_size: int, min_slots: int = 1
    ) -> None:
        positions, bounds, resets, reset_bounds = [], [0], [], [0]
        self.keeps: dict[int, NDArray[np.bool_]] = {}
        for k, step in enumerate(session_parallel_steps(session_offsets, batch_size, min_slots)):
            positions.append(step.positions)
            bounds.append(bounds[-1] + len(step.positions))
            resets.append(step.reset)
            reset_bounds.append(reset_bounds[-1] + len(step.reset))
            if step.keep is not None:
                self.keeps[k] = step.keep
        dtype = np.int32 if session_offsets[-1] < np.iinfo(np.int32).max else np.int64
        self.positions = np.concatenate(positions).astype(dtype) if positions else np.empty(0)
        self.bounds = np.asarray(bounds, dtype=np.int64)
        self.resets = np.concatenate(resets) if resets else np.empty(0, dtype=np.int64)
        self.reset_bounds = np.asarray(reset_bounds, dtype=np.int64)

    def __len__(self) -> int:
        return len(self.bounds) - 1

    def __iter__(self) -> Iterator[SessionParallelStep]:
        bounds, reset_bounds = self.bounds, self.reset_bounds
        for k in range(len(self)):
            yield SessionParallelStep(
                self.positions[bounds[k] : bounds[k + 1]].astype(np.int64),
                self.keeps.get(k),
                self.resets[reset_bounds[k] : reset_bounds[k + 1]],
            )
