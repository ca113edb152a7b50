"""Tests of the results structure and of the table, JSON and figure writers."""

from __future__ import annotations

import json

import numpy as np
import pytest
from matplotlib.image import imread

from transformers_vidanon.reporting import (
    BenchmarkResults,
    ChanceLevels,
    MethodResult,
    calibration,
    load_results_json,
    markdown_table,
    pareto_front,
    per_attribute_table,
    plot_figure2,
    plot_tradeoff,
    write_results_json,
)


def _results(raw_top1=(0.80, 0.84), raw_cmap=(0.76, 0.78)) -> BenchmarkResults:
    return BenchmarkResults(
        methods=[
            MethodResult(
                "Raw",
                action_top1=list(raw_top1),
                frame_cmap=list(raw_cmap),
                frame_f1=[0.70, 0.66],
                video_cmap=[0.80, 0.82],
                video_f1=[0.71, 0.73],
                chance_cmap=[0.58, 0.58],
                best_single_frame_cmap=[0.74, 0.75],
            ),
            MethodResult("Down-4x", action_top1=[0.40, 0.38], frame_cmap=[0.62, 0.64], frame_f1=[0.50, 0.52]),
            MethodResult(
                "VidAnon",
                action_top1=[0.78],
                frame_cmap=[0.60],
                frame_f1=[0.53],
                video_cmap=[0.61],
                video_f1=[0.55],
                flicker_rate=[0.125],
                extra={"lambda_priv": 0.5},
            ),
        ],
        chance=ChanceLevels(action_top1=0.25, cmap=0.582, f1=0.691),
        dataset="SynthPrivacy",
        metadata={"seeds": [0, 1]},
    )


def _row(table: str, name: str) -> list[str]:
    for line in table.splitlines():
        if line.startswith(f"| {name} |"):
            return [cell.strip() for cell in line.strip("|").split("|")]
    raise AssertionError(f"no row {name!r} in\n{table}")


def test_method_result_mean_std_and_round_trip(tmp_path):
    method = MethodResult("Raw", action_top1=[0.8, 0.9, 1.0])
    assert method.mean("action_top1") == pytest.approx(0.9)
    assert method.std("action_top1") == pytest.approx(0.1)  # sample std
    assert MethodResult("x", action_top1=[0.5]).std("action_top1") == 0.0
    assert np.isnan(method.mean("video_cmap")) and not method.has("video_cmap")
    with pytest.raises(ValueError, match="unknown_metric"):
        method.mean("unknown_metric")

    results = _results()
    path = write_results_json(results, tmp_path / "out" / "results.json")
    data = json.loads(path.read_text())
    assert [entry["name"] for entry in data["methods"]] == ["Raw", "Down-4x", "VidAnon"]
    assert data["methods"][0]["summary"]["action_top1"]["mean"] == pytest.approx(0.82)
    assert data["methods"][0]["summary"]["action_top1"]["num_seeds"] == 2
    assert "video_cmap" not in data["methods"][1]["summary"]
    loaded = load_results_json(path)
    assert loaded == results
    with pytest.raises(ValueError, match="unique"):
        BenchmarkResults([MethodResult("A"), MethodResult("A")], ChanceLevels(0.1, 0.5))


def test_markdown_table_rows_numbers_and_chance():
    table = markdown_table(_results())
    header = _row(table, "Method")
    assert header[:6] == [
        "Method",
        "Action top-1 (%) ↑",
        "Frame attacker cMAP (%) ↓",
        "Frame attacker F1 ↓",
        "Video attacker cMAP (%) ↓",
        "Video attacker F1 ↓",
    ]
    assert header[6:] == ["Best single-frame cMAP (%) ↓", "Mask flicker (%)", "Seeds"]  # every row its seed count
    raw = _row(table, "Raw")
    assert raw[1] == "82.00 ± 2.83"  # mean 0.82, sample std of (0.80, 0.84) = 0.0283
    assert raw[2] == "77.00 ± 1.41"
    assert raw[3] == "0.680 ± 0.028"
    assert raw[4] == "81.00 ± 1.41"
    assert raw[5] == "0.720 ± 0.014"
    assert raw[6] == "74.50 ± 0.71"
    assert raw[7] == "-"
    down = _row(table, "Down-4x")
    assert down[1] == "39.00 ± 1.41" and down[4] == "-" and down[5] == "-"
    assert raw[8] == "2" and down[8] == "2"
    vidanon = _row(table, "VidAnon")
    assert vidanon[1] == "78.00" and vidanon[2] == "60.00" and vidanon[3] == "0.530" and vidanon[7] == "12.50"
    assert vidanon[8] == "1"
    chance = _row(table, "Chance")
    assert chance[1:6] == ["25.00", "58.20", "0.691", "58.20", "0.691"]
    lines = table.splitlines()
    assert lines.index(next(line for line in lines if line.startswith("| Chance |"))) > lines.index(
        next(line for line in lines if line.startswith("| VidAnon |"))
    )
    assert table.splitlines()[0] == "Results on SynthPrivacy (mean ± std over 1 to 2 seeds of fresh models)."
    assert "the benchmark is informative" in table


def test_calibration_flags_an_uninformative_benchmark():
    informative = calibration(_results())
    assert informative.informative
    assert "+57.0 points" in informative.message  # 82.0 - 25.0
    # an attacker no better than the blind one on raw video: the table must say so
    weak = _results(raw_cmap=(0.59, 0.60))
    check = calibration(weak)
    assert not check.informative
    assert "frame-attacker cMAP" in check.message and "NOT informative" in check.message
    assert "NOT informative" in markdown_table(weak)
    # an action model at chance on raw video
    assert not calibration(_results(raw_top1=(0.26, 0.27))).informative
    # no Raw row: cannot calibrate
    results = _results()
    results.methods = results.methods[1:]
    assert not calibration(results).informative and "no 'Raw' row" in calibration(results).message


def test_pareto_front():
    points = [(0.70, 0.80), (0.60, 0.70), (0.65, 0.60), (0.55, 0.50), (0.75, 0.79)]
    assert pareto_front(points) == [3, 1, 0]


def _image_checks(path, min_std=0.05):
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    image = imread(path)
    assert image.ndim == 3 and image.shape[0] > 100 and image.shape[1] > 100
    assert float(image[..., :3].std()) > min_std  # not a blank canvas
    return image


def test_plot_tradeoff_writes_a_png(tmp_path):
    sweep = [
        MethodResult(f"λ={lam}", action_top1=[top1, top1 + 0.01], frame_cmap=[cmap, cmap + 0.01])
        for lam, top1, cmap in ((0.25, 0.81, 0.70), (0.5, 0.78, 0.62), (1.0, 0.70, 0.60), (2.0, 0.50, 0.61))
    ]
    path = plot_tradeoff(_results(), sweep, tmp_path / "figs" / "tradeoff.png")
    image = _image_checks(path, min_std=0.02)
    assert image.shape[1] == 700 and image.shape[0] == 500
    plot_tradeoff(_results(), [], tmp_path / "video.png", attacker="video")
    _image_checks(tmp_path / "video.png", min_std=0.02)
    with pytest.raises(ValueError, match="attacker"):
        plot_tradeoff(_results(), sweep, tmp_path / "x.png", attacker="pixel")


def test_plot_figure2_writes_raw_above_anonymized(tmp_path):
    rng = np.random.default_rng(0)
    raw = rng.random((2, 8, 3, 32, 32)).astype(np.float32)
    anonymized = raw.copy()
    anonymized[:, :, :, 8:24, 8:24] = 0.0
    path = plot_figure2(raw, anonymized, tmp_path / "figure2.png", frames=4, clip_names=["a", "b"])
    image = _image_checks(path)
    # each clip is a raw row above an anonymized row: only the anonymized rows hold the black squares,
    # i.e. many image rows that are mostly black (axis spines and labels make only a few such rows)
    dark = image[..., :3].mean(axis=-1) < 0.02
    mostly_dark = dark.mean(axis=1) > 0.25
    quarters = [int(band.sum()) for band in np.array_split(mostly_dark, 4)]
    assert quarters[1] > 40 and quarters[3] > 40, quarters  # anonymized rows of clips a and b
    assert quarters[0] < 10 and quarters[2] < 10, quarters  # raw rows
    with pytest.raises(ValueError, match="same shape"):
        plot_figure2(raw, anonymized[:1], tmp_path / "bad.png")
    with pytest.raises(ValueError, match="frames"):
        plot_figure2(raw, anonymized, tmp_path / "bad.png", frames=9)


def _attacker_results() -> BenchmarkResults:
    raw = MethodResult(
        "Raw", action_top1=[0.9, 0.92], frame_cmap=[0.95, 0.97], frame_f1=[0.9, 0.9], video_cmap=[0.96, 0.94],
        video_f1=[0.9, 0.9], finetuned_cmap=[0.96, 0.94], finetuned_f1=[0.9, 0.9],
        per_attribute={"frame": {"ap": {"face": [0.99, 0.97], "gender": [0.91, 0.97]}, "f1": {}},
                       "video": {"ap": {"face": [0.95, 0.95], "gender": [0.96, 0.98]}, "f1": {}}},
        extra={"cached": "abcdef0123456789"},
    )
    anonymized = MethodResult(
        "Blur", action_top1=[0.5, 0.52], frame_cmap=[0.60, 0.70], frame_f1=[0.6, 0.6], video_cmap=[0.65, 0.62],
        video_f1=[0.6, 0.6], finetuned_cmap=[0.72, 0.61], finetuned_f1=[0.6, 0.6],
        per_attribute={"finetuned": {"ap": {"face": [0.7, 0.8], "gender": [0.5, 0.5]}, "f1": {}}},
    )
    for method in (raw, anonymized):
        method.set_worst_case()
    return BenchmarkResults([raw, anonymized], ChanceLevels(0.2, 0.5, 0.66, per_attribute={"face": 0.5, "gender": 0.4}),
                            dataset="SynthPrivacy", split="test")


def test_worst_case_is_the_strongest_attacker_per_seed():
    results = _attacker_results()
    assert results.method("Raw").worst_cmap == [0.96, 0.97]
    assert results.method("Blur").worst_cmap == [0.72, 0.70]  # fine-tuned on seed 0, frame on seed 1
    uneven = MethodResult("x", frame_cmap=[0.5, 0.6], video_cmap=[0.7])
    with pytest.raises(ValueError, match="numbers of seeds"):
        uneven.set_worst_case()


def test_table_shows_the_headline_worst_case_the_attackers_and_a_cached_row():
    table = markdown_table(_attacker_results())
    header = _row(table, "Method")
    assert header[1:3] == ["Action top-1 (%) ↑", "**Worst-case cMAP (%)** ↓"]
    assert "Fine-tuned attacker cMAP (%) ↓" in header and "Fine-tuned attacker F1 ↓" in header
    assert _row(table, "Blur")[2] == "71.00 ± 1.41"
    assert _row(table, "Raw †")[2] == "96.50 ± 0.71"
    assert "reused from an earlier run" in table and "`abcdef012345`" in table
    assert table.splitlines()[0].startswith("Results on SynthPrivacy, test split (")
    assert "fine-tuned-attacker cMAP" in calibration(_attacker_results()).message


def test_per_attribute_table_names_the_strongest_attacker_and_chance():
    table = per_attribute_table(_attacker_results())
    header = _row(table, "Method")
    assert header[1:] == ["face ↓", "gender ↓"]
    assert _row(table, "Raw")[1:] == ["98.0 (f)", "97.0 (v)"]  # frame leaks the face most, video the gender
    assert _row(table, "Blur")[1:] == ["75.0 (ft)", "50.0 (ft)"]
    assert _row(table, "Chance")[1:] == ["50.00", "40.00"]
    assert "Per-attribute leakage" in markdown_table(_attacker_results())
    assert per_attribute_table(_results()) == ""


def test_results_file_carries_its_provenance(tmp_path):
    from transformers_vidanon.reporting.provenance import (
        NOT_A_GIT_CHECKOUT,
        PROVENANCE_KEYS,
        collect_provenance,
        git_commit,
    )

    path = write_results_json(_attacker_results(), tmp_path / "results.json")
    saved = json.loads(path.read_text())
    record = saved["metadata"]["provenance"]
    assert set(PROVENANCE_KEYS) <= set(record)
    assert record["git_commit"] == NOT_A_GIT_CHECKOUT or len(record["git_commit"]) == 40
    assert record["cpu_count"] >= 1 and record["torch_version"] and record["transformers_version"]
    assert saved["split"] == "test"
    assert load_results_json(path).method("Blur").per_attribute["finetuned"]["ap"]["face"] == [0.7, 0.8]
    # a folder outside any checkout says so; a given configuration is stored in full
    assert git_commit(tmp_path) == (NOT_A_GIT_CHECKOUT, None)
    assert collect_provenance(config={"seeds": (0, 1)})["config"] == {"seeds": [0, 1]}
    assert "Provenance:" in markdown_table(load_results_json(path))


def _strict_json(text: str):
    """JSON as a strict reader takes it: NaN and Infinity are errors."""

    def refuse(constant: str):
        raise AssertionError(f"the file holds {constant}, which is not JSON")

    return json.loads(text, parse_constant=refuse)


def test_a_results_file_with_a_sweep_round_trips_and_writes_nan_as_null(tmp_path):
    results = _results()
    results.sweep = [
        MethodResult("window keep=0.75 λ=0", action_top1=[0.7], frame_cmap=[float("nan")], flicker_rate=[0.1],
                     extra={"keep_rate": 0.75, "lambda_priv": 0.0, "seconds": np.float64(1.5), "inf": float("inf")}),
        MethodResult("random keep=0.75", action_top1=[0.5], frame_cmap=[0.6],
                     extra={"keep_rate": 0.75, "random_control": True}),
    ]
    results.chance.per_attribute = {"face": float("nan"), "gender": 0.5}
    path = write_results_json(results, tmp_path / "results.json")
    data = _strict_json(path.read_text())
    assert [point["name"] for point in data["sweep"]] == ["window keep=0.75 λ=0", "random keep=0.75"]
    first = data["sweep"][0]
    assert first["frame_cmap"] == [None] and first["summary"]["frame_cmap"]["mean"] is None
    assert first["extra"] == {"keep_rate": 0.75, "lambda_priv": 0.0, "seconds": 1.5, "inf": None}
    assert data["chance"]["per_attribute"] == {"face": None, "gender": 0.5}

    loaded = load_results_json(path)
    assert loaded.methods == results.methods and loaded.sweep[1] == results.sweep[1]
    point = loaded.sweep[0]
    assert np.isnan(point.frame_cmap[0]) and np.isnan(point.mean("frame_cmap"))  # null is read back as NaN
    assert point.action_top1 == [0.7] and point.flicker_rate == [0.1] and point.extra["seconds"] == 1.5
    assert np.isnan(loaded.chance.per_attribute["face"]) and loaded.chance.per_attribute["gender"] == 0.5
    # written again, the file says the same: one writer, nothing lost or added on the way
    assert _strict_json(write_results_json(loaded, tmp_path / "again.json").read_text()) == data
    # a results file of an evaluation has an empty sweep, and files written before the sweep was a field still load
    del data["sweep"]
    (tmp_path / "old.json").write_text(json.dumps(data))
    assert load_results_json(tmp_path / "old.json").sweep == []
    with pytest.raises(ValueError, match="Sweep point names must be unique"):
        BenchmarkResults([], ChanceLevels(0.1, 0.5), sweep=[MethodResult("A"), MethodResult("A")])


def test_one_json_sanitiser_for_every_file():
    from dataclasses import dataclass
    from pathlib import Path

    import torch

    from transformers_vidanon.fileutils import jsonable

    @dataclass
    class Settings:
        keep_rate: tuple[float, ...] = (0.5, 0.75)
        folder: Path = Path("/data")

    value = {"settings": Settings(), 3: {"b", "a"}, "nan": float("nan"), "array": np.array([1.0, np.inf]),
             "scalar": np.int64(7), "flag": np.bool_(True), "tensor": torch.tensor([0.25])}
    assert jsonable(value) == {"settings": {"keep_rate": [0.5, 0.75], "folder": "/data"}, "3": ["a", "b"],
                               "nan": None, "array": [1.0, None], "scalar": 7, "flag": True, "tensor": [0.25]}
    assert json.dumps(jsonable(value), allow_nan=False)
