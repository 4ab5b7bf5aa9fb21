"""Who may start a training on a server a whole school shares: at most one training queued or running
per visitor, at most RNNVIZ_PER_ADDRESS from one client address however many visitor ids it uses, and
none that would hold a worker longer than RNNVIZ_JOB_MINUTES.

The checks and the new job's registration happen under one lock in the model store, so two tabs, or
two replicas sharing the store, submitting at the same instant cannot both pass. Every live training
has a marker in the store's live/ folder; a marker whose job has ended is dropped when it is next seen.
(With the queue in Redis, the same checks run in one Redis transaction instead: rnnviz/serving/redis_queue.py.)
"""

import fcntl
import hashlib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from ..recipes import Settings
from . import store
from .jobs import TRAIN, JobStatus, estimated_seconds, read_status
from .server_config import server_config


class Refused(ValueError):
    """A training this visitor may not start now; the message says why, to them."""


def _live_dir() -> Path:
    return store.store_dir() / "live"


def address_key(address: str) -> str:
    """What a job keeps of the client address that started it: a digest, enough to count, not the address."""
    return hashlib.sha256(f"rnnviz {address}".encode()).hexdigest()[:16]


@contextmanager
def admitting() -> Iterator[None]:
    """The store-wide lock under which jobs are checked and registered (one process at a time)."""
    folder = _live_dir()
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / ".lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield


def live_trainings() -> list[JobStatus]:
    """Every training queued or running in the store (markers of ended ones are dropped)."""
    live = []
    for marker in _live_dir().glob("*.job"):
        visitor, _, job_id = marker.stem.partition("-")
        status = read_status(visitor, job_id) if store.is_visitor_id(visitor) else None
        if status is not None and status.live:
            live.append(status)
        else:
            marker.unlink(missing_ok=True)
    return live


def check(settings: Settings, visitor: str, address: str, rate: float) -> None:
    """Refused, with the reason, unless this visitor, from this address, may start this training now.
    Call it inside admitting()."""
    check_size(settings, rate)
    check_live(live_trainings(), visitor, address_key(address))


def check_size(settings: Settings, rate: float) -> None:
    """Refused unless the training is within the operator's model size and time budget (at `rate`)."""
    limits = server_config()
    if settings.hidden > limits.max_hidden:
        raise Refused(f"This server trains models of up to {limits.max_hidden} hidden units.")
    minutes = estimated_seconds(settings, rate) / 60
    if minutes > limits.job_minutes:
        raise Refused(f"This training would take about {minutes:.0f} min here, and the server allows "
                      f"{limits.job_minutes:.0f} min per training: choose fewer epochs, images or hidden units.")


def check_live(live: list[JobStatus], visitor: str, address: str) -> None:
    """Refused if, among the `live` trainings, this visitor has one, or their address (its digest,
    address_key) has its share."""
    limits = server_config()
    if any(job.visitor == visitor for job in live):
        raise Refused("You have a training queued or running already.")
    if sum(job.address == address for job in live) >= limits.per_address:
        raise Refused(f"{limits.per_address} trainings from your network are queued or running already; please "
                      "start yours when one of them has finished.")


def register(status: JobStatus) -> None:
    """Mark a training live (inside admitting(), once its status is written)."""
    if status.kind == TRAIN:
        (_live_dir() / f"{status.visitor}-{status.id}.job").touch()
