"""Fitting the pixel scorer (`transformers_vidanon.pixel_scorer`) after the anonymizer's training.

The anonymizer is frozen and in eval mode. For every training batch its attention score decides the keep mask at the
settings the saved model will anonymize with (`lambda_priv`, ranking by the attention), and the scorer learns by
binary cross-entropy to predict, from each tubelet's pixels alone, which tubelets that mask prunes. Only the scorer's
parameters move, with their own AdamW at a constant learning rate; in a multi-process run their gradients are
averaged over the processes, so every process holds the same scorer.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

import torch

from ..pixel_scorer import pixel_scorer_loss


def fit_pixel_scorer(
    model,
    batches: Callable[[int], Iterable[dict]],
    epochs: int,
    learning_rate: float,
    lambda_priv: float | None = None,
    average_gradients: Callable[[torch.Tensor], torch.Tensor] | None = None,
    on_step: Callable[[float], None] | None = None,
) -> list[float]:
    """Fit `model`'s pixel scorer to `model`'s own keep masks; returns the mean loss of every epoch.

    Args:
        model: a [`VidAnonForPrivacyPreservingActionRecognition`] (unwrapped) with `pixel_scorer_hidden_size > 0`.
        batches: `batches(epoch)` yields the training batches of that epoch (`pixel_values` in [0, 1]).
        epochs, learning_rate: the fit's length and its AdamW learning rate.
        lambda_priv: the score the masks are decided with (None: the model's own).
        average_gradients: averages a gradient over the processes (None: one process).
        on_step: called with each step's loss (a progress bar).
    """
    scorer = model.vidanon.pixel_scorer
    if scorer is None:
        raise ValueError("the model has no pixel scorer: set `pixel_scorer_hidden_size` > 0.")
    grid = model.config.tubelet_grid
    optimizer = torch.optim.AdamW(scorer.parameters(), lr=learning_rate, weight_decay=0.01)
    was_training = model.training
    model.eval()
    epoch_losses = []
    try:
        for epoch in range(epochs):
            total, count = 0.0, 0
            for batch in batches(epoch):
                pixel_values = batch["pixel_values"]
                if pixel_values.numel() == 0:
                    continue
                with torch.no_grad(), model.pruning_overridden(lambda_priv=lambda_priv, pruning_score="attention"):
                    keep = model.keep_mask(pixel_values)
                loss = pixel_scorer_loss(scorer(pixel_values, grid), keep)
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                if average_gradients is not None:
                    for parameter in scorer.parameters():
                        parameter.grad = average_gradients(parameter.grad)
                optimizer.step()
                total, count = total + float(loss.detach()), count + 1
                if on_step is not None:
                    on_step(float(loss.detach()))
            epoch_losses.append(total / max(count, 1))
    finally:
        model.train(was_training)
    return epoch_losses
