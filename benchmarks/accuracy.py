"""GRU4Rec accuracy on the bundled data against the official implementation's figures.

Trains the RSC15 preset (cross-entropy with logQ) and the same preset with BPR-max
(elu_param 0.5, bpreg 1.0, logq 0, learning_rate 0.05) on train_full for 10 epochs, evaluates on
test with conservative ties, over several seeds, and prints the means against the official
PyTorch code's figures on this data (run on a CPU, mean of four runs).

    python benchmarks/accuracy.py [--seeds 1 2 3] [--epochs 10]
"""

from __future__ import annotations

import argparse
import json
import statistics
import time

from gru4rec_study.data import bundled_dataset, encode_sessions, read_events
from gru4rec_study.evaluation import evaluate
from gru4rec_study.models import GRU4Rec, load_preset

SETTINGS = {
    "cross-entropy + logQ (rsc15 preset)": ({}, (0.680, 0.355)),
    "bpr-max (rsc15 preset, elu 0.5, bpreg 1, lr 0.05)": (
        {"loss": "bpr-max", "elu_param": 0.5, "bpreg": 1.0, "logq": 0.0, "learning_rate": 0.05},
        (0.686, 0.378),
    ),
}
TOLERANCE = 0.015


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3])
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--json", help="also write the per-seed figures here")
    args = parser.parse_args()
    train = encode_sessions(read_events(bundled_dataset("train_full")))
    test = encode_sessions(read_events(bundled_dataset("test")), train.item_map, 2)
    rows, runs = [], {}
    for label, (overrides, official) in SETTINGS.items():
        recalls, mrrs = [], []
        for seed in args.seeds:
            config = load_preset("rsc15", n_epochs=args.epochs, seed=seed, **overrides)
            started = time.perf_counter()
            model = GRU4Rec(config).fit(train)
            metrics = evaluate(model, test, tie_policy="conservative").metrics
            recalls.append(metrics["Recall@20"])
            mrrs.append(metrics["MRR@20"])
            print(
                f"{label}, seed {seed}: Recall@20 {recalls[-1]:.4f}, MRR@20 {mrrs[-1]:.4f} "
                f"({time.perf_counter() - started:.0f} s)",
                flush=True,
            )
        runs[label] = {"seeds": args.seeds, "recall@20": recalls, "mrr@20": mrrs}
        rows.append((label, recalls, mrrs, official))

    print(
        f"\n{'setting':52s} {'R@20 ours':>10s} {'official':>9s} {'MRR@20 ours':>12s} "
        f"{'official':>9s}  within {TOLERANCE}"
    )
    for label, recalls, mrrs, (off_r, off_m) in rows:
        r, m = statistics.mean(recalls), statistics.mean(mrrs)
        spread = f"±{statistics.pstdev(recalls):.3f}/{statistics.pstdev(mrrs):.3f}"
        ok = abs(r - off_r) <= TOLERANCE and abs(m - off_m) <= TOLERANCE
        print(
            f"{label:52s} {r:10.4f} {off_r:9.3f} {m:12.4f} {off_m:9.3f}  {'yes' if ok else 'NO'}"
            f"  (spread {spread}, {len(recalls)} seeds)"
        )
    if args.json:
        with open(args.json, "w") as handle:
            json.dump(runs, handle, indent=2)


if __name__ == "__main__":
    main()
