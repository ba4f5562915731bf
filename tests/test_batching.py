import numpy as np
import pytest

from gru4rec_study.data import session_parallel_steps
from gru4rec_study.data.batching import StepSchedule


def _walk(offsets, batch_size, min_slots=1):
    return [
        (s.positions.tolist(), None if s.keep is None else s.keep.tolist(), s.reset.tolist())
        for s in session_parallel_steps(np.array(offsets), batch_size, min_slots)
    ]


def test_slots_refill_in_order_and_the_batch_shrinks_at_the_end():
    # Sessions: [0,2) [2,4) [4,10) [10,13) [13,14) (length 1) [14,17).
    steps = _walk([0, 2, 4, 10, 13, 14, 17], batch_size=2)
    assert steps == [
        ([0, 2], None, [0, 1]),
        ([4, 10], None, [0, 1]),
        ([5, 11], None, []),
        ([6, 14], None, [1]),  # slot 1: session [10,13) ended, [13,14) is skipped, [14,17) starts
        ([7, 15], None, []),
        ([8], [True, False], []),  # no session left for slot 1: it is removed
    ]
    assert sum(len(p) for p, _, _ in steps) == 1 + 1 + 5 + 2 + 0 + 2


def test_every_next_item_event_is_visited_once_for_any_batch_size():
    rng = np.random.default_rng(0)
    lengths = rng.integers(1, 9, size=40)
    offsets = np.concatenate([[0], np.cumsum(lengths)])
    expected = sorted(p for s in range(40) for p in range(offsets[s], offsets[s + 1] - 1))
    for batch_size in (1, 2, 3, 7, 40, 100):
        visited = sorted(
            p for s in session_parallel_steps(offsets, batch_size) for p in s.positions
        )
        assert visited == expected


def test_min_slots_two_stops_when_one_session_is_left():
    steps = _walk([0, 2, 8], batch_size=2, min_slots=2)
    assert steps == [([0, 2], None, [0, 1])]


def test_one_session_larger_batch():
    assert _walk([0, 3], batch_size=100) == [([0], None, [0]), ([1], None, [])]


@pytest.mark.parametrize(("batch_size", "min_slots"), [(1, 1), (3, 1), (3, 2), (50, 1), (4, 2)])
def test_a_replayed_schedule_equals_the_iterator(batch_size, min_slots):
    lengths = np.array([1, 4, 2, 7, 1, 3, 2, 5, 2, 1, 6])
    offsets = np.concatenate([[0], np.cumsum(lengths)])
    expected = list(session_parallel_steps(offsets, batch_size, min_slots))
    schedule = StepSchedule(offsets, batch_size, min_slots)
    assert len(schedule) == len(expected)
    for _ in range(2):  # replayed twice, as two epochs would
        got = list(schedule)
        assert len(got) == len(expected)
        for a, b in zip(got, expected, strict=True):
            assert np.array_equal(a.positions, b.positions) and a.positions.dtype == np.int64
            assert np.array_equal(a.reset, b.reset)
            assert (a.keep is None) == (b.keep is None)
            if a.keep is not None:
                assert np.array_equal(a.keep, b.keep)
    if batch_size > 1:  # the shrinking tail is covered
        assert any(step.keep is not None for step in expected)
