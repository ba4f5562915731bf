"""Reading a run directory: the files :func:`~gru4rec_study.experiments.run_experiment` wrote.

A report is made from these files alone. Files a run directory may lack (an older run, or one
written by hand) read as empty, and the parts of the report that need them are left out.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from gru4rec_study.evaluation.metrics import metric_curves

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class RunFiles:
    """The content of one run directory."""

    path: Path
    results: dict[str, Any]  # results.json
    data: dict[str, Any] = field(default_factory=dict)  # data.json: sizes, removals, histograms
    training_log: dict[str, list[dict[str, float]]] = field(default_factory=dict)  # per model
    environment: dict[str, Any] = field(default_factory=dict)  # versions, git, machine
    command: str = ""  # the command line of the run
    curves: dict[str, dict[str, list[float | None]]] = field(default_factory=dict)  # model: K

    @property
    def models(self) -> list[str]:
        return list(self.results["models"])

    @property
    def max_cutoff(self) -> int:
        return max(self.results["cutoffs"])


def _json(path: Path) -> Any:
    """The content of a JSON file of the run directory ({} when absent); errors name the file."""
    if not path.is_file():
        return {}
    try:
        return json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ValueError(f"{path}: not valid JSON ({exc})") from exc


def _curves(run_dir: Path, results: dict[str, Any]) -> dict[str, dict[str, list[float | None]]]:
    """Metric at K = 1..max cutoff per model: as recorded, else from ``ranks.tsv.gz``."""
    models = results["models"]
    if all("curves" in entry for entry in models.values()):
        return {name: entry["curves"] for name, entry in models.items()}
    ranks_path = run_dir / "ranks.tsv.gz"
    if not results["n_events"] or not ranks_path.is_file():
        return {}
    logger.info("%s: no recorded curves; computing them from ranks.tsv.gz", run_dir)
    ranks = pd.read_csv(ranks_path, sep="\t", usecols=list(models))
    max_cutoff = max(results["cutoffs"])
    return {name: metric_curves(ranks[name].to_numpy(float), max_cutoff) for name in models}


def read_run(run_dir: str | Path) -> RunFiles:
    """Read ``run_dir``; raise FileNotFoundError when it has no ``results.json``."""
    run_dir = Path(run_dir)
    results_path = run_dir / "results.json"
    if not results_path.is_file():
        raise FileNotFoundError(f"{run_dir}: not a run directory (no results.json)")
    results = _json(results_path)
    command_path = run_dir / "command.txt"
    return RunFiles(
        path=run_dir,
        results=results,
        data=_json(run_dir / "data.json"),
        training_log=_json(run_dir / "training_log.json"),
        environment=_json(run_dir / "environment.json"),
        command=command_path.read_text().strip() if command_path.is_file() else "",
        curves=_curves(run_dir, results),
    )
