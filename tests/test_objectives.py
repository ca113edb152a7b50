"""The training objectives: one step of each on a tiny model, the losses it reports, the parameters its terms reach."""

from __future__ import annotations

import pytest
import torch

from transformers_vidanon import VidAnonConfig, VidAnonForPrivacyPreservingActionRecognition
from transformers_vidanon.training.arguments import OBJECTIVES as OBJECTIVE_NAMES
from transformers_vidanon.training.arguments import AdversarialTrainingArguments
from transformers_vidanon.training.objectives import OBJECTIVES, build_objective


def identity(module):
    return module


def tiny_model(**overrides) -> VidAnonForPrivacyPreservingActionRecognition:
    torch.manual_seed(0)
    config = VidAnonConfig(image_size=16, patch_size=4, num_frames=4, tubelet_size=2, hidden_size=32,
                           num_hidden_layers=2, num_attention_heads=4, intermediate_size=37, pruning_layers=[0],
                           keep_rate=0.5, num_labels=3, **overrides)
    return VidAnonForPrivacyPreservingActionRecognition(config).train()


def tiny_batch() -> dict:
    generator = torch.Generator().manual_seed(1)
    return {
        "pixel_values": torch.rand(4, 4, 3, 16, 16, generator=generator),
        "labels": torch.tensor([0, 1, 2, 1]),
        "privacy_labels": torch.tensor([[1.0, 0, 1, 0, 1], [0, 1, 0, 1, 0], [1, 1, 0, 0, 1], [0, 0, 1, 1, 0]]),
    }


def make_args(objective: str, **overrides) -> AdversarialTrainingArguments:
    base = dict(objective=objective, budget_hidden_size=16, budget_num_layers=1, utility_hidden_sizes=[4, 8])
    return AdversarialTrainingArguments(**{**base, **overrides})


def plain_backward(loss, model, optimizer):
    loss.backward()
    optimizer.step()
    optimizer.zero_grad()


def test_the_registry_names_every_objective_the_arguments_accept():
    assert tuple(OBJECTIVES) == OBJECTIVE_NAMES
    with pytest.raises(ValueError, match="objective"):
        build_objective(make_args("hinge"), tiny_model().config)


@pytest.mark.parametrize(
    ("objective", "overrides", "coefficient", "branches", "logged"),
    [
        ("grl", {}, 0.25, [], set()),
        ("alternating", {}, 0.25, ["budget"], {"anonymizer_budget_term", "budget_model_loss"}),
        ("locate", {}, -1.0, ["budget"], {"anonymizer_budget_term", "budget_model_loss"}),
        ("locate", {"budget_loss_weight": 0.0}, -1.0, [], set()),
        ("locate", {"budget_loss_weight": 0.0, "utility_loss_weight": 1.0, "num_utility_models": 2}, -1.0,
         ["utility"], {"anonymizer_utility_term", "utility_model_loss"}),
        ("grl", {"utility_loss_weight": 0.5}, 0.25, ["utility"], {"anonymizer_utility_term", "utility_model_loss"}),
        ("alternating", {"utility_loss_weight": 1.0}, 0.25, ["budget", "utility"],
         {"anonymizer_budget_term", "budget_model_loss", "anonymizer_utility_term", "utility_model_loss"}),
        ("locate", {"budget_loss_weight": 0.0, "own_output_loss_weight": 1.0}, -1.0, [], {"own_output_action_loss"}),
        ("locate", {"budget_architecture": "c3d", "budget_c3d_hidden_sizes": [4, 8], "utility_loss_weight": 1.0},
         -1.0, ["budget", "utility"],
         {"anonymizer_budget_term", "budget_model_loss", "anonymizer_utility_term", "utility_model_loss"}),
    ],
)
def test_one_step_of_each_objective(objective, overrides, coefficient, branches, logged):
    model = tiny_model()
    batch = tiny_batch()
    target = build_objective(make_args(objective, **overrides), model.config)
    assert [b.name for b in target.branches] == branches
    assert target.privacy_coefficient(lambda: 0.25) == coefficient

    outputs, loss, values = target.anonymizer_loss(model, batch, coefficient, identity)
    # the reported losses: the model's own terms, then every branch's weighted term
    common = {"action_loss", "privacy_head_loss", "train_action_accuracy", "keep_fraction", "grl_coefficient"}
    assert set(values) == common | {k for k in logged if not k.endswith("_model_loss")}
    expected = outputs.loss.detach()
    for branch in target.branches:
        expected = expected + branch.weight * values[f"anonymizer_{branch.name}_term"]
    if "own_output_action_loss" in values:
        expected = expected + values["own_output_action_loss"]
    torch.testing.assert_close(loss.detach(), expected)
    if "anonymizer_budget_term" in values:  # -min BCE of the ensemble: at most 0
        assert values["anonymizer_budget_term"] <= 0
    if "anonymizer_utility_term" in values:  # a mean cross-entropy over 3 classes of a fresh model: near log 3
        assert 0.3 < float(values["anonymizer_utility_term"]) < 3.0

    # the anonymizer's step reaches its own parameters only: the branch models are read with frozen weights
    anonymizer_optimizer = torch.optim.SGD(model.parameters(), lr=0.0)
    loss.backward()
    assert model.vidanon.embeddings.cls_tokens.grad.abs().sum() > 0
    assert all(p.grad is None for m in target.models for p in m.parameters())
    anonymizer_optimizer.zero_grad()

    # then the branch models learn on the detached anonymized video: their weights change, the anonymizer's do not
    before = [p.detach().clone() for m in target.models for p in m.parameters()]
    anonymizer_before = [p.detach().clone() for p in model.parameters()]
    branch_values = target.update_branches(outputs.anonymized_pixel_values, batch, plain_backward)
    assert set(branch_values) == {k for k in logged if k.endswith("_model_loss")}
    assert all(float(v) > 0 for v in branch_values.values())
    after = [p.detach() for m in target.models for p in m.parameters()]
    assert (not before) or any(not torch.equal(a, b) for a, b in zip(before, after))
    assert all(torch.equal(a, p.detach()) for a, p in zip(anonymizer_before, model.parameters()))
    assert all(p.grad is None for p in model.parameters())


def _score_gradient(model, term) -> torch.Tensor:
    """The gradient of `term(anonymized video, outputs)` on the pruning layer's scores."""
    outputs = model(tiny_batch()["pixel_values"])
    scores = outputs.pruning_scores[0]
    scores.retain_grad()
    model.zero_grad()
    term(outputs).backward()
    return scores.grad


def _assert_a_step_along_the_term_moves_the_mask_and_lowers_it(model, branch, batch) -> None:
    """One SGD step of the anonymizer along `branch`'s term changes which tubelets are kept and lowers the term (the
    branch models in eval mode, so that the term is deterministic)."""
    for m in branch.models:
        m.eval()

    def term() -> torch.Tensor:
        return branch.anonymizer_term(model(batch["pixel_values"]).anonymized_pixel_values, batch, identity)

    before, kept_before = float(term().detach()), model(batch["pixel_values"]).keep_mask.detach()
    optimizer = torch.optim.SGD(model.parameters(), lr=5.0)
    term().backward()
    optimizer.step()
    assert not torch.equal(model(batch["pixel_values"]).keep_mask.detach(), kept_before)
    assert float(term().detach()) < before


def test_the_utility_term_reaches_the_scores_through_the_keep_mask_only():
    model = tiny_model()
    batch = tiny_batch()
    target = build_objective(make_args("locate", budget_loss_weight=0.0, utility_loss_weight=1.0), model.config)
    utility = target.branch("utility")

    gradient = _score_gradient(model, lambda out: utility.anonymizer_term(out.anonymized_pixel_values, batch, identity))
    assert gradient is not None and gradient.abs().sum() > 0

    # with the keep mask cut from the graph, the same term no longer reaches the scores
    def through_a_detached_mask(out):
        video = batch["pixel_values"]
        from transformers_vidanon.pruning import apply_keep_mask

        return utility.anonymizer_term(apply_keep_mask(video, out.keep_mask.detach()), batch, identity)

    assert not through_a_detached_mask(model(batch["pixel_values"])).requires_grad

    # a step along the utility gradient changes which tubelets are kept so that the utility term falls: the
    # scores learn to keep what f_T needs
    _assert_a_step_along_the_term_moves_the_mask_and_lowers_it(model, utility, batch)


def test_the_own_output_pass_keeps_every_tubelet_and_restores_the_pruning_settings():
    model = tiny_model()
    batch = tiny_batch()
    target = build_objective(make_args("locate", budget_loss_weight=0.0, own_output_loss_weight=1.0), model.config)
    outputs = model(batch["pixel_values"])
    loss = target.own_output_action_loss(model, outputs.anonymized_pixel_values, batch["labels"], identity)
    assert model.config.keep_rates() == [0.5]
    # equal to the action loss of a forward pass with every tubelet kept
    with model.pruning_overridden(keep_rate=1.0):
        full = model(outputs.anonymized_pixel_values, labels=batch["labels"])
    assert full.keep_mask.min() == 1
    torch.testing.assert_close(loss, full.action_loss)
    scores = outputs.pruning_scores[0]
    scores.retain_grad()
    loss.backward()
    assert scores.grad.abs().sum() > 0  # through the keep mask of the first pass


def test_a_restart_reinitialises_the_budget_models_only():
    model = tiny_model()
    target = build_objective(make_args("alternating", utility_loss_weight=1.0), model.config)
    budget, utility = target.branch("budget"), target.branch("utility")
    with torch.no_grad():
        for m in target.models:
            for p in m.parameters():
                p.add_(1.0)
    utility_before = [p.detach().clone() for m in utility.models for p in m.parameters()]
    budget_before = [p.detach().clone() for m in budget.models for p in m.parameters()]
    assert target.restart_branches(7, identity) == ["budget"]
    assert all(torch.equal(a, p) for a, p in zip(utility_before, (p for m in utility.models for p in m.parameters())))
    assert all(not torch.equal(a, p) for a, p in zip(budget_before, (p for m in budget.models for p in m.parameters()))
               if a.numel() > 1)


def test_a_3d_cnn_budget_branch_hides_what_it_reads_through_the_keep_mask():
    from transformers_vidanon.classifiers import FreshC3DForVideoClassification
    from transformers_vidanon.training.objectives import build_c3d_branch_model

    model = tiny_model()
    batch = tiny_batch()
    args = make_args("locate", budget_architecture="c3d", budget_c3d_hidden_sizes=[4, 8], num_budget_models=2)
    budget = build_objective(args, model.config).branch("budget")
    assert [type(m.model) for m in budget.models] == [FreshC3DForVideoClassification] * 2
    assert all(m(batch["pixel_values"]).shape == (4, 5) for m in budget.models)  # one logit per privacy attribute

    # the anonymizer's term (-min BCE) reaches the scores through the mask, and a step along it changes the kept
    # tubelets so that the strongest budget model's BCE rises
    gradient = _score_gradient(model, lambda out: budget.anonymizer_term(out.anonymized_pixel_values, batch, identity))
    assert gradient is not None and gradient.abs().sum() > 0
    _assert_a_step_along_the_term_moves_the_mask_and_lowers_it(model, budget, batch)

    # a restart gives each model the weights of a new 3D CNN of its seed
    with torch.no_grad():
        for m in budget.models:
            for p in m.parameters():
                p.add_(1.0)
    assert budget.restart(11, identity)
    for k, m in enumerate(budget.models):
        fresh = build_c3d_branch_model(5, [4, 8], 11 + k)
        for (name, p), q in zip(m.state_dict().items(), fresh.state_dict().values()):
            torch.testing.assert_close(p, q, msg=name)


def test_bad_branch_arguments_are_refused_by_name():
    from transformers_vidanon.training.arguments import DataArguments, ModelArguments, validate_arguments

    for overrides, name in (({"utility_loss_weight": -1.0}, "utility_loss_weight"),
                            ({"utility_learning_rate": 0.0}, "utility_learning_rate"),
                            ({"num_utility_models": 0}, "num_utility_models"),
                            ({"utility_hidden_sizes": []}, "utility_hidden_sizes"),
                            ({"own_output_loss_weight": -0.5}, "own_output_loss_weight"),
                            ({"budget_architecture": "resnet"}, "budget_architecture"),
                            ({"budget_c3d_hidden_sizes": [8, 0]}, "budget_c3d_hidden_sizes")):
        with pytest.raises(ValueError, match=name):
            validate_arguments(ModelArguments(), DataArguments(), make_args("locate", **overrides))


def test_the_model_s_kept_privacy_term_is_logged_and_in_the_loss():
    model = tiny_model(localization_loss_weight=1.0, kept_privacy_loss_weight=2.0)
    target = build_objective(make_args("locate", budget_loss_weight=0.0), model.config)
    outputs, _, values = target.anonymizer_loss(model, tiny_batch(), -1.0, identity)
    assert {"localization_loss", "kept_privacy_loss"} <= set(values)
    torch.testing.assert_close(values["kept_privacy_loss"], outputs.kept_privacy_loss.detach())
    # BCE of five attributes against "absent" on a fresh head: near log 2
    assert 0.3 < float(values["kept_privacy_loss"]) < 1.5
