"""Full-ranking next-item evaluation with an explicit tie policy."""

from gru4rec_study.evaluation.metrics import metric_values
from gru4rec_study.evaluation.protocol import DEFAULT_CUTOFFS, EvaluationResult, evaluate
from gru4rec_study.evaluation.ranking import TIE_POLICIES, target_ranks

__all__ = [
    "DEFAULT_CUTOFFS",
    "EvaluationResult",
    "TIE_POLICIES",
    "evaluate",
    "metric_values",
    "target_ranks",
]
