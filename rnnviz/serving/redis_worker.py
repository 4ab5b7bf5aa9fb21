"""A worker machine's side of the training queue in Redis: the keys and scripts a job's lease lives by,
the lease a worker renews while it runs a job, what it does with each job (run_job), and the machine's
workers themselves.

    RNNVIZ_QUEUE_URL=redis://host:port/db python -m rnnviz.serving.redis_worker

runs RNNVIZ_WORKERS workers taking jobs from that Redis (redis_queue.py queues them). The pages' side
imports the keys and scripts from here; this module imports nothing of the pages' side.
"""

import os
import secrets
import socket
import threading
import time

from redis import Redis
from redis.exceptions import RedisError
from rq.worker_pool import WorkerPool

from .jobs import MEASURE, JobState, measured_rate, read_status, write_status
from .server_config import server_config
from .worker import work

QUEUE = "rnnviz"  # the RQ queue's name
RENEW_EVERY = 1.0  # s between a worker's renewals (and its looks for "Stop early"), or a fifth of a shorter lease

RUNNING = "rnnviz:running"
RATE = "rnnviz:rate"

RENEW = """
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return -1 end
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return redis.call('EXISTS', KEYS[2])
"""  # a worker's renewal: -1 the lease is no longer its own, 1 "Stop early" was asked, else 0
RELEASE = "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0"
TAKE = """
if not redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then return 0 end
redis.call('SADD', KEYS[2], ARGV[3])
return 1
"""  # a worker takes a job: its lease, and its place among the running, together

def lease_key(job_id: str) -> str:
    return f"rnnviz:lease:{job_id}"


def stop_key(job_id: str) -> str:
    return f"rnnviz:stop:{job_id}"



def lease_ms() -> int:
    """How long a lease lasts after its holder's last renewal, in ms: the operator's RNNVIZ_LEASE_SECONDS."""
    return int(server_config().lease_seconds * 1000)


def holder() -> str:
    """A name for whoever takes leases: this machine, process, and a random part (one per queue or job)."""
    return f"{socket.gethostname()}-{os.getpid()}-{secrets.token_hex(3)}"





class Lease(threading.Thread):
    """Renews a job's lease every second (five times a lease, if shorter) while this worker runs it, and hears
    "Stop early". A worker that loses its lease, or cannot renew it for nearly a lease (Redis unreachable), ends
    itself at once: by then a page may have queued the job again for another worker."""

    def __init__(self, connection: Redis, job_id: str, token: str):
        super().__init__(name="lease", daemon=True)
        self.connection, self.job_id, self.token = connection, job_id, token
        self.renewed, self.stop_asked = time.monotonic(), False
        self.lease_ms = lease_ms()
        self.every = min(RENEW_EVERY, self.lease_ms / 5000)
        self.start()

    def run(self) -> None:
        while True:
            time.sleep(self.every)
            try:
                answer = self.connection.eval(RENEW, 2, lease_key(self.job_id), stop_key(self.job_id), self.token,
                                              self.lease_ms)
            except RedisError:
                if time.monotonic() - self.renewed > self.lease_ms / 1000 - 3 * self.every:
                    os._exit(1)
                continue
            if answer < 0:
                os._exit(1)
            self.renewed, self.stop_asked = time.monotonic(), answer == 1


def run_job(url: str, visitor: str, job_id: str) -> None:
    """What a worker does with a job from the queue in Redis at `url` (in RQ's work horse): take its lease,
    or leave it to whoever holds it; run it; let go."""
    connection, token, job_ref = Redis.from_url(url, decode_responses=True), holder(), f"{visitor}/{job_id}"
    if not connection.eval(TAKE, 2, lease_key(job_id), RUNNING, token, lease_ms(), job_ref):
        return
    status = read_status(visitor, job_id)
    if status is None or status.state != JobState.QUEUED:  # cancelled, or its files are gone
        connection.srem(RUNNING, job_ref)
        connection.eval(RELEASE, 1, lease_key(job_id), token)
        return
    status.state, status.server, status.started = JobState.RUNNING, token, time.time()
    write_status(status)
    lease = Lease(connection, job_id, token)
    work(visitor, job_id, lambda: lease.stop_asked)
    ended = read_status(visitor, job_id)
    if ended.kind != MEASURE and ended.state == JobState.DONE:
        connection.set(RATE, measured_rate(ended))
    connection.srem(RUNNING, job_ref)
    connection.delete(stop_key(job_id))
    connection.eval(RELEASE, 1, lease_key(job_id), token)


def serve(url: str, workers: int) -> None:
    """This machine's `workers` workers on the queue in Redis at `url`: at the lowest priority, each started
    again if it dies; until SIGINT or SIGTERM."""
    os.nice(19)  # pages first (their machines run no workers, or share their cores with these)
    WorkerPool([QUEUE], connection=Redis.from_url(url), num_workers=workers).start()


if __name__ == "__main__":
    config = server_config()
    if not config.queue_url:
        raise SystemExit("Set RNNVIZ_QUEUE_URL=redis://host:port/db: the queue these workers take jobs from.")
    serve(config.queue_url, config.workers)
