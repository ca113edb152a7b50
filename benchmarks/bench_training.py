"""Training throughput (clips/s) and peak memory of the synthetic default config on this machine.

Runs `training/train.py --config training/configs/synthetic.yaml` for a fixed number of steps in a fresh process
per objective (grl, alternating), reads the trainer's own clips/s from metrics.jsonl (the first logging window,
which holds start-up work, is left out) and the training process's own peak resident memory (getrusage at its exit).

    python benchmarks/bench_training.py [--steps 40] [--output benchmarks/results/training.json]

GPU figures (ViT-B at 16 x 224 x 224 in bf16) need a GPU; on a machine without one they are reported as not
measured.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def run_once(objective: str, steps: int, synth_dir: Path, work: Path) -> dict:
    output = work / f"run-{objective}"
    # the training script runs inside a wrapper that reports its own peak resident memory when it ends
    wrapper = ("import resource, runpy, sys; sys.argv = sys.argv[1:]; "
               "code = 0\ntry:\n    runpy.run_path(sys.argv[0], run_name='__main__')\n"
               "except SystemExit as e:\n    code = e.code or 0\n"
               "print('PEAK_RSS_KIB', resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, file=sys.stderr)\n"
               "sys.exit(code)")
    command = [
        sys.executable, "-c", wrapper, str(REPO / "training" / "train.py"), "--config", str(REPO / "training" / "configs" / "synthetic.yaml"),
        "--data_dir", str(synth_dir), "--output_dir", str(output), "--objective", objective,
        "--max_steps", str(steps), "--logging_steps", "5", "--eval_every_epochs", "0", "--save_final_model", "false",
        "--checkpointing_steps", str(10 * steps), "--disable_tqdm", "true",
    ]
    start = time.perf_counter()
    result = subprocess.run(command, cwd=REPO, capture_output=True, text=True)
    wall = time.perf_counter() - start
    if result.returncode != 0:
        raise RuntimeError(result.stderr[-3000:])
    peak_kib = int(result.stderr.rsplit("PEAK_RSS_KIB", 1)[1].split()[0])
    records = [json.loads(line) for line in (output / "metrics.jsonl").read_text().splitlines()]
    rates = [r["clips_per_s"] for r in records if "clips_per_s" in r][1:]
    return {
        "objective": objective,
        "steps": steps,
        "clips_per_s_median": statistics.median(rates),
        "clips_per_s_windows": rates,
        "wall_s": wall,
        "peak_rss_mib": peak_kib / 1024,
    }


def loader_rate(synth_dir: Path, clips: int = 400) -> float:
    """Clips/s the synthetic config's training loader supplies alone (decode, sample, resize; one process)."""
    from torch.utils.data import DataLoader

    from transformers_vidanon.data import collate_clips
    from transformers_vidanon.data.builders import build_training_data
    from transformers_vidanon.training.arguments import parse_arguments
    from transformers_vidanon.workflows.benchmark import packaged_config

    model_args, data_args, _ = parse_arguments(["--config", str(packaged_config("synthetic")), "--data_dir", str(synth_dir)])
    data = build_training_data(data_args, model_args.image_size, model_args.num_frames)
    loader = DataLoader(data.train, batch_size=16, shuffle=True, collate_fn=collate_clips)
    seen, start = 0, time.perf_counter()
    while seen < clips:
        for batch in loader:
            seen += batch["pixel_values"].shape[0]
            if seen >= clips:
                break
    return seen / (time.perf_counter() - start)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=40)
    parser.add_argument("--objectives", nargs="+", default=["grl", "alternating"])
    parser.add_argument("--output", default=str(REPO / "benchmarks" / "results" / "training.json"))
    args = parser.parse_args()
    sys.path.insert(0, str(REPO / "src"))
    from transformers_vidanon.data.synth import generate_synth_privacy

    load_start = os.getloadavg()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        generate_synth_privacy(work / "synth", 120, 0, progress=False)
        runs = [run_once(objective, args.steps, work / "synth", work) for objective in args.objectives]
        supplied = loader_rate(work / "synth")
    import torch

    report = {
        "machine": {"cpu": _cpu_name(), "cores": os.cpu_count(), "torch": torch.__version__,
                    "torch_threads": torch.get_num_threads(), "python": platform.python_version(),
                    "load_average_start": load_start, "load_average_end": os.getloadavg()},
        "config": "training/configs/synthetic.yaml (64x64, 16 frames, hidden 128, 6 layers, batch 8, fp32)",
        "runs": runs,
        "loader_clips_per_s": supplied,
        "loader_note": "the trainer decodes in its own process (num_workers 0): its clips/s include decoding; the "
                       "model alone runs at 1 / (1 / trainer - 1 / loader) clips/s",
        "gpu": "not measured: no GPU on this machine (ViT-B 16x224x224 bf16 clips/s, memory and MFU need one)",
    }
    Path(args.output).write_text(json.dumps(report, indent=2))
    lines = ["| objective | clips/s (median of windows) | peak RSS (MiB) | wall (s) for steps |", "|---|---|---|---|"]
    for run in runs:
        lines.append(f"| {run['objective']} | {run['clips_per_s_median']:.1f} | {run['peak_rss_mib']:.0f} "
                     f"| {run['wall_s']:.0f} for {run['steps']} |")
    for run in runs:
        model_only = 1.0 / max(1e-9, 1.0 / run["clips_per_s_median"] - 1.0 / supplied)
        run["model_only_clips_per_s"] = model_only
        lines.append("")
        lines.append(f"{run['objective']}: loader alone {supplied:.1f} clips/s, model step alone about {model_only:.1f} "
                     f"clips/s: the loader is {supplied / model_only:.2f}x what training consumes")
    Path(args.output).write_text(json.dumps(report, indent=2))
    Path(args.output).with_suffix(".md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    return 0


def _cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor()


if __name__ == "__main__":
    sys.exit(main())
