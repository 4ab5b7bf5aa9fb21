"""A job as every process sees it (a training, or the measuring of a new checkpoint on MNIST's test set):
its files in the visitor's folder of the model store, and its status, typed (JobStatus), written and
read only through this module.

    jobs/<id>.json        its status: settings, state, live progress (written by one process at a time,
                          atomically: by the queue until a worker takes it, then by the worker)
    jobs/<id>.curve.json  its loss and accuracy points (rewritten at each epoch end)
    jobs/<id>.resume.pt   the model, optimiser and random state at its last epoch end
    jobs/<id>.stop        present when someone asked it to stop

Any server process, a replica or the same server after a restart, can show a job from these files.
"""

import heapq
import json
import secrets
import time
from dataclasses import asdict, dataclass, field
from enum import StrEnum
from pathlib import Path

from ..config import COLS
from ..data.mnist import TRAIN_SIZE
from ..data.pen_training import pen_count
from ..files import atomic_write
from ..recipes import Settings
from ..train import Progress
from . import store

TRAIN, MEASURE = "train", "measure"  # the kinds of job
DEFAULT_RATE = 4_000  # images/s a worker trains an LSTM of 100 units at (one thread: 6,166 on an idle core)
# What a training step costs per image, in multiply-adds of the recurrence (CELL_WORK x hidden x (hidden + 28))
# plus a fixed part; fitted to bench.train_throughput at one thread (an RNN of 100 units trains 2.3x as fast
# as an LSTM of 100, a GRU 0.9x). The GRU's reset gate, applied before its matrix product, costs it extra.
CELL_WORK = {"rnn": 1.0, "gru": 4.5, "lstm": 4.0}
STEP_OVERHEAD = 20_000


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
    visitor: str  # the visitor's id
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
    error: str = ""  # why it failed, in one line that names no server folder
    kind: str = TRAIN  # or MEASURE: a new checkpoint's test-set statistics, memory decoders and neighbours
    checkpoint: str = ""  # the checkpoint a MEASURE job measures
    address: str = ""  # a digest of the client address that started it (never the address itself)
    stop_reason: str = ""  # why a STOPPED job stopped: "asked" or "time" (it reached the time budget)
    fraction_done: float = 0.0  # a MEASURE job's share of its work done
    restarts: int = 0  # times a queue in Redis queued it again (its worker lost, or resumed)
    note: str = ""  # what the queue did to it that the page should say (a lost worker, a lost queue)

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


def new_job(visitor: str, server: str, settings: Settings | None = None, **fields) -> JobStatus:
    """A queued job's status, with a fresh id (ids sort by the time they were made)."""
    return JobStatus(id=f"{time.strftime('%Y%m%d-%H%M%S')}-{secrets.token_hex(3)}", visitor=visitor,
                     out=fields.pop("out", ""), settings=settings or Settings(), state=JobState.QUEUED, server=server,
                     submitted=time.time(), **fields)


def new_training(settings: Settings, visitor: str, address: str, server: str) -> JobStatus:
    """A queued training, its checkpoint named; `address` is the digest of the client's (admission.address_key)."""
    out = store.new_checkpoint_path(f"{settings.cell_type}-h{settings.hidden}", visitor)
    return new_job(visitor, server, settings, out=str(out), address=address)


def new_measuring(checkpoint: Path, visitor: str, server: str) -> JobStatus:
    """A queued measuring of a new checkpoint."""
    return new_job(visitor, server, kind=MEASURE, checkpoint=str(checkpoint))


def jobs_dir(visitor: str) -> Path:
    return store.visitor_dir(visitor) / "jobs"


def job_files(visitor: str, job_id: str) -> dict[str, Path]:
    """The job's files: status, curve, resume (its last epoch end), stop (a request to stop)."""
    folder = jobs_dir(visitor)
    return {kind: folder / f"{job_id}{suffix}" for kind, suffix in
            (("status", ".json"), ("curve", ".curve.json"), ("resume", ".resume.pt"), ("stop", ".stop"))}


def write_text(path: Path, text: str) -> None:
    atomic_write(path, lambda file: file.write(text.encode()))


def write_status(status: JobStatus) -> None:
    write_text(job_files(status.visitor, status.id)["status"], status.to_json())


def read_status(visitor: str, job_id: str) -> JobStatus | None:
    """The job's status, or None when it has none (or an unreadable one)."""
    try:
        return JobStatus.from_json(job_files(visitor, job_id)["status"].read_text())
    except (OSError, ValueError, TypeError, KeyError):
        return None


def newest_job(visitor: str, kind: str = TRAIN) -> JobStatus | None:
    """The visitor's newest job of a kind (job ids sort by the time they were made)."""
    folder = jobs_dir(visitor)
    ids = sorted((p.name.removesuffix(".json") for p in folder.glob("*.json")
                  if not p.name.endswith(".curve.json")), reverse=True) if folder.is_dir() else []
    return next((status for job_id in ids if (status := read_status(visitor, job_id)) and status.kind == kind), None)


def write_curve(status: JobStatus, curve: list[Progress]) -> None:
    write_text(job_files(status.visitor, status.id)["curve"], json.dumps([asdict(point) for point in curve]))


def read_curve(visitor: str, job_id: str) -> list[Progress]:
    """The job's loss and accuracy points, as of its last epoch end."""
    try:
        return [Progress(**point) for point in json.loads(job_files(visitor, job_id)["curve"].read_text())]
    except (OSError, ValueError, TypeError):
        return []


def remove_leftovers(status: JobStatus) -> None:
    """Temp files a killed writer left for this job: its own files', and those of the checkpoint it
    writes (a training) or of the files it keeps beside the checkpoint it measures."""
    written = Path(status.checkpoint if status.kind == MEASURE else status.out)
    folder = jobs_dir(status.visitor)
    for path in [*written.parent.glob(f".{written.name}*.tmp"), *folder.glob(f".{status.id}.*.tmp")]:
        path.unlink(missing_ok=True)


def relative_cost(settings: Settings) -> float:
    """How much longer an image takes to train than with an LSTM of 100 units (see CELL_WORK)."""
    def work(cell_type: str, hidden: int) -> float:
        return STEP_OVERHEAD + CELL_WORK[cell_type] * hidden * (hidden + COLS)

    return work(settings.cell_type, settings.hidden) / work("lstm", 100)


def measured_rate(status: JobStatus) -> float:
    """The rate (images/s of an LSTM of 100 units) that a training which ran all its epochs shows."""
    return images_per_job(status.settings) * relative_cost(status.settings) / max(status.summary.train_seconds, 1)


def estimated_seconds(settings: Settings, rate: float) -> float:
    """Seconds a training takes on a worker that trains an LSTM of 100 units at `rate` images/s."""
    return images_per_job(settings) * relative_cost(settings) / rate


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
