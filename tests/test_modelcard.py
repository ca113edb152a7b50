"""Model cards: YAML front matter that parses and carries the given numbers, the "not evaluated" case, the limits
paragraph, validation of the results dict, and the packaged template."""

from __future__ import annotations

import json

import pytest
import yaml

from transformers_vidanon import VidAnonConfig
from transformers_vidanon.reporting.modelcard import (
    CARD_TAGS,
    load_template,
    normalize_results,
    render_model_card,
    save_model_card,
)


def tiny_config(**overrides) -> VidAnonConfig:
    values = dict(image_size=16, patch_size=4, num_frames=4, tubelet_size=2, hidden_size=32, num_hidden_layers=2,
                  num_attention_heads=4, intermediate_size=37, pruning_layers=[0], keep_rate=0.5, num_labels=3,
                  id2label={0: "run", 1: "jump", 2: "wave"})
    values.update(overrides)
    return VidAnonConfig(**values)


RESULTS = {
    "dataset": "SynthPrivacy",
    "seeds": 3,
    "chance_cmap": 0.5812,
    "chance_top1": 0.1667,
    "methods": {
        "raw": {
            "action_top1": {"mean": 0.8488, "std": 0.0123},
            "frame_cmap": {"mean": 0.7662, "std": 0.02},
            "frame_f1": {"mean": 0.684, "std": 0.01},
            "video_cmap": {"mean": 0.781},
            "video_f1": 0.702,
        },
        "Down-2x": {"action_top1": 0.5411, "frame_cmap": 0.5731},
        "vidanon": {
            "action_top1": {"mean": 0.8096, "std": 0.005},
            "frame_cmap": {"mean": 0.603, "std": 0.011},
            "frame_f1": {"mean": 0.531, "std": 0.02},
            "video_cmap": {"mean": 0.6212, "std": 0.01},
            "video_f1": {"mean": 0.555, "std": 0.03},
        },
    },
}


def front_matter(card: str) -> dict:
    assert card.startswith("---\n")
    return yaml.safe_load(card.split("\n---\n")[0][4:])


def section(card: str, title: str) -> str:
    return card.split(f"## {title}\n", 1)[1].split("\n## ", 1)[0]


def test_front_matter_parses_and_carries_the_numbers():
    card = render_model_card(tiny_config(), RESULTS, {"dataset": "SynthPrivacy", "epochs": 80}, "org/base-model",
                             repo_id="user/vidanon-synth")
    metadata = front_matter(card)
    assert metadata["library_name"] == "transformers"
    assert metadata["pipeline_tag"] == "video-classification"
    assert metadata["license"] == "apache-2.0"
    assert {"privacy", "video-classification", "anonymization", "token-pruning"} <= set(metadata["tags"])
    assert "datasets" not in metadata  # SynthPrivacy is no Hub dataset id: named in the text only
    assert metadata["base_model"] == "org/base-model"
    (entry,) = metadata["model-index"]
    assert entry["name"] == "vidanon-synth"
    (result,) = entry["results"]
    assert result["dataset"] == {"type": "synthprivacy", "name": "SynthPrivacy"}
    values = [(m["type"], m["value"]) for m in result["metrics"]]
    assert values == [("accuracy", 0.8096), ("cmap", 0.603), ("f1", 0.531), ("cmap", 0.6212), ("f1", 0.555)]
    assert "frame-level" in result["metrics"][1]["name"] and "video-level" in result["metrics"][3]["name"]


def hub_card(card: str):
    """The card as huggingface_hub reads it: `ModelCard` and its `ModelCardData` (model-index -> EvalResult)."""
    from huggingface_hub import ModelCard

    return ModelCard(card)


def test_metadata_validates_with_huggingface_hub_card_data():
    card = hub_card(render_model_card(tiny_config(), RESULTS, {"dataset": "synth"}, "org/base-model",
                                      repo_id="user/vidanon-synth"))
    data = card.data
    assert data.library_name == "transformers" and data.license == "apache-2.0" and data.base_model == "org/base-model"
    assert data.model_name == "vidanon-synth"
    results = [(r.task_type, r.dataset_type, r.dataset_name, r.metric_type, r.metric_value) for r in data.eval_results]
    assert results == [
        ("video-classification", "synthprivacy", "SynthPrivacy", "accuracy", 0.8096),
        ("video-classification", "synthprivacy", "SynthPrivacy", "cmap", 0.603),
        ("video-classification", "synthprivacy", "SynthPrivacy", "f1", 0.531),
        ("video-classification", "synthprivacy", "SynthPrivacy", "cmap", 0.6212),
        ("video-classification", "synthprivacy", "SynthPrivacy", "f1", 0.555),
    ]
    # and back: the card data round-trips through huggingface_hub's own YAML
    again = hub_card(card.content)
    assert [r.metric_value for r in again.data.eval_results] == [0.8096, 0.603, 0.531, 0.6212, 0.555]
    assert hub_card(render_model_card(tiny_config())).data.eval_results is None


def test_no_hub_result_from_a_quick_or_uncalibrated_run():
    quick = {**json.loads(json.dumps(RESULTS)), "quick": True}
    card = render_model_card(tiny_config(), quick)
    assert "model-index" not in front_matter(card) and hub_card(card).data.eval_results is None
    assert "Smoke run, not a result" in section(card, "Results")
    assert "80.96" in section(card, "Results")  # the table is still shown

    uncalibrated = json.loads(json.dumps(RESULTS))
    uncalibrated["methods"]["raw"]["action_top1"] = {"mean": 0.19, "std": 0.02}  # chance is 0.1667
    card = render_model_card(tiny_config(), uncalibrated)
    assert "model-index" not in front_matter(card)
    assert "Uncalibrated" in section(card, "Results") and "action top-1 (19.0%)" in section(card, "Results")
    no_attacker = json.loads(json.dumps(RESULTS))
    for name in ("raw", "Down-2x"):
        no_attacker["methods"][name] = {"action_top1": RESULTS["methods"]["raw"]["action_top1"]}
    assert "model-index" not in front_matter(render_model_card(tiny_config(), no_attacker))


def test_one_seed_shows_no_spread():
    one = {**json.loads(json.dumps(RESULTS)), "seeds": 1}
    card = render_model_card(tiny_config(), one)
    results = section(card, "Results")
    assert "±" not in results and "one seed" in results
    assert "model-index" not in front_matter(card) and "One seed: not reported" in results
    assert "| **This model** | 80.96 | 60.30 | 0.531 | 62.12 | 0.555 |" in results


def test_datasets_named_once_and_hub_ids_only_in_metadata():
    card = render_model_card(tiny_config(), RESULTS, {"dataset": "synth"})
    assert "datasets" not in front_matter(card)
    assert "| `dataset` | SynthPrivacy |" in section(card, "Training")
    hub = {**json.loads(json.dumps(RESULTS)), "dataset": "org/synth-privacy"}
    metadata = front_matter(render_model_card(tiny_config(), hub, {"dataset": "org/synth-privacy"}))
    assert metadata["datasets"] == ["org/synth-privacy"]


def test_arguments_table_leaves_out_local_paths(tmp_path):
    arguments = {"learning_rate": 1e-4, "output_dir": str(tmp_path / "run"), "data_dir": "/data/ucf101",
                 "manifest": None, "model_name_or_path": str(tmp_path), "init": "vidanon", "dataset": "ucf101",
                 "resume_from_checkpoint": "latest"}
    training = section(render_model_card(tiny_config(), None, arguments), "Training")
    assert "| `learning_rate` | 0.0001 |" in training and "| `init` | vidanon |" in training
    assert "| `dataset` | UCF101 |" in training
    assert str(tmp_path) not in training and "/data/ucf101" not in training and "resume_from_checkpoint" not in training
    assert "Local paths" in training
    kept = section(render_model_card(tiny_config(), None, {"model_name_or_path": "MCG-NJU/videomae-base"}), "Training")
    assert "| `model_name_or_path` | MCG-NJU/videomae-base |" in kept


def test_framework_versions_are_listed():
    import torch
    import transformers

    versions = section(render_model_card(tiny_config()), "Training").split("### Framework versions", 1)[1]
    assert f"- Transformers {transformers.__version__}" in versions
    assert f"- PyTorch {torch.__version__}" in versions
    assert "- transformers_vidanon 0.1.0" in versions


def test_results_table_has_raw_chance_and_model_rows():
    card = render_model_card(tiny_config(), RESULTS, repo_id="user/vidanon-synth")
    results = section(card, "Results")
    rows = {line.split("|")[1].strip(): [c.strip() for c in line.split("|")[2:-1]]
            for line in results.splitlines() if line.startswith("| ") and "---" not in line}
    assert rows["Raw (no anonymization)"] == ["84.88 ± 1.23", "76.62 ± 2.00", "0.684 ± 0.010", "78.10", "0.702"]
    assert rows["**This model**"] == ["80.96 ± 0.50", "60.30 ± 1.10", "0.531 ± 0.020", "62.12 ± 1.00", "0.555 ± 0.030"]
    assert rows["Down-2x"] == ["54.11", "57.31", "-", "-", "-"]
    assert rows["Chance level"] == ["16.67", "58.12", "-", "58.12", "-"]
    assert list(rows) == ["Method", "Raw (no anonymization)", "Down-2x", "**This model**", "Chance level"]
    assert "over 3 seeds" in results and "SynthPrivacy" in results
    assert "58.12%" in results  # the chance sentence


def test_not_evaluated_card_invents_no_number():
    card = render_model_card(tiny_config())
    metadata = front_matter(card)
    assert "model-index" not in metadata and "datasets" not in metadata and "base_model" not in metadata
    assert set(CARD_TAGS) <= set(metadata["tags"])
    results = section(card, "Results")
    assert "Not evaluated" in results
    assert not any(character.isdigit() for character in results)
    assert "not recorded" in section(card, "Training")


def test_limits_paragraph_and_model_description():
    card = render_model_card(tiny_config(), RESULTS)
    limits = section(card, "Intended use and limits")
    assert "no guarantee of anonymity" in limits
    assert "learned" in limits and "stays fully visible" in limits
    model = section(card, "Model")
    assert "16 of 32 tubelets (50.0%) survive" in model
    assert "`run`, `jump`, `wave`" in model
    assert "arXiv:2603.26336" in section(card, "Citation")
    paper_like = tiny_config(image_size=224, patch_size=16, num_frames=16, pruning_layers=[0, 1], keep_rate=0.9,
                             num_hidden_layers=2)
    assert "1272 of 1568 tubelets" in section(render_model_card(paper_like), "Model")


def test_training_section_lists_arguments_and_metrics():
    card = render_model_card(tiny_config(), None, {"learning_rate": 1e-4, "objective": "grl"},
                             training_metrics={"eval_action_top1": 0.4567891})
    training = section(card, "Training")
    assert "| `learning_rate` | 0.0001 |" in training and "| `objective` | grl |" in training
    assert "| `eval_action_top1` | 0.4568 |" in training
    assert "Not evaluated" in section(card, "Results")


@pytest.mark.parametrize(
    "change, message",
    [
        (lambda r: r["methods"]["raw"].update(action_top1={"mean": 84.88}), r"\['raw'\]\['action_top1'\]\['mean'\].*fraction"),
        (lambda r: r["methods"]["raw"].update(accuracy=0.5), r"unknown metric.*accuracy"),
        (lambda r: r.pop("chance_cmap"), "chance_cmap"),
        (lambda r: r.update(seeds=0), "seeds"),
        (lambda r: r["methods"]["vidanon"].update(frame_f1={"mean": "high"}), r"\['frame_f1'\]\['mean'\]"),
    ],
)
def test_malformed_results_are_named(change, message):
    results = json.loads(json.dumps(RESULTS))
    change(results)
    with pytest.raises(ValueError, match=message):
        render_model_card(tiny_config(), results)


def test_benchmark_results_object_is_accepted():
    from transformers_vidanon.reporting import BenchmarkResults, ChanceLevels, MethodResult

    benchmark = BenchmarkResults(
        methods=[MethodResult("Raw", action_top1=[0.9, 0.8], frame_cmap=[0.8, 0.7]),
                 MethodResult("VidAnon", action_top1=[0.7, 0.8], frame_cmap=[0.55, 0.65])],
        chance=ChanceLevels(action_top1=0.2, cmap=0.5),
        dataset="SynthPrivacy",
    )
    normalized = normalize_results(benchmark)
    assert normalized["seeds"] == 2 and normalized["chance_cmap"] == 0.5
    assert normalized["methods"]["VidAnon"]["action_top1"][0] == pytest.approx(0.75)
    metadata = front_matter(render_model_card(tiny_config(), benchmark))
    values = {m["type"]: m["value"] for m in metadata["model-index"][0]["results"][0]["metrics"]}
    assert values == {"accuracy": 0.75, "cmap": 0.6}


def test_save_model_card_reads_the_folder_config(tmp_path):
    tiny_config().save_pretrained(tmp_path)
    path = save_model_card(tmp_path, results=RESULTS)
    assert path == tmp_path / "README.md"
    assert front_matter(path.read_text())["model-index"][0]["results"][0]["metrics"][0]["value"] == 0.8096
    assert not [p.name for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temporary file left
    with pytest.raises(FileNotFoundError, match="config.json"):
        save_model_card(tmp_path / "empty")


def test_template_is_packaged_and_complete():
    template = load_template()
    for placeholder in ("$front_matter", "$model_name", "$architecture", "$usage_code", "$training_section",
                        "$results_section", "$repo_id", "$framework_versions"):
        assert placeholder in template
    assert "no guarantee of anonymity" in template


@pytest.mark.parametrize("spread, informative", [(0.005, True), (0.04, False)])
def test_the_card_and_the_results_table_apply_one_calibration_rule(spread, informative):
    from transformers_vidanon.reporting import BenchmarkResults, ChanceLevels, MethodResult, calibration
    from transformers_vidanon.reporting.modelcard import calibration_check, normalize_results

    # Raw's frame cMAP is 6 points above chance: enough for a small spread, not for twice a 4-point std
    raw = MethodResult("Raw", action_top1=[0.9, 0.92, 0.91], frame_cmap=[0.56 - spread, 0.56, 0.56 + spread],
                       video_cmap=[0.7, 0.71, 0.72])
    results = BenchmarkResults([raw, MethodResult("VidAnon", action_top1=[0.8] * 3, frame_cmap=[0.5] * 3)],
                               ChanceLevels(action_top1=0.2, cmap=0.5), dataset="synth")
    assert calibration(results).informative is informative
    assert calibration_check(normalize_results(results))[0] is informative
