"""Full-ranking next-item evaluation with an explicit tie policy."""

from gru4rec_study.evaluation.metrics import metric_curves, metric_values
from gru4rec_study.evaluation.protocol import DEFAULT_CUTOFFS, EvaluationResult, evaluate
from gru4rec_study.evaluation.ranking import TIE_POLICIES, target_ranks
from gru4rec_study.evaluation.sampled import SampledEvaluation
from gru4rec_study.evaluation.statistics import bootstrap_ci, paired_test, significance_table

__all__ = [
    "DEFAULT_CUTOFFS",
    "EvaluationResult",
    "SampledEvaluation",
    "TIE_POLICIES",
    "bootstrap_ci",
    "paired_test",
    "significance_table",
    "evaluate",
    "metric_curves",
    "metric_values",
    "target_ranks",
]
