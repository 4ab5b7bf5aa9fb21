"""The process that runs trainings and the measuring of new checkpoints; everything it reports goes to the
job's files, and its errors to the server's log.

    python -m rnnviz.serving.worker VISITOR JOB_ID SERVER_PID   one job (the local queue starts it)

A worker machine of the queue in Redis runs the same work() for each job it takes (redis_worker.py).

Workers run at the lowest priority (the queue starts them under nice 19, from their first
instruction: starting Python and torch takes 2-3 s of CPU; a worker machine's workers lower their own) so
that pages come first: a drawing's prediction must not wait for training, which gets what the pages leave.
A worker saves the model's full state at every epoch end, so a killed one loses at most an epoch.
"""

import os
import secrets
import sys
import time
import traceback
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path

import torch

from .. import memory, neighbours, stats
from ..data.mnist import DatasetMissing, load_mnist
from ..files import atomic_write
from ..train import Progress, train
from . import store
from .jobs import (
    MEASURE,
    JobState,
    JobStatus,
    JobSummary,
    job_files,
    read_curve,
    read_status,
    write_curve,
    write_status,
)
from .server_config import server_config

REPORT_EVERY = 5  # keep one curve point every this many batches (plus every epoch end)
WRITE_EVERY = 1.0  # s between status writes while training (the page polls once a second)


class Reporter:
    """Keeps the job's status and curve files up to date as the training loop reports."""

    def __init__(self, status: JobStatus, curve: list[Progress]):
        self.status, self.curve, self.last_write = status, curve, 0.0
        self.files = job_files(status.visitor, status.id)

    def progress(self, progress: Progress) -> None:
        """After every batch: a curve point now and then, the status once a second."""
        if progress.step % REPORT_EVERY == 0 or progress.val_accuracy is not None or progress.step == 1:
            self.curve.append(progress)
        if time.monotonic() - self.last_write >= WRITE_EVERY or progress.val_accuracy is not None:
            self.status.progress, self.last_write = progress, time.monotonic()
            write_status(self.status)

    def epoch_end(self, state: dict) -> None:
        """After every epoch: everything a resume needs, then the curve and the status."""
        curve = [asdict(point) for point in self.curve]
        atomic_write(self.files["resume"], lambda file: torch.save({**state, "curve": curve}, file))
        self.status.epochs_done = state["epoch"]
        write_curve(self.status, self.curve)
        write_status(self.status)


def failure(error: Exception) -> str:
    """A failed job's reason, in one line that names no server folder; the details go to the server's log
    (a worker's standard error) under a reference."""
    if isinstance(error, DatasetMissing):
        return "MNIST is not in the server's data folder."
    reference = secrets.token_hex(4)
    print(f"rnnviz worker, error {reference}:\n{traceback.format_exc()}", file=sys.stderr, flush=True)
    return f"{type(error).__name__} (reference {reference}: the server's log has the details)."


def run_training(status: JobStatus, stop_asked: Callable[[], bool]) -> None:
    """Train the job's settings, reporting to its files; stops when `stop_asked()` or when the operator's time
    budget is spent (saved either way)."""
    files = job_files(status.visitor, status.id)
    reporter = Reporter(status, read_curve(status.visitor, status.id))
    deadline = time.monotonic() + server_config().job_minutes * 60

    def should_stop() -> bool:
        if time.monotonic() > deadline:
            status.stop_reason = "time"
        elif stop_asked():
            status.stop_reason = "asked"
        return bool(status.stop_reason)

    resume = None
    if files["resume"].exists():
        resume = torch.load(files["resume"], weights_only=True)  # written by a worker: not a visitor's file
        reporter.curve[:] = [Progress(**point) for point in resume.pop("curve")]
    try:
        _, summary = train(status.settings, out=status.out, on_progress=reporter.progress, should_stop=should_stop,
                           on_epoch_end=reporter.epoch_end, resume=resume)
        status.state = JobState.STOPPED if summary["stopped_early"] else JobState.DONE
        status.summary = JobSummary(**{key: summary[key] for key in ("test_accuracy", "val_accuracy",
                                                                        "train_seconds", "stopped_early")})
        status.pruned = store.prune(status.visitor, keep=Path(status.out))
    except Exception as error:  # shown in the page instead of a traceback; the job is over either way
        status.state, status.error = JobState.FAILED, failure(error)
    write_curve(status, reporter.curve)
    files["resume"].unlink(missing_ok=True)
    files["stop"].unlink(missing_ok=True)


def run_measuring(status: JobStatus) -> None:
    """Measure a new checkpoint on MNIST: its test-set statistics, memory decoders and neighbour index,
    each kept beside it; the share done is reported as it goes."""
    def report(share: float) -> None:
        status.fraction_done = round(share, 3)
        write_status(status)

    try:
        test_images, test_labels = load_mnist("test")
        stats.make_stats(status.checkpoint, test_images, test_labels, progress=lambda done: report(0.6 * done))
        train_images, train_labels = load_mnist("train")
        memory.make_memory(status.checkpoint, train_images[: memory.FIT_IMAGES], test_images)
        report(0.85)
        neighbours.make_index(status.checkpoint, train_images, train_labels, test_images)
        status.state, status.fraction_done = JobState.DONE, 1.0
    except Exception as error:  # a checkpoint that cannot be read, or no MNIST: said in the page
        status.state, status.error = JobState.FAILED, failure(error)


def work(visitor: str, job_id: str, stop_asked: Callable[[], bool]) -> None:
    """Run one job to its end: saved, stopped early (saved), measured, or failed (with a one-line reason)."""
    torch.set_num_threads(1)
    status = read_status(visitor, job_id)
    status.pid = os.getpid()  # from now on only this process writes the status file, until it ends
    write_status(status)
    if status.kind == MEASURE:
        run_measuring(status)
    else:
        run_training(status, stop_asked)
    write_status(status)


def stop_file_or_server_gone(visitor: str, job_id: str, parent: int) -> Callable[[], bool]:
    """What stops a job of the embedded queue: its stop file; the server gone ends the worker at once
    (resumable from the last epoch end)."""
    stop = job_files(visitor, job_id)["stop"]

    def asked() -> bool:
        if os.getppid() != parent:
            os._exit(1)
        return stop.exists()

    return asked


if __name__ == "__main__":
    work(sys.argv[1], sys.argv[2], stop_file_or_server_gone(sys.argv[1], sys.argv[2], int(sys.argv[3])))
