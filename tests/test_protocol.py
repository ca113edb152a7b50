"""The leakage protocol end to end on a tiny SynthPrivacy set, the evaluate command and the benchmark's outputs."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest
import torch
from matplotlib.image import imread

from transformers_vidanon import VidAnonConfig, VidAnonForPrivacyPreservingActionRecognition
from transformers_vidanon.evaluation.fresh_training import FreshModelConfig
from transformers_vidanon.evaluation.protocol import (
    ProtocolConfig,
    anonymize_clips,
    baseline_anonymizer,
    chance_levels,
    oracle_anonymizer,
    random_pruning_anonymizer,
    run_protocol,
    synth_protocol_data,
    vidanon_anonymizer,
)

FAST = FreshModelConfig(action_epochs=1, frame_epochs=1, video_epochs=1, finetune_epochs=1, video_hidden_size=32,
                        progress=False)


@pytest.fixture(scope="module")
def data(tiny_synth):
    return synth_protocol_data(tiny_synth / "manifest.jsonl", num_frames=8, progress=False)


def tiny_model(image_size: int = 32) -> VidAnonForPrivacyPreservingActionRecognition:
    torch.manual_seed(0)
    config = VidAnonConfig(image_size=image_size, patch_size=8, num_frames=8, hidden_size=32, num_hidden_layers=2,
                           num_attention_heads=4, intermediate_size=64, pruning_layers=[0], keep_rate=0.5, num_labels=6)
    return VidAnonForPrivacyPreservingActionRecognition(config).eval()


def test_protocol_data_layout(data, tiny_synth):
    manifest = [json.loads(line) for line in (tiny_synth / "manifest.jsonl").read_text().splitlines()]
    train_rows = [row for row in manifest if row["split"] == "train"]
    test_rows = [row for row in manifest if row["split"] == "test"]
    assert data.train_clips.shape == (len(train_rows), 8, 3, 32, 32) and data.train_clips.dtype == torch.uint8
    assert data.test_clips.shape == (len(test_rows), 5, 8, 3, 32, 32)
    assert data.test_regions.shape == (len(test_rows), 5, 8, 32, 32)
    assert data.train_regions.shape == (len(train_rows), 8, 32, 32)
    assert data.privacy_names == ("skin_color", "face", "gender", "nudity", "relationship")
    expected = np.array([[row[name] for name in data.privacy_names] for row in test_rows], dtype=np.float32)
    assert sorted(map(tuple, data.test_privacy.numpy())) == sorted(map(tuple, expected))
    # the actor is drawn inside its region: blackening it changes the clip there only
    blackened, _ = anonymize_clips(data.test_clips, baseline_anonymizer("blackening"), data.test_regions, progress=False)
    inside = data.test_regions[:, :, :, None].expand_as(data.test_clips)
    assert bool((blackened[inside] == 0).all())
    assert torch.equal(blackened[~inside], data.test_clips[~inside])


def test_chance_levels_are_the_prevalence(data):
    chance = chance_levels(data)
    prevalence = data.test_privacy.numpy().mean(axis=0)
    kept = prevalence > 0
    assert chance.cmap == pytest.approx(float(prevalence[kept].mean()))
    counts = np.bincount(data.test_labels.numpy())
    assert chance.action_top1 == pytest.approx(counts.max() / counts.sum())


def test_vidanon_and_random_control_prune_the_same_amount(data):
    model = tiny_model()
    _, vidanon_masks = anonymize_clips(data.test_clips[:2], vidanon_anonymizer(model), progress=False)
    _, random_masks = anonymize_clips(data.test_clips[:2], random_pruning_anonymizer(model.config), progress=False)
    assert vidanon_masks.shape == random_masks.shape == (10, 4, 4, 4)
    assert torch.equal(vidanon_masks.sum(dim=(1, 2, 3)), random_masks.sum(dim=(1, 2, 3)))
    _, fewer = anonymize_clips(data.test_clips[:1], random_pruning_anonymizer(model.config, keep_rate=0.25),
                               progress=False)
    assert fewer.sum(dim=(1, 2, 3)).tolist() == [16.0] * 5 and model.config.keep_rate == 0.5
    with pytest.raises(ValueError, match="keep_rate"):
        random_pruning_anonymizer(model.config, keep_rate=1.5)
    # a model trained at another size scores resized clips and still masks at the clip's size
    big, masks = anonymize_clips(data.test_clips[:1], vidanon_anonymizer(tiny_model(image_size=64)), progress=False)
    assert big.shape == data.test_clips[:1].shape and masks.shape == (5, 4, 8, 8)
    # inference-time overrides apply to that anonymizer only
    _, fewer = anonymize_clips(data.test_clips[:1], vidanon_anonymizer(model, keep_rate=0.25), progress=False)
    assert fewer.sum(dim=(1, 2, 3)).tolist() == [16.0] * 5
    assert model.config.keep_rate == 0.5


def test_protocol_end_to_end(data):
    model = tiny_model()
    methods = [("Raw", baseline_anonymizer("raw")), ("Blackening", baseline_anonymizer("blackening")),
               ("VidAnon", vidanon_anonymizer(model))]
    config = ProtocolConfig(seeds=(0, 1), fresh=FAST, progress=False)
    results = run_protocol(methods, data, config, dataset="tiny")
    assert [m.name for m in results.methods] == ["Raw", "Blackening", "VidAnon"]
    for method in results.methods:
        for metric in ("action_top1", "frame_cmap", "frame_f1", "video_cmap", "video_f1", "best_single_frame_cmap"):
            values = getattr(method, metric)
            assert len(values) == 2 and all(0.0 <= v <= 1.0 for v in values), (method.name, metric)
        assert method.chance_cmap == [pytest.approx(results.chance.cmap)] * 2
    vidanon = results.method("VidAnon")
    assert len(vidanon.flicker_rate) == 2 and 0 <= vidanon.flicker_rate[0] <= 1
    assert vidanon.extra["keep_fraction"] == pytest.approx(0.5, abs=0.02)
    assert not results.method("Raw").flicker_rate
    # the best single frame is at least as telling as... a number in range, measured on the same attacker
    with pytest.raises(ValueError, match="needs person regions"):
        data_without = type(data)(**{**data.__dict__, "test_regions": None})
        run_protocol([("Blackening", baseline_anonymizer("blackening"))], data_without, config)


def test_protocol_reports_every_attacker_per_attribute_and_the_worst_case(data):
    methods = [("Raw", baseline_anonymizer("raw")), ("Down-4x", baseline_anonymizer("down4"))]
    config = ProtocolConfig(seeds=(0,), fresh=FAST, progress=False, finetune_from="frame")
    results = run_protocol(methods, data, config, dataset="tiny")
    assert results.split == "test" and results.metadata["split"] == "test"
    assert results.metadata["provenance"]["config"]["protocol"]["finetune_from"] == "frame"
    raw, down = results.methods
    # on Raw the fine-tuned attacker is the raw-trained attacker itself; elsewhere a fine-tuning of it
    assert raw.finetuned_cmap == raw.frame_cmap and "itself" in raw.extra["finetuned"]
    assert len(down.finetuned_cmap) == 1 and "finetuned" not in down.extra
    for method in results.methods:
        assert method.worst_cmap == [max(method.frame_cmap[0], method.video_cmap[0], method.finetuned_cmap[0])]
        assert set(method.per_attribute) == {"frame", "video", "finetuned"}
        for attacker, (cmap_field, _) in method.ATTACKER_FIELDS.items():
            aps = method.per_attribute[attacker]["ap"]
            assert set(aps) <= set(data.privacy_names) and set(method.per_attribute[attacker]["f1"]) == set(aps)
            assert np.mean([values[0] for values in aps.values()]) == pytest.approx(getattr(method, cmap_field)[0])
        kinds = sorted((model["kind"], model["seed"]) for model in method.extra["fresh_models"])
        expected = [("action", 0), ("frame", 0), ("video", 0)] + ([] if method is raw else [("finetuned", 0)])
        assert kinds == sorted(expected)
        assert all(model["epochs"] >= 1 and model["cpu_seconds"] >= 0 for model in method.extra["fresh_models"])
    assert set(results.chance.per_attribute) == set(raw.per_attribute["frame"]["ap"])


def test_per_attribute_scores_agree_with_scikit_learn():
    from sklearn.metrics import average_precision_score, f1_score

    from transformers_vidanon.evaluation.parallel import SerialExecutor
    from transformers_vidanon.evaluation.protocol import ProtocolData, _ProtocolRun
    from transformers_vidanon.reporting import MethodResult

    labels = np.array([[1, 0, 1], [0, 1, 1], [1, 1, 0], [0, 0, 1], [1, 0, 0], [0, 1, 1]], dtype=np.float32)
    logits = np.array([[2.0, -1.0, 0.5], [-0.3, 0.2, 1.5], [0.1, 3.0, -2.0], [-1.0, 0.4, 0.3], [0.7, -0.2, -0.1],
                       [0.2, 1.1, 0.9]], dtype=np.float32)
    clips = torch.zeros(6, 2, 3, 8, 8, dtype=torch.uint8)
    data = ProtocolData(clips, torch.zeros(6, dtype=torch.long), torch.from_numpy(labels), clips[:, None],
                        torch.zeros(6, dtype=torch.long), torch.from_numpy(labels), 2, ("a", "b", "c"))
    run = _ProtocolRun(data, ProtocolConfig(seeds=(0,), progress=False), SerialExecutor())
    result = MethodResult("hand-made")
    run._record(result, "video", {"logits": torch.from_numpy(logits)}, labels)
    for column, name in enumerate("abc"):
        assert result.per_attribute["video"]["ap"][name] == [
            pytest.approx(average_precision_score(labels[:, column], logits[:, column]))]
        assert result.per_attribute["video"]["f1"][name] == [
            pytest.approx(f1_score(labels[:, column], logits[:, column] > 0))]
    assert result.video_cmap == [pytest.approx(average_precision_score(labels, logits, average="macro"))]


def test_raw_row_is_reused_only_when_data_and_settings_match(data, tmp_path):
    config = ProtocolConfig(seeds=(0,), attackers=("frame",), fresh=FAST, progress=False, cache_dir=str(tmp_path))
    raw = [("Raw", baseline_anonymizer("raw"))]
    first = run_protocol(raw, data, config).method("Raw")
    assert "cached" not in first.extra and len(list(tmp_path.glob("raw-*.pt"))) == 1
    again = run_protocol(raw, data, config).method("Raw")
    assert again.extra["cached"] and again.frame_cmap == first.frame_cmap
    assert again.extra["seconds"] == 0.0 and again.extra["trained_seconds"] == first.extra["seconds"] > 0
    assert again.action_top1 == first.action_top1
    # other fresh-model settings, other seeds or other data: retrained, not reused
    changed = ProtocolConfig(**{**config.__dict__, "fresh": FreshModelConfig(**{**FAST.__dict__, "frame_lr": 1e-3})})
    assert "cached" not in run_protocol(raw, data, changed).method("Raw").extra
    assert "cached" not in run_protocol(raw, data, ProtocolConfig(**{**config.__dict__, "seeds": (1,)})).method(
        "Raw").extra
    other = type(data)(**{**data.__dict__, "train_labels": data.train_labels.roll(1)})
    assert "cached" not in run_protocol(raw, other, config).method("Raw").extra
    # the progress setting is not part of the key
    quiet = ProtocolConfig(**{**config.__dict__, "fresh": FreshModelConfig(**{**FAST.__dict__, "progress": True})})
    assert run_protocol(raw, data, quiet).method("Raw").extra["cached"] == again.extra["cached"]


def test_worker_processes_give_the_figures_of_one_process(data):
    methods = [("Raw", baseline_anonymizer("raw")), ("Down-4x", baseline_anonymizer("down4"))]
    fresh = FreshModelConfig(**{**FAST.__dict__, "num_threads": 1})
    serial = run_protocol(methods, data, ProtocolConfig(seeds=(0, 1), attackers=("frame", "finetuned"), fresh=fresh,
                                                        progress=False, finetune_from="frame"))
    pooled = run_protocol(methods, data, ProtocolConfig(seeds=(0, 1), attackers=("frame", "finetuned"), fresh=fresh,
                                                        progress=False, finetune_from="frame", num_workers=2,
                                                        worker_threads=1))
    for one, two in zip(serial.methods, pooled.methods):
        for metric in ("action_top1", "frame_cmap", "finetuned_cmap", "worst_cmap", "best_single_frame_cmap"):
            assert getattr(one, metric) == getattr(two, metric), (one.name, metric)
    assert {model["threads"] for model in pooled.method("Down-4x").extra["fresh_models"]} == {1}


def test_progress_false_silences_the_fresh_models(data, capsys):
    config = ProtocolConfig(seeds=(0,), attackers=("frame",), progress=False,
                            fresh=FreshModelConfig(**{**FAST.__dict__, "progress": True}))
    run_protocol([("Raw", baseline_anonymizer("raw"))], data, config)
    captured = capsys.readouterr()
    assert "epoch" not in captured.err and "action model" not in captured.err


def test_evaluate_command_writes_results(tiny_synth, tmp_path):
    model_dir = tmp_path / "model"
    tiny_model().save_pretrained(model_dir)
    output = tmp_path / "eval"
    command = [sys.executable, "-m", "transformers_vidanon.cli", "evaluate", "--method", str(model_dir),
               "--method", "down4", "--method", f"random:{model_dir}", "--data", str(tiny_synth),
               "--output", str(output), "--seeds", "0", "--num-frames", "8", "--attackers", "frame",
               "--epochs-scale", "0.05", "--no-progress"]
    result = subprocess.run(command, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "fewer than 3 seeds" in result.stderr
    saved = json.loads((output / "results.json").read_text())
    names = [m["name"] for m in saved["methods"]]
    assert names == ["Raw", f"VidAnon ({model_dir})", "down4", "Random pruning"]
    table = (output / "results.md").read_text()
    assert "| Chance |" in table and "Random pruning" in table


def test_evaluate_command_measures_a_manifest_on_its_test_split(tiny_synth, tmp_path):
    """A manifest with train, val and test splits that differ: the figures are the test split's."""
    rows = [json.loads(line) for line in (tiny_synth / "manifest.jsonl").read_text().splitlines()]
    assert {row["split"] for row in rows} == {"train", "val", "test"}
    first = next(row for row in rows if row["split"] == "test")
    for row in rows:
        row["path"] = str(tiny_synth / row["path"])
        row.pop("regions")
        if row["split"] == "test":  # every test video is relabelled with one action: its chance top-1 is 1
            row["action"], row["label"] = first["action"], first["label"]
    val_labels = [row["label"] for row in rows if row["split"] == "val"]
    assert max(val_labels.count(label) for label in set(val_labels)) < len(val_labels)
    manifest = tmp_path / "plain" / "manifest.jsonl"
    manifest.parent.mkdir()
    manifest.write_text("".join(json.dumps(row) + "\n" for row in rows))
    output = tmp_path / "eval"
    command = [sys.executable, "-m", "transformers_vidanon.cli", "evaluate", "--method", "down4", "--data",
               str(manifest), "--output", str(output), "--seeds", "0", "--num-frames", "8", "--image-size", "32",
               "--attackers", "frame", "--epochs-scale", "0.05", "--no-progress"]
    result = subprocess.run(command, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    saved = json.loads((output / "results.json").read_text())
    assert saved["split"] == "test" and saved["metadata"]["split"] == "test"
    assert saved["chance"]["action_top1"] == 1.0  # the test split's, not the val split's
    assert ", test split" in (output / "results.md").read_text()
    assert saved["metadata"]["provenance"]["config"]["arguments"]["data"] == str(manifest)


BENCH_TRAINING = {"num_train_epochs": 1, "num_frames": 8, "hidden_size": 32, "num_hidden_layers": 2,
                  "intermediate_size": 64, "pruning_layers": [0], "keep_rate": 0.5, "per_device_train_batch_size": 4}


def _bench_config(output, **changes):
    from transformers_vidanon.workflows.benchmark import BenchmarkConfig

    settings = dict(output_dir=str(output), num_videos=18, image_size=32, video_frames=16, seeds=(0, 1),
                    sweep_keep_rates=(0.5,), sweep_lambdas=(1.0,), sweep_modes=("tube",), fresh=FAST, progress=False,
                    quick=True, training_overrides=dict(BENCH_TRAINING))
    return BenchmarkConfig(**{**settings, **changes})


DEFAULT_ROWS = [("Raw", [0, 1], 3), ("Blackening (1 seed)", [0], 3), ("VidAnon", [0, 1], 3),
                ("VidAnon λ=0 (1 seed)", [0], 3), ("Random pruning (1 seed)", [0], 3), ("Oracle 8x8 (1 seed)", [0], 3)]


def test_the_default_run_has_the_headline_rows_and_full_every_row(tmp_path):
    from transformers_vidanon.workflows.benchmark import benchmark_rows

    geometry = {"image_size": 32, "patch_size": 4, "tubelet_size": 4, "num_frames": 8}
    default = benchmark_rows(_bench_config(tmp_path), geometry, training=None)  # no row is started here
    assert [(m.name, list(m.seeds), len(m.attackers or ("frame", "video", "finetuned"))) for m in default] == \
        DEFAULT_ROWS
    # the rows that need the trained model get it when they start; Raw, the baselines and the oracle do not wait
    assert [m.name for m in default if m.make_anonymizer is not None] == [
        "VidAnon", "VidAnon λ=0 (1 seed)", "Random pruning (1 seed)"]
    full = benchmark_rows(_bench_config(tmp_path, full=True), geometry, training=None)
    assert [(m.name, list(m.seeds), m.attackers) for m in full] == [
        ("Raw", [0, 1], None), ("Down-2x (1 seed)", [0], ("frame", "video")),
        ("Down-4x (1 seed)", [0], ("frame", "video")), ("Blackening", [0, 1], None),
        ("StrongBlur (1 seed)", [0], ("frame", "video")), ("VidAnon", [0, 1], None), ("VidAnon λ=0", [0, 1], None),
        ("Random pruning", [0, 1], None), ("Oracle 8x8", [0, 1], None),
        ("Oracle tube 8x8 (1 seed)", [0], ("frame", "video")), ("Oracle 16x16 (1 seed)", [0], ("frame", "video"))]
    assert _bench_config(tmp_path).results_name == "synth_benchmark"
    assert _bench_config(tmp_path, full=True).results_name == "synth_benchmark_full"


@pytest.fixture(scope="module")
def default_benchmark(tmp_path_factory):
    from transformers_vidanon.workflows.benchmark import run_benchmark

    output = tmp_path_factory.mktemp("bench")
    return run_benchmark(_bench_config(output)), output


def test_default_benchmark_writes_the_headline_table_timings_and_figures(default_benchmark):
    outcome, output = default_benchmark
    files = outcome["files"]
    assert set(files) == {"synth_benchmark.json", "synth_benchmark.md", "synth_benchmark_timings.json",
                          "tradeoff_frame.png", "tradeoff_video.png", "figure2.png"}
    saved = json.loads(open(files["synth_benchmark.json"]).read())
    rows = {m["name"]: m for m in saved["methods"]}
    assert [(m["name"], m["extra"]["seeds"], len(m["extra"]["attackers"])) for m in saved["methods"]] == DEFAULT_ROWS
    for row in rows.values():  # the worst case of every row is the maximum over frame, video and fine-tuned attackers
        assert row["worst_cmap"] == [max(values) for values in zip(row["frame_cmap"], row["video_cmap"],
                                                                    row["finetuned_cmap"])]
    assert saved["sweep"] == [] and "secondary_rows" not in saved["metadata"]
    table = open(files["synth_benchmark.md"]).read()
    assert "| Raw | " in table and table.count("(1 seed)") >= 4 and "| Seeds |" in table
    assert "Raw row against the fresh models before" in table
    # one-epoch caps: every fresh model is bound by its cap; the rows say so per kind, and the calibration line warns
    for row in rows.values():
        assert all(entry["cap_bound_seeds"] == row["extra"]["seeds"] for entry in row["extra"]["convergence"].values())
    calibration_line = next(line for line in table.splitlines() if line.startswith("Calibration:"))
    assert "Warning: the epoch cap bound" in calibration_line and "Blackening (1 seed): video attacker (seed 0)" in \
        calibration_line
    assert "Fresh-model training: epochs run / epoch cap" in table and "| Raw | 1/1 (1)*, 1/1 (1)* |" in table
    timings = json.loads(open(files["synth_benchmark_timings.json"]).read())
    assert timings["mode"] == "default" and timings["cold"] is True and timings["reused"] == []
    for stage in ("data", "decode", "train", "evaluate", "outputs", "total"):
        assert timings[stage] > 0 and timings["stages"][stage]["end"] >= timings["stages"][stage]["start"], stage
    assert timings["training"]["synthetic"]["background"] is True and timings["training"]["synthetic"]["threads"] >= 1
    assert set(timings["methods"]) == set(rows)
    assert all(not row["cached"] and row["fresh_cpu_seconds"] > 0 for row in timings["methods"].values())
    assert timings["methods"]["VidAnon"]["seeds"] == [0, 1]
    assert len(timings["cap_bound"]) == sum(len(row["extra"]["convergence"]) for row in rows.values())
    assert {model["stopped_by"] for model in timings["fresh_models"]} == {"cap"}
    for name in ("tradeoff_frame.png", "tradeoff_video.png", "figure2.png"):
        image = imread(files[name])
        assert image.shape[0] > 100 and image.shape[1] > 100 and float(image.std()) > 0.01
    # a smoke run says so in its results, and the model card it refreshes shows no result from it
    assert saved["metadata"]["benchmark"]["quick"] is True
    card = (output / "vidanon-synthetic" / "model" / "README.md").read_text()
    assert "Smoke run, not a result" in card and "model-index" not in card


def test_full_benchmark_adds_every_row_and_the_sweep_and_names_what_it_reused(default_benchmark):
    from transformers_vidanon.workflows.benchmark import run_benchmark

    _, output = default_benchmark
    outcome = run_benchmark(_bench_config(output, full=True, seeds=(0,)))  # the data and the model are reused
    files = outcome["files"]
    assert {"synth_benchmark_full.json", "synth_benchmark_full.md", "synth_benchmark_full_timings.json",
            "tradeoff_frame_full.png", "tradeoff_video_full.png"} <= set(files)
    saved = json.loads(open(files["synth_benchmark_full.json"]).read())
    # the rows no target turns on carry their seed count in the name and have no fine-tuned attacker
    assert [m["name"] for m in saved["methods"]] == ["Raw", "Down-2x (1 seed)", "Down-4x (1 seed)", "Blackening",
                                                     "StrongBlur (1 seed)", "VidAnon", "VidAnon λ=0", "Random pruning",
                                                     "Oracle 8x8", "Oracle tube 8x8 (1 seed)", "Oracle 16x16 (1 seed)"]
    rows = {m["name"]: m for m in saved["methods"]}
    assert rows["Down-4x (1 seed)"]["finetuned_cmap"] == [] and rows["Blackening"]["finetuned_cmap"]
    assert saved["metadata"]["secondary_rows"]["seeds"] == [0]
    oracle = rows["Oracle tube 8x8 (1 seed)"]
    assert oracle["flicker_rate"] == [0.0] and 0.0 < oracle["extra"]["keep_fraction"] < 1.0
    # the sweep point, then the random-pruning control at the same keep rate
    assert [m["name"] for m in saved["sweep"]] == ["tube keep=0.5 λ=1", "random keep=0.5"]
    assert saved["sweep"][0]["extra"]["temporal_consistency"] == "tube"
    assert saved["sweep"][0]["flicker_rate"] == [0.0]  # one spatial mask for all time
    assert saved["sweep"][1]["extra"]["random_control"] is True
    timings = json.loads(open(files["synth_benchmark_full_timings.json"]).read())
    assert timings["mode"] == "full" and timings["cold"] is False
    assert timings["reused"] == ["model synthetic", "data"] and set(timings["sweep_points"]) == {
        "tube keep=0.5 λ=1", "random keep=0.5"}
    assert timings["training"]["synthetic"]["reused"] is True and timings["training"]["synthetic"]["background"] is False
    assert (output / "synth_benchmark.md").is_file()  # the default run's files are left as they were


def test_benchmark_model_card_carries_the_measured_rows(tmp_path):
    from transformers_vidanon.reporting import BenchmarkResults, ChanceLevels, MethodResult
    from transformers_vidanon.workflows.benchmark import _write_card

    model = tiny_model()
    model.save_pretrained(tmp_path)
    results = BenchmarkResults(
        methods=[MethodResult("Raw", action_top1=[0.9, 0.92], frame_cmap=[0.8, 0.82]),
                 MethodResult("VidAnon", action_top1=[0.85, 0.87], frame_cmap=[0.6, 0.62])],
        chance=ChanceLevels(action_top1=1 / 6, cmap=0.5), dataset="SynthPrivacy")
    _write_card(tmp_path, model, results, "VidAnon")
    card = (tmp_path / "README.md").read_text()
    assert "86.00" in card and "91.00" in card  # VidAnon and Raw mean top-1, in percent
    assert "no guarantee" in card.lower()


def test_anonymizers_say_which_regions_they_need(data):
    assert baseline_anonymizer("blackening").needs_regions == "person"
    assert baseline_anonymizer("down4").needs_regions is None
    assert oracle_anonymizer(2, 4).needs_regions == "privacy"
    assert getattr(vidanon_anonymizer(tiny_model()), "needs_regions", None) is None
    # the old (name, anonymizer, needs_regions) form is refused rather than read as `extra`
    with pytest.raises(TypeError, match="third item"):
        run_protocol([("Blackening", baseline_anonymizer("blackening"), True)], data,
                     ProtocolConfig(seeds=(0,), fresh=FAST, progress=False))


def test_rows_run_with_their_own_seeds_and_every_attacker(data):
    from transformers_vidanon.evaluation.protocol import Method

    methods = [Method("Raw", baseline_anonymizer("raw")),
               Method("Blackening (1 seed)", baseline_anonymizer("blackening"), seeds=(0,)),
               Method("Down-4x (1 seed)", baseline_anonymizer("down4"), seeds=(2,)),
               Method("Down-2x (1 seed)", baseline_anonymizer("down2"), seeds=(1,), attackers=("frame", "video"))]
    results = run_protocol(methods, data, ProtocolConfig(seeds=(0, 1), fresh=FAST, progress=False))
    raw, black, down4, down2 = (results.method(m.name) for m in methods)
    assert raw.extra["seeds"] == [0, 1] and len(raw.action_top1) == len(raw.worst_cmap) == 2
    # a one-seed row still has every attacker, and its worst case is their maximum
    assert black.extra["seeds"] == [0] and black.extra["attackers"] == ["frame", "video", "finetuned"]
    assert black.worst_cmap == [max(black.frame_cmap[0], black.video_cmap[0], black.finetuned_cmap[0])]
    assert sorted((m["kind"], m["seed"]) for m in black.extra["fresh_models"]) == [
        ("action", 0), ("finetuned", 0), ("frame", 0), ("video", 0)]
    # a seed the Raw row does not train gets a raw-trained attacker of its own; a row without it needs none
    assert down4.extra["seeds"] == [2] and len(down4.finetuned_cmap) == 1
    assert down2.extra["seeds"] == [1] and down2.finetuned_cmap == [] and len(down2.video_cmap) == 1
    assert down2.worst_cmap == [max(down2.frame_cmap[0], down2.video_cmap[0])]
    # every row says, per model kind, how its fresh models stopped (one epoch caps here: the cap bound each)
    assert black.extra["convergence"]["finetuned"] == {"seeds": [0], "epochs": [1], "max_epochs": 1,
                                                       "best_epochs": [1], "patience": 4, "stopped_by": ["cap"],
                                                       "cap_bound_seeds": [0]}
    assert raw.extra["convergence"]["video"]["cap_bound_seeds"] == [0, 1]
    with pytest.raises(ValueError, match="one of the two"):
        Method("x")
    with pytest.raises(ValueError, match="attackers"):
        Method("x", baseline_anonymizer("raw"), attackers=("eye",))


def test_paced_executor_runs_at_most_its_limit_and_a_raised_limit_starts_the_waiting_jobs():
    import threading
    from concurrent.futures import ThreadPoolExecutor

    from transformers_vidanon.evaluation.parallel import PacedExecutor

    release = [threading.Event() for _ in range(3)]
    started = [threading.Event() for _ in range(3)]

    def job(index: int) -> int:
        started[index].set()
        release[index].wait()
        return index * 10

    paced = PacedExecutor(ThreadPoolExecutor(max_workers=3), limit=1)
    futures = [paced.submit(job, index) for index in range(3)]
    assert started[0].wait(60)
    assert paced.running == 1 and not started[1].is_set() and not started[2].is_set()
    release[0].set()
    assert futures[0].result(60) == 0 and started[1].wait(60)  # the next one starts when a slot frees
    assert not started[2].is_set()
    paced.set_limit(2)
    assert started[2].wait(60)  # a raised limit starts a waiting job at once
    release[1].set()
    release[2].set()
    assert [future.result(60) for future in futures] == [0, 10, 20]
    paced.shutdown(wait=True)
    with pytest.raises(ValueError, match="limit"):
        PacedExecutor(ThreadPoolExecutor(max_workers=1), limit=0)
