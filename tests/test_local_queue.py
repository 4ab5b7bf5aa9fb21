"""The training queue: a limit of trainings at once, first come first served, one job per visitor, a
full queue refused, stop and leave the queue, and the jobs of a killed server shown as interrupted and
resumed from their last epoch end, with nothing half-written left behind."""

import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from rnnviz import load_model
from rnnviz.recipes import Settings
from rnnviz.serving import store
from rnnviz.serving.job_queue import QueueFull
from rnnviz.serving.jobs import JobState, JobStatus, job_files
from rnnviz.serving.local_queue import LocalQueue
from tests.conftest import ROOT, leftovers, wait_for, wait_until

TINY = Settings(cell_type="rnn", hidden=8, epochs=1, limit=500, val_size=200)
LONG = Settings(cell_type="lstm", hidden=128, epochs=6, val_size=400)  # a second or two an epoch


def saved_epochs(status: JobStatus) -> list[dict]:
    """The epochs a job's resume file holds (what a resume continues from), each with its measured speed: a
    training run again from scratch would not repeat them to the last digit."""
    return torch.load(job_files(status.visitor, status.id)["resume"], weights_only=True)["history"]


def resumed(queue, visitor: str, status: JobStatus) -> tuple[list[dict], list[dict]]:
    """Resume an interrupted job and wait for its end: the epochs saved before, and the saved model's history."""
    before = saved_epochs(status)
    queue.resume(visitor, status.id)
    done = wait_for(queue, visitor, until=(JobState.DONE, JobState.FAILED))
    assert done.state == JobState.DONE, done.error
    return before, load_model(done.out).info["history"]


@pytest.fixture
def slots(user_models, tmp_path, monkeypatch):
    """An empty model store, and training slots of this test's own (not the machine's)."""
    monkeypatch.setenv("RNNVIZ_SLOTS", str(tmp_path / "slots"))
    return user_models


@pytest.mark.slow
def test_limit_order_queue_full_and_stop(slots, offline_mnist):
    queue = LocalQueue(workers=1, queue_limit=2)
    first, second, third, fourth = (store.new_visitor_id() for _ in range(4))
    address = {visitor: f"10.0.0.{n}" for n, visitor in enumerate((first, second, third, fourth))}  # four visitors
    try:
        queue.submit(LONG, first, address[first])
        wait_until(lambda: queue.latest(first).state == JobState.RUNNING)
        queue.submit(TINY, second, address[second])
        queue.submit(TINY, third, address[third])
        places = [queue.place(queue.latest(visitor)) for visitor in (second, third)]
        assert [place.position for place in places] == [1, 2] and 0 < places[0].starts_in < places[1].starts_in
        with pytest.raises(QueueFull):
            queue.submit(TINY, fourth, address[fourth])
        with pytest.raises(ValueError, match="already"):
            queue.submit(TINY, first, address[first])  # one job per visitor
        queue.stop(second, queue.latest(second).id)  # leaves the queue: the third moves up
        assert queue.latest(second).state == JobState.CANCELLED and queue.place(queue.latest(third)).position == 1
        wait_until(lambda: queue.latest(first).progress)
        queue.stop(first, queue.latest(first).id)  # running: stops and saves what it learned
        stopped = wait_for(queue, first)
        assert stopped.state == JobState.STOPPED and load_model(stopped.out).info["stopped_early"]
        done = wait_for(queue, third)
        assert done.state == JobState.DONE and done.started >= stopped.submitted
        assert done.started > Path(stopped.out).stat().st_mtime - 1  # only after the first had ended
        assert queue.latest(second).state == JobState.CANCELLED and not queue.latest(fourth)
    finally:
        queue.close()
    assert not leftovers(slots)


@pytest.mark.slow
def test_a_queued_job_whose_files_are_gone_is_skipped_and_the_queue_goes_on(slots, offline_mnist):
    """A queued job whose visitor's folder went (expired, or removed by the operator) is not started, and
    the jobs after it still run."""
    queue = LocalQueue(workers=1)
    running, gone, later = (store.new_visitor_id() for _ in range(3))
    try:
        queue.submit(LONG, running, "10.0.0.1")
        wait_until(lambda: queue.latest(running).state == JobState.RUNNING)
        queue.submit(TINY, gone, "10.0.0.2")
        shutil.rmtree(store.visitor_dir(gone))
        queue.stop(running, queue.latest(running).id)
        assert wait_for(queue, running).state == JobState.STOPPED
        queue.submit(TINY, later, "10.0.0.3")
        assert wait_for(queue, later).state == JobState.DONE
        assert queue.latest(gone) is None
    finally:
        queue.close()


SERVER = f"""
import sys, time
from rnnviz.recipes import Settings
from rnnviz.serving.local_queue import LocalQueue
queue, visitor = LocalQueue(workers=1), sys.argv[1]
queue.submit(Settings(**{LONG.__dict__!r}), visitor)
while queue.latest(visitor).epochs_done < 1:
    time.sleep(0.05)
print("an epoch is saved", flush=True)
time.sleep(600)
"""


@pytest.mark.slow
def test_jobs_of_a_killed_server_show_as_interrupted_and_resume(slots, offline_mnist):
    visitor = store.new_visitor_id()
    server = subprocess.Popen([sys.executable, "-c", SERVER, visitor], cwd=ROOT, stdout=subprocess.PIPE, text=True,
                              start_new_session=True)
    try:
        assert server.stdout.readline().strip() == "an epoch is saved"
    finally:
        os.killpg(server.pid, signal.SIGKILL)  # the server and its worker, as a crash or a restart would
        server.wait()
        server.stdout.close()
    queue = LocalQueue(workers=1)  # the restarted server
    try:
        status = queue.latest(visitor)
        assert status.state == JobState.INTERRUPTED and status.epochs_done >= 1 and not leftovers(slots)
        before, history = resumed(queue, visitor, status)
    finally:
        queue.close()
    assert len(history) == LONG.epochs and history[: len(before)] == before  # continued, not started over


def test_the_default_queue_is_this_machines_own_and_needs_no_redis(slots):
    """With no queue URL the pages get the local queue, and neither Redis's library nor RQ is imported
    (they need not be installed)."""
    code = ("import sys; from rnnviz.serving import make_queue; from rnnviz.serving.local_queue import LocalQueue; "
            "queue = make_queue(''); "
            "queue.close(); print(type(queue) is LocalQueue, {'redis', 'rq'} & set(sys.modules))")
    env = {key: value for key, value in os.environ.items() if key != "RNNVIZ_QUEUE_URL"}
    shown = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, check=True)
    assert shown.stdout.split() == ["True", "set()"]
