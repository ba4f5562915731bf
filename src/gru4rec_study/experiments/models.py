"""Turning a :class:`ModelConfig` of an experiment into an unfitted model."""

from __future__ import annotations

from gru4rec_study.experiments.config import ModelConfig
from gru4rec_study.models import MODELS, GRU4Rec, GRU4RecConfig, Recommender, load_preset
from gru4rec_study.validation import check_params


def build_model(spec: ModelConfig, seed: int, show_progress: bool = False) -> Recommender:
    """Return the unfitted model that ``spec`` describes; GRU4Rec gets ``seed`` unless set."""
    kind = spec.kind.lower()
    if kind not in MODELS:
        raise ValueError(f"unknown model kind {spec.kind!r}; choose one of {sorted(MODELS)}")
    params = dict(spec.params)
    if kind == "gru4rec":
        params.setdefault("seed", seed)
        if spec.preset:
            config = load_preset(spec.preset, **params)
        else:
            config = GRU4RecConfig.from_dict(params)
        return GRU4Rec(config, show_progress=show_progress)
    if spec.preset is not None:
        raise ValueError(f"model kind {spec.kind!r} has no presets")
    check_params(MODELS[kind].name, params, MODELS[kind].PARAMS)
    model = MODELS[kind](**params)
    if hasattr(model, "show_progress"):  # the baselines whose fitting has a long loop
        model.show_progress = show_progress
    return model


def model_label(spec: ModelConfig, model: Recommender) -> str:
    return spec.name or model.name
