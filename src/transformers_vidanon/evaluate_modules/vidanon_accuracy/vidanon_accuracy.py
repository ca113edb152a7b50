"""Action top-1 accuracy as an ``evaluate`` metric (works offline, loaded by path)."""

import evaluate

from transformers_vidanon.metrics import action_top1, evaluate_metric_info

_DESCRIPTION = """
Top-1 accuracy of an action classifier: the share of videos whose highest-scoring class is the true
class. Predictions may be class scores (probabilities or logits, one list per video) or class ids.
"""

_KWARGS_DESCRIPTION = """
Args:
    predictions (`list[list[float]]` of shape (N, num_classes), or `list[int]` of shape (N,)):
        class scores or predicted class ids.
    references (`list[int]` of shape (N,)): true class ids.
Returns:
    accuracy (`float`): top-1 accuracy in [0, 1].
Examples:
    >>> from transformers_vidanon.metrics import load_metric
    >>> metric = load_metric("vidanon_accuracy")
    >>> metric.compute(predictions=[[0.1, 0.9], [0.8, 0.2]], references=[1, 1])
    {'accuracy': 0.5}
"""


class VidanonAccuracy(evaluate.Metric):
    """Top-1 accuracy from class scores or class ids."""

    def _info(self) -> evaluate.MetricInfo:
        return evaluate_metric_info(
            _DESCRIPTION,
            _KWARGS_DESCRIPTION,
            {"predictions": "scores", "references": "class_id"},
            {"predictions": "class_id", "references": "class_id"},
        )

    def _compute(self, predictions, references) -> dict:
        return {"accuracy": action_top1(predictions, references)}
