"""gru4rec-study: GRU4Rec with the official semantics against strong session-based baselines.

The package follows the data's journey: :mod:`~gru4rec_study.data` reads and splits event logs,
:mod:`~gru4rec_study.models` holds the recommenders, :mod:`~gru4rec_study.evaluation` ranks every
model's scores on the same next-item events, :mod:`~gru4rec_study.experiments` runs a whole
study into a run directory and :mod:`~gru4rec_study.reporting` turns it into tables and figures.
"""

import logging

from gru4rec_study.data import (
    DataError,
    SessionData,
    encode_sessions,
    read_events,
    split_events,
)
from gru4rec_study.evaluation import EvaluationResult, evaluate
from gru4rec_study.models import (
    GRU4Rec,
    GRU4RecConfig,
    ItemKNN,
    Markov,
    Popularity,
    SessionPopularity,
    load_model,
)

__version__ = "0.1.0"

logging.getLogger(__name__).addHandler(logging.NullHandler())

__all__ = [
    "DataError",
    "EvaluationResult",
    "GRU4Rec",
    "GRU4RecConfig",
    "ItemKNN",
    "Markov",
    "Popularity",
    "SessionPopularity",
    "SessionData",
    "encode_sessions",
    "evaluate",
    "load_model",
    "read_events",
    "split_events",
    "__version__",
]
