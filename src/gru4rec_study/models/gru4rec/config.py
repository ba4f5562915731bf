"""GRU4Rec hyperparameters: a frozen dataclass with the official defaults, and TOML presets."""

from __future__ import annotations

import tomllib
from dataclasses import asdict, dataclass, fields, replace
from importlib import resources
from typing import Any

import torch

from gru4rec_study.validation import check_field_types

LOSSES = ("cross-entropy", "bpr-max", "top1", "top1-max", "bpr")
PRESET_DIR = "presets"


@dataclass(frozen=True)
class GRU4RecConfig:
    """Hyperparameters of GRU4Rec; defaults are those of the official PyTorch code."""

    layers: tuple[int, ...] = (100,)  # sizes of the stacked GRU layers
    loss: str = "cross-entropy"  # "cross-entropy" (+ logQ), "bpr-max", "top1", "top1-max", "bpr"
    batch_size: int = 64  # session-parallel slots; also the number of in-batch negatives
    dropout_p_embed: float = 0.0  # dropout on the input embedding
    dropout_p_hidden: float = 0.0  # dropout on every GRU layer's output (kept as the state)
    learning_rate: float = 0.05  # Adagrad step size
    momentum: float = 0.0  # heavy-ball momentum on the Adagrad step; 0 disables it
    sample_alpha: float = 0.5  # extra negatives drawn with P(item) ~ support ** sample_alpha
    n_sample: int = 2048  # extra negatives shared by the mini-batch; 0: in-batch only
    embedding: int = 0  # size of a separate input embedding; 0: none (if not constrained)
    constrained_embedding: bool = True  # the output item matrix is also the input embedding
    n_epochs: int = 10  # passes over the training sessions
    bpreg: float = 1.0  # weight of BPR-max's score regularisation
    elu_param: float = 0.5  # alpha of the ELU on the scores inside the ranking losses; 0: linear
    logq: float = 0.0  # strength of the logQ correction (cross-entropy only)
    sample_cache_size: int = 10_000_000  # negative sample ids drawn ahead in one go
    seed: int = 42  # seeds initialisation, dropout and sampling
    device: str = "cpu"  # torch device: "cpu" or a CUDA device such as "cuda:0"

    def __post_init__(self) -> None:
        layers = self.layers
        if isinstance(layers, int) and not isinstance(layers, bool):
            layers = (layers,)
        elif isinstance(layers, str):
            try:
                layers = tuple(int(x) for x in layers.split("/"))
            except ValueError:
                raise ValueError(
                    "GRU4Rec parameter 'layers' must be sizes such as 100 or 200/200,"
                    f" got {layers!r}"
                ) from None
        object.__setattr__(self, "layers", tuple(layers) if isinstance(layers, list) else layers)
        check_field_types(self, "GRU4Rec parameter")
        self._validate()

    def _validate(self) -> None:
        def fail(name: str, rule: str) -> None:
            raise ValueError(f"GRU4Rec parameter {name!r} {rule}, got {getattr(self, name)!r}")

        if not self.layers or any(h < 1 for h in self.layers):
            fail("layers", "must be one or more positive sizes")
        if self.loss not in LOSSES:
            fail("loss", f"must be one of {LOSSES}")
        for name in ("batch_size", "n_epochs"):
            if getattr(self, name) < 1:
                fail(name, "must be at least 1")
        for name in ("n_sample", "embedding", "sample_cache_size", "seed"):
            if getattr(self, name) < 0:
                fail(name, "must not be negative")
        for name in ("dropout_p_embed", "dropout_p_hidden"):
            if not 0.0 <= getattr(self, name) < 1.0:
                fail(name, "must be in [0, 1)")
        if not self.learning_rate > 0.0:
            fail("learning_rate", "must be positive")
        for name in ("momentum", "sample_alpha", "bpreg", "elu_param", "logq"):
            if getattr(self, name) < 0.0:
                fail(name, "must not be negative")
        if self.momentum >= 1.0:
            fail("momentum", "must be below 1 (the velocity would never decay)")
        largest = torch.finfo(torch.float32).max  # the weights and their updates are float32
        for name in ("learning_rate", "sample_alpha", "bpreg", "elu_param", "logq"):
            if getattr(self, name) > largest:
                fail(name, f"must be at most {largest:.3g}, the largest float32")
        try:
            device = torch.device(self.device)
        except RuntimeError:
            device = None
        if device is None or device.type not in ("cpu", "cuda"):
            fail("device", "must be 'cpu' or a CUDA device such as 'cuda' or 'cuda:0'")

    @property
    def input_mode(self) -> str:
        """``"constrained"``, ``"embedding"`` or ``"onehot"``: how items enter the network."""
        if self.constrained_embedding:
            return "constrained"
        return "embedding" if self.embedding > 0 else "onehot"

    @classmethod
    def from_dict(cls, params: dict[str, Any], source: str = "GRU4Rec parameters") -> GRU4RecConfig:
        """Build a config from a mapping; an unknown key is an error that names it."""
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(params) - known)
        if unknown:
            raise ValueError(f"{source}: unknown key(s) {unknown}; known keys: {sorted(known)}")
        return cls(**params)

    def with_updates(self, **changes: Any) -> GRU4RecConfig:
        return replace(self, **changes)

    def as_dict(self) -> dict[str, Any]:
        values = asdict(self)
        values["layers"] = list(self.layers)
        return values


def preset_names() -> list[str]:
    root = resources.files("gru4rec_study.models.gru4rec") / PRESET_DIR
    return sorted(p.name.removesuffix(".toml") for p in root.iterdir() if p.name.endswith(".toml"))


def load_preset(name: str, **overrides: Any) -> GRU4RecConfig:
    """Read a shipped preset (such as ``rsc15``) and apply ``overrides`` on top of it."""
    root = resources.files("gru4rec_study.models.gru4rec") / PRESET_DIR
    path = root / f"{name}.toml"
    if not path.is_file():
        raise ValueError(f"unknown GRU4Rec preset {name!r}; choose one of {preset_names()}")
    params = tomllib.loads(path.read_text())
    params.pop("description", None)
    params.pop("source", None)
    params.update(overrides)
    return GRU4RecConfig.from_dict(params, source=f"preset {name}")
