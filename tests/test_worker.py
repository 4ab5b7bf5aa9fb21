"""The worker: it runs a job to its end and reports through the job's files; killed mid-run it leaves
nothing half-written, and the job resumes from its last epoch end."""

import os
import signal
from pathlib import Path

import pytest

from rnnviz import load_model
from rnnviz.recipes import Settings
from rnnviz.serving import store
from rnnviz.serving.jobs import JobState, JobStatus, job_files, jobs_dir, read_curve, read_status, write_status
from rnnviz.serving.local_queue import LocalQueue
from rnnviz.serving.worker import work
from tests.conftest import leftovers, wait_for, wait_until
from tests.test_local_queue import LONG, resumed


def test_a_job_runs_to_its_end_and_says_so_in_its_files(user_models, offline_mnist):
    visitor = store.new_visitor_id()
    settings = Settings(cell_type="gru", hidden=8, epochs=2, limit=300, val_size=200)
    status = JobStatus(id="20260101-120000-abcdef", visitor=visitor, out=str(store.new_checkpoint_path("g", visitor)),
                       settings=settings, state=JobState.RUNNING, server="test", submitted=0.0)
    write_status(status)
    work(visitor, status.id, lambda: False)
    done = read_status(visitor, status.id)
    assert done.state == JobState.DONE and done.pid == os.getpid() and done.epochs_done == 2
    assert done.summary.test_accuracy == load_model(done.out).info["test_accuracy"]
    curve = read_curve(visitor, status.id)
    assert [point.val_accuracy is not None for point in curve].count(True) == 2  # a point at each epoch end
    assert not job_files(visitor, status.id)["resume"].exists()


def test_a_failing_job_ends_with_its_reason(user_models, tmp_path, offline_mnist):
    visitor = store.new_visitor_id()
    status = JobStatus(id="20260101-120000-fedcba", visitor=visitor, out=str(tmp_path / "never.safetensors"),
                       settings=Settings(hidden=8, epochs=1, start_from=str(tmp_path / "missing.safetensors")),
                       state=JobState.RUNNING, server="test", submitted=0.0)
    write_status(status)
    work(visitor, status.id, lambda: False)
    failed = read_status(visitor, status.id)
    assert failed.state == JobState.FAILED and not Path(failed.out).exists()
    assert "FileNotFoundError (reference " in failed.error and str(tmp_path) not in failed.error  # no server folder


@pytest.mark.slow
def test_a_killed_worker_leaves_nothing_and_the_job_resumes(user_models, tmp_path, monkeypatch, offline_mnist):
    monkeypatch.setenv("RNNVIZ_SLOTS", str(tmp_path / "slots"))
    queue, visitor = LocalQueue(workers=1), store.new_visitor_id()
    try:
        queue.submit(LONG, visitor)
        status = wait_until(lambda: (s := queue.latest(visitor)).epochs_done >= 1 and s)
        assert os.getpriority(os.PRIO_PROCESS, status.pid) == 19  # pages first
        os.kill(status.pid, signal.SIGKILL)
        status = wait_for(queue, visitor)
        assert status.state == JobState.INTERRUPTED and status.epochs_done >= 1
        assert not Path(status.out).exists() and not leftovers(user_models)
        before, history = resumed(queue, visitor, status)
    finally:
        queue.close()
    assert [epoch["epoch"] for epoch in history] == list(range(1, LONG.epochs + 1))
    assert before and history[: len(before)] == before  # the epochs before the kill, continued from, not redone
    assert sorted(p.name for p in jobs_dir(visitor).iterdir()) == [f"{status.id}.curve.json", f"{status.id}.json"]
