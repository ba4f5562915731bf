"""GRU4Rec's evaluation scorer: blocks of session vectors, the input-gate table, reused scores."""

import numpy as np
import pytest
import torch

from gru4rec_study.data import encode_sessions
from gru4rec_study.evaluation import evaluate, protocol
from gru4rec_study.evaluation.protocol import scored_steps, vector_walk, walk_groups
from gru4rec_study.models import GRU4Rec, GRU4RecConfig, VectorSessionScorer
from gru4rec_study.models.gru4rec import model as gru4rec_model
from gru4rec_study.models.gru4rec.network import GRU4RecNetwork

from conftest import events_frame

INPUT_MODES = {
    "constrained": {"constrained_embedding": True},
    "embedding": {"constrained_embedding": False, "embedding": 5},
    "onehot": {"constrained_embedding": False, "embedding": 0},
}


class _StepByStep:
    """The same model behind a scorer without session vectors: scored one step at a time."""

    def __init__(self, model):
        self.model, self.name, self.item_map = model, model.name, model.item_map

    def scorer(self, n_slots):
        inner = self.model.scorer(n_slots)

        class Plain:
            keep, reset, scores = inner.keep, inner.reset, inner.scores

        return Plain()


@pytest.fixture(scope="module")
def trained(bundled_slice):
    train, test = bundled_slice
    config = GRU4RecConfig(layers=(16,), batch_size=16, n_sample=64, n_epochs=1)
    return GRU4Rec(config).fit(train), test


@pytest.mark.parametrize("policy", ["conservative", "standard", "median"])
@pytest.mark.parametrize("batch_size", [1, 7, 512])
def test_scoring_in_blocks_ranks_as_scoring_step_by_step(trained, policy, batch_size):
    model, test = trained
    assert isinstance(model.scorer(1), VectorSessionScorer)
    blocks = evaluate(model, test, tie_policy=policy, batch_size=batch_size)
    steps = evaluate(_StepByStep(model), test, tie_policy=policy, batch_size=batch_size)
    np.testing.assert_array_equal(blocks.event_index, steps.event_index)
    np.testing.assert_array_equal(blocks.ranks, steps.ranks)


@pytest.fixture(scope="module")
def two_layer_models(bundled_slice):
    train, _ = bundled_slice
    return {
        mode: GRU4Rec(
            GRU4RecConfig(layers=(12, 8), batch_size=16, n_sample=64, n_epochs=1, **options)
        ).fit(train)
        for mode, options in INPUT_MODES.items()
    }


def _ranks_session_by_session(model, test, policy):
    """Each test session on its own: plain float64 GRU steps, products and numpy counts."""
    net = model.network_.converted(torch.float64)
    wy, by = net.Wy.numpy(), net.By.numpy()
    ranks = []
    for start, end in zip(*_bounds(test), strict=True):
        state = net.zero_state(1)
        for position in range(start, end - 1):
            item = torch.tensor([int(test.item_idx[position])])
            h = net.hidden_step(item, state)[0].numpy()
            scores = wy @ h + by
            target = scores[test.item_idx[position + 1]]
            above, at_least = (scores > target).sum(), (scores >= target).sum()
            rank = {"conservative": at_least, "standard": above + 1}
            ranks.append(rank.get(policy, 1 + above + (at_least - above - 1) / 2))
    return np.array(ranks, dtype=np.float64)


@pytest.mark.parametrize("policy", ["conservative", "standard", "median"])
@pytest.mark.parametrize("mode", INPUT_MODES)
def test_blocks_rank_as_each_session_scored_alone(two_layer_models, bundled_slice, mode, policy):
    model, (_, test) = two_layer_models[mode], bundled_slice
    expected = _ranks_session_by_session(model, test, policy)
    for batch_size in (1, 7, 512):
        result = evaluate(model, test, tie_policy=policy, batch_size=batch_size)
        # Events in test order: the target at position p of session s is event p - s - 1.
        np.testing.assert_array_equal(result.ranks[np.argsort(result.event_index)], expected)


@pytest.mark.parametrize("walk_events", [protocol.MAX_WALK_EVENTS, 150])
@pytest.mark.parametrize("batch_size, rows", [(7, 7), (300, 256)])
def test_blocks_are_full_but_each_groups_last_and_hold_every_event_once(
    trained, batch_size, rows, walk_events, monkeypatch
):
    model, test = trained
    monkeypatch.setattr(protocol, "MAX_WALK_EVENTS", walk_events)
    events = np.diff(test.session_offsets) - 1
    group_events = [int(events[g].sum()) for g in walk_groups(test.session_offsets, walk_events)]
    seen, previous = [], None
    for scores, positions in scored_steps(model, test, batch_size=batch_size):
        assert scores.shape == (len(positions), test.n_items)
        if previous is not None:  # one score matrix, reused block after block
            assert scores.data_ptr() == previous
        previous = scores.data_ptr()
        seen.append(len(positions))
    # Every group's events in blocks of `rows`, the group's last block the remainder.
    expected_sizes = [
        size
        for n in group_events
        for size in [rows] * (n // rows) + ([n % rows] if n % rows else [])
    ]
    assert seen == expected_sizes
    if walk_events == 150:
        assert len(group_events) > 3 and max(group_events) <= 150
    else:
        assert group_events == [test.n_prediction_events]


def _bounds(test):
    return test.session_offsets[:-1], test.session_offsets[1:]


def test_session_vectors_are_not_changed_by_later_calls(trained):
    model, _ = trained
    scorer = model.scorer(3)
    vectors = scorer.session_vectors(np.array([0, 1, 2]))
    kept = vectors.clone()
    scorer.reset(np.array([0, 2]))
    scorer.session_vectors(np.array([3, 4, 5]))
    scorer.keep(np.array([True, False, True]))
    scorer.reset(np.array([1]))
    scorer.scores(np.array([6, 7]))
    torch.testing.assert_close(vectors, kept, rtol=0, atol=0)


def test_scores_of_writes_into_out_the_scores_it_returns_otherwise(trained):
    model, _ = trained
    scorer = model.scorer(2)
    vectors = scorer.session_vectors(np.array([0, 1]))
    out = torch.full((2, model.item_map.n_items), np.nan, dtype=torch.float64)
    assert scorer.scores_of(vectors, out) is out
    torch.testing.assert_close(out, scorer.scores_of(vectors), rtol=0, atol=0)
    # By hand: the hidden state times the output vectors, plus the output biases.
    net = model.network_
    by_hand = vectors @ net.Wy.double().T + net.By.double()
    torch.testing.assert_close(out, by_hand, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("mode", INPUT_MODES)
def test_the_input_gate_table_holds_each_items_first_layer_product(mode):
    config = GRU4RecConfig(layers=(6, 4), **INPUT_MODES[mode])
    net = GRU4RecNetwork(config, 9, torch.device("cpu")).initialise(3).converted(torch.float64)
    net.b_ih[0].uniform_(-1, 1)  # non-zero biases, so that the table must include them
    table = net.input_gates()
    assert net.mode == mode and table.shape == (9, 18)
    for j in range(9):
        if mode == "onehot":
            expected = net.tables["Wx"][j] + net.b_ih[0]
        else:
            x = net.Wy[j] if mode == "constrained" else net.tables["E"][j]
            expected = x @ net.w_ih[0] + net.b_ih[0]
        torch.testing.assert_close(table[j], expected, rtol=1e-12, atol=1e-12)
    items = torch.tensor([4, 0, 8, 4])
    with_table, without = net.zero_state(4), net.zero_state(4)
    for _ in range(3):
        a = net.hidden_step(items, with_table, table)
        b = net.hidden_step(items, without)
        torch.testing.assert_close(a, b, rtol=1e-12, atol=1e-12)
        items = (items + 1) % 9


def test_the_table_is_built_once_n_items_events_are_fed_and_ranks_alike(
    trained, bundled_slice, monkeypatch
):
    model, (test, _) = trained[0], bundled_slice  # the training sessions: enough events
    n_items = model.item_map.n_items
    scorer = model.scorer(1)
    for k in range(n_items - 1):  # n_items - 1 events: no table yet
        scorer.session_vectors(np.array([k % n_items]))
    assert scorer._input_gates is None
    scorer.session_vectors(np.array([0]))
    assert scorer._input_gates is not None
    assert test.n_prediction_events > n_items  # so that evaluation below builds it
    reference = evaluate(model, test)
    monkeypatch.setattr(gru4rec_model, "MAX_INPUT_GATES", 0)
    scorer = model.scorer(1)
    for _ in range(n_items):
        scorer.session_vectors(np.array([0]))
    assert scorer._input_gates is None
    np.testing.assert_array_equal(evaluate(model, test).ranks, reference.ranks)


@pytest.mark.parametrize("policy", ["conservative", "standard", "median"])
@pytest.mark.parametrize("walk_events", [1, 60])
def test_ranks_do_not_depend_on_how_sessions_are_grouped(
    two_layer_models, bundled_slice, policy, walk_events, monkeypatch
):
    model, (_, test) = two_layer_models["onehot"], bundled_slice
    expected = _ranks_session_by_session(model, test, policy)
    monkeypatch.setattr(protocol, "MAX_WALK_EVENTS", walk_events)  # 1: a group per session
    result = evaluate(model, test, tie_policy=policy, batch_size=5)
    np.testing.assert_array_equal(result.ranks[np.argsort(result.event_index)], expected)


def test_walk_groups_by_hand():
    # Sessions of 3, 1, 5, 2 and 4 events: 2, 0, 4, 1 and 3 next-item events.
    offsets = np.cumsum([0, 3, 1, 5, 2, 4])
    as_lists = lambda limit: [g.tolist() for g in walk_groups(offsets, limit)]  # noqa: E731
    # Consecutive sessions up to 5 events; the one-event session has none and is left out.
    assert as_lists(5) == [[0], [2, 3], [4]]
    # A session above the limit is a group of its own.
    assert as_lists(3) == [[0], [2], [3], [4]]
    # One group, longest first; equal lengths keep their order.
    assert as_lists(100) == [[2, 4, 0, 3]]
    ties = np.cumsum([0, 2, 4, 4, 3])
    assert [g.tolist() for g in walk_groups(ties, 100)] == [[1, 2, 3, 0]]
    assert list(walk_groups(np.array([0, 1, 2]), 10)) == []  # no next-item event at all


class _CountingScorer:
    """A vector scorer that records the rows of every step and hands out the fed items."""

    def __init__(self):
        self.steps, self.restarts, self.slots = [], [], 0

    def restart(self, n_slots):
        self.restarts.append(n_slots)
        self.slots = n_slots

    def keep(self, mask):
        assert len(mask) == self.slots
        self.slots = int(mask.sum())
        assert mask[: self.slots].all()  # a prefix

    def reset(self, slots):
        raise AssertionError("the walk never resets a slot")

    def session_vectors(self, items):
        assert len(items) == self.slots
        self.steps.append(len(items))
        return torch.from_numpy(np.asarray(items, dtype=np.float64)).view(-1, 1)

    def scores_of(self, vectors, out=None):
        raise AssertionError("not scored here")

    def scores(self, items):
        raise AssertionError("not scored here")


def test_the_walk_takes_as_many_steps_as_the_longest_session_of_each_group(bundled_slice):
    _, test = bundled_slice
    scorer = _CountingScorer()
    assert isinstance(scorer, VectorSessionScorer)
    walked = list(vector_walk(scorer, test))
    events = np.diff(test.session_offsets) - 1
    groups = list(walk_groups(test.session_offsets, protocol.MAX_WALK_EVENTS))
    assert scorer.restarts == [len(g) for g in groups]
    assert len(scorer.steps) == sum(int(events[g].max()) for g in groups)
    # Step t feeds the sessions with more than t next-item events; rows never grow.
    for group, (vectors, positions) in zip(groups, walked, strict=True):
        lengths = events[group]
        per_step = [int((lengths > t).sum()) for t in range(int(lengths.max()))]
        assert per_step == sorted(per_step, reverse=True)
        assert len(vectors) == len(positions) == lengths.sum()
        # Row i holds the item fed at the event before its target.
        np.testing.assert_array_equal(vectors[:, 0].numpy(), test.item_idx[positions - 1])
    every = np.concatenate([p for _, p in walked])
    expected = np.concatenate([np.arange(a + 1, b) for a, b in zip(*_bounds(test), strict=True)])
    np.testing.assert_array_equal(np.sort(every), expected)


def test_restart_gives_fresh_sessions(trained):
    model, _ = trained
    scorer, fresh = model.scorer(3), model.scorer(2)
    scorer.session_vectors(np.array([0, 1, 2]))
    scorer.restart(2)
    torch.testing.assert_close(
        scorer.session_vectors(np.array([5, 6])),
        fresh.session_vectors(np.array([5, 6])),
        rtol=0,
        atol=0,
    )


def test_a_session_longer_than_a_group_is_handed_on_in_parts(monkeypatch):
    # A session of 23 events (22 next-item events) and one of 3, with groups of 5 events.
    rows = [(1, f"i{k % 7}", k) for k in range(23)] + [(2, f"i{k}", 100 + k) for k in range(3)]
    test = encode_sessions(events_frame(rows))
    monkeypatch.setattr(protocol, "MAX_WALK_EVENTS", 5)
    scorer = _CountingScorer()
    walked = list(vector_walk(scorer, test))
    assert [len(v) for v, _ in walked] == [5, 5, 5, 5, 2, 2]
    assert scorer.restarts == [1, 1]
    for vectors, positions in walked:
        np.testing.assert_array_equal(vectors[:, 0].numpy(), test.item_idx[positions - 1])
    every = np.sort(np.concatenate([p for _, p in walked]))
    np.testing.assert_array_equal(every, np.r_[1:23, 24:26])
