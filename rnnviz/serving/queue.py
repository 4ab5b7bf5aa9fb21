"""The training queue, one per server process: the web process only hands jobs to worker processes
(rnnviz/serving/worker.py) and reads their progress from the job files (rnnviz/serving/jobs.py).

A TrainingQueue runs at most RNNVIZ_WORKERS jobs at once on this machine (slots are file locks,
shared by every server process on it) and queues the rest, first come first served. A worker saves
the model at every epoch end, so a killed worker or server loses at most an epoch: the job then shows
as interrupted and can be resumed. Checkpoints are written atomically; a killed worker's temp files
are removed when its end is noticed.
"""

import fcntl
import os
import secrets
import subprocess
import sys
import threading
import time
from collections import deque
from dataclasses import dataclass
from pathlib import Path

from ..recipes import Settings
from . import store
from .jobs import (
    DEFAULT_RATE,
    JobState,
    JobStatus,
    estimated_starts,
    images_per_job,
    job_files,
    newest_job,
    read_status,
    remove_leftovers,
    write_status,
)
from .settings import settings as operator_settings

ROOT = Path(__file__).resolve().parents[2]  # where a worker runs `python -m rnnviz.serving.worker`
DISPATCH_EVERY = 0.25  # s between looks for ended workers and free slots


class QueueFull(RuntimeError):
    """Too many jobs wait already."""


@dataclass(frozen=True)
class Place:
    """Where a queued job stands: its place in the queue (1 = next) and its estimated wait."""

    position: int
    starts_in: float  # seconds


def _server_dir() -> Path:
    return store.store_dir() / "servers"


def _owner_alive(token: str) -> bool:
    """Whether the server process `token` still runs: it holds a lock on its file while it lives."""
    path = _server_dir() / f"{token}.lock"
    try:
        with open(path, "a") as file:
            fcntl.flock(file, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    except OSError:
        return False
    path.unlink(missing_ok=True)  # its owner is gone
    return False


class TrainingQueue:
    """Hands jobs to worker processes: at most `workers` at once on this machine, the rest queued."""

    def __init__(self, workers: int | None = None, queue_limit: int | None = None):
        operator = operator_settings()
        self.workers = workers or operator.workers
        self.queue_limit = queue_limit or operator.queue_limit
        self.slots_dir = operator.slots_dir
        self.token = secrets.token_hex(8)
        _server_dir().mkdir(parents=True, exist_ok=True)
        self._alive = open(_server_dir() / f"{self.token}.lock", "a")  # held while this server lives
        fcntl.flock(self._alive, fcntl.LOCK_EX)
        self._queued: deque[tuple[str, str]] = deque()  # (session, job id), first come first served
        self._running: dict[tuple[str, str], tuple[subprocess.Popen, object]] = {}  # -> worker, its slot lock
        self._rate = DEFAULT_RATE
        self._lock = threading.Lock()
        self._closed = threading.Event()
        self._dispatcher = threading.Thread(target=self._dispatch, name="training-queue", daemon=True)
        self._dispatcher.start()

    # -- what the page calls --

    def submit(self, settings: Settings, session: str) -> str:
        """Queue a job for `session`; returns its id. Raises QueueFull, or ValueError if the session
        has a job queued or running already."""
        if (latest := self.latest(session)) and latest.live:
            raise ValueError("You have a training queued or running already.")
        with self._lock:
            if len(self._queued) >= self.queue_limit:
                raise QueueFull(f"{len(self._queued)} trainings are waiting already; please try again later.")
            job_id = f"{time.strftime('%Y%m%d-%H%M%S')}-{secrets.token_hex(3)}"
            out = store.new_checkpoint_path(f"{settings.cell_type}-h{settings.hidden}", session)
            write_status(JobStatus(id=job_id, session=session, out=str(out), settings=settings, state=JobState.QUEUED,
                                   server=self.token, submitted=time.time()))
            self._queued.append((session, job_id))
        return job_id

    def resume(self, session: str, job_id: str) -> None:
        """Queue an interrupted job again; it continues from its last epoch end."""
        with self._lock:
            status = read_status(session, job_id)
            if status is None or status.state != JobState.INTERRUPTED:
                return
            status.state, status.server, status.submitted = JobState.QUEUED, self.token, time.time()
            write_status(status)
            self._queued.append((session, job_id))

    def stop(self, session: str, job_id: str) -> None:
        """A queued job is cancelled; a running one stops at its next batch and saves what it learned
        (from whichever server process runs it); an interrupted one is discarded."""
        with self._lock:
            status = read_status(session, job_id)
            if status is None:
                return
            if (session, job_id) in self._queued or status.state == JobState.INTERRUPTED:
                if (session, job_id) in self._queued:
                    self._queued.remove((session, job_id))
                job_files(session, job_id)["resume"].unlink(missing_ok=True)
                status.state = JobState.CANCELLED
                write_status(status)
            elif status.state == JobState.RUNNING:
                job_files(session, job_id)["stop"].touch()

    def latest(self, session: str) -> JobStatus | None:
        """The session's newest job (interrupted if the server that ran it is gone)."""
        status = newest_job(session)
        if status is not None and status.live and status.server != self.token and not _owner_alive(status.server):
            status.state = JobState.INTERRUPTED  # its server stopped (a restart): resumable from its last epoch end
            remove_leftovers(status)
            write_status(status)
        return status

    def place(self, status: JobStatus) -> Place | None:
        """Where a queued job stands, or None when it is not waiting in this queue."""
        with self._lock:
            queued = list(self._queued)
            running = [read_status(*key) for key in self._running]
        key = (status.session, status.id)
        if key not in queued:
            return None
        left = []
        for job in filter(None, running):
            done = job.progress.step / job.progress.total_steps if job.progress else 0.0
            left.append(images_per_job(job.settings) * (1 - done) / self._rate)
        ahead = [read_status(*waiting) for waiting in queued[: queued.index(key) + 1]]
        seconds = [images_per_job(job.settings) / self._rate for job in filter(None, ahead)]
        return Place(len(ahead), estimated_starts(left, seconds, self.workers)[-1])

    def close(self) -> None:
        """Stop dispatching (running workers finish their job)."""
        self._closed.set()
        self._dispatcher.join()

    # -- the dispatcher thread --

    def _take_slot(self):
        """A machine-wide training slot (a locked file), or None when all are taken."""
        self.slots_dir.mkdir(parents=True, exist_ok=True)
        for slot in range(self.workers):
            file = open(self.slots_dir / f"{slot}.lock", "a")
            try:
                fcntl.flock(file, fcntl.LOCK_EX | fcntl.LOCK_NB)
                return file
            except BlockingIOError:
                file.close()
        return None

    def _dispatch(self) -> None:
        while not self._closed.wait(DISPATCH_EVERY):
            self._reap()
            with self._lock:
                while self._queued:
                    slot = self._take_slot()
                    if slot is None:
                        break
                    self._start(self._queued.popleft(), slot)

    def _start(self, key: tuple[str, str], slot) -> None:
        """A worker process for the job `key`, holding `slot` while it runs."""
        status = read_status(*key)
        status.state, status.server, status.started = JobState.RUNNING, self.token, time.time()
        write_status(status)
        process = subprocess.Popen(  # a fresh interpreter: never fork a threaded web server
            ["nice", "-n", "19", sys.executable, "-m", "rnnviz.serving.worker", *key, str(os.getpid())],
            cwd=ROOT, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self._running[key] = (process, slot)

    def _reap(self) -> None:
        """Notice ended workers: free their slot; one that died without finishing is interrupted."""
        with self._lock:
            ended = [key for key, (process, _) in self._running.items() if process.poll() is not None]
            for key in ended:
                _, slot = self._running.pop(key)
                slot.close()  # frees the slot
                status = read_status(*key)
                if status is None:
                    continue
                if status.state == JobState.RUNNING:  # killed (or crashed) before it could say how it ended
                    status.state = JobState.INTERRUPTED
                    write_status(status)
                elif status.state == JobState.DONE and status.epochs_done == status.settings.epochs:
                    self._rate = images_per_job(status.settings) / max(status.summary.train_seconds, 1)
                remove_leftovers(status)

