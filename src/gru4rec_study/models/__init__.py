"""Session-based recommenders behind one scoring contract (see :mod:`.base`)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from gru4rec_study.models.base import (
    NotFittedError,
    Recommender,
    SessionScorer,
    TimedSessionScorer,
    TrainingError,
    VectorSessionScorer,
)
from gru4rec_study.models.gru4rec import GRU4Rec, GRU4RecConfig, load_preset
from gru4rec_study.models.io import read_model_files
from gru4rec_study.models.itemknn import ItemKNN
from gru4rec_study.models.markov import Markov
from gru4rec_study.models.popularity import Popularity
from gru4rec_study.models.recommend import recommend
from gru4rec_study.models.rules import AssociationRules, SequentialRules
from gru4rec_study.models.sknn import VSKNN, SessionKNN
from gru4rec_study.models.spop import SessionPopularity
from gru4rec_study.models.stan import STAN, VSTAN

MODELS: dict[str, Any] = {
    "popularity": Popularity,
    "spop": SessionPopularity,
    "markov": Markov,
    "itemknn": ItemKNN,
    "sr": SequentialRules,
    "ar": AssociationRules,
    "sknn": SessionKNN,
    "vsknn": VSKNN,
    "stan": STAN,
    "vstan": VSTAN,
    "gru4rec": GRU4Rec,
}


def load_model(directory: str | Path, **options: Any) -> Recommender:
    """Load a model saved with ``model.save(directory)``."""
    header, item_map, tensors = read_model_files(directory)
    by_name: dict[str, Any] = {cls.name: cls for cls in MODELS.values()}
    if header["model"] not in by_name:
        raise ValueError(f"{directory}: unknown model {header['model']!r}")
    try:
        return by_name[header["model"]].from_state(header["config"], item_map, tensors, **options)
    except (ValueError, RuntimeError) as error:
        # A config, or tensors that do not fit it or the item map (names, shapes, values).
        raise ValueError(f"{directory}: {error}") from error
    except TypeError as error:
        if options:  # the caller's keyword, not the file's
            raise
        raise ValueError(f"{directory}: {error}") from error
    except KeyError as error:
        raise ValueError(f"{directory}: the saved model lacks {error.args[0]!r}") from error


__all__ = [
    "AssociationRules",
    "GRU4Rec",
    "GRU4RecConfig",
    "ItemKNN",
    "MODELS",
    "Markov",
    "NotFittedError",
    "Popularity",
    "Recommender",
    "SessionPopularity",
    "SequentialRules",
    "SessionKNN",
    "SessionScorer",
    "STAN",
    "TimedSessionScorer",
    "TrainingError",
    "VectorSessionScorer",
    "VSKNN",
    "VSTAN",
    "load_model",
    "load_preset",
    "recommend",
]
