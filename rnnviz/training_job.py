"""Training in worker processes, with a queue: the web process only hands out jobs and reads progress.

A job lives in files in its visitor's folder of the model store (rnnviz.registry), so that any server
process, a replica or the same server after a restart, can show it:

    jobs/<id>.json        its status: settings, state, live progress (written by one process at a time,
                          atomically: by the queue until a worker takes it, then by the worker)
    jobs/<id>.curve.json  its loss and accuracy points (rewritten at each epoch end)
    jobs/<id>.resume.pt   the model, optimiser and random state at its last epoch end
    jobs/<id>.stop        present when someone asked it to stop

A TrainingQueue runs at most RNNVIZ_WORKERS jobs at once on this machine (slots are file locks,
shared by every server process on it) and queues the rest, first come first served. A worker saves
the model at every epoch end, so a killed worker or server loses at most an epoch: the job then shows
as interrupted and can be resumed. Checkpoints are written atomically; a killed worker's temp files
are removed when its end is noticed.
"""

import fcntl
import heapq
import json
import os
import secrets
import subprocess
import sys
import threading
import time
from collections import deque
from dataclasses import asdict
from pathlib import Path

import torch

from . import registry, serving
from .files import atomic_write
from .pen_training import pen_count
from .recipes import Settings

QUEUED, RUNNING, DONE, STOPPED, FAILED, INTERRUPTED, CANCELLED = (
    "queued", "running", "done", "stopped", "failed", "interrupted", "cancelled")
LIVE = (QUEUED, RUNNING)
REPORT_EVERY = 5  # keep one curve point every this many batches (plus every epoch end)
WRITE_EVERY = 1.0  # s between status writes while training (the page polls once a second)
TRAIN_IMAGES = 55_000  # MNIST's training images minus the default validation split: a job's size when limit=0
ROOT = Path(__file__).resolve().parents[1]  # where a worker runs `python -m rnnviz.training_job`
DEFAULT_RATE = 2_000  # images per second a worker trains at, until one has finished here


class QueueFull(RuntimeError):
    """Too many jobs wait already."""


def jobs_dir(session: str) -> Path:
    return registry.session_dir(session) / "jobs"


def _files(session: str, job_id: str) -> dict[str, Path]:
    folder = jobs_dir(session)
    return {kind: folder / f"{job_id}{suffix}" for kind, suffix in
            (("status", ".json"), ("curve", ".curve.json"), ("resume", ".resume.pt"), ("stop", ".stop"))}


def _write_json(path: Path, value) -> None:
    atomic_write(path, lambda file: file.write(json.dumps(value).encode()))


def read_status(session: str, job_id: str) -> dict | None:
    try:
        return json.loads(_files(session, job_id)["status"].read_text())
    except (OSError, ValueError):
        return None


def read_curve(session: str, job_id: str) -> list[dict]:
    """The job's loss/accuracy points (train.Progress fields), as of its last epoch end."""
    try:
        return json.loads(_files(session, job_id)["curve"].read_text())
    except (OSError, ValueError):
        return []


def _remove_leftovers(status: dict) -> None:
    """Temp files a killed writer left for this job (its checkpoint's and its own files')."""
    out, folder = Path(status["out"]), jobs_dir(status["session"])
    for path in [*out.parent.glob(f".{out.name}.*.tmp"), *folder.glob(f".{status['id']}.*.tmp")]:
        path.unlink(missing_ok=True)


def images_per_job(settings: dict) -> int:
    """Images a job trains on: per epoch MNIST's (or its limit), plus the pen digits mixed in."""
    mnist = settings["limit"] or TRAIN_IMAGES
    return settings["epochs"] * (mnist + pen_count(mnist, settings.get("pen_share", 0.0)))


def estimated_starts(running_left: list[float], queued_seconds: list[float], slots: int) -> list[float]:
    """Seconds until each queued job starts, first come first served: each running job frees its
    slot when it ends (`running_left`), each queued job then holds one for its own duration."""
    free = sorted(running_left)[:slots] + [0.0] * max(slots - len(running_left), 0)
    heapq.heapify(free)
    starts = []
    for seconds in queued_seconds:
        start = heapq.heappop(free)
        starts.append(start)
        heapq.heappush(free, start + seconds)
    return starts


# ---- the worker process ----

def _work(session: str, job_id: str, parent: int) -> None:
    """Run one job (in a process of its own); everything it reports goes to the job's files.

    Workers run at the lowest priority (nice 19, from their first instruction: starting Python and
    torch takes 2-3 s of CPU) so that pages come first: a drawing's prediction must not wait for
    training, which gets what the pages leave, on a class's server most of the time."""
    from .train import train  # in the worker only: the web process never trains

    torch.set_num_threads(1)
    files = _files(session, job_id)
    status = read_status(session, job_id)
    settings = Settings(**status["settings"])
    curve, last_write = read_curve(session, job_id), 0.0

    def report(progress) -> None:
        nonlocal last_write
        point = asdict(progress)
        if progress.step % REPORT_EVERY == 0 or progress.val_accuracy is not None or progress.step == 1:
            curve.append(point)
        if time.monotonic() - last_write >= WRITE_EVERY or progress.val_accuracy is not None:
            status["progress"], last_write = point, time.monotonic()
            _write_json(files["status"], status)

    def epoch_end(state: dict) -> None:
        atomic_write(files["resume"], lambda file: torch.save({**state, "curve": curve}, file))
        status["epochs_done"] = state["epoch"]
        _write_json(files["curve"], curve)
        _write_json(files["status"], status)

    def should_stop() -> bool:
        if os.getppid() != parent:  # the server is gone: stop here, resumable from the last epoch end
            os._exit(1)
        return files["stop"].exists()

    status["pid"] = os.getpid()  # from now on only this process writes the status file, until it ends
    _write_json(files["status"], status)
    resume = None
    if files["resume"].exists():
        resume = torch.load(files["resume"], weights_only=True)
        curve[:] = resume.pop("curve")
    try:
        _, summary = train(settings, out=status["out"], on_progress=report, should_stop=should_stop,
                           on_epoch_end=epoch_end, resume=resume)
        status.update(state=STOPPED if summary["stopped_early"] else DONE,
                      summary={key: summary[key] for key in ("test_accuracy", "val_accuracy", "train_seconds",
                                                             "stopped_early")},
                      pruned=registry.prune(session, keep=Path(status["out"])))
    except Exception as error:  # shown in the page instead of a traceback; the job is over either way
        status.update(state=FAILED, error=str(error) if isinstance(error, FileNotFoundError)
                      else f"{type(error).__name__}: {error}"[:300])
    _write_json(files["curve"], curve)
    _write_json(files["status"], status)
    files["resume"].unlink(missing_ok=True)
    files["stop"].unlink(missing_ok=True)


# ---- the queue, one per server process ----

def _server_dir() -> Path:
    return registry.user_dir() / "servers"


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
        operator = serving.settings()
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
        if (latest := self.latest(session)) and latest["state"] in LIVE:
            raise ValueError("You have a training queued or running already.")
        with self._lock:
            if len(self._queued) >= self.queue_limit:
                raise QueueFull(f"{len(self._queued)} trainings are waiting already; please try again later.")
            job_id = f"{time.strftime('%Y%m%d-%H%M%S')}-{secrets.token_hex(3)}"
            out = registry.new_checkpoint_path(f"{settings.cell_type}-h{settings.hidden}", session)
            _write_json(_files(session, job_id)["status"], {
                "id": job_id, "session": session, "out": str(out), "settings": asdict(settings), "state": QUEUED,
                "server": self.token, "submitted": time.time(), "epochs_done": 0, "progress": None})
            self._queued.append((session, job_id))
        return job_id

    def resume(self, session: str, job_id: str) -> None:
        """Queue an interrupted job again; it continues from its last epoch end."""
        with self._lock:
            status = read_status(session, job_id)
            if status is None or status["state"] != INTERRUPTED:
                return
            status.update(state=QUEUED, server=self.token, submitted=time.time())
            _write_json(_files(session, job_id)["status"], status)
            self._queued.append((session, job_id))

    def stop(self, session: str, job_id: str) -> None:
        """A queued job is cancelled; a running one stops at its next batch and saves what it learned
        (from whichever server process runs it); an interrupted one is discarded."""
        with self._lock:
            status = read_status(session, job_id)
            if status is None:
                return
            if (session, job_id) in self._queued or status["state"] == INTERRUPTED:
                if (session, job_id) in self._queued:
                    self._queued.remove((session, job_id))
                _files(session, job_id)["resume"].unlink(missing_ok=True)
                status["state"] = CANCELLED
                _write_json(_files(session, job_id)["status"], status)
            elif status["state"] == RUNNING:
                _files(session, job_id)["stop"].touch()

    def latest(self, session: str) -> dict | None:
        """The session's newest job's status (interrupted if the server that ran it is gone), with its
        place in the queue and estimated start while it waits."""
        folder = jobs_dir(session)
        names = sorted(p.name for p in folder.glob("*.json") if not p.name.endswith(".curve.json")) \
            if folder.is_dir() else []
        if not names:
            return None
        status = read_status(session, names[-1].removesuffix(".json"))
        if status is None:
            return None
        if status["state"] in LIVE and status["server"] != self.token and not _owner_alive(status["server"]):
            status["state"] = INTERRUPTED  # its server stopped (a restart): resumable from its last epoch end
            _remove_leftovers(status)
            _write_json(_files(session, status["id"])["status"], status)
        if status["state"] == QUEUED:
            status.update(self._place(session, status["id"]))
        return status

    def close(self) -> None:
        """Stop dispatching (running workers finish their job)."""
        self._closed.set()
        self._dispatcher.join()

    # -- the dispatcher thread --

    def _place(self, session: str, job_id: str) -> dict:
        with self._lock:
            queued = list(self._queued)
            running = [read_status(*key) for key in self._running]
        if (session, job_id) not in queued:
            return {}
        left = []
        for status in running:
            progress = status and status.get("progress")
            total = images_per_job(status["settings"]) if status else 0
            done = progress["step"] / progress["total_steps"] if progress else 0.0
            left.append(total * (1 - done) / self._rate)
        ahead = queued[: queued.index((session, job_id)) + 1]
        seconds = [images_per_job(read_status(*key)["settings"]) / self._rate for key in ahead]
        return {"position": len(ahead), "starts_in": estimated_starts(left, seconds, self.workers)[-1]}

    def _take_slot(self):
        """A machine-wide training slot (a locked file), or None when all are taken."""
        folder = self.slots_dir
        folder.mkdir(parents=True, exist_ok=True)
        for slot in range(self.workers):
            file = open(folder / f"{slot}.lock", "a")
            try:
                fcntl.flock(file, fcntl.LOCK_EX | fcntl.LOCK_NB)
                return file
            except BlockingIOError:
                file.close()
        return None

    def _dispatch(self) -> None:
        while not self._closed.wait(0.25):
            self._reap()
            with self._lock:
                while self._queued:
                    slot = self._take_slot()
                    if slot is None:
                        break
                    session, job_id = key = self._queued.popleft()
                    status = read_status(session, job_id)
                    status.update(state=RUNNING, server=self.token, started=time.time())
                    _write_json(_files(session, job_id)["status"], status)
                    process = subprocess.Popen(  # a fresh interpreter: never fork a threaded web server
                        ["nice", "-n", "19", sys.executable, "-m", "rnnviz.training_job", session, job_id,
                         str(os.getpid())],
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
                if status["state"] == RUNNING:  # killed (or crashed) before it could say how it ended
                    status["state"] = INTERRUPTED
                    _write_json(_files(*key)["status"], status)
                elif status["state"] == DONE and status.get("epochs_done") == status["settings"]["epochs"]:
                    self._rate = images_per_job(status["settings"]) / max(status["summary"]["train_seconds"], 1)
                _remove_leftovers(status)


if __name__ == "__main__":  # a worker: python -m rnnviz.training_job SESSION JOB_ID SERVER_PID
    _work(sys.argv[1], sys.argv[2], int(sys.argv[3]))
