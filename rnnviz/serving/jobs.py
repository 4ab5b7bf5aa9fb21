"""A training job as every process sees it: its files in the visitor's folder of the model store, and
its status, typed (JobStatus), written and read only through this module.

    jobs/<id>.json        its status: settings, state, live progress (written by one process at a time,
                          atomically: by the queue until a worker takes it, then by the worker)
    jobs/<id>.curve.json  its loss and accuracy points (rewritten at each epoch end)
    jobs/<id>.resume.pt   the model, optimiser and random state at its last epoch end
    jobs/<id>.stop        present when someone asked it to stop

Any server process, a replica or the same server after a restart, can show a job from these files.
"""

import heapq
import json
from dataclasses import asdict, dataclass, field
from enum import StrEnum
from pathlib import Path

from ..data.mnist import TRAIN_SIZE
from ..data.pen_training import pen_count
from ..files import atomic_write
from ..recipes import Settings
from ..train import Progress
from . import store

DEFAULT_RATE = 2_000  # images per second a worker trains at, until one has finished here


class JobState(StrEnum):
    QUEUED = "queued"  # waiting for a free worker
    RUNNING = "running"  # a worker trains it
    DONE = "done"  # saved, all epochs
    STOPPED = "stopped"  # saved, stopped early when asked
    FAILED = "failed"  # ended with an error (JobStatus.error)
    INTERRUPTED = "interrupted"  # its worker or server died: resumable from its last epoch end
    CANCELLED = "cancelled"  # left the queue, or discarded once interrupted


LIVE = (JobState.QUEUED, JobState.RUNNING)
SAVED = (JobState.DONE, JobState.STOPPED)


@dataclass
class JobSummary:
    """What a finished job measured."""

    test_accuracy: float
    val_accuracy: float
    train_seconds: float
    stopped_early: bool


@dataclass
class JobStatus:
    """Everything the page shows of a job, as its status file holds it."""

    id: str
    session: str  # the visitor's id
    out: str  # the checkpoint it writes
    settings: Settings
    state: JobState
    server: str  # the token of the server process that queued or runs it
    submitted: float  # time.time() when queued (again, on resume)
    epochs_done: int = 0
    progress: Progress | None = None  # the latest, about once a second while it runs
    pid: int | None = None  # its worker process, once one took it
    started: float | None = None
    summary: JobSummary | None = None  # once saved
    pruned: list[str] = field(default_factory=list)  # the visitor's oldest models removed to make room
    error: str = ""  # why it failed

    @property
    def live(self) -> bool:
        return self.state in LIVE

    def to_json(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def from_json(cls, text: str) -> "JobStatus":
        values = json.loads(text)
        progress, summary = values.pop("progress"), values.pop("summary")
        return cls(**{**values, "settings": Settings(**values["settings"]), "state": JobState(values["state"])},
                   progress=Progress(**progress) if progress else None,
                   summary=JobSummary(**summary) if summary else None)


def jobs_dir(session: str) -> Path:
    return store.session_dir(session) / "jobs"


def job_files(session: str, job_id: str) -> dict[str, Path]:
    """The job's files: status, curve, resume (its last epoch end), stop (a request to stop)."""
    folder = jobs_dir(session)
    return {kind: folder / f"{job_id}{suffix}" for kind, suffix in
            (("status", ".json"), ("curve", ".curve.json"), ("resume", ".resume.pt"), ("stop", ".stop"))}


def write_text(path: Path, text: str) -> None:
    atomic_write(path, lambda file: file.write(text.encode()))


def write_status(status: JobStatus) -> None:
    write_text(job_files(status.session, status.id)["status"], status.to_json())


def read_status(session: str, job_id: str) -> JobStatus | None:
    """The job's status, or None when it has none (or an unreadable one)."""
    try:
        return JobStatus.from_json(job_files(session, job_id)["status"].read_text())
    except (OSError, ValueError, TypeError, KeyError):
        return None


def newest_job(session: str) -> JobStatus | None:
    """The session's newest job's status (job ids sort by the time they were made)."""
    folder = jobs_dir(session)
    ids = sorted(p.name.removesuffix(".json") for p in folder.glob("*.json")
                 if not p.name.endswith(".curve.json")) if folder.is_dir() else []
    return read_status(session, ids[-1]) if ids else None


def write_curve(status: JobStatus, curve: list[Progress]) -> None:
    write_text(job_files(status.session, status.id)["curve"], json.dumps([asdict(point) for point in curve]))


def read_curve(session: str, job_id: str) -> list[Progress]:
    """The job's loss and accuracy points, as of its last epoch end."""
    try:
        return [Progress(**point) for point in json.loads(job_files(session, job_id)["curve"].read_text())]
    except (OSError, ValueError, TypeError):
        return []


def remove_leftovers(status: JobStatus) -> None:
    """Temp files a killed writer left for this job (its checkpoint's and its own files')."""
    out, folder = Path(status.out), jobs_dir(status.session)
    for path in [*out.parent.glob(f".{out.name}.*.tmp"), *folder.glob(f".{status.id}.*.tmp")]:
        path.unlink(missing_ok=True)


def images_per_job(settings: Settings) -> int:
    """Images a job trains on: per epoch MNIST's training images less the validation split (or its limit),
    plus the pen digits mixed in."""
    mnist = min(settings.limit or TRAIN_SIZE, TRAIN_SIZE - settings.val_size)
    return settings.epochs * (mnist + pen_count(mnist, settings.pen_share))


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
