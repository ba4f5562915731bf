"""Tables, figures and a self-contained HTML page made from a run directory alone."""

from gru4rec_study.reporting.report import write_report
from gru4rec_study.reporting.run_files import RunFiles, read_run
from gru4rec_study.reporting.table import results_table

__all__ = ["RunFiles", "read_run", "results_table", "write_report"]
