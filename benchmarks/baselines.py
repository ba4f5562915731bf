"""Evaluation speed of the baselines: predictions per second on the bundled data.

Each baseline is fitted on train_full and evaluated with full ranking on the 10,152 next-item
events of test; the table gives fitting time, predictions per second and the ratio against
550 predictions per second (the upper end of session-rec's rate for its kNN and rule baselines
on this machine, as the project's issue states it), and the ratio against Popularity's rate in
the same run, which survives a change of machine load. The evaluation runs ``--repeats`` times and
the fastest run counts (the machine is shared, so slower runs measure other jobs); torch uses
``--threads`` threads (1 by default: session-rec runs on one core, and on a loaded machine
torch's thread pool waits for descheduled threads).

    python benchmarks/baselines.py [--repeats 3] [--threads 1]
"""

from __future__ import annotations

import argparse
import time

import torch

from gru4rec_study.data import bundled_dataset, encode_sessions, read_events
from gru4rec_study.evaluation import evaluate
from gru4rec_study.models import (
    STAN,
    VSKNN,
    VSTAN,
    AssociationRules,
    ItemKNN,
    Markov,
    Popularity,
    SequentialRules,
    SessionKNN,
    SessionPopularity,
)

REFERENCE_RATE = 550.0  # predictions per second


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3, help="evaluations per model (fastest)")
    parser.add_argument("--threads", type=int, default=1, help="torch threads")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    train = encode_sessions(read_events(bundled_dataset("train_full")))
    test = encode_sessions(read_events(bundled_dataset("test")), train.item_map, 2)
    header = f"{'model':12s} {'fit s':>7s} {'eval s':>7s} {'pred/s':>9s} {'x 550/s':>8s}"
    print(f"{header} {'/ Pop':>6s} {'R@20':>7s}")
    reference = None  # Popularity's rate, the first model
    models = (
        Popularity(),
        SessionPopularity(),
        Markov(),
        AssociationRules(),
        SessionKNN(k=100, sample_size=500),
        VSKNN(500, 5000, weighting="quadratic", weighting_score="div", idf_weighting=5.0),
        STAN(k=100, sample_size=5000),
        VSTAN(k=500, sample_size=5000),
        ItemKNN(),
        SequentialRules(steps=20, weighting="quadratic"),
    )
    for model in models:
        started = time.perf_counter()
        model.fit(train)
        fit_seconds = time.perf_counter() - started
        evaluate(model, test)  # warm-up: first-touch page faults, caches
        results = [evaluate(model, test) for _ in range(args.repeats)]
        seconds = min(r.seconds for r in results)
        rate = results[0].n_events / seconds
        reference = reference or rate
        print(
            f"{model.name:12s} {fit_seconds:7.2f} {seconds:7.2f} {rate:9.0f}"
            f" {rate / REFERENCE_RATE:8.0f} {rate / reference:6.3f}"
            f" {results[0].metrics['Recall@20']:7.4f}"
        )


if __name__ == "__main__":
    main()
