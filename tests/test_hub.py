"""Pushing a VidAnon model, its processor and its card to a (fake, local) Hub, and loading it back in fresh
processes: with the package installed, and through `trust_remote_code` where the package cannot be imported.

huggingface_hub reads `HF_ENDPOINT` when it is imported, so every Hub client here is a subprocess whose
environment points at the fake server (`tests/fakehub.py`)."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
import torch
import yaml
from fakehub import FakeHub
from transformers import pipeline

from transformers_vidanon import VidAnonConfig, VidAnonForPrivacyPreservingActionRecognition
from transformers_vidanon.processing_vidanon import VidAnonImageProcessor
from transformers_vidanon.video import write_video

torch.set_num_threads(1)

REPO = Path(__file__).resolve().parents[1]
SRC = REPO / "src"
REPO_ID = "user/tiny-vidanon"
RESULTS = {
    "dataset": "SynthPrivacy",
    "seeds": 2,
    "chance_cmap": 0.5,
    "chance_top1": 0.1667,
    "methods": {
        "raw": {"action_top1": {"mean": 0.91, "std": 0.01}, "frame_cmap": {"mean": 0.83, "std": 0.02}},
        "vidanon": {"action_top1": {"mean": 0.84, "std": 0.02}, "frame_cmap": {"mean": 0.61, "std": 0.03}},
    },
}


def run_python(code: str, env: dict[str, str], cwd: Path, isolated: bool = False) -> subprocess.CompletedProcess:
    command = [sys.executable, *(["-I"] if isolated else []), "-c", textwrap.dedent(code)]
    env = {**env, "OMP_NUM_THREADS": "1"}
    result = subprocess.run(command, check=False, env=env, cwd=cwd, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, f"stdout:\n{result.stdout[-2000:]}\nstderr:\n{result.stderr[-4000:]}"
    return result


@pytest.fixture(scope="module")
def saved(tmp_path_factory) -> dict:
    """A tiny model and processor saved to a folder, an input batch, and the model's outputs on it."""
    root = tmp_path_factory.mktemp("hub")
    config = VidAnonConfig(
        image_size=16, patch_size=4, num_frames=4, tubelet_size=2, hidden_size=32, num_hidden_layers=2,
        num_attention_heads=4, intermediate_size=37, pruning_layers=[0], keep_rate=0.5, num_labels=3,
    )
    torch.manual_seed(0)
    model = VidAnonForPrivacyPreservingActionRecognition(config).eval()
    folder = root / "model"
    model.save_pretrained(folder)
    VidAnonImageProcessor.from_model_config(config).save_pretrained(folder)
    pixels = torch.rand(2, 4, 3, 16, 16, generator=torch.Generator().manual_seed(3))
    np.save(root / "pixels.npy", pixels.numpy())
    with torch.no_grad():
        outputs = model(pixels)
        hidden = model.vidanon(pixels).last_hidden_state
    (root / "results.json").write_text(json.dumps(RESULTS))
    # what the package's own pipelines give on a video held in memory and on a file
    frames = np.random.default_rng(0).integers(30, 230, size=(11, 38, 50, 3), dtype=np.uint8)
    np.save(root / "frames.npy", frames)
    video = write_video(root / "clip.mp4", frames, fps=10)
    anonymized = pipeline("video-anonymization", model=str(folder))(frames)
    classified = pipeline("video-classification", model=str(folder))(str(video))
    return {"root": root, "folder": folder, "pixels": root / "pixels.npy", "outputs": outputs, "hidden": hidden,
            "frames": root / "frames.npy", "video": video, "anonymized": anonymized, "classified": classified}


@pytest.fixture(scope="module")
def hub(saved) -> FakeHub:
    """The fake Hub after the push example pushed the saved model to REPO_ID."""
    with FakeHub() as server:
        result = subprocess.run(
            [sys.executable, str(REPO / "examples" / "push_to_hub.py"), str(saved["folder"]), REPO_ID,
             "--results", str(saved["root"] / "results.json")],
            env={**server.environment(saved["root"] / "hf_home_push"), "OMP_NUM_THREADS": "1"},
            capture_output=True, text=True, timeout=300,
        )
        assert result.returncode == 0, result.stderr[-4000:]
        yield server


def assert_same_outputs(saved: dict, path: Path) -> None:
    loaded = np.load(path)
    expected = saved["outputs"]
    np.testing.assert_allclose(loaded["logits"], expected.logits.numpy(), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(loaded["privacy_logits"], expected.privacy_logits.numpy(), rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(loaded["keep_mask"], expected.keep_mask.numpy())
    np.testing.assert_allclose(loaded["anonymized"], expected.anonymized_pixel_values.numpy(), atol=1e-6)
    np.testing.assert_allclose(loaded["hidden"], saved["hidden"].numpy(), rtol=1e-5, atol=1e-6)


def test_push_example_uploads_model_processor_and_card(hub):
    files = hub.files(REPO_ID)
    for name in ("config.json", "model.safetensors", "preprocessor_config.json", "video_preprocessor_config.json",
                 "README.md", "modeling_vidanon.py", "configuration_vidanon.py", "pruning.py", "processing_vidanon.py",
                 "video_processing_vidanon.py", "pipelines.py"):
        assert name in files, f"{name} missing from {sorted(files)}"
    assert len(hub.repo(REPO_ID).commits) == 2  # the repository's creation, then one commit with everything
    config = json.loads(files["config.json"])
    assert config["model_type"] == "vidanon"
    assert config["auto_map"]["AutoModel"] == "modeling_vidanon.VidAnonModel"
    assert config["custom_pipelines"] == {"video-anonymization": {
        "impl": "pipelines.VideoAnonymizationPipeline", "pt": ["AutoModelForVideoClassification"], "type": "video"}}
    image = json.loads(files["preprocessor_config.json"])
    assert image["auto_map"] == {"AutoImageProcessor": "processing_vidanon.VidAnonImageProcessor"}
    video = json.loads(files["video_preprocessor_config.json"])
    assert video["auto_map"] == {"AutoVideoProcessor": "video_processing_vidanon.VidAnonVideoProcessor"}
    assert video["crop_size"] == {"height": 16, "width": 16} and video["num_frames"] == 4
    card = files["README.md"].decode()
    metadata = yaml.safe_load(card.split("---")[1])
    assert metadata["library_name"] == "transformers" and "anonymization" in metadata["tags"]
    metrics = {m["type"]: m["value"] for m in metadata["model-index"][0]["results"][0]["metrics"]}
    assert metrics == {"accuracy": 0.84, "cmap": 0.61}
    assert "no guarantee of anonymity" in card
    assert hub.unhandled == []


def test_from_pretrained_with_the_package(hub, saved):
    out = saved["root"] / "with_package.npz"
    run_python(
        f"""
        import numpy as np, torch
        import transformers_vidanon
        from transformers import AutoImageProcessor, AutoModel, AutoModelForVideoClassification
        from transformers_vidanon.pipelines import register_pipelines
        register_pipelines()
        model = AutoModelForVideoClassification.from_pretrained("{REPO_ID}").eval()
        base = AutoModel.from_pretrained("{REPO_ID}").eval()
        assert type(model).__module__ == "transformers_vidanon.modeling_vidanon", type(model).__module__
        assert type(base).__name__ == "VidAnonModel", type(base)
        assert type(AutoImageProcessor.from_pretrained("{REPO_ID}")).__name__ == "VidAnonImageProcessor"
        from transformers_vidanon.inference.anonymize import load_anonymizer
        anonymizer, processor = load_anonymizer("{REPO_ID}")
        assert type(processor).__name__ == "VidAnonImageProcessor" and not anonymizer.training
        x = torch.from_numpy(np.load("{saved['pixels']}"))
        with torch.no_grad():
            o = model(x)
            h = base(x).last_hidden_state
        np.savez("{out}", logits=o.logits, privacy_logits=o.privacy_logits, keep_mask=o.keep_mask,
                 anonymized=o.anonymized_pixel_values, hidden=h)
        """,
        hub.environment(saved["root"] / "hf_home_package"),
        cwd=saved["root"],
    )
    assert_same_outputs(saved, out)
    assert hub.unhandled == []


def test_from_pretrained_with_remote_code_where_the_package_is_missing(hub, saved):
    """Model, processors and both pipelines load from the Hub with transformers alone (`trust_remote_code`), and give
    what the package gives."""
    out = saved["root"] / "remote_code.npz"
    pipelines_out, labels_out = saved["root"] / "remote_pipelines.npz", saved["root"] / "remote_labels.json"
    result = run_python(
        f"""
        import sys
        # the editable install puts the source folder on sys.path even in isolated mode: take it off
        sys.path[:] = [p for p in sys.path if not p.startswith("{SRC}")]
        try:
            import transformers_vidanon
        except ModuleNotFoundError:
            print("package not importable")
        else:
            raise SystemExit("transformers_vidanon is importable: the test would prove nothing")
        import numpy as np, torch
        from transformers import AutoModel, AutoModelForVideoClassification
        model = AutoModelForVideoClassification.from_pretrained("{REPO_ID}", trust_remote_code=True).eval()
        base = AutoModel.from_pretrained("{REPO_ID}", trust_remote_code=True).eval()
        print(type(model).__module__)
        assert type(model).__module__.startswith("transformers_modules."), type(model).__module__
        x = torch.from_numpy(np.load("{saved['pixels']}"))
        with torch.no_grad():
            o = model(x)
            h = base(x).last_hidden_state
        np.savez("{out}", logits=o.logits, privacy_logits=o.privacy_logits, keep_mask=o.keep_mask,
                 anonymized=o.anonymized_pixel_values, hidden=h)

        # the processors and both pipelines, from the repository's own code
        import json
        from transformers import AutoImageProcessor, pipeline
        from transformers.models.auto.video_processing_auto import AutoVideoProcessor
        image_processor = AutoImageProcessor.from_pretrained("{REPO_ID}", trust_remote_code=True)
        video_processor = AutoVideoProcessor.from_pretrained("{REPO_ID}", trust_remote_code=True)
        assert type(image_processor).__name__ == "VidAnonImageProcessor", type(image_processor)
        assert type(video_processor).__name__ == "VidAnonVideoProcessor", type(video_processor)
        anonymizer = pipeline("video-anonymization", model="{REPO_ID}", trust_remote_code=True)
        assert type(anonymizer).__module__.startswith("transformers_modules."), type(anonymizer).__module__
        result = anonymizer(np.load("{saved['frames']}"))
        classifier = pipeline("video-classification", model="{REPO_ID}", trust_remote_code=True)
        assert type(classifier.video_processor).__name__ == "VidAnonVideoProcessor"
        labels = classifier("{saved['video']}")
        np.savez("{pipelines_out}", frames=result["frames"], keep_mask=result["keep_mask"])
        with open("{labels_out}", "w") as handle:
            json.dump(labels, handle)
        # pushing a copy back: transformers' own push_to_hub, with the same files
        model.push_to_hub("user/remote-copy")
        assert "transformers_vidanon" not in sys.modules
        """,
        hub.environment(saved["root"] / "hf_home_remote"),
        cwd=saved["root"],
        isolated=True,
    )
    assert "package not importable" in result.stdout
    assert_same_outputs(saved, out)
    remote = np.load(pipelines_out)
    np.testing.assert_array_equal(remote["frames"], saved["anonymized"]["frames"])
    np.testing.assert_array_equal(remote["keep_mask"], saved["anonymized"]["keep_mask"])
    labels = json.loads(labels_out.read_text())
    assert [p["label"] for p in labels] == [p["label"] for p in saved["classified"]]
    assert [p["score"] for p in labels] == pytest.approx([p["score"] for p in saved["classified"]], abs=1e-6)
    # the video processor serves the pipeline: no "image_processor ... is deprecated" warning
    assert "deprecated" not in result.stderr, result.stderr[-2000:]
    # without the package the push is transformers' own: the same self-contained files, transformers' card
    copied, original = hub.files("user/remote-copy"), hub.files(REPO_ID)
    for name in ("model.safetensors", "modeling_vidanon.py", "pruning.py", "pipelines.py", "processing_vidanon.py",
                 "video_processing_vidanon.py", "preprocessor_config.json", "video_preprocessor_config.json"):
        assert copied[name] == original[name], name
    assert json.loads(copied["config.json"])["auto_map"] == json.loads(original["config.json"])["auto_map"]
    assert "transformers" in copied["README.md"].decode() and "no guarantee of anonymity" not in copied["README.md"].decode()
    assert hub.unhandled == []


def test_plain_push_to_hub_round_trip(fake_hub, saved, tmp_path):
    """The model's own `push_to_hub` pushes a self-contained checkpoint: weights, code, both processors, a card."""
    out = tmp_path / "plain.npz"
    run_python(
        f"""
        import numpy as np, torch
        from transformers_vidanon import VidAnonForPrivacyPreservingActionRecognition
        model = VidAnonForPrivacyPreservingActionRecognition.from_pretrained("{saved['folder']}")
        model.push_to_hub("user/plain")
        again = VidAnonForPrivacyPreservingActionRecognition.from_pretrained("user/plain").eval()
        x = torch.from_numpy(np.load("{saved['pixels']}"))
        with torch.no_grad():
            o = again(x)
            h = again.vidanon(x).last_hidden_state
        np.savez("{out}", logits=o.logits, privacy_logits=o.privacy_logits, keep_mask=o.keep_mask,
                 anonymized=o.anonymized_pixel_values, hidden=h)
        """,
        fake_hub.environment(tmp_path / "hf_home"),
        cwd=tmp_path,
    )
    files = fake_hub.files("user/plain")
    assert {"config.json", "model.safetensors", "preprocessor_config.json", "video_preprocessor_config.json",
            "pipelines.py", "processing_vidanon.py", "video_processing_vidanon.py", "README.md"} <= set(files)
    assert len(fake_hub.repo("user/plain").commits) == 2  # creation, then one commit with everything
    card = files["README.md"].decode()
    assert "Not evaluated" in card and "model-index" not in card
    assert_same_outputs(saved, out)
    assert fake_hub.unhandled == []


def test_every_push_follows_one_card_policy(fake_hub, saved, tmp_path):
    """The card travels with the weights: each push replaces the card on the Hub (the model's `push_to_hub`, a saved
    folder through `save_pretrained(push_to_hub=True)` and the trainer's `upload_model_folder`), unless
    `keep_hub_card=True`, which keeps it and still uploads everything else."""
    log = tmp_path / "cards.json"
    run_python(
        f"""
        import json, shutil
        from pathlib import Path
        import torch
        from huggingface_hub import hf_hub_download
        from transformers_vidanon import VidAnonForPrivacyPreservingActionRecognition
        from transformers_vidanon.reporting.hub import push_model_to_hub, upload_model_folder

        def card():
            return Path(hf_hub_download("user/policy", "README.md", force_download=True)).read_text()

        model = VidAnonForPrivacyPreservingActionRecognition.from_pretrained("{saved['folder']}")
        cards = {{}}
        push_model_to_hub(model, "user/policy", results=json.load(open("{saved['root'] / 'results.json'}")))
        cards["results"] = card()
        with torch.no_grad():
            model.classifier.bias.add_(1.0)  # other weights, pushed keeping the Hub's card
        model.push_to_hub("user/policy", keep_hub_card=True)
        cards["kept"] = card()
        model.push_to_hub("user/policy")
        cards["replaced"] = card()
        folder = Path("folder")
        shutil.copytree("{saved['folder']}", folder)
        (folder / "README.md").write_text("a hand-written card")
        model.save_pretrained(folder, push_to_hub=True, repo_id="user/policy")
        cards["saved_folder"] = card()
        (folder / "README.md").write_text("the trainer's card")
        upload_model_folder(folder, "user/policy", keep_hub_card=True)
        cards["folder_kept"] = card()
        push_model_to_hub(model, "bare-name")  # a name without owner is the token's user's, and the card says so
        cards["bare"] = Path(hf_hub_download("user/bare-name", "README.md")).read_text()
        json.dump(cards, open("{log}", "w"))
        """,
        fake_hub.environment(tmp_path / "hf_home"),
        cwd=tmp_path,
    )
    cards = json.loads(log.read_text())
    assert "model-index" in cards["results"] and "Not evaluated" not in cards["results"]
    assert cards["kept"] == cards["results"]
    assert "Not evaluated" in cards["replaced"] and "model-index" not in cards["replaced"]
    assert cards["saved_folder"] == "a hand-written card"  # the folder's own card, kept locally, replaced the Hub's
    assert cards["folder_kept"] == "a hand-written card"
    assert 'load_anonymizer("user/bare-name")' in cards["bare"]
    repo = fake_hub.repo("user/policy")
    assert len(repo.commits) == 1 + 5  # the creation, then one commit per push
    weights = [snapshot["model.safetensors"] for snapshot in (repo.snapshots[c] for c in repo.commits[1:3])]
    assert weights[0] != weights[1]  # the push that kept the card still uploaded the new weights
    assert fake_hub.unhandled == []


def test_a_folder_without_config_is_refused_by_name(tmp_path):
    from transformers_vidanon.reporting.hub import upload_model_folder

    with pytest.raises(FileNotFoundError, match="'.*empty' is not a saved model folder: it has no config.json"):
        upload_model_folder(tmp_path / "empty", "user/none")


def test_fake_hub_answers_unknown_routes_with_404_and_records_them(fake_hub):
    import urllib.error
    import urllib.request

    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # never through a proxy
    with pytest.raises(urllib.error.HTTPError) as error:
        opener.open(f"{fake_hub.endpoint}/api/spaces-nothing-here")
    assert error.value.code == 404
    assert fake_hub.unhandled == [("GET", "/api/spaces-nothing-here")]
    with pytest.raises(urllib.error.HTTPError) as error:
        opener.open(f"{fake_hub.endpoint}/user/none/resolve/main/config.json")
    assert error.value.headers["X-Error-Code"] == "RepoNotFound"
