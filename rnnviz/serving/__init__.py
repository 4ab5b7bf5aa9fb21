"""Serving a class: the operator's settings, the model store (who sees which checkpoints), and
training jobs run by worker processes from a queue. The page (ui/) uses these; the compute core
never imports them.

    settings.py   the operator's settings, every environment variable of serving read in one place
    store.py      where checkpoints live: shipped, the class's, each visitor's own; limits; the path box
    jobs.py       a training job's files and its typed status, as every process reads and writes them
    queue.py      the queue the pages use (make_queue): by default this machine's, at most RNNVIZ_WORKERS
                  trainings at once, the rest waiting
    redis_queue.py  the queue of every machine, in Redis through RQ (RNNVIZ_QUEUE_URL), run by worker machines
    worker.py     the process that runs jobs (python -m rnnviz.serving.worker)
"""
