"""Training in worker processes with a queue: a limit, first come first served, stop, a killed worker
or server that leaves nothing half-written behind, and jobs resumed from their last epoch end."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from rnnviz import load_model, registry
from rnnviz.recipes import Settings
from rnnviz.training_job import QueueFull, TrainingQueue, estimated_starts, images_per_job, jobs_dir
from tests.conftest import ROOT, wait_for

TINY = Settings(cell_type="rnn", hidden=8, epochs=1, limit=500, val_size=200)
LONG = Settings(cell_type="rnn", hidden=16, epochs=4, limit=10_000, val_size=500)  # a few seconds an epoch


@pytest.fixture
def store(user_models, tmp_path, monkeypatch):
    """An empty model store, and training slots of this test's own (not the machine's)."""
    monkeypatch.setenv("RNNVIZ_SLOTS", str(tmp_path / "slots"))
    return user_models


def leftovers(folder: Path) -> list[str]:
    return [path.name for path in folder.rglob("*") if path.name.endswith(".tmp")]


def wait_until(condition, seconds: float = 120):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if found := condition():
            return found
        time.sleep(0.05)
    raise AssertionError("timed out")


def test_a_job_counts_the_pen_digits_mixed_into_its_epochs():
    """The queue's time estimates count what a job trains on: 700 MNIST images and 30% pen digits are 1,000."""
    assert images_per_job({"epochs": 2, "limit": 700, "pen_share": 0.3}) == 2 * 1000
    assert images_per_job({"epochs": 2, "limit": 0}) == 2 * 55_000  # a job's status from before pen digits


def test_estimated_starts_first_come_first_served():
    # one slot, busy for 30 s more; queued jobs of 60 s and 10 s start after it, one after the other
    assert estimated_starts([30.0], [60.0, 10.0, 5.0], slots=1) == [30.0, 90.0, 100.0]
    # two slots, one free: the first queued job starts now
    assert estimated_starts([30.0], [60.0, 10.0], slots=2) == [0.0, 30.0]


@pytest.mark.slow
def test_limit_order_queue_full_and_stop(store, mnist_test):
    queue = TrainingQueue(workers=1, queue_limit=2)
    first, second, third, fourth = (registry.new_session_id() for _ in range(4))
    try:
        queue.submit(LONG, first)
        wait_until(lambda: queue.latest(first)["state"] == "running")
        queue.submit(TINY, second)
        queue.submit(TINY, third)
        assert [queue.latest(s).get("position") for s in (second, third)] == [1, 2]
        assert 0 < queue.latest(second)["starts_in"] < queue.latest(third)["starts_in"]
        with pytest.raises(QueueFull):
            queue.submit(TINY, fourth)
        with pytest.raises(ValueError, match="already"):
            queue.submit(TINY, first)  # one job per visitor
        queue.stop(second, queue.latest(second)["id"])  # leaves the queue: the third moves up
        assert queue.latest(second)["state"] == "cancelled" and queue.latest(third)["position"] == 1
        wait_until(lambda: (queue.latest(first).get("progress") or {}).get("step"))
        queue.stop(first, queue.latest(first)["id"])  # running: stops and saves what it learned
        stopped = wait_for(queue, first)
        assert stopped["state"] == "stopped" and load_model(stopped["out"]).info["stopped_early"]
        done = wait_for(queue, third)
        assert done["state"] == "done" and done["started"] >= stopped["submitted"]
        assert done["started"] > Path(stopped["out"]).stat().st_mtime - 1  # only after the first had ended
        assert queue.latest(second)["state"] == "cancelled" and not queue.latest(fourth)
    finally:
        queue.close()
    assert not leftovers(store)


@pytest.mark.slow
def test_a_killed_worker_leaves_nothing_and_the_job_resumes(store, mnist_test):
    queue, session = TrainingQueue(workers=1), registry.new_session_id()
    try:
        queue.submit(LONG, session)
        status = wait_until(lambda: (s := queue.latest(session))["epochs_done"] >= 1 and s)
        assert os.getpriority(os.PRIO_PROCESS, status["pid"]) == 19  # pages first
        os.kill(status["pid"], signal.SIGKILL)
        status = wait_for(queue, session)
        assert status["state"] == "interrupted" and status["epochs_done"] >= 1
        assert not Path(status["out"]).exists() and not leftovers(store)
        queue.resume(session, status["id"])
        done = wait_for(queue, session, until=("done", "failed"))
    finally:
        queue.close()
    assert done["state"] == "done", done.get("error")
    assert [epoch["epoch"] for epoch in load_model(done["out"]).info["history"]] == [1, 2, 3, 4]
    assert sorted(p.name for p in jobs_dir(session).iterdir()) == [f"{done['id']}.curve.json", f"{done['id']}.json"]


SERVER = """
import sys, time
from rnnviz import registry
from rnnviz.recipes import Settings
from rnnviz.training_job import TrainingQueue
queue, session = TrainingQueue(workers=1), sys.argv[1]
queue.submit(Settings(cell_type="rnn", hidden=16, epochs=4, limit=10_000, val_size=500), session)
while queue.latest(session)["epochs_done"] < 1:
    time.sleep(0.05)
print("an epoch is saved", flush=True)
time.sleep(600)
"""


@pytest.mark.slow
def test_jobs_of_a_killed_server_show_as_interrupted_and_resume(store, mnist_test):
    session = registry.new_session_id()
    server = subprocess.Popen([sys.executable, "-c", SERVER, session], cwd=ROOT, stdout=subprocess.PIPE, text=True,
                              start_new_session=True)
    try:
        assert server.stdout.readline().strip() == "an epoch is saved"
    finally:
        os.killpg(server.pid, signal.SIGKILL)  # the server and its worker, as a crash or a restart would
        server.wait()
        server.stdout.close()
    queue = TrainingQueue(workers=1)  # the restarted server
    try:
        status = queue.latest(session)
        assert status["state"] == "interrupted" and status["epochs_done"] >= 1 and not leftovers(store)
        queue.resume(session, status["id"])
        done = wait_for(queue, session, until=("done", "failed"))
    finally:
        queue.close()
    assert done["state"] == "done", done.get("error")
    assert len(load_model(done["out"]).info["history"]) == 4
