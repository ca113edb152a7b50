"""Training objectives: what the anonymizer minimises, and the models that see its anonymized video.

One small class per objective, each owning its loss terms, its extra models and their optimisers. The trainer asks
the objective for the anonymizer's loss of a batch, steps the anonymizer, then lets the objective update its extra
models; it never looks at the objective's name. A new objective is one class here and one entry in `OBJECTIVES`.

- `grl` (the paper): `lambda_act * CE(action) + BCE(privacy)`, the privacy head behind a gradient reversal whose
  coefficient follows the trainer's schedule.
- `alternating` (VITA / SPAct style): budget models attack the anonymized video; the anonymizer is trained against
  the strongest of them, and they are trained on the anonymized video with the anonymizer frozen.
- `locate`: the privacy CLS learns privacy with an unreversed gradient, so that its attention (and with it the score
  `s = a_act - lambda_priv * a_priv`) points at the privacy cues; budget models as in `alternating` when
  `budget_loss_weight` > 0.

Any objective can add, beyond the paper:

- a **utility branch** f_T (`utility_loss_weight` > 0): small action models (3D CNNs) trained on the anonymized
  video, whose cross-entropy the anonymizer also minimises. It is the mirror of the budget branch f_B and uses the
  same mechanism ([`VideoBranch`]): the branch models read the anonymized video with their weights frozen, so their
  loss reaches the anonymizer only through the straight-through keep mask, i.e. through the pruning scores; then
  they learn on the detached anonymized video.
- the anonymizer's **own action head on its own output** (`own_output_loss_weight` > 0): a second pass of the model
  over the anonymized video with every tubelet kept, its action cross-entropy reaching the scores through the mask.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, ClassVar

import torch
from torch import nn
from torch.func import functional_call

from ..classifiers import FreshC3DConfig, FreshC3DForVideoClassification, FreshModel
from ..configuration_vidanon import IMAGENET_MEAN, IMAGENET_STD, VidAnonConfig
from ..modeling_vidanon import masked_cross_entropy
from .budget import anonymizer_budget_term, budget_attack_loss, build_budget_model, reset_parameters

Batch = dict[str, Any]
Backward = Callable[[torch.Tensor, nn.Module, torch.optim.Optimizer], None]
Unwrap = Callable[[nn.Module], nn.Module]


# ----------------------------------------------------------------------------------------------------------------------
# Branches: models that see the anonymized video
# ----------------------------------------------------------------------------------------------------------------------
class VideoBranch:
    """An ensemble of models that read the anonymized video: the budget adversaries f_B or the utility models f_T.

    Args:
        name: `"budget"` or `"utility"`: the prefix of the logged values.
        models: the ensemble (each takes `(B, T, C, H, W)` pixels in [0, 1] and returns logits).
        weight: weight of the anonymizer's term.
        learning_rate: AdamW learning rate of the ensemble.
        model_loss: what each model minimises, `(logits, batch) -> loss`.
        anonymizer_term: what the anonymizer adds to its loss, `(ensemble logits, batch) -> term`.
        restart: re-initialises one model for a seed (`None`: the branch is never restarted).
    """

    def __init__(
        self,
        name: str,
        models: Sequence[nn.Module],
        weight: float,
        learning_rate: float,
        model_loss: Callable[[torch.Tensor, Batch], torch.Tensor],
        anonymizer_term: Callable[[list[torch.Tensor], Batch], torch.Tensor],
        restart: Callable[[nn.Module, int], None] | None = None,
    ):
        self.name = name
        self.models = list(models)
        self.optimizers = [torch.optim.AdamW(m.parameters(), lr=learning_rate, weight_decay=0.0) for m in self.models]
        self.weight = float(weight)
        self._model_loss = model_loss
        self._anonymizer_term = anonymizer_term
        self._restart = restart

    def anonymizer_term(self, anonymized: torch.Tensor, batch: Batch, unwrap: Unwrap) -> torch.Tensor:
        """The (unweighted) term of the anonymizer: the ensemble reads `anonymized` with detached weights, so the
        gradient reaches only the video, and through the straight-through keep mask the pruning scores."""
        logits = []
        for model in self.models:
            inner = unwrap(model)
            frozen = {name: p.detach() for name, p in inner.named_parameters()}
            logits.append(functional_call(inner, frozen, (anonymized,)))
        return self._anonymizer_term(logits, batch)

    def update(self, anonymized: torch.Tensor, batch: Batch, backward: Backward) -> torch.Tensor:
        """One step of every model on the detached anonymized video; returns their mean loss."""
        anonymized = anonymized.detach()
        losses = []
        for model, optimizer in zip(self.models, self.optimizers):
            loss = self._model_loss(model(anonymized), batch)
            backward(loss, model, optimizer)
            losses.append(loss.detach())
        return torch.stack(losses).mean()

    def restart(self, seed: int, unwrap: Unwrap) -> bool:
        """Re-initialise every model (and clear its optimiser state); False when this branch does not restart."""
        if self._restart is None:
            return False
        for k, (model, optimizer) in enumerate(zip(self.models, self.optimizers)):
            self._restart(unwrap(model), seed + k)
            getattr(optimizer, "optimizer", optimizer).state.clear()
        return True

    def set_learning_rate(self, learning_rate: float) -> None:
        for optimizer in self.optimizers:
            for group in optimizer.param_groups:
                group["lr"] = learning_rate


def budget_branch(args, config: VidAnonConfig) -> VideoBranch:
    """f_B: `num_budget_models` small privacy classifiers (VideoMAE, or 3D CNNs with `budget_architecture` c3d); the
    anonymizer fights the strongest."""
    if args.budget_architecture == "c3d":
        def new_model(seed: int) -> FreshModel:
            return build_c3d_branch_model(config.num_privacy_labels, args.budget_c3d_hidden_sizes, seed)

        def restart(model: nn.Module, seed: int) -> None:  # the weights of a new 3D CNN of that seed, its own init
            model.load_state_dict(new_model(seed).state_dict())
    else:
        def new_model(seed: int) -> FreshModel:
            model = build_budget_model(
                config.image_size, config.num_frames, config.patch_size, config.tubelet_size,
                config.num_privacy_labels, args.budget_hidden_size, args.budget_num_layers,
            )
            reset_parameters(model, seed)
            return model

        restart = reset_parameters
    models = [new_model(args.seed + 1000 + k) for k in range(args.num_budget_models)]
    return VideoBranch(
        "budget", models, args.budget_loss_weight, args.budget_learning_rate,
        model_loss=lambda logits, batch: budget_attack_loss(logits, batch["privacy_labels"]),
        anonymizer_term=lambda logits, batch: anonymizer_budget_term(logits, batch["privacy_labels"], args.budget_loss),
        restart=restart,
    )


def build_c3d_branch_model(num_labels: int, hidden_sizes: Sequence[int], seed: int) -> FreshModel:
    """A small 3D CNN classifier (the kind the leakage protocol trains as its target model) behind its own ImageNet
    normalisation, initialised from `seed`: the utility models, and the budget models with `budget_architecture`
    c3d (their logits read as independent attributes)."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        config = FreshC3DConfig(num_labels=num_labels, hidden_sizes=list(hidden_sizes))
        return FreshModel(FreshC3DForVideoClassification(config), IMAGENET_MEAN, IMAGENET_STD, input_kind="video")


def utility_branch(args, config: VidAnonConfig) -> VideoBranch:
    """f_T: `num_utility_models` small 3D CNN action models on the anonymized video; the anonymizer minimises their
    mean cross-entropy."""
    models = [build_c3d_branch_model(config.num_labels, args.utility_hidden_sizes, args.seed + 2000 + k)
              for k in range(args.num_utility_models)]
    return VideoBranch(
        "utility", models, args.utility_loss_weight, args.utility_learning_rate,
        model_loss=lambda logits, batch: masked_cross_entropy(logits, batch["labels"]),
        anonymizer_term=lambda logits, batch: torch.stack(
            [masked_cross_entropy(one, batch["labels"]) for one in logits]).mean(),
    )


# ----------------------------------------------------------------------------------------------------------------------
# Objectives
# ----------------------------------------------------------------------------------------------------------------------
class Objective:
    """What the anonymizer minimises on a batch, and the extra models the objective trains beside it.

    Subclasses set `name`, say how the privacy gradient reaches the backbone ([`privacy_coefficient`]) and which
    branches they train ([`_branches`]).
    """

    name: ClassVar[str]

    def __init__(self, args, config: VidAnonConfig):
        self.args = args
        self.branches: list[VideoBranch] = self._branches(args, config)
        if args.utility_loss_weight > 0:
            self.branches.append(utility_branch(args, config))
        self.own_output_loss_weight = float(args.own_output_loss_weight)

    def _branches(self, args, config: VidAnonConfig) -> list[VideoBranch]:
        return []

    def privacy_coefficient(self, scheduled: Callable[[], float]) -> float:
        """The gradient reversal coefficient of this step: `scheduled()` is the trainer's schedule."""
        return scheduled()

    # the extra models and optimisers, for `accelerator.prepare`, and back
    @property
    def models(self) -> list[nn.Module]:
        return [m for branch in self.branches for m in branch.models]

    @property
    def optimizers(self) -> list[torch.optim.Optimizer]:
        return [o for branch in self.branches for o in branch.optimizers]

    def bind(self, models: Sequence[nn.Module], optimizers: Sequence[torch.optim.Optimizer]) -> None:
        """Take back the prepared (wrapped) models and optimisers, in the order of [`models`] / [`optimizers`]."""
        models, optimizers = list(models), list(optimizers)
        for branch in self.branches:
            count = len(branch.models)
            branch.models, models = models[:count], models[count:]
            branch.optimizers, optimizers = optimizers[:count], optimizers[count:]

    def branch(self, name: str) -> VideoBranch | None:
        return next((b for b in self.branches if b.name == name), None)

    def anonymizer_loss(self, model: nn.Module, batch: Batch, coefficient: float, unwrap: Unwrap):
        """The anonymizer's forward pass and loss: returns `(outputs, loss, logged values)`."""
        labels, privacy = batch["labels"], batch["privacy_labels"]
        outputs = model(batch["pixel_values"], labels=labels, privacy_labels=privacy, grl_coefficient=coefficient)
        loss = outputs.loss
        values = {
            "action_loss": outputs.action_loss.detach(),
            "privacy_head_loss": outputs.privacy_loss.detach(),
            "train_action_accuracy": (outputs.logits.argmax(-1) == labels)[labels >= 0].float().mean(),
            "keep_fraction": outputs.keep_mask.detach().float().mean(),
            "grl_coefficient": torch.tensor(coefficient),
        }
        if outputs.localization_loss is not None:
            values["localization_loss"] = outputs.localization_loss.detach()
        if outputs.kept_privacy_loss is not None:
            values["kept_privacy_loss"] = outputs.kept_privacy_loss.detach()
        anonymized = outputs.anonymized_pixel_values
        for branch in self.branches:
            term = branch.anonymizer_term(anonymized, batch, unwrap)
            loss = loss + branch.weight * term
            values[f"anonymizer_{branch.name}_term"] = term.detach()
        if self.own_output_loss_weight > 0:
            term = self.own_output_action_loss(model, anonymized, labels, unwrap)
            loss = loss + self.own_output_loss_weight * term
            values["own_output_action_loss"] = term.detach()
        return outputs, loss, values

    @staticmethod
    def own_output_action_loss(model: nn.Module, anonymized: torch.Tensor, labels: torch.Tensor,
                               unwrap: Unwrap) -> torch.Tensor:
        """The anonymizer's action head on its own anonymized video, every tubelet kept (a second pass)."""
        with unwrap(model).pruning_overridden(keep_rate=1.0):
            logits = model(anonymized).logits
        return masked_cross_entropy(logits, labels)

    def update_branches(self, anonymized: torch.Tensor, batch: Batch, backward: Backward) -> dict[str, torch.Tensor]:
        """Step every branch model on the anonymized video (the anonymizer frozen); returns their logged losses."""
        return {f"{branch.name}_model_loss": branch.update(anonymized, batch, backward) for branch in self.branches}

    def restart_branches(self, seed: int, unwrap: Unwrap) -> list[str]:
        """Re-initialise the branches that restart (the budget models); returns their names."""
        return [branch.name for branch in self.branches if branch.restart(seed, unwrap)]


class GRLObjective(Objective):
    """The paper: the privacy head behind a gradient reversal layer, no budget model."""

    name = "grl"


class AlternatingObjective(Objective):
    """VITA / SPAct style: budget models attack the anonymized video, the anonymizer fights the strongest."""

    name = "alternating"

    def _branches(self, args, config: VidAnonConfig) -> list[VideoBranch]:
        return [budget_branch(args, config)]


class LocateObjective(Objective):
    """The privacy CLS learns privacy unreversed (coefficient -1), so that its attention finds the cues the score
    removes; budget models attack what is kept when `budget_loss_weight` > 0."""

    name = "locate"

    def _branches(self, args, config: VidAnonConfig) -> list[VideoBranch]:
        return [budget_branch(args, config)] if args.budget_loss_weight > 0 else []

    def privacy_coefficient(self, scheduled: Callable[[], float]) -> float:
        return -1.0


OBJECTIVES: dict[str, type[Objective]] = {cls.name: cls for cls in (GRLObjective, AlternatingObjective, LocateObjective)}
"""The registry: `objective` names to classes (the names are `training.arguments.OBJECTIVES`)."""


def build_objective(args, config: VidAnonConfig) -> Objective:
    """The objective `args.objective` names, with its extra models built for `config`."""
    try:
        return OBJECTIVES[args.objective](args, config)
    except KeyError:
        raise ValueError(f"`objective` must be one of {tuple(OBJECTIVES)}, got {args.objective!r}.") from None
