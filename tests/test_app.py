"""The anonymization demo (`vidanon app`): the model's pruning maps and the pipeline's `return_pruning_maps` it reads;
the page served on 127.0.0.1 and driven through `gradio_client` (an upload gives exactly what `vidanon anonymize`
writes for the same file; bad uploads come back as the page's message); the page in headless Chromium; and the
Space (`examples/space/`), which runs the same page on a Hub checkpoint's own code without the package.

The tests that need gradio skip where the `app` extra is not installed (`pip install -e ".[dev,app]"`), the
browser test where Chromium and its driver are not (`apt-get install chromium chromium-driver`).
"""

from __future__ import annotations

import ast
import importlib.util
import math
import os
import shutil
import socket
import subprocess
import sys
import textwrap
from pathlib import Path

import av
import numpy as np
import pytest
import torch

from transformers_vidanon import VidAnonConfig, VidAnonForPrivacyPreservingActionRecognition
from transformers_vidanon.inference.anonymize import anonymize_frames, load_anonymizer
from transformers_vidanon.metrics import mask_flicker_rate
from transformers_vidanon.pipelines import VIDEO_ANONYMIZATION_TASK
from transformers_vidanon.pruning import num_tubelets_selected, upsample_keep_mask
from transformers_vidanon.video import read_clip, video_info, write_video

torch.set_num_threads(1)

REPO = Path(__file__).resolve().parents[1]
SRC = REPO / "src"
SPACE = REPO / "examples" / "space"
REPO_ID = "user/tiny-vidanon-app"
KEEP_RATE, LAMBDA = 0.5, 1.5  # the settings the page is driven with (the model's own: 0.6 and 0.5)
MAX_PIXELS, MAX_SECONDS = 128 * 128, 5.0
CHROMIUM, CHROMEDRIVER = shutil.which("chromium"), shutil.which("chromedriver")

needs_gradio = pytest.mark.skipif(
    importlib.util.find_spec("gradio") is None or importlib.util.find_spec("gradio_client") is None,
    reason='gradio is not installed: pip install -e ".[dev,app]"',
)
needs_chromium = pytest.mark.skipif(
    CHROMIUM is None or CHROMEDRIVER is None or importlib.util.find_spec("selenium") is None,
    reason="headless Chromium is not installed: apt-get install chromium chromium-driver (and pip install selenium)",
)


def tiny_config(**overrides) -> VidAnonConfig:
    return VidAnonConfig(**{
        "image_size": 32, "patch_size": 8, "num_frames": 8, "tubelet_size": 2, "hidden_size": 32,
        "num_hidden_layers": 3, "num_attention_heads": 4, "intermediate_size": 64, "pruning_layers": [0, 1],
        "keep_rate": 0.6, "lambda_priv": 0.5, "num_labels": 6, **overrides,
    })


def synth_frames(num_frames: int, size: int = 64, seed: int = 3) -> np.ndarray:
    from transformers_vidanon.data.synth import render_synth_video

    privacy = {"skin_color": 1, "face": 1, "gender": 0, "nudity": 0, "relationship": 1}
    return render_synth_video("wave", privacy, seed, num_frames=num_frames, image_size=size).frames


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def all_frames(path: str | Path) -> np.ndarray:
    return read_clip(path, np.arange(video_info(path).num_frames))


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory) -> Path:
    """A tiny randomly initialised model saved with `save_pretrained` (processors and code included)."""
    torch.manual_seed(0)
    folder = tmp_path_factory.mktemp("app") / "model"
    VidAnonForPrivacyPreservingActionRecognition(tiny_config()).eval().save_pretrained(folder)
    return folder


@pytest.fixture(scope="module")
def clip(checkpoint) -> Path:
    """A generated SynthPrivacy mp4 of 37 frames (the last clip partial) at 12 fps, cropped to 62 x 58 (not the
    model's square)."""
    return write_video(checkpoint.parent / "wave.mp4", synth_frames(37)[:, :58, :62], fps=12)


# ----------------------------------------------------------------------------------------------------------------------
# What the page reads: the model's pruning maps, through the pipeline
# ----------------------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("temporal_consistency", ["tubelet", "window", "tube"])
def test_pruning_maps_are_what_decided_the_mask(temporal_consistency):
    torch.manual_seed(0)
    config = tiny_config(temporal_consistency=temporal_consistency)
    model = VidAnonForPrivacyPreservingActionRecognition(config).eval()
    pixels = torch.rand(2, 8, 3, 32, 32, generator=torch.Generator().manual_seed(1))
    maps = model.pruning_maps(pixels)
    with torch.no_grad():
        outputs = model(pixels)
    assert torch.equal(maps.keep_mask, model.anonymize(pixels).keep_mask)
    assert len(maps.scores) == len(maps.action_attention) == len(maps.privacy_attention) == 2
    grid = (2, *config.tubelet_grid)
    for layer, (scores, a_act, a_priv) in enumerate(zip(maps.scores, maps.action_attention, maps.privacy_attention)):
        assert scores.shape == a_act.shape == a_priv.shape == grid
        present = torch.isfinite(scores)
        assert torch.equal(present, torch.isfinite(a_act)) and torch.equal(present, torch.isfinite(a_priv))
        # the layer's own scores, placed on the grid (ascending tubelet index, as `pruning_scores` lists them)
        assert torch.equal(scores[present], outputs.pruning_scores[layer].flatten())
        # each CLS row sums to 1 over the tubelets present at that layer
        torch.testing.assert_close(a_act.nan_to_num().flatten(1).sum(1), torch.ones(2))
        if temporal_consistency != "window":  # `window` selects on scores averaged over neighbouring slots
            torch.testing.assert_close(scores[present], (a_act - config.lambda_priv * a_priv)[present])
    # the first layer sees every tubelet; the last only those the first kept
    assert bool(torch.isfinite(maps.scores[0]).all())
    kept_by_the_first = num_tubelets_selected(config.num_tubelets, 0.6, temporal_consistency, config.tubelet_grid[0])
    assert int(torch.isfinite(maps.scores[1]).sum()) == 2 * kept_by_the_first
    # the hooks are gone: a plain forward pass registers nothing
    assert not any(module._forward_hooks for module in model.modules())


def test_pipeline_returns_the_maps_of_the_same_forward_pass(checkpoint):
    from transformers import pipeline

    anonymizer = pipeline(VIDEO_ANONYMIZATION_TASK, model=str(checkpoint))
    frames = synth_frames(19)
    plain = anonymizer(frames, keep_rate=KEEP_RATE, lambda_priv=LAMBDA)
    mapped = anonymizer(frames, keep_rate=KEEP_RATE, lambda_priv=LAMBDA, return_pruning_maps=True, clip_batch_size=2)
    assert "pruning_maps" not in plain
    np.testing.assert_array_equal(mapped["frames"], plain["frames"])
    np.testing.assert_array_equal(mapped["keep_mask"], plain["keep_mask"])
    assert [entry["layer"] for entry in mapped["pruning_maps"]] == [0, 1]
    # the model's own maps of the clips the pipeline made (three of 8 frames, the last padded; in other batches,
    # so equal up to float rounding)
    pixel_values = anonymizer.preprocess(frames)["pixel_values"]
    with anonymizer.model.pruning_overridden(keep_rate=KEEP_RATE, lambda_priv=LAMBDA):
        expected = anonymizer.model.pruning_maps(pixel_values)
    for number, entry in enumerate(mapped["pruning_maps"]):
        for name in ("action_attention", "privacy_attention", "scores"):
            assert entry[name].shape == plain["keep_mask"].shape == (3, 4, 4, 4)
            np.testing.assert_allclose(entry[name], getattr(expected, name)[number].numpy(), rtol=1e-5, atol=1e-7)
    assert np.isfinite(mapped["pruning_maps"][0]["scores"]).all()
    assert np.isfinite(mapped["pruning_maps"][1]["scores"]).sum() == 3 * math.ceil(KEEP_RATE * 64)
    assert anonymizer.model.config.keep_rate == 0.6 and anonymizer.model.config.lambda_priv == 0.5  # restored


# ----------------------------------------------------------------------------------------------------------------------
# The page through gradio_client
# ----------------------------------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def served(checkpoint):
    """The page of `vidanon app --model CHECKPOINT` on 127.0.0.1 (in this process), with small upload limits."""
    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
    from transformers_vidanon.app.demo import DemoLimits, build_demo
    from transformers_vidanon.app.package import load_pipeline, package_tools

    anonymizer = load_pipeline(checkpoint)
    demo = build_demo(anonymizer, package_tools(), DemoLimits(MAX_PIXELS, MAX_SECONDS), model_name="tiny")
    port = free_port()
    demo.queue().launch(server_name="127.0.0.1", server_port=port, prevent_thread_lock=True, quiet=True)
    try:
        yield {"url": f"http://127.0.0.1:{port}/", "anonymizer": anonymizer}
    finally:
        demo.close()


@pytest.fixture(scope="module")
def client(served):
    from gradio_client import Client

    return Client(served["url"], verbose=False)


def h264_yuv420p(path: str | Path) -> bool:
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        return stream.codec_context.name == "h264" and stream.codec_context.pix_fmt == "yuv420p"


@needs_gradio
def test_an_upload_gives_what_vidanon_anonymize_writes(served, client, checkpoint, clip, tmp_path):
    from gradio_client import handle_file

    raw, anonymized, strip, a_act, a_priv, score, kept, flicker, summary, arrays = client.predict(
        handle_file(str(clip)), KEEP_RATE, LAMBDA, api_name="/anonymize")
    cli_output = tmp_path / "cli.mp4"
    result = subprocess.run(
        [sys.executable, "-m", "transformers_vidanon.cli", "anonymize", str(clip), "--model", str(checkpoint),
         "--output", str(cli_output), "--keep-rate", str(KEEP_RATE), "--lambda-priv", str(LAMBDA), "--device", "cpu"],
        check=False, capture_output=True, text=True, timeout=300, env={**os.environ, "OMP_NUM_THREADS": "1"})
    assert result.returncode == 0, result.stderr[-3000:]

    # the same frames: the page's mp4 is the command's, to the byte
    page_frames, cli_frames = all_frames(anonymized), all_frames(cli_output)
    assert page_frames.shape == (37, 58, 62, 3)
    np.testing.assert_array_equal(page_frames, cli_frames)
    assert Path(anonymized).read_bytes() == cli_output.read_bytes()
    assert h264_yuv420p(anonymized) and h264_yuv420p(raw)
    assert all_frames(raw).shape == page_frames.shape

    # the same mask: the one `anonymize_frames` (the command's module, in memory) gives, black in the command's output
    saved = np.load(arrays)
    model, processor = load_anonymizer(checkpoint)
    decoded = all_frames(clip)
    with model.pruning_overridden(keep_rate=KEEP_RATE, lambda_priv=LAMBDA):
        expected = anonymize_frames(model, decoded, processor)
    np.testing.assert_array_equal(saved["keep_mask"], expected.keep_mask)
    assert saved["keep_mask"].shape == (5, 4, 4, 4)
    pixel_mask = upsample_keep_mask(torch.from_numpy(saved["keep_mask"]).float(), (8, 58, 62))[:, :, 0].numpy() > 0.5
    pixel_mask = pixel_mask.reshape(-1, 58, 62)[:37]
    np.testing.assert_array_equal(pixel_mask, expected.pixel_mask)
    assert 0 < pixel_mask.mean() < 1
    assert cli_frames[~pixel_mask].mean() < 2.0  # pruned: black (up to the codec)
    assert np.abs(cli_frames[pixel_mask].astype(int) - decoded[pixel_mask]).mean() < 4.0  # kept: the input

    # the numbers shown: the kept share of pixels and the flicker of the mask over the video's 19 time slots
    assert kept == pytest.approx(float(pixel_mask.mean()), abs=5e-5)
    np.testing.assert_array_equal(saved["slot_mask"], saved["keep_mask"].reshape(-1, 4, 4)[:19])
    assert flicker == pytest.approx(mask_flicker_rate(saved["slot_mask"][None]), abs=5e-5)
    assert f"Kept {100 * pixel_mask.mean():.1f} % of the pixels" in summary
    assert "keep rate 0.5, λ = 1.5" in summary and "Layer 1 (the last pruning layer)" in summary

    # the heat maps are the last pruning layer's a_act, a_priv and s over the time slots
    present = np.isfinite(saved["scores"])
    assert saved["scores"].shape == (19, 4, 4)
    # present at the last layer: the half of each clip's 64 tubelets the first layer kept, the final mask among them
    assert (present[:16].reshape(4, 64).sum(axis=1) == 32).all() and present[saved["slot_mask"] > 0.5].all()
    np.testing.assert_allclose(saved["scores"][present],
                               (saved["action_attention"] - LAMBDA * saved["privacy_attention"])[present], atol=1e-6)
    from PIL import Image

    for image in (strip, a_act, a_priv, score):
        assert Image.open(image).format == "PNG" and min(Image.open(image).size) > 50

    # the sliders went through `pruning_overridden`: the model's own settings are back
    config = served["anonymizer"].model.config
    assert (config.keep_rate, config.lambda_priv) == (0.6, 0.5)


@needs_gradio
def test_a_generated_synthprivacy_clip_is_offered(client):
    from gradio_client import handle_file

    path = client.predict("jump", 4, api_name="/example")
    info = video_info(path)
    assert (info.num_frames, info.height, info.width, info.fps) == (48, 128, 128, 12.0)
    assert np.array_equal(all_frames(path), all_frames(client.predict("jump", 4, api_name="/example")))  # a seed
    *_, kept, flicker, summary, _ = client.predict(handle_file(path), KEEP_RATE, LAMBDA, api_name="/anonymize")
    assert 0 < kept < 1 and 0 <= flicker <= 1 and "48 frames at 12 fps, 128×128" in summary


def audio_only(path: Path) -> Path:
    with av.open(str(path), mode="w", format="mp4") as container:
        stream = container.add_stream("aac", rate=16000)
        samples = np.zeros((1, 16000), dtype=np.float32)
        frame = av.AudioFrame.from_ndarray(samples, format="fltp", layout="mono")
        frame.sample_rate = 16000
        for packet in stream.encode(frame):
            container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return path


@needs_gradio
@pytest.mark.parametrize("case", ["unreadable", "no video stream", "too many pixels", "too long"])
def test_a_bad_upload_comes_back_as_the_pages_message(client, tmp_path, case):
    from gradio_client import handle_file
    from gradio_client.exceptions import AppError

    if case == "unreadable":
        path, message = tmp_path / "broken.mp4", r"broken\.mp4 cannot be used: not a readable video"
        path.write_bytes(b"\x00\x00\x00\x18ftypmp42" + b"not a video" * 50)
    elif case == "no video stream":
        path, message = audio_only(tmp_path / "voice.mp4"), r"voice\.mp4 cannot be used: the file has no video stream"
    elif case == "too many pixels":
        path = write_video(tmp_path / "large.mp4", synth_frames(8, size=144), fps=12)
        message = r"large\.mp4 has frames of 144×144 = 20736 pixels; this demo takes at most 16384 pixels per frame"
    else:
        path = write_video(tmp_path / "long.mp4", synth_frames(8), fps=1)
        message = r"long\.mp4 is 8\.0 s long; this demo takes at most 5 s \(--max-seconds\)"
    with pytest.raises(AppError, match=message) as refused:
        client.predict(handle_file(str(path)), KEEP_RATE, LAMBDA, api_name="/anonymize")
    text = str(refused.value)
    assert "Traceback" not in text and "/tmp" not in text and str(tmp_path) not in text


# ----------------------------------------------------------------------------------------------------------------------
# The page in a real browser
# ----------------------------------------------------------------------------------------------------------------------
@needs_gradio
@needs_chromium
def test_the_page_in_headless_chromium(served, checkpoint, tmp_path):
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    upload = write_video(tmp_path / "synthprivacy_wave.mp4", synth_frames(24, size=128), fps=12)
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                     "--window-size=1400,1800"):
        options.add_argument(argument)
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    wait = WebDriverWait(driver, 120)

    def kept() -> str:
        return driver.find_element(By.CSS_SELECTOR, "#kept-fraction input").get_attribute("value")

    def summary() -> str:
        return driver.find_element(By.CSS_SELECTOR, "#summary").text

    try:
        driver.get(served["url"])
        file_input = wait.until(lambda d: d.find_element(By.CSS_SELECTOR, "#input-video input[type=file]"))
        file_input.send_keys(str(upload))  # an upload starts the anonymization
        wait.until(lambda d: "Kept" in summary())
        first = kept()
        assert "keep rate 0.6" in summary() and float(first) > 0
        video = driver.find_element(By.CSS_SELECTOR, "#anonymized-video video")
        assert video.get_attribute("src")
        assert wait.until(lambda d: d.execute_script("return arguments[0].readyState", video) >= 1)  # plays

        # drag the keep-rate slider to the right: its release runs the page again, and the kept fraction grows
        slider = driver.find_element(By.CSS_SELECTOR, "#keep-rate input[type=range]")
        ActionChains(driver).click_and_hold(slider).move_by_offset(slider.size["width"] // 4, 0).release().perform()
        wait.until(lambda d: kept() != first and "Kept" in summary())
        moved = float(driver.find_element(By.CSS_SELECTOR, "#keep-rate input[type=number]").get_attribute("value"))
        assert moved > 0.6 and f"keep rate {moved:g}" in summary()
        assert float(kept()) > float(first)

        driver.set_window_size(1400, driver.execute_script("return document.documentElement.scrollHeight") + 40)
        wait.until(lambda d: d.execute_script("return [...document.images].every(i => i.complete)"))
        shot = tmp_path / "app.png"
        driver.save_screenshot(str(shot))
        if os.environ.get("VIDANON_APP_SCREENSHOT"):  # how docs/figures/app.png is made
            shutil.copyfile(shot, os.environ["VIDANON_APP_SCREENSHOT"])
    finally:
        driver.quit()


# ----------------------------------------------------------------------------------------------------------------------
# The Space: the same page, a checkpoint's own code, no package
# ----------------------------------------------------------------------------------------------------------------------
def test_the_space_runs_a_copy_of_the_apps_page():
    assert (SPACE / "vidanon_demo.py").read_text() == (SRC / "transformers_vidanon" / "app" / "demo.py").read_text(), (
        "examples/space/vidanon_demo.py must be a copy of src/transformers_vidanon/app/demo.py: copy it again")
    for path in (SPACE / "app.py", SPACE / "vidanon_demo.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            names = [alias.name for alias in node.names] if isinstance(node, ast.Import) else (
                [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
            assert not any(name.split(".")[0] == "transformers_vidanon" for name in names), path
            assert not (isinstance(node, ast.ImportFrom) and node.level), path  # no relative import either
    requirements = [line.split("#")[0].strip() for line in (SPACE / "requirements.txt").read_text().splitlines()]
    requirements = [line for line in requirements if line]
    assert any(line.startswith("transformers") for line in requirements)
    assert not any("vidanon" in line for line in requirements)


def test_the_package_imports_no_gradio_and_the_command_is_registered():
    """`import transformers_vidanon` leaves gradio alone (and `vidanon app --help` imports no numpy, hence no gradio:
    `test_cli`)."""
    code = "import sys, transformers_vidanon; transformers_vidanon.register(); print('gradio' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300, check=True)
    assert result.stdout.strip() == "False"
    from transformers_vidanon.cli import build_command_parser

    args = build_command_parser("app").parse_args(["--model", "m", "--max_pixels", "0", "--max-seconds", "2.5"])
    assert (args.model, args.host, args.port, args.max_pixels, args.max_seconds) == ("m", "127.0.0.1", 7860, 0, 2.5)
    for bad in (["--port", "0"], ["--max-pixels", "-1"], ["--max-seconds", "inf"]):
        with pytest.raises(SystemExit):
            build_command_parser("app").parse_args(["--model", "m", *bad])


@needs_gradio
def test_the_space_gives_what_the_package_gives(client, checkpoint, clip, tmp_path):
    """`examples/space/app.py` on a (fake, local) Hub checkpoint with `trust_remote_code`, in a process where the
    package cannot be imported: the same frames and masks as the package's page."""
    from fakehub import FakeHub
    from gradio_client import Client, handle_file

    page = client.predict(handle_file(str(clip)), KEEP_RATE, LAMBDA, api_name="/anonymize")
    with FakeHub() as hub:
        env = {**hub.environment(tmp_path / "hf_home"), "OMP_NUM_THREADS": "1"}
        pushed = subprocess.run([sys.executable, str(REPO / "examples" / "push_to_hub.py"), str(checkpoint), REPO_ID],
                                env=env, capture_output=True, text=True, timeout=300, check=False)
        assert pushed.returncode == 0, pushed.stderr[-3000:]
        port = free_port()
        runner = textwrap.dedent(f"""
            import runpy, sys
            # the editable install puts the source folder on sys.path: take it off
            sys.path[:] = [p for p in sys.path if not p.startswith({str(SRC)!r})]
            try:
                import transformers_vidanon
            except ModuleNotFoundError:
                print("package not importable", flush=True)
            else:
                raise SystemExit("transformers_vidanon is importable: the test would prove nothing")
            sys.path.insert(0, {str(SPACE)!r})
            runpy.run_path({str(SPACE / "app.py")!r}, run_name="__main__")
            """)
        space_env = {**env, "VIDANON_MODEL": REPO_ID, "VIDANON_MAX_PIXELS": str(MAX_PIXELS),
                     "VIDANON_MAX_SECONDS": str(MAX_SECONDS), "GRADIO_SERVER_NAME": "127.0.0.1",
                     "GRADIO_SERVER_PORT": str(port), "GRADIO_ANALYTICS_ENABLED": "False", "PYTHONUNBUFFERED": "1"}
        space = subprocess.Popen([sys.executable, "-c", runner], env=space_env, cwd=tmp_path, text=True,
                                 stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        try:
            seen = []
            for line in space.stdout:  # until the server says it listens (or the process ends)
                seen.append(line)
                if "Running on local URL" in line:
                    break
            assert space.poll() is None, "".join(seen)[-4000:]
            assert "package not importable\n" in seen
            result = Client(f"http://127.0.0.1:{port}/", verbose=False).predict(
                handle_file(str(clip)), KEEP_RATE, LAMBDA, api_name="/anonymize")
        finally:
            space.terminate()
            space.wait(timeout=60)
    np.testing.assert_array_equal(all_frames(result[1]), all_frames(page[1]))
    space_arrays, page_arrays = np.load(result[9]), np.load(page[9])
    assert sorted(space_arrays.files) == sorted(page_arrays.files)
    for name in page_arrays.files:
        np.testing.assert_allclose(space_arrays[name], page_arrays[name], atol=1e-6)
    assert result[6] == page[6] and result[7] == page[7]  # kept fraction, flicker


@pytest.mark.skipif(importlib.util.find_spec("gradio") is not None, reason="gradio is installed")
def test_without_gradio_the_command_says_how_to_install_it(tmp_path):
    result = subprocess.run([sys.executable, "-m", "transformers_vidanon.cli", "app", "--model", str(tmp_path)],
                            capture_output=True, text=True, timeout=300, check=False)
    assert result.returncode == 2
    assert 'vidanon app needs gradio: pip install "transformers-vidanon[app]"' in result.stderr
    assert "Traceback" not in result.stderr
