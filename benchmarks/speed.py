"""GRU4Rec training and evaluation speed, each against the bare matrix products of its shapes.

Timings on a shared machine are noisy, so every figure comes with a reference measured in the
same run: the forward and backward matrix products of a training step with the same shapes
(the rate the step would reach if nothing but those products cost time), and the bare score
product of evaluation.

    python benchmarks/speed.py [--batches 800] [--threads N] [--catalogues 40000 200000]
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch

from gru4rec_study.data import bundled_dataset, encode_sessions, read_events
from gru4rec_study.data.batching import session_parallel_steps
from gru4rec_study.data.sessions import ItemMap
from gru4rec_study.data.synthetic import synthetic_events
from gru4rec_study.evaluation import evaluate
from gru4rec_study.evaluation.protocol import MAX_SCORE_ELEMENTS, score_block_rows, vector_walk
from gru4rec_study.models import GRU4Rec, load_preset
from gru4rec_study.models.gru4rec.network import GRU4RecNetwork
from gru4rec_study.models.gru4rec.trainer import TrainingStep

SETTINGS = {
    "small (rsc15: batch 32, 100 units, 2048 samples)": ("rsc15", {}),
    "large (diginetica: batch 128, 512 units, 2048 samples)": ("diginetica", {}),
}


def _batches(train, batch_size, limit):
    items = torch.from_numpy(train.item_idx)
    out = []
    for step in session_parallel_steps(train.session_offsets, batch_size):
        if len(step.positions) == batch_size:
            pos = torch.from_numpy(step.positions)
            out.append((items[pos], items[pos + 1]))
        if len(out) == limit:
            break
    return out


def training_timer(train, config):
    """A function that runs k real training steps on full mini-batches; returns ms per step."""
    net = GRU4RecNetwork(config, train.n_items, torch.device("cpu")).initialise(config.seed)
    step = TrainingStep(net, config, train.item_counts(), torch.Generator().manual_seed(0))
    batches = _batches(train, config.batch_size, 2000)
    state = net.zero_state(config.batch_size)
    position = 0

    def run(k):
        nonlocal position
        started = time.perf_counter()
        for _ in range(k):
            inputs, targets = batches[position % len(batches)]
            float(step(inputs, targets, state))
            position += 1
        return 1e3 * (time.perf_counter() - started) / k

    return run


def matmul_timer(n, hidden, n_cols):
    """A function that runs one step's matrix products k times; returns ms per step.

    The products are those of a step with the official layout: scores against the n targets
    and the shared samples, the GRU layer, and their backward products.
    """
    g = torch.Generator().manual_seed(0)
    r = lambda *shape: torch.randn(*shape, generator=g)  # noqa: E731
    x, h, w_ih, w_hh = r(n, hidden), r(n, hidden), r(hidden, 3 * hidden), r(hidden, 3 * hidden)
    wy, d_scores, d_g = r(n_cols, hidden), r(n, n_cols), r(n, 3 * hidden)

    def run(k):
        started = time.perf_counter()
        for _ in range(k):
            x @ w_ih, h @ w_hh, x @ wy.T  # forward: GRU input and recurrent products, scores
            d_scores.T @ x, d_scores @ wy  # backward of the scores
            h.T @ d_g, x.T @ d_g, d_g @ w_ih.T  # backward of the GRU layer
        return 1e3 * (time.perf_counter() - started) / k

    return run


def time_setting(train, config, n_batches, rounds=8):
    """Medians over ``rounds`` alternating blocks of training steps and of matrix products.

    Alternating the two puts both under the same load of the machine; the share of each round
    compares the two blocks measured side by side. Returns (ms per step, matmul ms, share).
    """
    train_step = training_timer(train, config)
    products = matmul_timer(
        config.batch_size, config.layers[0], config.batch_size + config.n_sample
    )
    train_step(50), products(20)  # warm-up
    block = max(1, n_batches // rounds)
    pairs = [(train_step(block), products(max(1, block // 2))) for _ in range(rounds)]
    ms, mm = (float(np.median(v)) for v in zip(*pairs, strict=True))
    share = float(np.median([m / t for t, m in pairs]))
    return ms, mm, share


def time_evaluation(model, test, batch_size=512, rounds=7):
    """Seconds of full-ranking evaluation, of the bare score product and of the GRU work.

    Evaluation scores in float64 (so that ranks cannot depend on the batch shape). The bare
    product is that of every test event's hidden state with the item matrix, in float64, in
    the evaluation's blocks (of at most 256 rows), into one preallocated matrix. The GRU work
    computes those hidden states (the scorer's set-up, with its input-gate table on small
    catalogues, and the steps of evaluation's walk, ``vector_walk``); the bare product does
    not include it. The three are timed in turns: medians of ``rounds`` turns, and the overheads
    as medians of the per-turn ratios.
    """
    # The batch evaluate() works with: made smaller for large catalogues (max_score_elements).
    batch_size = max(1, min(batch_size, MAX_SCORE_ELEMENTS // test.n_items))
    block_rows = score_block_rows(batch_size)
    scorer = model.scorer(1)
    hidden = torch.randn(test.n_prediction_events, model.config.layers[-1], dtype=torch.float64)

    scores = torch.empty(block_rows, test.n_items, dtype=torch.float64)

    def bare():
        for block in hidden.split(block_rows):
            scorer.scores_of(block, scores[: len(block)])

    def gru():
        # The scorer's set-up (the float64 copy, later the gate table) and evaluation's walk.
        for _ in vector_walk(model.scorer(1), test):
            pass

    turns = []
    for _ in range(rounds):
        started = time.perf_counter()
        evaluate(model, test, batch_size=batch_size)
        turn = [time.perf_counter() - started]
        for work in (bare, gru):
            started = time.perf_counter()
            work()
            turn.append(time.perf_counter() - started)
        turns.append(turn)
    total, product, steps = (np.array(v) for v in zip(*turns, strict=True))
    return (
        float(np.median(total)),
        float(np.median(product)),
        float(np.median(steps)),
        float(np.median(total / product)) - 1,
        float(np.median((total - steps) / product)) - 1,
    )


def random_model(n_items, n_sessions, seed=0):
    """GRU4Rec (rsc15 preset) with untrained weights over ``n_items`` items, and test sessions.

    Evaluation speed does not depend on the weights, so none are trained.
    """
    item_map = ItemMap.from_ids(np.arange(n_items).astype(str))
    config = load_preset("rsc15")
    net = GRU4RecNetwork(config, n_items, torch.device("cpu")).initialise(seed)
    model = GRU4Rec.from_state(config.as_dict(), item_map, net.state_tensors())
    test = encode_sessions(synthetic_events(n_sessions, n_items, seed=seed), item_map, 2)
    return model, test


def print_evaluation(label, model, test):
    total, bare, gru, overhead, without = time_evaluation(model, test)
    print(
        f"{label:30s} {test.n_items:8d} {test.n_prediction_events:8d} {total:8.3f} {bare:8.3f}"
        f" {overhead:+9.0%} {gru:8.3f} {without:+9.0%}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batches", type=int, default=800, help="timed mini-batches per setting")
    parser.add_argument("--threads", type=int, default=None, help="torch threads")
    parser.add_argument("--evaluation-only", action="store_true", help="skip the training settings")
    parser.add_argument(
        "--catalogues",
        type=int,
        nargs="*",
        default=[40_000, 200_000],
        help="item counts of synthetic catalogues to time evaluation on",
    )
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    train = encode_sessions(read_events(bundled_dataset("train_full")))
    test = encode_sessions(read_events(bundled_dataset("test")), train.item_map, 2)
    print(
        f"torch {torch.__version__}, {torch.get_num_threads()} threads; bundled train_full "
        f"({train.n_items} items)\n"
    )
    print(
        "training steps on full mini-batches, alternated with the bare products (medians of 8"
        "\nrounds); and one epoch of fit(), its iterator and shrinking tail included\n"
    )
    print(
        f"{'setting':56s} {'ms/batch':>9s} {'events/s':>9s} {'matmul ms':>10s} {'share':>7s}"
        f" {'fit ms/batch':>13s} {'fit events/s':>13s}"
    )
    for label, (preset, overrides) in () if args.evaluation_only else SETTINGS.items():
        config = load_preset(preset, **overrides)
        ms, mm, share = time_setting(train, config, args.batches)
        epoch = GRU4Rec(load_preset(preset, n_epochs=1, **overrides)).fit(train).training_log_[0]
        print(
            f"{label:56s} {ms:9.3f} {1e3 * config.batch_size / ms:9.0f} {mm:10.3f} {share:7.1%}"
            f" {epoch['ms_per_batch']:13.3f} {epoch['events_per_second']:13.0f}"
        )
    print(
        "\nfull-ranking evaluation, float64, batch 512 (fewer rows above 131,072 items, as"
        "\nevaluate() bounds the score matrix); medians of 7 turns: seconds of the whole"
        "\nevaluation, of the bare score product (every event's hidden state times the item"
        "\nmatrix, in the evaluation's blocks of 256 rows), and of the GRU work that computes"
        "\nthe hidden states; overhead of the evaluation over the bare product, with and"
        "\nwithout the GRU work"
    )
    print(
        f"{'test data':30s} {'items':>8s} {'events':>8s} {'eval s':>8s} {'bare s':>8s}"
        f" {'overhead':>9s} {'GRU s':>8s} {'w/o GRU':>9s}"
    )
    model = GRU4Rec(load_preset("rsc15", n_epochs=1)).fit(train)
    print_evaluation("bundled test (1 epoch)", model, test)
    for n_items in args.catalogues:
        model, synthetic_test = random_model(n_items, n_sessions=2000)
        print_evaluation("synthetic, untrained", model, synthetic_test)


if __name__ == "__main__":
    main()
