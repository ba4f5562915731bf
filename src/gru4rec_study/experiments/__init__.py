"""Experiments as data: TOML configs, and running them into reproducible run directories."""

from gru4rec_study.experiments.config import (
    ConfigError,
    ExperimentConfig,
    load_experiment,
    parse_experiment,
    shipped_experiment,
    validate_experiment,
)
from gru4rec_study.experiments.run import RunResult, run_experiment

__all__ = [
    "ConfigError",
    "ExperimentConfig",
    "RunResult",
    "load_experiment",
    "parse_experiment",
    "run_experiment",
    "shipped_experiment",
    "validate_experiment",
]
