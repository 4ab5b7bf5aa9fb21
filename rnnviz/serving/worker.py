"""The process that runs one training job; everything it reports goes to the job's files.

    python -m rnnviz.serving.worker SESSION JOB_ID SERVER_PID     (the queue starts it)

Workers run at the lowest priority (the queue starts them under nice 19, from their first
instruction: starting Python and torch takes 2-3 s of CPU) so that pages come first: a drawing's
prediction must not wait for training, which gets what the pages leave. A worker saves the model's
full state at every epoch end, so a killed one loses at most an epoch.
"""

import os
import sys
import time
from dataclasses import asdict
from pathlib import Path

import torch

from ..files import atomic_write
from ..train import Progress, train
from . import store
from .jobs import JobState, JobStatus, JobSummary, job_files, read_curve, read_status, write_curve, write_status

REPORT_EVERY = 5  # keep one curve point every this many batches (plus every epoch end)
WRITE_EVERY = 1.0  # s between status writes while training (the page polls once a second)


class Reporter:
    """Keeps the job's status and curve files up to date as the training loop reports."""

    def __init__(self, status: JobStatus, curve: list[Progress]):
        self.status, self.curve, self.last_write = status, curve, 0.0
        self.files = job_files(status.session, status.id)

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


def work(session: str, job_id: str, parent: int) -> None:
    """Run one job to its end: saved, stopped early (saved), or failed (with a one-line reason)."""
    torch.set_num_threads(1)
    status = read_status(session, job_id)
    files = job_files(session, job_id)
    reporter = Reporter(status, read_curve(session, job_id))

    def should_stop() -> bool:
        if os.getppid() != parent:  # the server is gone: stop here, resumable from the last epoch end
            os._exit(1)
        return files["stop"].exists()

    status.pid = os.getpid()  # from now on only this process writes the status file, until it ends
    write_status(status)
    resume = None
    if files["resume"].exists():
        resume = torch.load(files["resume"], weights_only=True)
        reporter.curve[:] = [Progress(**point) for point in resume.pop("curve")]
    try:
        _, summary = train(status.settings, out=status.out, on_progress=reporter.progress, should_stop=should_stop,
                           on_epoch_end=reporter.epoch_end, resume=resume)
        status.state = JobState.STOPPED if summary["stopped_early"] else JobState.DONE
        status.summary = JobSummary(**{key: summary[key] for key in ("test_accuracy", "val_accuracy",
                                                                        "train_seconds", "stopped_early")})
        status.pruned = store.prune(session, keep=Path(status.out))
    except Exception as error:  # shown in the page instead of a traceback; the job is over either way
        status.state = JobState.FAILED
        status.error = str(error) if isinstance(error, FileNotFoundError) else f"{type(error).__name__}: {error}"[:300]
    write_curve(status, reporter.curve)
    write_status(status)
    files["resume"].unlink(missing_ok=True)
    files["stop"].unlink(missing_ok=True)


if __name__ == "__main__":
    work(sys.argv[1], sys.argv[2], int(sys.argv[3]))
