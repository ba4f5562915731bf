"""Experiments as data: a TOML file resolved into frozen dataclasses, checked before training.

An unknown key or a bad value is an error that names the key and the file. Data paths may be
``bundled:PART`` (a part of the bundled dataset) or a file path, relative to the TOML file;
``prepared`` names a directory written by ``gru4rec-study prepare``.
"""

from __future__ import annotations

import tomllib
from dataclasses import asdict, dataclass, field, fields, replace
from importlib import resources
from pathlib import Path
from typing import Any

from gru4rec_study.data.bundled import PARTS
from gru4rec_study.evaluation.ranking import TIE_POLICIES
from gru4rec_study.validation import check_field_types

BUNDLED_PREFIX = "bundled:"
PATH_KEYS = ("train", "test", "events", "train_tr", "train_valid")
PREPARED_FILES = {
    "train": "train_full.tsv",
    "test": "test.tsv",
    "train_tr": "train_tr.tsv",
    "train_valid": "train_valid.tsv",
}


class ConfigError(ValueError):
    """An experiment file with an unknown key or a bad value."""


@dataclass(frozen=True)
class DataConfig:
    """Where the events come from."""

    train: str | None = None  # training events (path or bundled:PART)
    test: str | None = None  # test events (path or bundled:PART)
    events: str | None = None  # one event file to split instead of train/test
    prepared: str | None = None  # a directory written by `prepare` (all four parts)
    train_tr: str | None = None  # training events of the validation split (tuning)
    train_valid: str | None = None  # validation events (tuning)
    session_column: str = "SessionId"
    item_column: str = "ItemId"
    time_column: str = "Time"


@dataclass(frozen=True)
class SplitConfig:
    """How ``data.events`` is split (unused when train and test are given)."""

    rule: str = "days"  # "days" (sessions ending in the last test_days are test) or "sessions"
    test_days: float = 1.0  # length of the test period in days (rule "days")
    test_share: float = 0.2  # share of the newest sessions in test (rule "sessions")
    min_item_support: int = 5  # items with fewer events are removed before splitting
    min_session_length: int = 2  # sessions with fewer events are removed before splitting


@dataclass(frozen=True)
class EvaluationConfig:
    """How every model is evaluated."""

    cutoffs: tuple[int, ...] = (5, 10, 20)  # list lengths K of Recall@K, MRR@K, NDCG@K
    tie_policy: str = "conservative"  # "conservative", "standard" or "median"
    batch_size: int = 512  # sessions scored in parallel (speed only, never results)
    sampled_negatives: int = 0  # > 0: also rank against this many sampled negatives (comparison)
    sampled_distribution: str = "uniform"  # "uniform" or "popularity" negatives
    bootstrap_resamples: int = 1000  # session resamples for 95% confidence intervals; 0: none


@dataclass(frozen=True)
class ModelConfig:
    """One model of the experiment."""

    kind: str  # "popularity", "markov" or "gru4rec"
    name: str | None = None  # label in the results; the model's own name by default
    preset: str | None = None  # GRU4Rec preset to start from (such as "rsc15")
    params: dict[str, Any] = field(default_factory=dict)  # parameters on top of the preset


@dataclass(frozen=True)
class ExperimentConfig:
    """A whole experiment: data, split, models, evaluation and seed."""

    name: str
    data: DataConfig
    split: SplitConfig
    evaluation: EvaluationConfig
    models: tuple[ModelConfig, ...]
    seed: int = 42  # seeds every model, the sampled negatives and the bootstrap
    seeds: tuple[int, ...] = ()  # if given, GRU4Rec is trained once per seed (mean and spread)
    source: str = "<memory>"  # the file it was read from

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _build(cls: type, values: Any, where: str, source: str) -> Any:
    if not isinstance(values, dict):
        raise ConfigError(f"{source}: [{where}] must be a table, got {values!r}")
    known = {f.name for f in fields(cls)}
    unknown = sorted(set(values) - known)
    if unknown:
        raise ConfigError(
            f"{source}: unknown key {where}.{unknown[0]}; known keys of [{where}]: {sorted(known)}"
        )
    try:
        built = cls(**values)
        check_field_types(built, where)
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"{source}: [{where}]: {exc}") from exc
    return built


def _resolve_path(value: str | None, base: Path) -> str | None:
    if value is None or value.startswith(BUNDLED_PREFIX):
        return value
    path = Path(value)
    return str(path if path.is_absolute() else (base / path).resolve())


def _resolve_data(data: DataConfig, base: Path, source: str) -> DataConfig:
    """Make paths absolute and fill in the parts implied by ``prepared`` or the bundled data."""
    values = {k: _resolve_path(getattr(data, k), base) for k in PATH_KEYS}
    if data.prepared is not None:
        given = [k for k in PATH_KEYS if values[k] is not None]
        if given:
            raise ConfigError(
                f"{source}: [data] takes either prepared or {given[0]}, not both"
                " (a prepared directory holds every part)"
            )
        directory = Path(_resolve_path(data.prepared, base) or "")
        if not directory.is_dir():
            raise ConfigError(f"{source}: data.prepared = {data.prepared!r}: no such directory")
        for key, name in PREPARED_FILES.items():
            if not (directory / name).is_file():
                raise ConfigError(
                    f"{source}: data.prepared = {data.prepared!r}: {name} is missing"
                    " (run `gru4rec-study prepare` to write it)"
                )
            values[key] = str(directory / name)
        values["prepared"] = str(directory)
    elif (
        values["train"] == f"{BUNDLED_PREFIX}train_full"
        and values["train_tr"] is None
        and values["train_valid"] is None
    ):
        values["train_tr"] = f"{BUNDLED_PREFIX}train_tr"
        values["train_valid"] = f"{BUNDLED_PREFIX}train_valid"
    if (values["train_tr"] is None) != (values["train_valid"] is None):
        raise ConfigError(f"{source}: [data] needs both train_tr and train_valid, or neither")
    return replace(data, **values)


def _check(config: ExperimentConfig, source: str) -> None:
    data, ev = config.data, config.evaluation
    if data.events is None and (data.train is None or data.test is None):
        raise ConfigError(f"{source}: [data] needs both train and test, or events to split")
    if data.events is not None and (data.train or data.test):
        raise ConfigError(f"{source}: [data] takes either events or train/test, not both")
    if config.split.rule not in ("days", "sessions"):
        raise ConfigError(f"{source}: split.rule must be 'days' or 'sessions'")
    if ev.tie_policy not in TIE_POLICIES:
        raise ConfigError(f"{source}: evaluation.tie_policy must be one of {TIE_POLICIES}")
    if not ev.cutoffs or any(int(c) < 1 for c in ev.cutoffs):
        raise ConfigError(f"{source}: evaluation.cutoffs must be positive integers")
    if len(set(ev.cutoffs)) != len(ev.cutoffs):
        raise ConfigError(f"{source}: evaluation.cutoffs must not repeat, got {list(ev.cutoffs)}")
    if ev.batch_size < 1:
        raise ConfigError(f"{source}: evaluation.batch_size must be at least 1")
    if ev.sampled_negatives < 0:
        raise ConfigError(f"{source}: evaluation.sampled_negatives must be 0 (off) or positive")
    if ev.bootstrap_resamples != 0 and ev.bootstrap_resamples < 100:
        raise ConfigError(
            f"{source}: evaluation.bootstrap_resamples must be 0 (no intervals) or at least 100,"
            f" got {ev.bootstrap_resamples}"
        )
    if ev.sampled_distribution not in ("uniform", "popularity"):
        raise ConfigError(
            f"{source}: evaluation.sampled_distribution must be 'uniform' or 'popularity'"
        )
    if not config.models:
        raise ConfigError(f"{source}: the experiment has no [[models]]")
    sp = config.split
    if not 0.0 < sp.test_share < 1.0:
        raise ConfigError(f"{source}: split.test_share must be between 0 and 1")
    if sp.test_days <= 0:
        raise ConfigError(f"{source}: split.test_days must be positive")
    if sp.min_item_support < 1 or sp.min_session_length < 1:
        raise ConfigError(f"{source}: split.min_item_support and min_session_length must be >= 1")
    _check_name(config.name, "name", source)
    for key in PATH_KEYS:
        _check_input(getattr(data, key), f"data.{key}", source)


def _check_name(name: str, key: str, source: str) -> None:
    """Names become folder names: no separators, no '..'."""
    if not name or "/" in name or "\\" in name or ".." in name:
        raise ConfigError(f"{source}: {key} {name!r} must be a plain name (no '/', '\\' or '..')")


def _check_input(value: str | None, key: str, source: str) -> None:
    if value is None:
        return
    if value.startswith(BUNDLED_PREFIX):
        part = value.removeprefix(BUNDLED_PREFIX)
        if part not in PARTS:
            raise ConfigError(f"{source}: {key} = {value!r}: the bundled parts are {PARTS}")
    elif not Path(value).is_file():
        raise ConfigError(f"{source}: {key} = {value!r}: no such file")


def validate_experiment(config: ExperimentConfig) -> None:
    """Check everything that can be checked before reading data or training."""
    _check(config, config.source)
    _check_models(config, config.source)


def parse_experiment(values: dict[str, Any], source: str, base: Path) -> ExperimentConfig:
    """Resolve a parsed TOML mapping into an :class:`ExperimentConfig`."""
    known = {"name", "seed", "seeds", "data", "split", "evaluation", "models"}
    unknown = sorted(set(values) - known)
    if unknown:
        raise ConfigError(f"{source}: unknown key {unknown[0]}; known keys: {sorted(known)}")
    data = _resolve_data(_build(DataConfig, values.get("data", {}), "data", source), base, source)
    split = _build(SplitConfig, values.get("split", {}), "split", source)
    if "split" in values and data.events is None:
        raise ConfigError(
            f"{source}: [split] applies only to data.events; train and test (or a prepared"
            " dataset) are already split: remove [split]"
        )
    evaluation = _build(EvaluationConfig, values.get("evaluation", {}), "evaluation", source)
    evaluation = replace(evaluation, cutoffs=tuple(int(c) for c in evaluation.cutoffs))
    models = tuple(
        _build(ModelConfig, m, f"models.{i}", source)
        for i, m in enumerate(values.get("models", []))
    )
    seed = values.get("seed", 42)
    if not isinstance(seed, int) or isinstance(seed, bool) or seed < 0:
        raise ConfigError(f"{source}: seed must be a non-negative integer, got {seed!r}")
    seeds = values.get("seeds", [])
    if not isinstance(seeds, list) or not all(
        isinstance(x, int) and not isinstance(x, bool) and x >= 0 for x in seeds
    ):
        raise ConfigError(f"{source}: seeds must be a list of non-negative integers, got {seeds!r}")
    if len(set(seeds)) != len(seeds):
        raise ConfigError(f"{source}: seeds must not repeat, got {seeds}")
    config = ExperimentConfig(
        name=str(values.get("name", Path(source).stem)),
        data=data,
        split=split,
        evaluation=evaluation,
        models=models,
        seed=seed,
        seeds=tuple(seeds),
        source=source,
    )
    validate_experiment(config)
    return config


def _check_models(config: ExperimentConfig, source: str) -> None:
    """Build every model once so that a bad parameter fails before anything trains."""
    from gru4rec_study.experiments.models import build_model, model_label
    from gru4rec_study.models.gru4rec.model import resolve_device

    labels: set[str] = set()
    for number, spec in enumerate(config.models, start=1):
        where = f"model {number} ({spec.kind})"
        try:
            model = build_model(spec, seed=config.seed)
            label = model_label(spec, model)
            device = getattr(getattr(model, "config", None), "device", None)
            if device is not None:  # a CUDA device this machine lacks fails here, not later
                resolve_device(device)
        except (ValueError, TypeError) as exc:
            raise ConfigError(f"{source}: {where}: {exc}") from exc
        _check_name(label, f"{where} name", source)
        if config.seeds and spec.kind.lower() == "gru4rec" and "seed" in spec.params:
            raise ConfigError(f"{source}: {where}: give either seeds = [...] or params.seed")
        if label in labels:
            raise ConfigError(f"{source}: {where}: a second model named {label!r}; set name = ...")
        labels.add(label)


def load_experiment(path: str | Path, prepared: str | Path | None = None) -> ExperimentConfig:
    """Read and check an experiment TOML file.

    ``prepared`` replaces the file's data paths by a prepared directory (relative to the
    current directory), as for a shipped experiment whose own path does not fit.
    """
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"{path}: no such experiment file")
    try:
        values = tomllib.loads(path.read_text())
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from exc
    if prepared is not None:
        data = {k: v for k, v in values.get("data", {}).items() if k not in PATH_KEYS}
        values = {**values, "data": {**data, "prepared": str(Path(prepared).resolve())}}
    return parse_experiment(values, str(path), path.resolve().parent)


def shipped_experiment(name: str = "demo") -> Path:
    """Path of an experiment file shipped with the package."""
    return Path(str(resources.files("gru4rec_study.experiments") / f"{name}.toml"))


def shipped_experiments() -> list[str]:
    """Names of the experiment files shipped with the package."""
    root = resources.files("gru4rec_study.experiments")
    return sorted(p.name.removesuffix(".toml") for p in root.iterdir() if p.name.endswith(".toml"))
