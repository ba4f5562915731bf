"""Tables and figures made from a run directory alone."""

from gru4rec_study.reporting.report import write_report
from gru4rec_study.reporting.table import results_table

__all__ = ["results_table", "write_report"]
