"""Fresh-model jobs of the leakage protocol, run in this process or in a pool of worker processes.

Every fresh model of an evaluation (one action model, frame, video or fine-tuned attacker, for one method and
one seed) is independent of the others once the anonymized clips exist, so they can be trained in parallel. A
[`FreshJob`] holds what one training needs; [`run_fresh_job`] trains the model and predicts the test clips, and
returns the predictions (small arrays: the metrics are computed by the caller) with the training log.

[`make_executor`] gives a `concurrent.futures` executor: in this process, one job after the other, for one worker;
otherwise a pool of spawned processes with a fixed number of torch threads each (2 processes with 1 thread each
use a 2-core machine better than one training on 2 threads). Clip tensors are moved to shared memory once
(`share_memory_`), so a job sent to a worker carries a handle, not a copy. [`PacedExecutor`] runs at most a given
number of jobs of a pool at once, a number that can change while jobs run (the benchmark gives one core to the
anonymizer's training and raises it when the training ends).
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections import deque
from concurrent.futures import Executor, Future, ProcessPoolExecutor
from dataclasses import dataclass, replace
from typing import Any

import torch

from . import fresh_training

logger = logging.getLogger(__name__)

JOB_KINDS = ("action", "frame", "video", "finetuned")


@dataclass
class FreshJob:
    """One fresh model to train and apply.

    Attributes:
        kind (`str`): `"action"`, `"frame"`, `"video"` or `"finetuned"`.
        seed (`int`): its seed.
        train_clips / test_clips (`torch.Tensor`): anonymized uint8 clips (`(N, [k,] T, C, H, W)`,
            `(M, k, T, C, H, W)`).
        train_targets (`torch.Tensor`): action labels `(N,)` or privacy labels `(N, A)`.
        num_labels (`int`): action classes (action model only).
        fresh (`FreshModelConfig`): sizes and training settings.
        model_spec: a model name, path or config for this kind (None: the default).
        init_model (`FreshModel`, *optional*): the raw-trained attacker a `"finetuned"` job starts from.
        finetune_from (`str`): `"frame"` or `"video"`, the kind of attacker a `"finetuned"` job fine-tunes.
        keep_model (`bool`): return the trained model too (a fine-tuning base).
    """

    kind: str
    seed: int
    train_clips: torch.Tensor
    test_clips: torch.Tensor
    train_targets: torch.Tensor
    num_labels: int
    fresh: fresh_training.FreshModelConfig
    model_spec: Any = None
    init_model: Any = None
    finetune_from: str = "video"
    keep_model: bool = False

    def __post_init__(self) -> None:
        if self.kind not in JOB_KINDS:
            raise ValueError(f"a fresh job's kind must be one of {JOB_KINDS}, got {self.kind!r}.")
        if self.kind == "finetuned" and self.init_model is None:
            raise ValueError("a 'finetuned' job needs the raw-trained attacker (`init_model`) it starts from.")


def run_fresh_job(job: FreshJob) -> dict[str, Any]:
    """Train the job's model and predict its test clips.

    Returns:
        `dict`: `kind`, `seed`, `outputs` (`{"probs"}` for the action model, `{"logits", "frame_logits"}` for a
        frame attacker, `{"logits"}` for a video attacker), `log` (the [`fresh_training.TrainingLog`] as a dict, with
        `total_seconds` and `total_cpu_seconds` of training and prediction), and `model` when `keep_model`.
    """
    wall, cpu, started_at = time.perf_counter(), time.process_time(), time.time()
    attacker = job.finetune_from if job.kind == "finetuned" else job.kind
    if job.kind == "action":
        model = fresh_training.train_action_model(job.train_clips, job.train_targets, job.num_labels, seed=job.seed,
                                                config=job.fresh, model_name_or_config=job.model_spec)
        outputs = {"probs": fresh_training.predict_action(model, job.test_clips)}
    elif attacker == "frame":
        model = fresh_training.train_frame_attacker(job.train_clips, job.train_targets, seed=job.seed, config=job.fresh,
                                                  model_name_or_config=job.model_spec, init_model=job.init_model)
        prediction = fresh_training.predict_frame_attacker(model, job.test_clips)
        outputs = {"logits": prediction.logits, "frame_logits": prediction.frame_logits}
    elif attacker == "video":
        model = fresh_training.train_video_attacker(job.train_clips, job.train_targets, seed=job.seed, config=job.fresh,
                                                  model_name_or_config=job.model_spec, init_model=job.init_model)
        outputs = {"logits": fresh_training.predict_video_attacker(model, job.test_clips)}
    else:
        raise ValueError(f"`finetune_from` must be 'frame' or 'video', got {job.finetune_from!r}.")
    log = model.training_log.to_dict() if model.training_log is not None else {}
    log.update(total_seconds=time.perf_counter() - wall, total_cpu_seconds=time.process_time() - cpu,
               threads=torch.get_num_threads(), pid=os.getpid(), started_at=started_at, finished_at=time.time())
    return {"kind": job.kind, "seed": job.seed, "outputs": outputs, "log": log,
            "model": model if job.keep_model else None}


class SerialExecutor(Executor):
    """Runs every job at once, in this process (the one-worker executor)."""

    def submit(self, fn, /, *args, **kwargs) -> Future:
        future: Future = Future()
        try:
            future.set_result(fn(*args, **kwargs))
        except BaseException as error:  # noqa: BLE001 - handed to the caller through the future
            future.set_exception(error)
        return future


class PacedExecutor(Executor):
    """Runs the jobs submitted to it on `inner`, at most `limit` at once, the others waiting here in the order they
    came; `set_limit` changes the limit while jobs run (a raised limit starts waiting jobs at once).

    Args:
        inner (`Executor`): where the jobs run (a pool of `make_executor`).
        limit (`int`): jobs running at once (at least 1).
    """

    def __init__(self, inner: Executor, limit: int) -> None:
        if limit < 1:
            raise ValueError(f"`limit` must be >= 1, got {limit}.")
        self.inner, self.limit, self.running = inner, int(limit), 0
        self._waiting: deque[tuple[Future, Any, tuple, dict]] = deque()
        self._lock = threading.Lock()

    def submit(self, fn, /, *args, **kwargs) -> Future:
        future: Future = Future()
        with self._lock:
            self._waiting.append((future, fn, args, kwargs))
        self._start_waiting()
        return future

    def set_limit(self, limit: int) -> None:
        """Run up to `limit` jobs at once from now on."""
        if limit < 1:
            raise ValueError(f"`limit` must be >= 1, got {limit}.")
        with self._lock:
            self.limit = int(limit)
        self._start_waiting()

    def _start_waiting(self) -> None:
        while True:
            with self._lock:
                if self.running >= self.limit or not self._waiting:
                    return
                future, fn, args, kwargs = self._waiting.popleft()
                if not future.set_running_or_notify_cancel():
                    continue
                self.running += 1
            try:
                inner = self.inner.submit(fn, *args, **kwargs)
            except BaseException as error:  # noqa: BLE001 - e.g. a pool shut down: handed to the caller
                with self._lock:
                    self.running -= 1
                future.set_exception(error)
                continue
            inner.add_done_callback(lambda done, outer=future: self._finished(done, outer))

    def _finished(self, done: Future, outer: Future) -> None:
        with self._lock:
            self.running -= 1
        if done.cancelled():
            outer.set_exception(RuntimeError("the job was cancelled in the pool"))
        elif done.exception() is not None:
            outer.set_exception(done.exception())
        else:
            outer.set_result(done.result())
        self._start_waiting()

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        if cancel_futures:
            with self._lock:
                waiting, self._waiting = list(self._waiting), deque()
            for future, *_rest in waiting:
                future.cancel()
        self.inner.shutdown(wait=wait, cancel_futures=cancel_futures)


def _init_worker(threads: int) -> None:
    torch.set_num_threads(int(threads))
    logging.getLogger("transformers").setLevel(logging.ERROR)


def make_executor(num_workers: int, worker_threads: int | None = None) -> Executor:
    """One job at a time in this process (`num_workers=1`), or a pool of `num_workers` spawned processes with
    `worker_threads` torch threads each (default: the CPU cores shared out, at least 1).

    Raises:
        ValueError: `num_workers` or `worker_threads` below 1.
    """
    if num_workers < 1:
        raise ValueError(f"`num_workers` must be >= 1, got {num_workers}.")
    if worker_threads is not None and worker_threads < 1:
        raise ValueError(f"`worker_threads` must be >= 1 or None, got {worker_threads}.")
    if num_workers == 1:
        return SerialExecutor()
    threads = worker_threads or max(1, (os.cpu_count() or 1) // num_workers)
    context = torch.multiprocessing.get_context("spawn")
    logger.info("fresh models: %d worker processes with %d torch thread(s) each", num_workers, threads)
    return ProcessPoolExecutor(max_workers=num_workers, mp_context=context, initializer=_init_worker,
                               initargs=(threads,))


def prepare_job(job: FreshJob, executor: Executor) -> FreshJob:
    """The job as it is sent: for a worker pool, clips in shared memory, no progress bars and the worker's own
    thread count."""
    if isinstance(executor, SerialExecutor) or (isinstance(executor, PacedExecutor)
                                                and isinstance(executor.inner, SerialExecutor)):
        return job
    for tensor in (job.train_clips, job.test_clips, job.train_targets):
        if not tensor.is_shared():
            tensor.share_memory_()
    return replace(job, fresh=replace(job.fresh, progress=False, num_threads=None))
