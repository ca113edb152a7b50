"""Privacy cMAP (class-mean average precision) as an ``evaluate`` metric (works offline, loaded by path)."""

import evaluate

from transformers_vidanon.metrics import evaluate_metric_info, privacy_cmap

_DESCRIPTION = """
Class-mean average precision of a multi-label privacy attacker: the average precision of each privacy
attribute, averaged over attributes. An attribute with no positive label in the references has no
defined average precision: it is left out of the mean and named under "left_out".
"""

_KWARGS_DESCRIPTION = """
Args:
    predictions (`list[list[float]]` of shape (N, num_attributes)): attacker scores (logits or
        probabilities).
    references (`list[list[float]]` of shape (N, num_attributes)): 0/1 privacy labels.
    attribute_names (`list[str]`, *optional*): attribute names used in the output.
Returns:
    cmap (`float`): mean average precision over the attributes that were scored.
    per_attribute_ap (`dict[str, float]`): average precision of each scored attribute.
    left_out (`list[str]`): attributes without a positive label, not part of the mean.
Examples:
    >>> from transformers_vidanon.metrics import load_metric
    >>> metric = load_metric("privacy_cmap")
    >>> metric.compute(predictions=[[0.9, 0.2], [0.1, 0.3]], references=[[1, 0], [0, 0]])["cmap"]
    1.0
"""


class PrivacyCmap(evaluate.Metric):
    """Class-mean average precision over privacy attributes, with the left-out rule."""

    def _info(self) -> evaluate.MetricInfo:
        scores = {"predictions": "scores", "references": "scores"}  # one score per attribute and video
        return evaluate_metric_info(_DESCRIPTION, _KWARGS_DESCRIPTION, scores)

    def _compute(self, predictions, references, attribute_names=None) -> dict:
        result = privacy_cmap(predictions, references, attribute_names=attribute_names)
        return {
            "cmap": result.cmap,
            "per_attribute_ap": dict(result.per_attribute),
            "left_out": list(result.left_out),
        }
