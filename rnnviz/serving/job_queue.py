"""The training queue as the pages see it, whichever runs it: JobQueue, the calls every queue answers,
and what they share (where a queued job stands). The queues themselves: local_queue.py (this machine's
worker processes, the default) and redis_queue.py (every machine's, in Redis); make_queue() in this
package's __init__ gives the one the operator chose.
"""

from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from ..recipes import Settings
from .jobs import MEASURE, TRAIN, JobStatus, estimated_seconds, estimated_starts


class QueueFull(RuntimeError):
    """Too many jobs wait already."""


@dataclass(frozen=True)
class Place:
    """Where a queued job stands: its place in the queue (1 = next) and its estimated wait."""

    position: int
    starts_in: float  # seconds


def job_seconds(job: JobStatus, rate: float) -> float:
    """How long a job takes on a worker that trains an LSTM of 100 units at `rate` images/s (a measuring
    takes about a training's minute)."""
    return estimated_seconds(job.settings, rate) if job.kind != MEASURE else 60.0


def place_of(running: list[JobStatus], ahead: list[JobStatus], slots: int, rate: float) -> Place:
    """Where the last of `ahead` (the queued jobs up to it, first first) stands, with `running` jobs on `slots`
    workers: each running job frees its slot when it ends, each queued one then holds one for its own time."""
    left = []
    for job in running:
        done = job.progress.step / job.progress.total_steps if job.progress else job.fraction_done
        left.append(job_seconds(job, rate) * (1 - done))
    return Place(len(ahead), estimated_starts(left, [job_seconds(job, rate) for job in ahead], slots)[-1])


class JobQueue(Protocol):
    """What the pages and the tests use of a training queue, whichever runs it: LocalQueue (this machine's
    worker processes, the default) or RedisQueue (every machine's, when RNNVIZ_QUEUE_URL is set)."""

    rate: float  # images/s of an LSTM of 100 units, learnt from the trainings that finish

    def submit(self, settings: Settings, visitor: str, address: str = "") -> str: ...
    def measure(self, checkpoint: Path, visitor: str) -> JobStatus: ...
    def resume(self, visitor: str, job_id: str) -> None: ...
    def stop(self, visitor: str, job_id: str) -> None: ...
    def latest(self, visitor: str, kind: str = TRAIN) -> JobStatus | None: ...
    def place(self, status: JobStatus) -> Place | None: ...
    def close(self) -> None: ...
