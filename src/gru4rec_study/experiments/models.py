"""Turning a :class:`ModelConfig` of an experiment into an unfitted model."""

from __future__ import annotations

from gru4rec_study.experiments.config import ModelConfig
from gru4rec_study.models import GRU4Rec, GRU4RecConfig, Markov, Popularity, load_preset


def build_model(spec: ModelConfig, seed: int, show_progress: bool = False):
    """Return the unfitted model that ``spec`` describes; GRU4Rec gets ``seed`` unless set."""
    kind = spec.kind.lower()
    params = dict(spec.params)
    if kind == "gru4rec":
        params.setdefault("seed", seed)
        config = (
            load_preset(spec.preset, **params) if spec.preset else GRU4RecConfig.from_dict(params)
        )
        return GRU4Rec(config, show_progress=show_progress)
    if spec.preset is not None:
        raise ValueError(f"model kind {spec.kind!r} has no presets")
    if kind == "popularity":
        return Popularity(**params)
    if kind == "markov":
        return Markov(**params)
    raise ValueError(f"unknown model kind {spec.kind!r}; choose popularity, markov or gru4rec")


def model_label(spec: ModelConfig, model) -> str:
    return spec.name or model.name
