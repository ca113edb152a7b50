"""Mean per-attribute privacy F1 as an ``evaluate`` metric (works offline, loaded by path)."""

import evaluate

from transformers_vidanon.metrics import evaluate_metric_info, privacy_f1

_DESCRIPTION = """
Mean per-attribute F1 of a multi-label privacy attacker at a probability threshold (0.5 by default):
scores go through a sigmoid (unless they are already probabilities), an attribute is predicted present
when its probability reaches the threshold, and the F1 of each attribute is averaged. An attribute with
no positive label in the references is left out of the mean and named under "left_out".
"""

_KWARGS_DESCRIPTION = """
Args:
    predictions (`list[list[float]]` of shape (N, num_attributes)): attacker logits (or probabilities
        with `scores_are_logits=False`).
    references (`list[list[float]]` of shape (N, num_attributes)): 0/1 privacy labels.
    threshold (`float`, *optional*, defaults to 0.5): probability threshold.
    scores_are_logits (`bool`, *optional*, defaults to True): apply a sigmoid to the predictions first.
    attribute_names (`list[str]`, *optional*): attribute names used in the output.
Returns:
    f1 (`float`): mean F1 over the attributes that were scored.
    per_attribute_f1 (`dict[str, float]`): F1 of each scored attribute.
    left_out (`list[str]`): attributes without a positive label, not part of the mean.
Examples:
    >>> from transformers_vidanon.metrics import load_metric
    >>> metric = load_metric("privacy_f1")
    >>> metric.compute(predictions=[[2.0, -1.0], [-3.0, 1.0]], references=[[1, 0], [0, 1]])["f1"]
    1.0
"""


class PrivacyF1(evaluate.Metric):
    """Mean per-attribute F1 at a probability threshold, with the left-out rule."""

    def _info(self) -> evaluate.MetricInfo:
        scores = {"predictions": "scores", "references": "scores"}  # one score per attribute and video
        return evaluate_metric_info(_DESCRIPTION, _KWARGS_DESCRIPTION, scores)

    def _compute(
        self, predictions, references, threshold=0.5, scores_are_logits=True, attribute_names=None
    ) -> dict:
        result = privacy_f1(
            predictions,
            references,
            threshold=threshold,
            scores_are_logits=scores_are_logits,
            attribute_names=attribute_names,
        )
        return {
            "f1": result.f1,
            "per_attribute_f1": dict(result.per_attribute),
            "left_out": list(result.left_out),
            "threshold": result.threshold,
        }
