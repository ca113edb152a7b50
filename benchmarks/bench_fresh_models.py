"""The fresh models of the leakage protocol on this machine: the training step before and after, and how many epochs
each recipe needs.

Part "steps": the per-step time of each fresh model (the 3D CNN action model, the frame-temporal video attacker, the
ResNet frame attacker), forward, backward, AdamW step and the making of the batch (clip draw, augmentation, uint8 to
float, normalisation) included, and the prediction time per test clip (5 clips per test video, as the protocol
predicts). Every measurement runs in a fresh process with one torch thread, training `--epochs` epochs without early
stopping on `--videos` SynthPrivacy training clips (16 x 64 x 64, the benchmark's); the variants alternate round by
round so that the load of a shared machine falls on all of them alike; medians over the rounds are reported, wall
and CPU time (the process's CPU time does not grow while it waits for a core another process holds).

- before: the code of `--baseline` (default: the commit before this recipe), extracted with `git archive` and put
  first on the path of the measuring process: fp32, and bf16 autocast (what the benchmark ran on this CPU);
- after: the current code, fp32 and bf16, and bf16 with `channels_last=False` (what channels-last adds);
- a torch.profiler table of the heaviest operators of one short bf16 training, before and after;
- torch.compile: a hand-written step loop of the after action model, eager against `torch.compile` (the compile
  time and the steady step time).

Part "convergence": each fresh model trained to the end (early stopping, the benchmark's data: every training video
of the split) on Raw and on blackened video, with the fresh-model recipe of `--baseline` (cosine over the epoch cap,
which then binds) and with the current defaults (the plateau schedule, the attackers at twice the rate, patience
with a minimum improvement, caps as safety bounds): the test score (action top-1, attacker cMAP), epochs run of the
cap, best epoch, what stopped it and the CPU seconds. One seed (`--seeds`), so read the scores against the seed spread of the benchmark
(about 0.5 to 1 cMAP point).

    python benchmarks/bench_fresh_models.py                               # both parts, results in benchmarks/results
    python benchmarks/bench_fresh_models.py --parts steps --rounds 5
    python benchmarks/bench_fresh_models.py --quick --output /tmp/fresh   # a smoke run of both parts, seconds

Writes `fresh_models.json` (every sample, the settings, the machine) and `fresh_models.md`.
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
BASELINE = "ecc14aa"  # the fresh-model code before the current recipe (uint8 batches, channels-last, schedule)
KINDS = ("action", "video", "frame")
STEP_VARIANTS = {  # name: (code, settings)
    "before fp32": ("before", {"bf16": False}),
    "before bf16": ("before", {"bf16": True}),
    "after fp32": ("after", {"bf16": False}),
    "after bf16": ("after", {"bf16": True}),
    "after bf16, no channels-last": ("after", {"bf16": True, "channels_last": False}),
}
OLD_RECIPE = {"schedule": "cosine", "cap_factor": 1.0, "min_lr_ratio": 0.0, "min_delta": 0.0, "min_delta_loss": 0.0,
              "action_watch_loss": True,
              "action_epochs": 16, "frame_epochs": 20, "video_epochs": 24, "finetune_epochs": 8,
              "action_lr": 2e-3, "frame_lr": 2e-3, "video_lr": 2e-3, "finetune_lr": 1e-3}
"""The fresh-model recipe of the baseline, spelled in the current code's settings: cosine over the epoch cap."""


# ----------------------------------------------------------------------------------------------------------------
# The measuring process (`--worker`): imports whatever `transformers_vidanon` is first on its path.
# ----------------------------------------------------------------------------------------------------------------
def worker(task: dict) -> dict:
    import torch

    torch.set_num_threads(1)
    from transformers_vidanon.evaluation import fresh_training as ft

    data = torch.load(task["data"], weights_only=False)
    clips, labels, privacy = data["train_clips"], data["train_labels"], data["train_privacy"]
    test = data["test_clips"]
    kind, epochs = task["kind"], task["epochs"]
    known = set(ft.FreshModelConfig.__dataclass_fields__)
    settings = {key: value for key, value in task["settings"].items() if key in known}
    config = ft.FreshModelConfig(early_stopping=False, progress=False, **settings)
    batch = config.batch_size * (4 if kind == "frame" else 1)
    steps_per_epoch = -(-len(clips) * (config.frames_per_clip if kind == "frame" else 1) // batch)
    steps = epochs * steps_per_epoch

    def train(epochs: int = epochs):
        if kind == "action":
            return ft.train_action_model(clips, labels, data["num_labels"], seed=0, epochs=epochs, config=config)
        if kind == "video":
            return ft.train_video_attacker(clips, privacy, seed=0, epochs=epochs, config=config)
        return ft.train_frame_attacker(clips, privacy, seed=0, epochs=epochs, config=config)

    def predict(model):
        if kind == "action":
            return ft.predict_action(model, test)
        if kind == "video":
            return ft.predict_video_attacker(model, test)
        return ft.predict_frame_attacker(model, test)

    if task.get("profile"):
        from torch.profiler import ProfilerActivity, profile

        with profile(activities=[ProfilerActivity.CPU]) as prof:
            train()
        events = sorted(prof.key_averages(), key=lambda e: e.self_cpu_time_total, reverse=True)
        total = sum(e.self_cpu_time_total for e in events) or 1.0
        return {"top_ops": [{"op": e.key, "share": e.self_cpu_time_total / total,
                             "ms_per_step": e.self_cpu_time_total / 1000 / steps} for e in events[:8]],
                "ms_per_step": total / 1000 / steps}
    # a step's own cost: a training of 1 + `epochs` epochs less one of 1 epoch (the model's construction, the
    # channel statistics and the clips' channels-last copy fall out), both after a first training of 1 epoch that
    # pays the one-time costs of the process (kernels and oneDNN primitives made on first use)
    train(1)
    wall, cpu = time.perf_counter(), time.process_time()
    train(1)
    once_wall, once_cpu = time.perf_counter() - wall, time.process_time() - cpu
    wall, cpu = time.perf_counter(), time.process_time()
    model = train(1 + epochs)
    train_wall, train_cpu = time.perf_counter() - wall - once_wall, time.process_time() - cpu - once_cpu
    wall, cpu = time.perf_counter(), time.process_time()
    predict(model)
    clips_predicted = test.shape[0] * test.shape[1]
    return {"step_ms_wall": 1000 * train_wall / steps, "step_ms_cpu": 1000 * train_cpu / steps,
            "predict_ms_per_clip_wall": 1000 * (time.perf_counter() - wall) / clips_predicted,
            "predict_ms_per_clip_cpu": 1000 * (time.process_time() - cpu) / clips_predicted, "steps": steps,
            "fixed_s_cpu": once_cpu - train_cpu / epochs,
            "channels_last": bool(getattr(model, "channels_last", False))}


def compile_worker(task: dict) -> dict:
    """A step loop of the current action model, eager or compiled (the same batches)."""
    import torch
    import torch.nn.functional as F

    torch.set_num_threads(1)
    from transformers_vidanon.evaluation import fresh_training as ft
    from transformers_vidanon.evaluation.fresh_training.clips import augment
    from transformers_vidanon.optimization import parameter_groups

    data = torch.load(task["data"], weights_only=False)
    clips, labels = data["train_clips"], data["train_labels"]
    config = ft.FreshModelConfig(action_epochs=1, early_stopping=False, progress=False, bf16=True)
    model = ft.train_action_model(clips[:16], labels[:16], data["num_labels"], seed=0, config=config)
    model.train()
    step_model = torch.compile(model) if task["compiled"] else model
    optimizer = torch.optim.AdamW(parameter_groups(model, 0.05), lr=1e-3)
    generator = torch.Generator().manual_seed(0)
    source = clips.movedim(-3, -1).contiguous()
    times = []
    for _ in range(task["steps"]):
        index = torch.randint(0, len(clips), (config.batch_size,), generator=generator)
        batch = augment(source[index], generator, config.max_shift, flip=False, channels_last=True)
        start = time.perf_counter()
        with torch.autocast("cpu", dtype=torch.bfloat16):
            logits = step_model(batch.movedim(-1, -3))
        loss = F.cross_entropy(logits.float(), labels[index])
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        times.append(time.perf_counter() - start)
    return {"first_step_s": times[0], "step_ms_median": 1000 * statistics.median(times[2:] or times)}


def convergence_worker(task: dict) -> dict:
    import torch

    torch.set_num_threads(1)
    from transformers_vidanon.evaluation import fresh_training as ft
    from transformers_vidanon.metrics import action_top1, privacy_cmap

    data = torch.load(task["data"], weights_only=False)
    rows = torch.load(task["rows"], weights_only=False)
    names = list(data["privacy_names"])
    train, test = rows[task["row"]]
    config = ft.FreshModelConfig(progress=False, **task["settings"])
    kind, seed = task["kind"], task["seed"]
    started = time.process_time()
    if kind == "action":
        model = ft.train_action_model(train, data["train_labels"], data["num_labels"], seed=seed, config=config)
        score = action_top1(ft.predict_action(model, test).numpy(), data["test_labels"].numpy())
    elif kind == "frame":
        model = ft.train_frame_attacker(train, data["train_privacy"], seed=seed, config=config)
        score = privacy_cmap(ft.predict_frame_attacker(model, test).logits.numpy(), data["test_privacy"].numpy(),
                             names).cmap
    else:
        base = None
        if kind == "finetuned":
            base = ft.train_video_attacker(rows["Raw"][0], data["train_privacy"], seed=seed, config=config)
        model = ft.train_video_attacker(train, data["train_privacy"], seed=seed, config=config, init_model=base)
        score = privacy_cmap(ft.predict_video_attacker(model, test).numpy(), data["test_privacy"].numpy(), names).cmap
    log = model.training_log
    return {"score": float(score), "epochs": log.epochs, "max_epochs": log.max_epochs, "best_epoch": log.best_epoch,
            "stopped_by": log.stopped_by, "cap_bound": log.cap_bound, "cpu_seconds": time.process_time() - started,
            "validation": log.validation}


# ----------------------------------------------------------------------------------------------------------------
# The driver.
# ----------------------------------------------------------------------------------------------------------------
def run_task(task: dict, src: Path) -> dict:
    env = {**os.environ, "PYTHONPATH": str(src), "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    done = subprocess.run([sys.executable, __file__, "--worker", json.dumps(task)], env=env, cwd=REPO,
                          capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(done.stderr[-3000:])
    return json.loads(done.stdout.strip().splitlines()[-1])


def baseline_source(commit: str, work: Path) -> Path:
    target = work / "baseline"
    target.mkdir()
    archive = subprocess.run(["git", "archive", commit, "src"], cwd=REPO, capture_output=True, check=True).stdout
    subprocess.run(["tar", "-x", "-C", str(target)], input=archive, check=True)
    return target / "src"


def prepare_data(args, work: Path) -> tuple[Path, Path | None, dict]:
    import torch

    torch.set_num_threads(1)
    from transformers_vidanon.data.synth import generate_synth_privacy
    from transformers_vidanon.evaluation.protocol import anonymize_clips, baseline_anonymizer, synth_protocol_data

    manifest = Path(args.data) if args.data else None
    if manifest is None or not manifest.is_file():
        folder = work / "synth"
        generate_synth_privacy(folder, 48 if args.quick else 120, 0, progress=False)
        manifest = folder / "manifest.jsonl"
    data = synth_protocol_data(manifest, num_frames=16, progress=False)
    full = dict(data.__dict__)
    subset = {**full, "train_clips": data.train_clips[:args.videos], "train_labels": data.train_labels[:args.videos],
              "train_privacy": data.train_privacy[:args.videos], "test_clips": data.test_clips[:args.test_videos]}
    torch.save(subset, work / "steps.pt")
    rows_path = None
    if "convergence" in args.parts:
        torch.save(full, work / "data.pt")
        black = baseline_anonymizer("blackening")
        rows = {"Raw": (data.train_clips, data.test_clips),
                "Blackening": (anonymize_clips(data.train_clips, black, data.train_regions, progress=False)[0],
                               anonymize_clips(data.test_clips, black, data.test_regions, progress=False)[0])}
        rows_path = work / "rows.pt"
        torch.save(rows, rows_path)
    info = {"manifest": str(manifest), "train_videos": int(data.train_clips.shape[0]),
            "test_videos": int(data.test_clips.shape[0]), "clip": list(data.train_clips.shape[1:])}
    return work / "steps.pt", rows_path, info


def machine() -> dict:
    import torch

    model = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                  if line.startswith("model name")), platform.processor()) if Path("/proc/cpuinfo").is_file() else ""
    flags = Path("/proc/cpuinfo").read_text() if Path("/proc/cpuinfo").is_file() else ""
    return {"cpu_model": model, "cpu_count": os.cpu_count(), "avx512_bf16": "avx512_bf16" in flags,
            "amx_bf16": "amx_bf16" in flags, "torch": torch.__version__, "python": platform.python_version(),
            "torch_threads": 1, "load_average": list(os.getloadavg())}


def git_commit() -> str:
    done = subprocess.run(["git", "rev-parse", "HEAD"], cwd=REPO, capture_output=True, text=True)
    dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=REPO, capture_output=True,
                           text=True).stdout.strip()
    return done.stdout.strip() + (" (with uncommitted changes)" if dirty else "")


def measure_steps(args, data: Path, sources: dict[str, Path]) -> dict:
    kinds_measured = KINDS[:1] if args.quick else KINDS
    samples = {name: {kind: [] for kind in kinds_measured} for name in STEP_VARIANTS}
    for round_index in range(args.rounds):
        for kind in kinds_measured:
            names = list(STEP_VARIANTS)
            names = names[round_index % len(names):] + names[:round_index % len(names)]  # rotate the order
            for name in names:
                code, settings = STEP_VARIANTS[name]
                task = {"mode": "steps", "data": str(data), "kind": kind, "epochs": args.epochs, "settings": settings}
                samples[name][kind].append(run_task(task, sources[code]))
                print(f"round {round_index + 1} {kind:6s} {name:30s} {samples[name][kind][-1]['step_ms_cpu']:7.1f} "
                      "ms CPU per step", flush=True)
    summary = {name: {kind: {key: statistics.median(sample[key] for sample in runs) for key in (
        "step_ms_wall", "step_ms_cpu", "predict_ms_per_clip_wall", "predict_ms_per_clip_cpu")}
        for kind, runs in kinds.items()} for name, kinds in samples.items()}
    profiles = {}
    for name in ("before bf16", "after bf16"):
        code, settings = STEP_VARIANTS[name]
        profiles[name] = {kind: run_task({"mode": "steps", "data": str(data), "kind": kind, "epochs": args.epochs + 2,
                                          "settings": settings, "profile": True}, sources[code])
                          for kind in kinds_measured}
    compiled = {}
    if not args.no_compile:
        for flag in (False, True):
            compiled["compiled" if flag else "eager"] = run_task(
                {"mode": "compile", "data": str(data), "compiled": flag, "steps": 6 if args.quick else 20},
                sources["after"])
    return {"samples": samples, "median": summary, "profiles": profiles, "torch_compile": compiled}


def measure_convergence(args, data: Path, rows: Path, sources: dict[str, Path]) -> list[dict]:
    recipes = {"before (cosine over the cap)": OLD_RECIPE, "after (defaults)": {}}
    kinds = ("frame",) if args.quick else ("video", "action", "frame", "finetuned")
    results = []
    for seed in args.seeds:
        for row in ("Raw",) if args.quick else ("Raw", "Blackening"):
            for kind in kinds:
                if kind == "finetuned" and row == "Raw":
                    continue  # on Raw the fine-tuned attacker is the raw-trained one
                for recipe, settings in recipes.items():
                    settings = {"bf16": True, **settings}
                    if args.quick:
                        settings.update(action_epochs=1, frame_epochs=1, video_epochs=1, finetune_epochs=1)
                    task = {"mode": "convergence", "data": str(data), "rows": str(rows), "row": row, "kind": kind,
                            "seed": seed, "settings": settings}
                    outcome = run_task(task, sources["after"])
                    results.append({"row": row, "kind": kind, "seed": seed, "recipe": recipe, **outcome})
                    print(f"{row:10s} {kind:9s} seed {seed} {recipe:28s} score {outcome['score']:.4f} "
                          f"{outcome['epochs']}/{outcome['max_epochs']} epochs (best {outcome['best_epoch']}) "
                          f"{outcome['cpu_seconds']:.0f} CPU s", flush=True)
    return results


def markdown(report: dict) -> str:
    lines = ["# Fresh models: the training step and the epochs", "",
             f"Machine: {report['machine']['cpu_model']}, {report['machine']['cpu_count']} cores (AVX512-BF16: "
             f"{report['machine']['avx512_bf16']}), torch {report['machine']['torch']}, one torch thread; shared with "
             f"other work (load average {report['machine']['load_average']} at the start, "
             f"{report['load_average_end']} at the end). Code: {report['commit']}; before: `{report['baseline']}`.",
             "", f"Data: {report['data']}.", ""]
    steps = report.get("steps")
    if steps:
        measured = list(next(iter(steps["median"].values())))
        lines += ["## Training step (median over the rounds; ms per step, CPU time, wall time in brackets)", "",
                  "A step: making the batch (draw, augmentation, uint8 to float, normalisation), forward, backward and "
                  "AdamW step, with the validation-free epoch's share of the loop; action and video: 16 clips of 16 x "
                  "64 x 64; frame attacker: 64 frames. Measured as a training of 1 + E epochs less one of 1 epoch "
                  "(the fixed costs of a training fall out; they are in `fixed_s_cpu` of the JSON), after a first "
                  "1-epoch training that warms the process up. Prediction: ms per test clip (CPU).", "",
                  "| variant | " + " | ".join(f"{kind} step" for kind in measured) + " | "
                  + " | ".join(f"{kind} predict" for kind in measured) + " |",
                  "|---|" + "---|" * (2 * len(measured))]
        for name, kinds in steps["median"].items():
            cells = [f"{kinds[k]['step_ms_cpu']:.1f} ({kinds[k]['step_ms_wall']:.1f})" for k in measured]
            cells += [f"{kinds[k]['predict_ms_per_clip_cpu']:.2f}" for k in measured]
            lines.append(f"| {name} | " + " | ".join(cells) + " |")
        before, after = steps["median"]["before bf16"], steps["median"]["after bf16"]
        lines += ["", "After against before (bf16, CPU time per step): " + ", ".join(
            f"{kind} {before[kind]['step_ms_cpu'] / after[kind]['step_ms_cpu']:.2f}x" for kind in measured) + "."]
        lines += ["", "The one-thread step times move by 10 to 20 % from round to round on this shared machine "
                      "(every sample is in the JSON); read differences smaller than that as none. The profile below "
                      "counts a whole training, its fixed costs (the channel statistics, the copies of the clips, the "
                      "model's construction) spread over its steps, as a short fresh-model training pays them.", "",
                  "Heaviest operators of a bf16 training of E + 2 epochs, fixed costs included (share of the "
                  "CPU time; ms per step):", ""]
        for name, kinds in steps["profiles"].items():
            for kind, profile in kinds.items():
                ops = ", ".join(f"{op['op']} {100 * op['share']:.0f} % ({op['ms_per_step']:.1f})"
                                for op in profile["top_ops"][:6])
                lines.append(f"- {name}, {kind} ({profile['ms_per_step']:.1f} ms per step): {ops}")
        if steps.get("torch_compile"):
            eager, compiled = steps["torch_compile"]["eager"], steps["torch_compile"]["compiled"]
            lines += ["", f"torch.compile (action model, bf16, one thread): eager {eager['step_ms_median']:.1f} ms per "
                          f"step; compiled {compiled['step_ms_median']:.1f} ms per step after a first step of "
                          f"{compiled['first_step_s']:.0f} s (the compile, paid again in every worker process and "
                          f"for every new shape)."]
    convergence = report.get("convergence")
    if convergence:
        lines += ["", "## Epochs to converge (full training split, early stopping)", "",
                  "Test score: action top-1 or attacker cMAP (%); epochs run / cap (best epoch); what stopped it; CPU "
                  "seconds of the training and prediction (one thread; the machine was shared, so read the CPU "
                  "seconds as rough; the fine-tuned attacker's include training its raw-trained base, a video "
                  "attacker on Raw).", "",
                  "| row | model | seed | recipe | score (%) | epochs / cap (best) | stopped by | CPU s |",
                  "|---|---|---|---|---|---|---|---|"]
        for r in convergence:
            lines.append(f"| {r['row']} | {r['kind']} | {r['seed']} | {r['recipe']} | {100 * r['score']:.2f} | "
                         f"{r['epochs']} / {r['max_epochs']} ({r['best_epoch']}) | {r['stopped_by']}"
                         f"{' (cap bound)' if r['cap_bound'] else ''} | {r['cpu_seconds']:.0f} |")
        totals = {}
        for r in convergence:
            totals.setdefault(r["recipe"], [0.0, 0])
            totals[r["recipe"]][0] += r["cpu_seconds"]
            totals[r["recipe"]][1] += r["epochs"]
        lines += ["", "Totals: " + "; ".join(f"{recipe}: {seconds:.0f} CPU s, {epochs} epochs"
                                              for recipe, (seconds, epochs) in totals.items()) + "."]
    if report.get("quick"):
        lines += ["", "**Quick smoke run: these numbers mean nothing.**"]
    return "\n".join(lines) + "\n"


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--parts", nargs="+", default=["steps", "convergence"], choices=["steps", "convergence"])
    parser.add_argument("--baseline", default=BASELINE, help="the commit whose fresh-model code is 'before'")
    parser.add_argument("--data", default=str(REPO / "outputs" / "synthprivacy" / "manifest.jsonl"),
                        help="a SynthPrivacy manifest (default outputs/synthprivacy; generated when missing)")
    parser.add_argument("--videos", type=int, default=200, help="training clips of the step measurement")
    parser.add_argument("--test-videos", type=int, default=32, help="test videos (5 clips each) of the prediction")
    parser.add_argument("--epochs", type=int, default=2, help="epochs per step measurement")
    parser.add_argument("--rounds", type=int, default=3, help="alternated rounds of the step measurement")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0], help="seeds of the convergence part")
    parser.add_argument("--no-compile", action="store_true", help="skip the torch.compile measurement")
    parser.add_argument("--quick", action="store_true", help="a smoke run: tiny data, one round")
    parser.add_argument("--output", default=str(REPO / "benchmarks" / "results"))
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    if args.worker:
        task = json.loads(args.worker)
        mode = task.pop("mode")
        print(json.dumps({"steps": worker, "compile": compile_worker, "convergence": convergence_worker}[mode](task)))
        return 0
    if args.quick:
        args.videos, args.test_videos, args.epochs, args.rounds = 16, 4, 1, 1
        args.data = None
    output = Path(args.output)
    output.mkdir(parents=True, exist_ok=True)
    report = {"quick": args.quick, "commit": git_commit(), "baseline": args.baseline, "machine": machine(),
              "settings": {key: value for key, value in vars(args).items() if key != "worker"}}
    with tempfile.TemporaryDirectory() as work:
        work = Path(work)
        sources = {"before": baseline_source(args.baseline, work), "after": REPO / "src"}
        steps_data, rows, report["data"] = prepare_data(args, work)
        if "steps" in args.parts:
            report["steps"] = measure_steps(args, steps_data, sources)
        if "convergence" in args.parts:
            report["convergence"] = measure_convergence(args, work / "data.pt", rows, sources)
    report["load_average_end"] = list(os.getloadavg())
    name = "fresh_models"
    (output / f"{name}.json").write_text(json.dumps(report, indent=2) + "\n")
    (output / f"{name}.md").write_text(markdown(report))
    print(f"wrote {output / name}.json and .md")
    return 0


if __name__ == "__main__":
    sys.exit(main())
