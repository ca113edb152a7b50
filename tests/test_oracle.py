"""The oracle baselines through the protocol: privacy regions from SynthPrivacy, the command line's oracle methods."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from transformers_vidanon.commands.evaluate import parse_oracle
from transformers_vidanon.data.labels import PRIVACY_ATTRIBUTES
from transformers_vidanon.data.synth import load_synth_clips, synth_region_files
from transformers_vidanon.evaluation.protocol import (
    anonymize_clips,
    datasets_protocol_data,
    oracle_anonymizer,
    synth_protocol_data,
)


def test_protocol_privacy_regions_are_the_union_of_the_attribute_regions(tiny_synth):
    data = synth_protocol_data(tiny_synth / "manifest.jsonl", num_frames=8, progress=False)
    test = load_synth_clips(tiny_synth / "manifest.jsonl", "test", 8, 2, 5, progress=False)
    files = synth_region_files(tiny_synth)
    with np.load(files[test.video_ids[0]]) as archive:
        union = np.logical_or.reduce([archive[name] for name in PRIVACY_ATTRIBUTES])
        actor = archive["actor"]
        action = archive["action"]
    frames = test.frame_indices[0]
    assert torch.equal(data.test_privacy_regions[0], torch.from_numpy(union)[frames])
    assert torch.equal(data.test_regions[0], torch.from_numpy(actor)[frames])
    # the action region follows the same windows: the share of action pixels a mask keeps is read from it
    assert torch.equal(data.test_action_regions[0], torch.from_numpy(action)[frames])
    assert data.test_action_regions.shape == data.test_regions.shape and data.test_action_regions.any()
    assert data.test_privacy_regions.shape == data.test_regions.shape
    assert data.regions("privacy")[1] is data.test_privacy_regions
    with pytest.raises(ValueError, match="region kind"):
        data.regions("faces")

    # the oracle's anonymized clips are black exactly on the tubelets that touch those regions
    clips, masks = anonymize_clips(data.test_clips, oracle_anonymizer(2, 4), data.test_privacy_regions, progress=False)
    touched = data.test_privacy_regions.reshape(-1, 8, 32, 32).view(-1, 4, 2, 4, 8, 4, 8).any(6).any(4).any(2)
    assert torch.equal(masks, (~touched).float())
    privacy_pixels = data.test_privacy_regions.reshape(-1, 8, 32, 32)
    assert int(clips.reshape(-1, 8, 3, 32, 32).permute(0, 1, 3, 4, 2)[privacy_pixels].max()) == 0


def test_parse_oracle_specs():
    assert parse_oracle("oracle", (8, 4)) == ("Oracle 8x8, t4", 8, 4, False)
    assert parse_oracle("oracle-tube:16", (8, 4)) == ("Oracle tube 16x16, t4", 16, 4, True)
    assert parse_oracle("oracle:8:2", None) == ("Oracle 8x8, t2", 8, 2, False)
    with pytest.raises(SystemExit, match="give the grid"):
        parse_oracle("oracle", None)
    with pytest.raises(SystemExit, match="oracle\\[:GRID"):
        parse_oracle("oracle:eight", None)


def test_synth_protocol_clips_are_the_synth_clips_decoded_once(tiny_synth):
    """The protocol decodes SynthPrivacy through the same path as any dataset; at the videos' own size that gives
    exactly the frames the SynthPrivacy reader gives."""
    data = synth_protocol_data(tiny_synth / "manifest.jsonl", num_frames=8, progress=False)
    test = load_synth_clips(tiny_synth / "manifest.jsonl", "test", 8, 2, 5, progress=False)
    train = load_synth_clips(tiny_synth / "manifest.jsonl", "train", 8, 2, 1, progress=False)
    assert torch.equal(data.test_clips, test.clips) and torch.equal(data.train_clips, train.clips)
    assert torch.equal(data.test_labels, test.labels) and torch.equal(data.train_privacy, train.privacy_labels)
    assert data.num_labels == len(test.action_names) and data.test_split == "test"
    with pytest.raises(ValueError, match="not both"):
        datasets_protocol_data(None, None, boxes={}, regions_of=lambda row, windows, info: {})
