"""Running an experiment into a run directory.

The run directory holds everything needed to reproduce and report the run: ``config.json`` (the
resolved experiment), ``command.txt``, ``environment.json`` (package versions, git commit,
machine), ``inputs.json`` (input files and their SHA-256), ``data.json`` (sizes, every
removal, and the session-length and item-support histograms of train and test),
``training_log.json`` (loss, seconds and events per second of every epoch),
``results.json`` (every metric of every model, Recall/MRR/NDCG at every K up to the largest
cutoff, training and evaluation seconds, the tie policy, event counts), ``ranks.tsv.gz``
(the rank of every test event under every model) and the saved models. Tables and figures are
made from these files by :mod:`gru4rec_study.reporting`.
"""

from __future__ import annotations

import json
import logging
import shlex
import sys
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from gru4rec_study.data import bundled_dataset, encode_sessions, read_events, split_events
from gru4rec_study.data.events import EventColumns
from gru4rec_study.data.preprocess import filter_events
from gru4rec_study.data.sessions import SessionData
from gru4rec_study.evaluation import EvaluationResult, SampledEvaluation, evaluate, metric_curves
from gru4rec_study.experiments.analysis import (
    confidence_intervals,
    sampled_comparison,
    significance,
)
from gru4rec_study.experiments.config import (
    BUNDLED_PREFIX,
    ConfigError,
    ExperimentConfig,
    validate_experiment,
)
from gru4rec_study.experiments.models import build_model, model_label
from gru4rec_study.experiments.provenance import file_sha256, git_state, machine, package_versions
from gru4rec_study.models.base import TrainingError
from gru4rec_study.progress import progress

logger = logging.getLogger(__name__)


@dataclass
class RunResult:
    """The outcome of :func:`run_experiment`."""

    run_dir: Path
    results: dict[str, Any]  # the content of results.json
    evaluations: dict[str, EvaluationResult]


def _resolve_input(value: str) -> Path:
    if value.startswith(BUNDLED_PREFIX):
        return bundled_dataset(value.removeprefix(BUNDLED_PREFIX))
    return Path(value)


def _histogram(values: np.ndarray, value_name: str, count_name: str) -> dict[str, list[int]]:
    """The distinct values and how often each occurs, ascending: compact for any data size."""
    distinct, counts = np.unique(values, return_counts=True)
    return {value_name: distinct.tolist(), count_name: counts.tolist()}


def _session_stats(data: SessionData) -> dict[str, Any]:
    lengths = data.session_lengths
    support = np.bincount(data.item_idx, minlength=data.n_items)
    return {
        "n_events": data.n_events,
        "n_sessions": data.n_sessions,
        "n_items": int(np.unique(data.item_idx).size),
        "n_prediction_events": data.n_prediction_events,
        "mean_session_length": float(lengths.mean()) if len(lengths) else None,
        "max_session_length": int(lengths.max()) if len(lengths) else None,
        "session_length_histogram": _histogram(lengths, "length", "n_sessions"),
        "item_support_histogram": _histogram(support[support > 0], "support", "n_items"),
    }


def load_data(
    config: ExperimentConfig, validation: bool = False
) -> tuple[SessionData, SessionData, dict, dict]:
    """Read (and split) the experiment's data; return train, test, data report, input hashes.

    With ``validation``, return the validation split instead (``train_tr`` to ``train_valid``):
    the given files, or for ``data.events`` the training part split again by the same rule.
    """
    d = config.data
    columns = EventColumns(d.session_column, d.item_column, d.time_column)
    report: dict[str, Any] = {}
    if d.events is not None:
        path = _resolve_input(d.events)
        inputs = {"events": {"path": str(path), "sha256": file_sha256(path)}}
        events = read_events(path, columns)
        events, filters = filter_events(
            events, config.split.min_item_support, config.split.min_session_length, str(path)
        )
        report["filters"] = filters.steps
        sp = config.split
        train_events, test_events, split = split_events(
            events, sp.rule, sp.test_share, sp.test_days
        )
        report["split"] = split.as_dict()
        if validation:
            train_events, test_events, split = split_events(
                train_events, sp.rule, sp.test_share, sp.test_days
            )
            report["validation_split"] = split.as_dict()
    else:
        keys = ("train_tr", "train_valid") if validation else ("train", "test")
        if validation and d.train_tr is None:
            raise ValueError(
                f"{config.source}: no validation data: give data.train_tr and data.train_valid,"
                " data.prepared, or data.events to split"
            )
        paths = {k: _resolve_input(getattr(d, k)) for k in keys}
        inputs = {k: {"path": str(p), "sha256": file_sha256(p)} for k, p in paths.items()}
        train_events = read_events(paths[keys[0]], columns)
        test_events = read_events(paths[keys[1]], columns)
    train = encode_sessions(train_events, source="train")
    test = encode_sessions(test_events, train.item_map, min_session_length=2, source="test")
    report["test_encoding"] = test.report.as_dict()
    report["train"] = _session_stats(train)
    report["test"] = _session_stats(test)
    return train, test, report, inputs


def new_run_dir(root: str | Path, name: str) -> Path:
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    base = Path(root) / f"{name}-{stamp}"
    run_dir, k = base, 1
    while run_dir.exists():
        k += 1
        run_dir = Path(f"{base}-{k}")
    run_dir.mkdir(parents=True)
    return run_dir


def _write_json(path: Path, value: Any) -> None:
    path.write_text(json.dumps(value, indent=2, default=str) + "\n")


def _first_seed(config: ExperimentConfig, spec) -> int:
    if config.seeds and spec.kind.lower() == "gru4rec":
        return config.seeds[0]
    return config.seed


def _write_provenance(run_dir: Path, config: ExperimentConfig, argv: list[str]) -> None:
    (run_dir / "command.txt").write_text(shlex.join(argv) + "\n")
    _write_json(run_dir / "config.json", config.as_dict())
    environment = {
        "versions": package_versions(),
        "git": git_state(),
        "machine": machine(),
        "seed": config.seed,
        "started": datetime.now(UTC).isoformat(),
    }
    _write_json(run_dir / "environment.json", environment)


def _fit_and_evaluate(model, spec, train, test, config, show_progress, run_dir):
    """Train, save and evaluate one model; return its evaluation and its results entry."""
    ev = config.evaluation
    sampled = None
    if ev.sampled_negatives:
        sampled = SampledEvaluation(ev.sampled_negatives, ev.sampled_distribution, config.seed)
    label = model_label(spec, model)
    started = time.perf_counter()
    model.fit(train)
    train_seconds = time.perf_counter() - started
    model.save(run_dir / "models" / label)
    result = evaluate(
        model,
        test,
        ev.cutoffs,
        ev.tie_policy,
        ev.batch_size,
        show_progress,
        sampled=sampled,
        item_counts=train.item_counts(),
        beyond_accuracy=True,
    )
    result.model = label
    intervals = None
    if ev.bootstrap_resamples:
        intervals = confidence_intervals(result, ev.bootstrap_resamples, config.seed, show_progress)
    entry = {
        "kind": spec.kind,
        "metrics": result.metrics,
        "metrics_ci95": intervals,
        "curves": metric_curves(result.ranks, max(ev.cutoffs)),  # value at K = 1..max cutoff
        "sampled_metrics": result.sampled_metrics,
        "beyond_accuracy": result.beyond_accuracy,
        "n_events": result.n_events,
        "train_seconds": train_seconds,
        "eval_seconds": result.seconds,
    }
    return result, entry


def _other_seeds(spec, entry, training_log, train, test, config, show_progress, run_dir) -> None:
    """Train ``spec`` with every further seed; put mean and spread over all seeds in ``entry``.

    The per-event results (ranks, intervals, tests, sampled comparison) stay those of the first
    seed.
    """
    ev = config.evaluation
    label = model_label(spec, build_model(spec, config.seeds[0]))
    per_seed = {str(config.seeds[0]): entry["metrics"]}
    for seed in config.seeds[1:]:
        logger.info("%s, seed %d", label, seed)
        model = build_model(spec, seed, show_progress).fit(train)
        model.save(run_dir / "models" / f"{label}@seed-{seed}")
        result = evaluate(model, test, ev.cutoffs, ev.tie_policy, ev.batch_size, show_progress)
        per_seed[str(seed)] = result.metrics
        training_log[f"{label}@seed-{seed}"] = model.training_log_
    names = list(entry["metrics"])
    values = {m: [per_seed[s][m] for s in per_seed] for m in names}
    entry["seeds"] = list(config.seeds)
    entry["metrics_per_seed"] = per_seed
    entry["metrics"] = {m: _mean(v) for m, v in values.items()}
    entry["metrics_sd"] = {m: _sd(v) for m, v in values.items()}
    entry["per_event_seed"] = config.seeds[0]


def _mean(values: list[float | None]) -> float | None:
    return None if any(v is None for v in values) else float(np.mean(values))


def _sd(values: list[float | None]) -> float | None:
    if len(values) < 2 or any(v is None for v in values):
        return None
    return float(np.std(values, ddof=1))


def run_experiment(
    config: ExperimentConfig,
    out_root: str | Path = "runs",
    argv: list[str] | None = None,
    show_progress: bool = False,
    run_dir: str | Path | None = None,
) -> RunResult:
    """Train and evaluate every model of ``config`` on the same test events.

    Parameters
    ----------
    config
        The experiment (see :func:`~gru4rec_study.experiments.config.load_experiment`).
    out_root
        Folder under which a new run directory ``NAME-YYYYmmdd-HHMMSS`` is created.
    argv
        The command line to record; ``sys.argv`` by default.
    run_dir
        Use this directory instead of a new one under ``out_root``.
    """
    # 1. Data, read once and encoded once with the training catalogue for every model; the
    #    run directory is made only once the data and every model's parameters are known good.
    validate_experiment(config)
    train, test, data_report, inputs = load_data(config)
    n_negatives = config.evaluation.sampled_negatives
    if n_negatives > train.n_items - 1:
        raise ConfigError(
            f"{config.source}: evaluation.sampled_negatives = {n_negatives}, but the training"
            f" catalogue has {train.n_items} items ({train.n_items - 1} negatives per event)"
        )
    models = [build_model(spec, _first_seed(config, spec), show_progress) for spec in config.models]
    run_dir = Path(run_dir) if run_dir is not None else new_run_dir(out_root, config.name)
    run_dir.mkdir(parents=True, exist_ok=True)
    _write_provenance(run_dir, config, list(sys.argv if argv is None else argv))
    _write_json(run_dir / "inputs.json", inputs)
    _write_json(run_dir / "data.json", data_report)
    if test.n_prediction_events == 0:
        logger.warning("the test data has no next-item events: every metric is undefined")

    # 2. Every model: fit, save, evaluate on the same events.
    evaluations: dict[str, EvaluationResult] = {}
    model_results: dict[str, Any] = {}
    training_log: dict[str, Any] = {}
    bar = progress(total=len(models), desc="models", unit="model", show=show_progress)
    for i, (spec, model) in enumerate(zip(config.models, models, strict=True), start=1):
        bar.set_description(f"model {i}/{len(models)}: {model_label(spec, model)}")
        logger.info("model %d of %d: %s", i, len(models), model_label(spec, model))
        try:
            result, entry = _fit_and_evaluate(
                model, spec, train, test, config, show_progress, run_dir
            )
        except TrainingError as exc:
            bar.close()
            raise TrainingError(
                f"{config.source}: model {i} of {len(models)} ({model_label(spec, model)}): {exc};"
                f" the run directory {run_dir} holds only the models trained before it"
            ) from exc
        evaluations[result.model] = result
        model_results[result.model] = entry
        training_log[result.model] = getattr(model, "training_log_", [])
        if config.seeds and spec.kind.lower() == "gru4rec":
            _other_seeds(spec, entry, training_log, train, test, config, show_progress, run_dir)
        bar.update()
    bar.close()
    _write_json(run_dir / "training_log.json", training_log)

    # 3. Results and per-event ranks (tables and figures come from reporting, which reads them).
    results = _results(config, test, model_results, evaluations)
    _write_json(run_dir / "results.json", results)
    write_ranks(run_dir / "ranks.tsv.gz", test, evaluations)
    logger.info("run directory: %s", run_dir)
    return RunResult(run_dir, results, evaluations)


def _results(config, test, model_results, evaluations) -> dict[str, Any]:
    """The content of results.json."""
    ev = config.evaluation
    comparison = None
    if ev.sampled_negatives and test.n_prediction_events:
        comparison = {
            "n_negatives": ev.sampled_negatives,
            "distribution": ev.sampled_distribution,
            **sampled_comparison(evaluations, max(ev.cutoffs)),
        }
    return {
        "experiment": config.name,
        "tie_policy": ev.tie_policy,
        "cutoffs": list(ev.cutoffs),
        "n_events": test.n_prediction_events,
        "n_test_sessions": test.n_sessions,
        "seed": config.seed,
        "models": model_results,
        "significance": significance(evaluations, max(ev.cutoffs)),
        "sampled_comparison": comparison,
    }


def write_ranks(path: Path, test: SessionData, evaluations: dict[str, EvaluationResult]) -> None:
    """Per-event ranks of every model, one row per test event, as gzipped TSV."""
    first = next(iter(evaluations.values()), None)
    if first is None:
        return
    session_of = np.repeat(np.arange(test.n_sessions), test.session_lengths)
    position = first.event_index
    table = pd.DataFrame(
        {
            "SessionId": test.session_ids[session_of[position]],
            "Position": position - test.session_offsets[session_of[position]],
            "ItemId": test.item_map.item_ids[test.item_idx[position]],
        }
    )
    for label, result in evaluations.items():
        table[label] = result.ranks
        if result.sampled_ranks is not None:
            table[f"{label} (sampled)"] = result.sampled_ranks
    table.to_csv(path, sep="\t", index=False)
