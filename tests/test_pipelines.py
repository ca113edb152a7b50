"""The `video-anonymization` pipeline and transformers' `video-classification` pipeline on a saved VidAnon model."""

from __future__ import annotations

import json
from pathlib import Path

import av
import numpy as np
import pytest
import torch
from transformers import AutoConfig, AutoImageProcessor, pipeline
from transformers.pipelines import PIPELINE_REGISTRY

from transformers_vidanon import VidAnonConfig, VidAnonForPrivacyPreservingActionRecognition
from transformers_vidanon.inference.anonymize import anonymize_frames
from transformers_vidanon.pipelines import (
    VIDEO_ANONYMIZATION_TASK,
    VideoAnonymizationPipeline,
    register_pipelines,
)
from transformers_vidanon.processing_vidanon import VidAnonImageProcessor, clip_eval_transform, frames_to_clip
from transformers_vidanon.video import read_clip, write_video
from transformers_vidanon.video_processing_vidanon import VidAnonVideoProcessor, uniform_frame_indices

torch.set_num_threads(1)

LABELS = {0: "run", 1: "jump", 2: "wave"}


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory) -> tuple[Path, VidAnonForPrivacyPreservingActionRecognition]:
    config = VidAnonConfig(
        image_size=16, patch_size=4, num_frames=4, tubelet_size=2, hidden_size=32, num_hidden_layers=2,
        num_attention_heads=4, intermediate_size=37, pruning_layers=[0], keep_rate=0.5, num_labels=3, id2label=LABELS,
        label2id={v: k for k, v in LABELS.items()},
    )
    torch.manual_seed(0)
    model = VidAnonForPrivacyPreservingActionRecognition(config).eval()
    folder = tmp_path_factory.mktemp("checkpoint")
    model.save_pretrained(folder)
    VidAnonImageProcessor.from_model_config(config).save_pretrained(folder)
    register_pipelines()
    return folder, model


@pytest.fixture(scope="module")
def frames() -> np.ndarray:
    rng = np.random.default_rng(0)
    return rng.integers(30, 230, size=(11, 38, 50, 3), dtype=np.uint8)


def test_register_pipelines_is_idempotent(checkpoint):
    register_pipelines()
    entry = PIPELINE_REGISTRY.supported_tasks[VIDEO_ANONYMIZATION_TASK]
    register_pipelines()
    assert PIPELINE_REGISTRY.supported_tasks[VIDEO_ANONYMIZATION_TASK] is entry
    assert entry["impl"] is VideoAnonymizationPipeline
    assert VIDEO_ANONYMIZATION_TASK in PIPELINE_REGISTRY.get_supported_tasks()


def test_anonymization_pipeline_on_an_array(checkpoint, frames):
    folder, model = checkpoint
    anonymizer = pipeline(VIDEO_ANONYMIZATION_TASK, model=str(folder))
    assert isinstance(anonymizer, VideoAnonymizationPipeline)
    assert isinstance(anonymizer.image_processor, VidAnonImageProcessor)
    assert isinstance(anonymizer.video_processor, VidAnonVideoProcessor)
    result = anonymizer(frames)
    assert result["frames"].shape == frames.shape and result["frames"].dtype == np.uint8
    assert result["keep_mask"].shape == (3, 2, 4, 4)  # ceil(11 / 4) clips on the 2x4x4 tubelet grid
    assert np.all(result["keep_mask"].reshape(3, -1).sum(1) == 16)
    mask = result["pixel_mask"]
    assert mask.shape == frames.shape[:3]
    np.testing.assert_array_equal(result["frames"][mask], frames[mask])  # kept pixels untouched
    assert result["frames"][~mask].max() == 0  # pruned ones black
    assert result["kept_fraction"] == pytest.approx(mask.mean())

    # the mask of the first clip is the model's own keep mask on that clip at the model's size
    assert anonymizer.frame_processor is anonymizer.video_processor  # preferred over the image processor
    pixels = anonymizer.video_processor(frames[:4], do_center_crop=False, size={"height": 16, "width": 16},
                                        return_tensors="pt")["pixel_values"]
    np.testing.assert_array_equal(result["keep_mask"][0], model.anonymize(pixels).keep_mask[0].numpy())

    floats = anonymizer(frames.astype(np.float32) / 255.0)  # floats in [0, 1] are accepted
    np.testing.assert_array_equal(floats["frames"], result["frames"])
    fewer = anonymizer(frames, keep_rate=0.25)
    assert np.all(fewer["keep_mask"].reshape(3, -1).sum(1) == 8)
    assert fewer["kept_fraction"] < result["kept_fraction"]
    assert model.config.keep_rate == 0.5  # the override was for that call only
    with pytest.raises(ValueError, match=r"\(T, H, W, 3\)"):
        anonymizer(frames[..., 0])


def test_anonymization_pipeline_on_a_file_and_a_list(checkpoint, frames, tmp_path):
    folder, _ = checkpoint
    path = write_video(tmp_path / "clip.mp4", frames, fps=10)
    decoded = read_clip(path, np.arange(11))
    anonymizer = pipeline(VIDEO_ANONYMIZATION_TASK, model=str(folder))
    from_file = anonymizer(str(path))
    np.testing.assert_array_equal(from_file["frames"], anonymizer(decoded)["frames"])
    both = anonymizer([str(path), decoded[:5]])
    assert [r["frames"].shape for r in both] == [(11, 38, 50, 3), (5, 38, 50, 3)]


def test_anonymization_pipeline_refuses_other_models(tmp_path):
    from transformers import VideoMAEConfig, VideoMAEForVideoClassification

    register_pipelines()
    other = VideoMAEForVideoClassification(VideoMAEConfig(
        image_size=16, patch_size=4, num_frames=4, hidden_size=32, num_hidden_layers=1, num_attention_heads=4,
        intermediate_size=37, num_labels=2,
    ))
    with pytest.raises(ValueError, match="needs a VidAnon model"):
        pipeline(VIDEO_ANONYMIZATION_TASK, model=other, image_processor=VidAnonImageProcessor.for_image_size(16))


def test_video_classification_pipeline_uses_the_action_head(checkpoint, frames, tmp_path, capfd):
    folder, model = checkpoint
    path = write_video(tmp_path / "clip.mp4", frames, fps=10)
    capfd.readouterr()
    classifier = pipeline("video-classification", model=str(folder))
    assert isinstance(classifier.video_processor, VidAnonVideoProcessor)
    predictions = classifier(str(path))
    assert "deprecated" not in capfd.readouterr().err  # the video processor serves it, not the image processor
    assert [p["label"] for p in predictions] and {p["label"] for p in predictions} == set(LABELS.values())

    # expected: the action head's softmax on num_frames frames spread uniformly over the video (decoded with PyAV),
    # resized and cropped like the evaluation transform
    with av.open(str(path)) as container:
        decoded = np.stack([frame.to_ndarray(format="rgb24") for frame in container.decode(video=0)])
    indices = uniform_frame_indices(len(decoded), 4)
    assert indices.tolist() == [0, 2, 5, 8]
    clip = clip_eval_transform(frames_to_clip(decoded[indices]), 16)
    with torch.no_grad():
        probabilities = model(clip[None]).logits.softmax(-1)[0]
    expected = sorted(((float(p), LABELS[i]) for i, p in enumerate(probabilities)), reverse=True)
    assert [p["label"] for p in predictions] == [label for _, label in expected]
    assert [p["score"] for p in predictions] == pytest.approx([score for score, _ in expected], abs=1e-5)
    assert isinstance(AutoImageProcessor.from_pretrained(folder), VidAnonImageProcessor)


def test_anonymization_pipeline_matches_anonymize_frames(checkpoint, frames):
    """The pipeline (saved beside checkpoints, so it has its own copy of the in-memory steps) gives exactly what
    `anonymize.anonymize_frames` gives with the same processor."""
    folder, model = checkpoint
    anonymizer = pipeline(VIDEO_ANONYMIZATION_TASK, model=str(folder))
    for processor in (anonymizer.video_processor, anonymizer.image_processor, None):
        expected = anonymize_frames(model, frames, processor)
        result = pipeline(VIDEO_ANONYMIZATION_TASK, model=model, video_processor=processor
                          if isinstance(processor, VidAnonVideoProcessor) else None,
                          image_processor=processor if isinstance(processor, VidAnonImageProcessor) else None)(frames)
        np.testing.assert_array_equal(result["frames"], expected.frames)
        np.testing.assert_array_equal(result["keep_mask"], expected.keep_mask)
        np.testing.assert_array_equal(result["pixel_mask"], expected.pixel_mask)


def test_installed_pipeline_serves_a_checkpoint_that_names_its_own(checkpoint):
    """A saved checkpoint names the pipeline in `custom_pipelines`; with the package imported the registered class
    serves it without `trust_remote_code`, and the config leaves the entry aside."""
    folder, _ = checkpoint
    saved = json.loads((folder / "config.json").read_text())
    assert saved["custom_pipelines"]["video-anonymization"]["impl"] == "pipelines.VideoAnonymizationPipeline"
    assert not getattr(AutoConfig.from_pretrained(folder), "custom_pipelines", None)
    assert type(pipeline(VIDEO_ANONYMIZATION_TASK, model=str(folder))) is VideoAnonymizationPipeline
