"""Reading event logs, encoding them as session arrays, and splitting them by time."""

from gru4rec_study.data.batching import SessionParallelStep, session_parallel_steps
from gru4rec_study.data.bundled import bundled_dataset
from gru4rec_study.data.events import COLUMNS, DataError, EventColumns, read_events, write_events
from gru4rec_study.data.sessions import ItemMap, SessionData, encode_sessions
from gru4rec_study.data.split import SplitReport, split_events

__all__ = [
    "COLUMNS",
    "DataError",
    "EventColumns",
    "ItemMap",
    "SessionData",
    "SessionParallelStep",
    "SplitReport",
    "bundled_dataset",
    "encode_sessions",
    "read_events",
    "session_parallel_steps",
    "split_events",
    "write_events",
]
