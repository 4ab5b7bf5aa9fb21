"""The local queue, the default: one per server process, running jobs on this machine. The pages use it
through JobQueue (job_queue.py).

LocalQueue: the web process only hands jobs (trainings, and the measuring
of new checkpoints) to worker processes (rnnviz/serving/worker.py) and reads their progress from the
job files (rnnviz/serving/jobs.py); the heavy work never runs in the page's process.

A LocalQueue runs at most RNNVIZ_WORKERS jobs at once on this machine (slots are file locks,
shared by every server process on it) and queues the rest, first come first served. Who may start a
training is rnnviz/serving/admission.py's to say. A worker saves the model at every epoch end, so a
killed worker or server loses at most an epoch: the job then shows as interrupted and can be resumed.
Checkpoints are written atomically; a killed worker's temp files are removed when its end is noticed.
"""

import fcntl
import logging
import os
import secrets
import subprocess
import sys
import threading
import time
from collections import deque
from pathlib import Path

from ..recipes import Settings
from . import admission, store
from .job_queue import Place, QueueFull, place_of
from .jobs import (
    DEFAULT_RATE,
    MEASURE,
    TRAIN,
    JobState,
    JobStatus,
    job_files,
    measured_rate,
    new_measuring,
    new_training,
    newest_job,
    read_status,
    remove_leftovers,
    write_status,
)
from .server_config import server_config

ROOT = Path(__file__).resolve().parents[2]  # where a worker runs `python -m rnnviz.serving.worker`
DISPATCH_EVERY = 0.25  # s between looks for ended workers and free slots
SWEEP_EVERY = 3600  # s between sweeps of the store (rnnviz.serving.store.sweep)
LOG = logging.getLogger("rnnviz")


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


class LocalQueue:
    """Hands jobs to worker processes: at most `workers` at once on this machine, the rest queued."""

    def __init__(self, workers: int | None = None, queue_limit: int | None = None):
        operator = server_config()
        self.workers = workers or operator.workers
        self.queue_limit = queue_limit or operator.queue_limit
        self.slots_dir = operator.slots_dir
        self.token = secrets.token_hex(8)
        _server_dir().mkdir(parents=True, exist_ok=True)
        self._alive = open(_server_dir() / f"{self.token}.lock", "a")  # held while this server lives
        fcntl.flock(self._alive, fcntl.LOCK_EX)
        self._queued: deque[tuple[str, str]] = deque()  # (visitor, job id), first come first served
        self._running: dict[tuple[str, str], tuple[subprocess.Popen, object]] = {}  # -> worker, its slot lock
        self.rate = DEFAULT_RATE  # images/s of an LSTM of 100 units, learnt from the trainings that finish
        self._measured: dict[str, JobStatus] = {}  # checkpoint -> its measuring job, once ended
        self._lock = threading.Lock()
        self._closed = threading.Event()
        self._dispatcher = threading.Thread(target=self._dispatch, name="training-queue", daemon=True)
        self._dispatcher.start()

    # -- what the page calls --

    def submit(self, settings: Settings, visitor: str, address: str = "") -> str:
        """Queue a training for `visitor`, from the client `address`; returns its id. Raises QueueFull, or
        admission.Refused (one per visitor, a cap per address, a time budget: its message says which)."""
        self.latest(visitor)  # notices a job whose server has gone
        with admission.admitting(), self._lock:
            admission.check(settings, visitor, address, self.rate)
            if len(self._queued) >= self.queue_limit:
                raise QueueFull(f"{len(self._queued)} trainings are waiting already; please try again later.")
            status = self._queue(new_training(settings, visitor, admission.address_key(address), self.token))
            admission.register(status)
        return status.id

    def measure(self, checkpoint: Path, visitor: str) -> JobStatus:
        """The job measuring a new checkpoint on MNIST's test set (its statistics, memory decoders and
        neighbour index, kept beside it): the one under way, the one that ended (unless the checkpoint has
        changed since), or a new one."""
        with self._lock:
            for key in [*self._queued, *self._running]:
                status = read_status(*key)
                if status and status.kind == MEASURE and status.checkpoint == str(checkpoint):
                    return status
            ended = self._measured.get(str(checkpoint))
            if ended and checkpoint.exists() and checkpoint.stat().st_mtime < ended.submitted:
                return ended
            return self._queue(new_measuring(checkpoint, visitor, self.token))

    def _queue(self, status: JobStatus) -> JobStatus:
        """Write the job's status and queue it (under self._lock)."""
        write_status(status)
        self._queued.append((status.visitor, status.id))
        return status

    def resume(self, visitor: str, job_id: str) -> None:
        """Queue an interrupted job again; it continues from its last epoch end (unless the visitor has
        started another training meanwhile)."""
        with admission.admitting(), self._lock:
            status = read_status(visitor, job_id)
            if status is None or status.state != JobState.INTERRUPTED:
                return
            if any(job.visitor == visitor for job in admission.live_trainings()):
                return
            status.state, status.server, status.submitted = JobState.QUEUED, self.token, time.time()
            write_status(status)
            admission.register(status)
            self._queued.append((visitor, job_id))

    def stop(self, visitor: str, job_id: str) -> None:
        """A queued job is cancelled; a running one stops at its next batch and saves what it learned
        (from whichever server process runs it); an interrupted one is discarded."""
        with self._lock:
            status = read_status(visitor, job_id)
            if status is None:
                return
            if (visitor, job_id) in self._queued or status.state == JobState.INTERRUPTED:
                if (visitor, job_id) in self._queued:
                    self._queued.remove((visitor, job_id))
                job_files(visitor, job_id)["resume"].unlink(missing_ok=True)
                status.state = JobState.CANCELLED
                write_status(status)
            elif status.state == JobState.RUNNING:
                job_files(visitor, job_id)["stop"].touch()

    def latest(self, visitor: str, kind: str = TRAIN) -> JobStatus | None:
        """The visitor's newest job of a kind (interrupted if the server that ran it is gone)."""
        status = newest_job(visitor, kind)
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
        key = (status.visitor, status.id)
        if key not in queued:
            return None
        ahead = [read_status(*waiting) for waiting in queued[: queued.index(key) + 1]]
        return place_of(list(filter(None, running)), list(filter(None, ahead)), self.workers, self.rate)

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
        """The dispatcher thread's loop. An unexpected error in one round (the store's disk, a file removed
        meanwhile) goes to the server's log, and the next round goes on: the thread never dies of it."""
        swept = 0.0
        while not self._closed.wait(DISPATCH_EVERY):
            try:
                if time.monotonic() - swept > SWEEP_EVERY:
                    swept = time.monotonic()
                    with self._lock:
                        busy = {key[0] for key in [*self._queued, *self._running]}
                    store.sweep(busy | {job.visitor for job in admission.live_trainings()})
                self._reap()
                with self._lock:
                    while self._queued:
                        slot = self._take_slot()
                        if slot is None:
                            break
                        self._start(self._queued.popleft(), slot)
            except Exception:
                LOG.exception("the training queue's dispatcher")

    def _start(self, key: tuple[str, str], slot) -> None:
        """A worker process for the job `key`, holding `slot` while it runs."""
        status = read_status(*key)
        if status is None:  # its files are gone (discarded, or its visitor's folder expired): nothing to run
            slot.close()
            return
        status.state, status.server, status.started = JobState.RUNNING, self.token, time.time()
        write_status(status)
        process = subprocess.Popen(  # a fresh interpreter: never fork a threaded web server
            ["nice", "-n", "19", sys.executable, "-m", "rnnviz.serving.worker", *key, str(os.getpid())],
            cwd=ROOT, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL)  # its errors: the server's log
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
                if status.kind == MEASURE and status.state in (JobState.DONE, JobState.FAILED):
                    self._measured[status.checkpoint] = status  # not measured again (an interrupted one is)
                elif status.kind != MEASURE and status.state == JobState.DONE:  # trained all its epochs
                    self.rate = measured_rate(status)
                remove_leftovers(status)

