"""Tuning one model of an experiment with Optuna, then running the best setting on test.

The objective is a metric (MRR@20 by default, maximised) of the model trained on ``train_tr``
and evaluated on ``train_valid`` (:func:`~gru4rec_study.experiments.run.load_data` with
``validation=True``); the test data is never seen while tuning. The study lives in an Optuna
storage (a SQLite file by default, any database URL otherwise), so that several workers can
add trials to one study and an interrupted study resumes where it stopped. Every worker seeds
its own TPE sampler with a seed no other worker of the study has claimed. Trials a dead worker
left running are failed once their heartbeat is older than the grace period (twice the
heartbeat interval). The best setting is then trained on ``train_full`` and evaluated on
``test`` by :func:`~gru4rec_study.experiments.run.run_experiment`, into a run directory that
also holds the tuning history.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import socket
import time
import warnings
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import optuna
import pandas as pd
from optuna.trial import FrozenTrial, TrialState

from gru4rec_study.evaluation import evaluate
from gru4rec_study.experiments.config import ConfigError, ExperimentConfig, ModelConfig
from gru4rec_study.experiments.models import build_model, model_label
from gru4rec_study.experiments.run import RunResult, load_data, run_experiment
from gru4rec_study.experiments.spaces import SearchSpace, check_space, default_space, load_space
from gru4rec_study.models import TrainingError
from gru4rec_study.progress import progress

logger = logging.getLogger(__name__)

METRICS = {"recall": "Recall", "mrr": "MRR", "ndcg": "NDCG"}
COUNTED = (TrialState.COMPLETE, TrialState.PRUNED, TrialState.RUNNING)  # for total_trials


@dataclass(frozen=True)
class TuneOptions:
    """What to tune and where the study lives."""

    model: str  # label (such as "GRU4Rec") or kind of one model of the experiment
    n_trials: int  # trials this worker adds (at most)
    space: str | None = None  # space file or shipped space name; None: the model's default
    metric: str = "mrr@20"  # objective on the validation split, maximised
    storage: str | None = None  # Optuna storage URL; None: sqlite under out_root/tune
    study_name: str | None = None  # None: "<experiment>-<model>-<space>"
    total_trials: int | None = None  # stop once the study holds this many (running included)
    seed: int | None = None  # sampler seed of this worker; None: the experiment's seed
    overrides: dict[str, Any] = field(default_factory=dict)  # fixed parameters on top of the space
    heartbeat: int = 60  # seconds between heartbeats of a running trial
    final: bool = True  # train the best setting on train_full and evaluate it on test
    out_root: str = "runs"  # folder of run directories and of the default storage


@dataclass(frozen=True)
class TuningPlan:
    """Everything checked before anything trains."""

    spec: ModelConfig  # the experiment's model, as given
    label: str
    space: SearchSpace
    base_params: dict[str, Any]  # model parameters with the space's fixed values and overrides
    metric: str  # such as "MRR@20"
    cutoff: int
    study_name: str
    storage: str


@dataclass
class TuneResult:
    """The outcome of :func:`tune`."""

    study_name: str
    storage: str
    n_added: int  # trials this worker ran
    n_complete: int  # complete trials in the whole study
    best_value: float | None
    best_params: dict[str, Any] | None
    history_dir: Path
    run: RunResult | None = None  # the final run on test, if made


def parse_metric(text: str) -> tuple[str, int]:
    """``"mrr@20"`` to ``("MRR@20", 20)``; Recall, MRR and NDCG at any positive cutoff."""
    name, sep, cutoff = text.strip().partition("@")
    if not sep or name.lower() not in METRICS or not cutoff.isdigit() or int(cutoff) < 1:
        raise ConfigError(f"--metric {text!r}: give recall@K, mrr@K or ndcg@K, such as mrr@20")
    return f"{METRICS[name.lower()]}@{int(cutoff)}", int(cutoff)


def select_model(config: ExperimentConfig, name: str) -> tuple[ModelConfig, str]:
    """The model of ``config`` whose label (or, if unique, kind) is ``name``."""
    labels = [model_label(s, build_model(s, config.seed)) for s in config.models]
    for spec, label in zip(config.models, labels, strict=True):
        if label.lower() == name.lower():
            return spec, label
    by_kind = [(s, lb) for s, lb in zip(config.models, labels, strict=True) if s.kind == name]
    if len(by_kind) == 1:
        return by_kind[0]
    raise ConfigError(
        f"{config.source}: --model {name!r} is not a model of the experiment; its models: {labels}"
    )


def plan_tuning(config: ExperimentConfig, options: TuneOptions) -> TuningPlan:
    """Check the model, the space, the metric and the options; name the study and storage."""
    if options.n_trials < 0:
        raise ConfigError(f"--trials must not be negative, got {options.n_trials}")
    if options.total_trials is not None and options.total_trials < 1:
        raise ConfigError(f"--total-trials must be positive, got {options.total_trials}")
    if options.heartbeat < 1:
        raise ConfigError(f"--heartbeat must be at least 1 second, got {options.heartbeat}")
    metric, cutoff = parse_metric(options.metric)
    spec, label = select_model(config, options.model)
    model = build_model(spec, config.seed)
    space = load_space(options.space or default_space(spec, getattr(model, "config", None)))
    check_space(space, spec, options.overrides)
    study_name = options.study_name or f"{config.name}-{label}-{space.name}"
    storage = options.storage
    if storage is None:
        path = (Path(options.out_root) / "tune" / f"{study_name}.db").resolve()
        path.parent.mkdir(parents=True, exist_ok=True)
        storage = f"sqlite:///{path}"
    base = {**spec.params, **space.fixed, **options.overrides}
    return TuningPlan(spec, label, space, base, metric, cutoff, study_name, storage)


def open_study(plan: TuningPlan, heartbeat: int, attempts: int = 5) -> optuna.Study:
    """Create the study or join it; several workers may start at the same moment."""
    engine_kwargs = {"connect_args": {"timeout": 60}} if plan.storage.startswith("sqlite") else {}
    for attempt in range(1, attempts + 1):
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
                storage = optuna.storages.RDBStorage(
                    plan.storage, engine_kwargs=engine_kwargs, heartbeat_interval=heartbeat
                )
            study = optuna.create_study(
                storage=storage,
                study_name=plan.study_name,
                direction="maximize",
                load_if_exists=True,
            )
            break
        except ImportError as exc:  # a database URL whose driver is not installed
            raise ConfigError(
                f"--storage {plan.storage}: cannot open the study storage: its database driver"
                f" is not installed ({exc})"
            ) from exc
        except Exception as exc:  # a concurrent worker creating the same tables or study
            if "sqlalchemy" not in type(exc).__module__:
                raise
            if attempt == attempts or "NoSuchModule" in type(exc).__name__:
                raise ConfigError(
                    f"--storage {plan.storage}: cannot open the study storage"
                    f" ({type(exc).__name__}: {str(exc).splitlines()[0]})"
                ) from exc
            logger.debug("opening the study failed (%s); attempt %d", exc, attempt)
            time.sleep(0.5 * attempt)
    _check_study(study, plan)
    return study


def _check_study(study: optuna.Study, plan: TuningPlan) -> None:
    """One study, one objective and one space: joining with another is an error."""
    space = {k: v for k, v in plan.space.as_dict().items() if k != "source"}
    expected = {"metric": plan.metric, "model": plan.label, "space": space}
    for key, value in expected.items():
        stored = study.user_attrs.get(key)
        if stored is None:
            study.set_user_attr(key, value)
        elif stored != value:
            shown = plan.space.source if key == "space" else value
            raise ConfigError(
                f"study {plan.study_name!r} in {plan.storage} was tuned with another {key}"
                f" ({stored if key != 'space' else 'another space file'}); this run has"
                f" {shown}: give another --study-name"
            )


def claim_seed(study: optuna.Study, seed: int) -> int:
    """The first seed from ``seed`` on that no worker of the study has used."""
    claimed = study.user_attrs
    while f"worker_seed:{seed}" in claimed:
        seed += 1
    study.set_user_attr(f"worker_seed:{seed}", f"{socket.gethostname()}:{os.getpid()}")
    return seed


def n_counted(study: optuna.Study) -> int:
    """Trials that count towards ``total_trials``: complete, pruned or running."""
    return len(study.get_trials(deepcopy=False, states=COUNTED))


def tune(
    config: ExperimentConfig,
    options: TuneOptions,
    argv: list[str] | None = None,
    show_progress: bool = False,
) -> TuneResult:
    """Add up to ``options.n_trials`` trials to the study, then run the best setting on test."""
    # 1. Everything that can fail before training: model, space, metric, data, storage.
    plan = plan_tuning(config, options)
    train, valid, _, _ = load_data(config, validation=True)
    if valid.n_prediction_events == 0:
        raise ConfigError(f"{config.source}: the validation data has no next-item events")
    sqlite_file = Path(plan.storage.removeprefix("sqlite:///"))
    new_file = plan.storage.startswith("sqlite:///") and not sqlite_file.exists()
    study = open_study(plan, options.heartbeat)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        optuna.storages.fail_stale_trials(study)
    seed = claim_seed(study, config.seed if options.seed is None else options.seed)
    study.sampler = optuna.samplers.TPESampler(seed=seed)
    n_trials = options.n_trials
    if options.total_trials is not None:
        n_trials = min(n_trials, max(options.total_trials - n_counted(study), 0))
    if n_trials == 0 and _best_trial(study) is None:
        if new_file:  # the study was created just now, for nothing: leave no file behind
            sqlite_file.unlink(missing_ok=True)
        raise ConfigError(
            f"study {plan.study_name} has no complete trial and this worker adds none"
            f" (--trials {options.n_trials}): nothing to tune or to run on test"
        )
    logger.info(
        "study %s (%s): %d trials so far; this worker (seed %d) adds up to %d",
        plan.study_name,
        plan.storage,
        len(study.trials),
        seed,
        n_trials,
    )

    # 2. The trials: train on train_tr, evaluate on train_valid.
    def objective(trial: optuna.Trial) -> float:
        params = {**plan.base_params, **plan.space.suggest(trial)}
        trial.set_user_attr("worker_seed", seed)
        spec = replace(plan.spec, params=params)
        model = build_model(spec, config.seed, show_progress)
        try:
            model.fit(train)
        except TrainingError as exc:
            trial.set_user_attr("error", str(exc))
            raise
        ev = config.evaluation
        result = evaluate(model, valid, (plan.cutoff,), ev.tie_policy, ev.batch_size)
        return float(result.metrics[plan.metric])

    log = _TrialLog(plan, options.total_trials)
    if n_trials:
        with progress(
            total=n_trials, desc=f"tuning {plan.label}", unit="trial", show=show_progress
        ) as log.bar:
            study.optimize(objective, n_trials=n_trials, catch=(TrainingError,), callbacks=[log])

    # 3. History, then the best setting on train_full and test.
    history_dir = Path(options.out_root) / "tune" / plan.study_name
    best = _best_trial(study)
    write_history(history_dir, study, plan, best)
    result = TuneResult(
        plan.study_name,
        plan.storage,
        log.n_trials,
        len(study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))),
        None if best is None else best.value,
        None if best is None else dict(best.params),
        history_dir,
    )
    if best is None:
        logger.warning("study %s has no complete trial: nothing to run on test", plan.study_name)
    elif options.final:
        result.run = _final_run(config, plan, best, options.out_root, argv, show_progress)
        shutil.copytree(history_dir, result.run.run_dir / "tuning", dirs_exist_ok=True)
    return result


def _best_trial(study: optuna.Study) -> FrozenTrial | None:
    if not study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,)):
        return None
    return study.best_trial


class _TrialLog:
    """Optuna callback: log every trial, advance the bar, stop at the study's total."""

    def __init__(self, plan: TuningPlan, total_trials: int | None) -> None:
        self.plan, self.total_trials = plan, total_trials
        self.bar: Any = None  # the tqdm bar over this worker's trials
        self.n_trials = 0  # trials this worker ran

    def __call__(self, study: optuna.Study, trial: FrozenTrial) -> None:
        seconds = trial.duration.total_seconds() if trial.duration else float("nan")
        if trial.state == TrialState.COMPLETE:
            best = study.best_trial
            logger.info(
                "trial %d: %s %.4f in %.1f s; best %.4f (trial %d)",
                trial.number,
                self.plan.metric,
                trial.value,
                seconds,
                best.value,
                best.number,
            )
            self.bar.set_postfix(best=f"{best.value:.4f}")
        else:
            error = trial.user_attrs.get("error", trial.state.name)
            logger.warning(
                "trial %d %s after %.1f s: %s", trial.number, trial.state.name, seconds, error
            )
        self.n_trials += 1
        self.bar.update(1)
        if self.total_trials is not None and n_counted(study) >= self.total_trials:
            logger.info("the study has reached %d trials", self.total_trials)
            study.stop()


def trial_rows(study: optuna.Study) -> list[dict[str, Any]]:
    """One record per trial: number, state, value, seconds, parameters, error."""
    rows = []
    for trial in study.get_trials(deepcopy=False):
        rows.append(
            {
                "number": trial.number,
                "state": trial.state.name,
                "value": trial.value,
                "duration_s": trial.duration.total_seconds() if trial.duration else None,
                "started": trial.datetime_start.isoformat() if trial.datetime_start else None,
                "params": dict(trial.params),
                "worker_seed": trial.user_attrs.get("worker_seed"),
                "error": trial.user_attrs.get("error"),
            }
        )
    return rows


def write_history(
    directory: Path, study: optuna.Study, plan: TuningPlan, best: FrozenTrial | None
) -> None:
    """``trials.json``, ``trials.csv`` (a column per parameter) and ``best.json``."""
    directory.mkdir(parents=True, exist_ok=True)
    rows = trial_rows(study)
    _write_atomic(directory / "trials.json", json.dumps(rows, indent=2, default=str) + "\n")
    table = pd.DataFrame([{k: v for k, v in r.items() if k != "params"} for r in rows])
    params = pd.DataFrame([r["params"] for r in rows]).add_prefix("params_")
    _write_atomic(directory / "trials.csv", pd.concat([table, params], axis=1).to_csv(index=False))
    counts = {s.name: 0 for s in TrialState}
    for row in rows:
        counts[row["state"]] += 1
    summary = {
        "study": plan.study_name,
        "storage": plan.storage,
        "metric": plan.metric,
        "split": "train_tr -> train_valid",
        "model": plan.label,
        "n_trials": counts,
        "best_trial": None if best is None else best.number,
        "best_value": None if best is None else best.value,
        "params": None if best is None else dict(best.params),
        "model_params": None if best is None else {**plan.base_params, **best.params},
        "space": plan.space.as_dict(),
    }
    _write_atomic(directory / "best.json", json.dumps(summary, indent=2, default=str) + "\n")


def _write_atomic(path: Path, text: str) -> None:
    """Write through a temporary file: workers finishing together never leave half a file."""
    partial = path.with_name(f".{path.name}.{os.getpid()}")
    partial.write_text(text)
    partial.replace(path)


def _final_run(
    config: ExperimentConfig,
    plan: TuningPlan,
    best: FrozenTrial,
    out_root: str,
    argv: list[str] | None,
    show_progress: bool,
) -> RunResult:
    """The best setting trained on train_full and evaluated on test, as an experiment run."""
    spec = replace(plan.spec, params={**plan.base_params, **best.params})
    final = replace(config, name=f"{config.name}-{plan.label}-tuned", models=(spec,))
    logger.info("best trial %d (%s %.4f): running it on test", best.number, plan.metric, best.value)
    return run_experiment(final, out_root, argv, show_progress)
