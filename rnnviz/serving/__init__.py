"""Serving a class: the server's configuration, the model store (who sees which checkpoints), and
training jobs run by worker processes from a queue. The page (ui/) uses these; the compute core
never imports them. Each module below imports only those above it.

    server_config.py  the operator's configuration, every environment variable of serving read in one place
    store.py          where checkpoints live: shipped, the class's, each visitor's own; limits; the path box
    jobs.py           a training job's files and its typed status, as every process reads and writes them
    admission.py      who may start a training: one per visitor, a cap per address, a time budget
    job_queue.py      the queue as the pages see it (JobQueue), whichever runs it
    worker.py         the job runner: one training or measuring, to its end
    local_queue.py    the default queue: this machine's worker processes, at most RNNVIZ_WORKERS at once
    redis_worker.py   a worker machine's side of the queue in Redis: leases, and its workers (serve)
    redis_queue.py    the pages' side of the queue of every machine, in Redis through RQ (RNNVIZ_QUEUE_URL)
"""

from .job_queue import JobQueue


def make_queue(url: str = "") -> JobQueue:
    """The training queue the operator chose: in Redis at `url` (its libraries imported only then), else
    this machine's own."""
    if url:
        from .redis_queue import RedisQueue

        return RedisQueue(url)
    from .local_queue import LocalQueue

    return LocalQueue()
