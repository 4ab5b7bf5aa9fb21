"""The training queue of every machine, in Redis through RQ (RNNVIZ_QUEUE_URL=redis://host:port/db).

Pages on any machine put jobs in one RQ queue (RedisQueue: the same calls as the embedded LocalQueue);
worker machines run them (`python -m rnnviz.serving.redis_worker`). A job's status, curve and
checkpoints stay in the shared model store (rnnviz/serving/jobs.py), as with the embedded queue; Redis holds
what must be decided in one place:

    rq:queue:rnnviz           the waiting jobs, first come first served (RQ's), as VISITOR_JOBID_RESTARTS
    rnnviz:lease:JOB          who holds a job: the worker running it (renewed every second), or a page for
                              the moment it queues, requeues or cancels it; it lapses RNNVIZ_LEASE_SECONDS
                              (the operator's setting, 10 by default) after its holder's last renewal
    rnnviz:running            the jobs a worker has taken, as VISITOR/JOB
    rnnviz:stop:JOB           "Stop early" was asked
    rnnviz:visitor:VISITOR    the visitor's newest training; rnnviz:address:DIGEST  an address's trainings
    rnnviz:measure:DIGEST     the newest measuring of a checkpoint; rnnviz:rate  images/s (see jobs.DEFAULT_RATE)

A job runs only while its worker holds its lease, so never twice at once: a worker that cannot renew it
ends itself before it lapses. Every page process looks once a second for running jobs whose lease has
lapsed (their worker or its machine died) and queues each again, under its lease, to continue from its
last epoch end; after MAX_RESTARTS it is left interrupted, for the visitor to resume or discard. Redis
must keep its data across a restart (deploy/README.md: appendonly); a job it lost anyway shows as interrupted.
"""

import hashlib
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

from redis import Redis, WatchError
from redis.exceptions import RedisError
from rq import Queue, Worker
from rq.job import Job

from ..recipes import Settings
from . import admission, store
from .job_queue import Place, QueueFull, place_of
from .jobs import (
    DEFAULT_RATE,
    TRAIN,
    JobState,
    JobStatus,
    job_files,
    new_measuring,
    new_training,
    newest_job,
    read_status,
    remove_leftovers,
    write_status,
)
from .redis_worker import (
    QUEUE,
    RATE,
    RELEASE,
    RUNNING,
    holder,
    lease_key,
    lease_ms,
    run_job,
    stop_key,
)
from .server_config import server_config

LOOK_EVERY = 1.0  # s between a page process's looks for lapsed leases
MAX_RESTARTS = 3  # times a job is queued again (its worker lost, or resumed) before it is left interrupted
KEPT = 7 * 86_400  # s the admission and measuring keys are kept (a training lasts minutes)
UNREACHABLE = "The training queue cannot be reached just now; please try again in a minute."
SHOWING_LAST = "The training queue cannot be reached just now: this is the training's last known progress."
WORKER_LOST = "Its worker was lost after {epochs} finished epochs; it was queued again and continues from there."
QUEUE_LOST = "The training queue lost track of it (its Redis restarted without its data)."


def ref(status: JobStatus) -> str:
    """How Redis names a job: VISITOR/JOB."""
    return f"{status.visitor}/{status.id}"


def rq_id(status: JobStatus) -> str:
    """The RQ job that carries it now (a new one each time it is queued again)."""
    return f"{status.visitor}_{status.id}_{status.restarts}"


def status_of(job_ref: str) -> JobStatus | None:
    visitor, _, job_id = job_ref.partition("/")
    return read_status(visitor, job_id) if store.is_visitor_id(visitor) else None


class RedisQueue:
    """The training queue of every machine: jobs in Redis, run by worker machines (redis_worker.py)."""

    def __init__(self, url: str):
        self.url = url  # passed to the workers with each job
        self.redis = Redis.from_url(url, decode_responses=True)  # for our keys, read as text
        self.rq = Queue(QUEUE, connection=Redis.from_url(url))  # RQ reads bytes
        self.token = holder()
        self._closed = threading.Event()
        self._looker = threading.Thread(target=self._look, name="training-leases", daemon=True)
        self._looker.start()

    @property
    def rate(self) -> float:
        try:
            return float(self.redis.get(RATE) or DEFAULT_RATE)
        except RedisError:
            return DEFAULT_RATE

    # -- what the page calls --

    def submit(self, settings: Settings, visitor: str, address: str = "") -> str:
        """Queue a training for `visitor`, from the client `address`; returns its id. Raises QueueFull, or
        admission.Refused (one per visitor, a cap per address, a time budget: its message says which)."""
        admission.check_size(settings, self.rate)
        self.latest(visitor)  # notices a job the queue lost
        with self._reaching_redis():
            if self.rq.count >= server_config().queue_limit:
                raise QueueFull(f"{self.rq.count} trainings are waiting already; please try again later.")
            status = new_training(settings, visitor, admission.address_key(address), self.token)
            with self._held(status.id):
                write_status(status)
                try:
                    self._admit(status)
                except admission.Refused:
                    job_files(visitor, status.id)["status"].unlink()
                    raise
                self._enqueue(status)
        return status.id

    def measure(self, checkpoint: Path, visitor: str) -> JobStatus:
        """The job measuring a new checkpoint on MNIST's test set: the one under way, the one that ended
        (unless the checkpoint has changed since), or a new one."""
        key = f"rnnviz:measure:{hashlib.sha256(str(checkpoint).encode()).hexdigest()[:32]}"
        with self._reaching_redis():
            known = status_of(self.redis.get(key) or "")
            if known and known.live and self._known(known):
                return known
            if known and known.state in (JobState.DONE, JobState.FAILED) and checkpoint.exists() and (
                    checkpoint.stat().st_mtime < known.submitted):
                return known
            status = new_measuring(checkpoint, visitor, self.token)
            with self._held(status.id):
                write_status(status)
                self.redis.set(key, ref(status), ex=KEPT)
                self._enqueue(status)
        return status

    def resume(self, visitor: str, job_id: str) -> None:
        """Queue an interrupted job again; it continues from its last epoch end (unless the visitor, or their
        address, has other trainings live meanwhile, or the queue cannot be reached: the page says so)."""
        with suppress(RedisError), self._held(job_id) as held:
            status = read_status(visitor, job_id)
            if not held or status is None or status.state != JobState.INTERRUPTED:
                return
            try:
                self._admit(status)
            except admission.Refused:
                return
            status.state, status.submitted, status.restarts, status.note = (
                JobState.QUEUED, time.time(), status.restarts + 1, "")
            write_status(status)
            self._enqueue(status)

    def stop(self, visitor: str, job_id: str) -> None:
        """A queued job is cancelled; a running one stops at its next batch and saves what it learned
        (on whichever machine runs it); an interrupted one is discarded. Nothing while the queue cannot be
        reached (the page says so)."""
        with suppress(RedisError), self._held(job_id) as held:
            status = read_status(visitor, job_id)
            if status is None:
                return
            if held and status.state in (JobState.QUEUED, JobState.INTERRUPTED):  # no worker has it
                self.rq.remove(rq_id(status))
                job_files(visitor, job_id)["resume"].unlink(missing_ok=True)
                status.state = JobState.CANCELLED
                write_status(status)
            elif status.live:
                self.redis.set(stop_key(job_id), 1, ex=KEPT)

    def latest(self, visitor: str, kind: str = TRAIN) -> JobStatus | None:
        """The visitor's newest job of a kind (interrupted if the queue has lost it; with a note while the
        queue cannot be reached)."""
        status = newest_job(visitor, kind)
        if status is None or not status.live:
            return status
        try:
            if self._known(status):
                return status
            with self._held(status.id) as held:
                lost = read_status(visitor, status.id)
                if held and lost and lost.live:
                    lost.state, lost.note = JobState.INTERRUPTED, QUEUE_LOST
                    remove_leftovers(lost)
                    write_status(lost)
                return lost
        except RedisError:
            status.note = SHOWING_LAST
            return status

    def place(self, status: JobStatus) -> Place | None:
        """Where a queued job stands, or None when it is not waiting (or the queue cannot be reached)."""
        try:
            waiting = [name.split("_") for name in self.rq.get_job_ids()]
            running = [job for job in map(status_of, self.redis.smembers(RUNNING)) if job]
            workers = Worker.count(connection=self.rq.connection, queue=self.rq)
        except RedisError:
            return None
        ids = [job_id for _, job_id, _ in waiting]
        if status.id not in ids:
            return None
        ahead = [read_status(visitor, job_id) for visitor, job_id, _ in waiting[: ids.index(status.id) + 1]]
        return place_of(running, list(filter(None, ahead)), max(workers, 1), self.rate)

    def close(self) -> None:
        """Stop looking for lapsed leases (the workers go on)."""
        self._closed.set()
        self._looker.join()

    # -- in Redis --

    @contextmanager
    def _reaching_redis(self) -> Iterator[None]:
        try:
            yield
        except RedisError as error:
            raise QueueFull(UNREACHABLE) from error

    @contextmanager
    def _held(self, job_id: str) -> Iterator[bool]:
        """Hold the job's lease while queueing, cancelling or requeueing it (whether it could be taken: not
        when a worker has it); let go at the end unless _enqueue did."""
        held = bool(self.redis.set(lease_key(job_id), self.token, nx=True, px=lease_ms()))
        try:
            yield held
        finally:
            if held:
                self.redis.eval(RELEASE, 1, lease_key(job_id), self.token)

    def _enqueue(self, status: JobStatus) -> None:
        """Put the job in RQ's queue and let go of its lease in one transaction: a worker that takes it
        finds its lease free."""
        with self.rq.connection.pipeline() as pipe:
            self.rq.enqueue_call(run_job, args=(self.url, status.visitor, status.id), job_id=rq_id(status), timeout=-1,
                                 failure_ttl=86_400, pipeline=pipe)
            pipe.delete(lease_key(status.id))
            pipe.execute()

    def _known(self, status: JobStatus) -> bool:
        """Whether Redis knows a live job: its RQ job, or someone holding its lease; or, running, whether its
        worker may still be writing (it wrote less than a lease ago: a worker whose lease is gone ends itself)."""
        if Job.exists(rq_id(status), connection=self.rq.connection) or self.redis.exists(lease_key(status.id)):
            return True
        written = job_files(status.visitor, status.id)["status"]
        return status.state == JobState.RUNNING and time.time() - written.stat().st_mtime < lease_ms() / 1000

    def _admit(self, status: JobStatus) -> None:
        """Register a live training for its visitor and address, or admission.Refused: the visitor's and the
        address's live trainings read, checked and written in one transaction (WATCH/MULTI), so two page
        processes cannot both pass. Ended jobs drop out as they are seen."""
        visitor, network = f"rnnviz:visitor:{status.visitor}", f"rnnviz:address:{status.address}"
        with self.redis.pipeline() as pipe:
            while True:
                try:
                    pipe.watch(visitor, network)
                    refs = {pipe.get(visitor) or "", *pipe.smembers(network)} - {"", ref(status)}
                    live = [job for job in map(status_of, refs) if job and job.live]
                    admission.check_live(live, status.visitor, status.address)
                    pipe.multi()
                    pipe.set(visitor, ref(status), ex=KEPT)
                    pipe.delete(network)
                    pipe.sadd(network, ref(status), *(ref(job) for job in live if job.address == status.address))
                    pipe.expire(network, KEPT)
                    pipe.execute()
                    return
                except WatchError:  # another page process changed them meanwhile: read them again
                    continue

    # -- the thread that requeues the jobs of lost workers --

    def _look(self) -> None:
        while not self._closed.wait(LOOK_EVERY):
            try:
                for job_ref in self.redis.smembers(RUNNING):
                    self._requeue_if_lost(job_ref)
            except RedisError:  # said in the page (latest's note); looked at again once it is back
                continue

    def _requeue_if_lost(self, job_ref: str) -> None:
        """A job a worker took whose lease has lapsed: queued again (from its last epoch end), or interrupted."""
        visitor, _, job_id = job_ref.partition("/")
        with self._held(job_id) as held:
            if not held:  # its worker is alive (or another page process is at it)
                return
            if not self.redis.srem(RUNNING, job_ref):  # since we looked, another page process requeued it (or it ended)
                return
            status = read_status(visitor, job_id)
            if status is None or not status.live:  # it ended meanwhile
                return
            remove_leftovers(status)
            if status.restarts >= MAX_RESTARTS:
                status.state, status.note = JobState.INTERRUPTED, ""
                write_status(status)
                return
            status.state, status.restarts = JobState.QUEUED, status.restarts + 1
            status.note = WORKER_LOST.format(epochs=status.epochs_done)
            write_status(status)
            self._enqueue(status)


