"""GRU4Rec with the official semantics: config, network, training step and recommender."""

from gru4rec_study.models.gru4rec.config import GRU4RecConfig, load_preset, preset_names
from gru4rec_study.models.gru4rec.model import GRU4Rec

__all__ = ["GRU4Rec", "GRU4RecConfig", "load_preset", "preset_names"]
