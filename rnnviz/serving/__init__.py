"""Serving a class: the operator's settings, the model store (who sees which checkpoints), and
training jobs run by worker processes from a queue. The page (ui/) uses these; the compute core
never imports them.

    settings.py   the operator's settings, every environment variable of serving read in one place
    store.py      where checkpoints live: shipped, the class's, each visitor's own; limits; the path box
    jobs.py       a training job's files and its typed status, as every process reads and writes them
    queue.py      the queue: at most RNNVIZ_WORKERS trainings at once on a machine, the rest waiting
    worker.py     the process that runs one job (python -m rnnviz.serving.worker)
"""
