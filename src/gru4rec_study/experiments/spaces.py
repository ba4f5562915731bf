"""Parameter spaces for tuning, as TOML data, checked against the model before any trial.

A space names the model ``kind`` it is for, ``[fixed]`` values set in every trial and
``[params]``: one inline table per tuned parameter, ``{ type = "int" | "float", low, high,
step?, log? }`` or ``{ type = "categorical", choices = [...] }``. Shipped spaces live in
``experiments/spaces/``; an unknown parameter, a bad range or a value the model rejects is an
error that names the key and the file.
"""

from __future__ import annotations

import math
import tomllib
from dataclasses import dataclass, fields
from importlib import resources
from pathlib import Path
from typing import Any

from gru4rec_study.experiments.config import ConfigError, ModelConfig
from gru4rec_study.models import MODELS, GRU4RecConfig

SPACE_DIR = "spaces"
RANGE_KEYS = {"type", "low", "high", "step", "log"}
CATEGORICAL_KEYS = {"type", "choices"}
DEFAULT_SPACES = {k: k for k in ("sknn", "vsknn", "stan", "vstan", "itemknn")}
GRU4REC_SPACES = {"cross-entropy": "gru4rec-xe", "bpr-max": "gru4rec-bprmax"}


@dataclass(frozen=True)
class Param:
    """One tuned parameter: a numeric range or a list of choices."""

    name: str
    type: str  # "int", "float" or "categorical"
    low: float | None = None  # smallest value (int and float)
    high: float | None = None  # largest value, included (int and float)
    step: float | None = None  # grid step; None: continuous (float) or 1 (int)
    log: bool = False  # sample on a log scale (low must be positive)
    choices: tuple[Any, ...] = ()  # the values of a categorical parameter

    def corners(self) -> list[Any]:
        """The extreme values, checked against the model before tuning starts."""
        if self.type == "categorical":
            return list(self.choices)
        cast = int if self.type == "int" else float
        return [cast(self.low), cast(self.high)]

    def suggest(self, trial: Any) -> Any:
        """Draw this parameter's value for an Optuna trial."""
        if self.type == "categorical":
            return trial.suggest_categorical(self.name, list(self.choices))
        if self.type == "int":
            step = int(self.step or 1)
            return trial.suggest_int(
                self.name, int(self.low), int(self.high), step=step, log=self.log
            )
        return trial.suggest_float(self.name, self.low, self.high, step=self.step, log=self.log)


@dataclass(frozen=True)
class SearchSpace:
    """A model kind, the values fixed in every trial and the tuned parameters."""

    name: str  # the file's stem, such as "gru4rec-xe"
    model: str  # the model kind it is for, such as "gru4rec"
    fixed: dict[str, Any]  # set in every trial, on top of the experiment's model parameters
    params: tuple[Param, ...]
    description: str = ""
    source: str = "<memory>"  # the file it was read from

    def suggest(self, trial: Any) -> dict[str, Any]:
        return {p.name: p.suggest(trial) for p in self.params}

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "model": self.model,
            "fixed": self.fixed,
            "params": {p.name: _param_dict(p) for p in self.params},
            "source": self.source,
        }


def _param_dict(param: Param) -> dict[str, Any]:
    if param.type == "categorical":
        return {"type": "categorical", "choices": list(param.choices)}
    values = {"type": param.type, "low": param.low, "high": param.high, "log": param.log}
    return values if param.step is None else {**values, "step": param.step}


def shipped_spaces() -> list[str]:
    root = resources.files("gru4rec_study.experiments") / SPACE_DIR
    return sorted(p.name.removesuffix(".toml") for p in root.iterdir() if p.name.endswith(".toml"))


def space_path(name_or_path: str | Path) -> Path:
    """A file path as given, or the path of a shipped space (such as ``gru4rec-xe``)."""
    path = Path(name_or_path)
    if path.is_file():
        return path
    shipped = resources.files("gru4rec_study.experiments") / SPACE_DIR / f"{name_or_path}.toml"
    if shipped.is_file():
        return Path(str(shipped))
    raise ConfigError(f"{name_or_path}: no such space file; shipped spaces: {shipped_spaces()}")


def default_space(spec: ModelConfig, config: GRU4RecConfig | None = None) -> str:
    """The shipped space for a model: by kind, and for GRU4Rec by its loss."""
    kind = spec.kind.lower()
    if kind == "gru4rec" and config is not None and config.loss in GRU4REC_SPACES:
        return GRU4REC_SPACES[config.loss]
    if kind in DEFAULT_SPACES:
        return DEFAULT_SPACES[kind]
    raise ConfigError(
        f"no shipped parameter space for model kind {spec.kind!r}; give --space FILE"
        f" (shipped spaces: {shipped_spaces()})"
    )


def load_space(name_or_path: str | Path) -> SearchSpace:
    """Read a space file (or a shipped space by name) and check its structure."""
    path = space_path(name_or_path)
    source = str(path)
    try:
        values = tomllib.loads(path.read_text())
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{source}: not valid TOML: {exc}") from exc
    known = {"description", "model", "fixed", "params"}
    unknown = sorted(set(values) - known)
    if unknown:
        raise ConfigError(f"{source}: unknown key {unknown[0]}; known keys: {sorted(known)}")
    model = values.get("model")
    if not isinstance(model, str) or model.lower() not in MODELS:
        raise ConfigError(f"{source}: model = {model!r} must be one of {sorted(MODELS)}")
    fixed = values.get("fixed", {})
    params = values.get("params", {})
    if not isinstance(fixed, dict) or not isinstance(params, dict) or not params:
        raise ConfigError(f"{source}: [fixed] must be a table and [params] a non-empty table")
    parsed = tuple(_parse_param(name, table, source) for name, table in params.items())
    both = sorted(set(fixed) & set(params))
    if both:
        raise ConfigError(f"{source}: params.{both[0]} is also in [fixed]")
    return SearchSpace(
        path.stem, model.lower(), dict(fixed), parsed, str(values.get("description", "")), source
    )


def _parse_param(name: str, table: Any, source: str) -> Param:
    where = f"{source}: params.{name}"
    if not isinstance(table, dict):
        raise ConfigError(f"{where} must be a table such as {{ type = 'int', low = 1, high = 9 }}")
    kind = table.get("type")
    allowed = CATEGORICAL_KEYS if kind == "categorical" else RANGE_KEYS
    if kind not in ("int", "float", "categorical"):
        raise ConfigError(f"{where}: type = {kind!r} must be 'int', 'float' or 'categorical'")
    unknown = sorted(set(table) - allowed)
    if unknown:
        raise ConfigError(
            f"{where}: unknown key {unknown[0]!r}; keys of a {kind}: {sorted(allowed)}"
        )
    if kind == "categorical":
        choices = table.get("choices")
        if (
            not isinstance(choices, list)
            or not choices
            or len(set(map(repr, choices))) < len(choices)
        ):
            raise ConfigError(f"{where}: choices must be a non-empty list without repeats")
        return Param(name, kind, choices=tuple(choices))
    _check_range(table, kind, where)
    step = table.get("step")
    return Param(
        name,
        kind,
        low=table["low"],
        high=table["high"],
        step=None if step is None else step,
        log=bool(table.get("log", False)),
    )


def _check_range(table: dict[str, Any], kind: str, where: str) -> None:
    """low <= high, numbers of the right type, a step that divides the range, log > 0."""
    number = (int,) if kind == "int" else (int, float)
    for key in ("low", "high"):
        value = table.get(key)
        if not isinstance(value, number) or isinstance(value, bool):
            raise ConfigError(
                f"{where}: {key} must be {'an integer' if kind == 'int' else 'a number'}"
            )
    low, high, step, log = table["low"], table["high"], table.get("step"), table.get("log", False)
    if not isinstance(log, bool):
        raise ConfigError(f"{where}: log must be true or false")
    if low > high:
        raise ConfigError(f"{where}: low = {low} is above high = {high}")
    if log and low <= 0:
        raise ConfigError(f"{where}: a log scale needs low > 0, got {low}")
    if step is None:
        return
    if not isinstance(step, number) or isinstance(step, bool) or step <= 0:
        raise ConfigError(
            f"{where}: step must be a positive {'integer' if kind == 'int' else 'number'}"
        )
    if log:
        raise ConfigError(f"{where}: give either step or log = true, not both")
    n_steps = (high - low) / step
    if not math.isclose(n_steps, round(n_steps), abs_tol=1e-9):
        raise ConfigError(f"{where}: high - low = {high - low} is not a multiple of step = {step}")


def model_param_names(kind: str) -> list[str]:
    """The parameters a model of ``kind`` takes."""
    if kind == "gru4rec":
        return sorted(f.name for f in fields(GRU4RecConfig))
    return sorted(MODELS[kind].PARAMS)


def check_space(space: SearchSpace, spec: ModelConfig, overrides: dict[str, Any]) -> None:
    """Check that ``space`` fits the model of ``spec`` before anything trains.

    Every key must be a parameter of the model, and every extreme value of every tuned
    parameter (with the fixed values and ``overrides``) must build a valid model.
    """
    from gru4rec_study.experiments.models import build_model

    if space.model != spec.kind.lower():
        raise ConfigError(
            f"{space.source}: the space is for model kind {space.model!r}, the model to tune is"
            f" a {spec.kind!r}"
        )
    known = model_param_names(space.model)
    for table, keys in (("fixed", space.fixed), ("params", [p.name for p in space.params])):
        for key in keys:
            if key not in known:
                raise ConfigError(
                    f"{space.source}: {table}.{key}: unknown parameter of {space.model};"
                    f" parameters: {known}"
                )
    tuned = {p.name for p in space.params}
    clash = sorted(tuned & set(overrides))
    if clash:
        raise ConfigError(
            f"--param {clash[0]}: the space {space.source} tunes it (params.{clash[0]})"
        )
    base = {**spec.params, **space.fixed, **overrides}
    try:
        build_model(ModelConfig(spec.kind, spec.name, spec.preset, base), seed=0)
    except (ValueError, TypeError) as exc:
        raise ConfigError(f"{space.source}: [fixed] (with --param): {exc}") from exc
    for param in space.params:
        for value in param.corners():
            trial_spec = ModelConfig(spec.kind, spec.name, spec.preset, {**base, param.name: value})
            try:
                build_model(trial_spec, seed=0)
            except (ValueError, TypeError) as exc:
                raise ConfigError(
                    f"{space.source}: params.{param.name} = {value!r}: {exc}"
                ) from exc
