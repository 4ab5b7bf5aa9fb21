"""A training job's files and its typed status: written and read back whole, the newest found, what a
killed writer left removed, and the queue's time estimates."""

from dataclasses import replace

from rnnviz.recipes import Settings
from rnnviz.serving import store
from rnnviz.serving.jobs import (
    JobState,
    JobStatus,
    JobSummary,
    estimated_starts,
    images_per_job,
    job_files,
    newest_job,
    read_curve,
    read_status,
    remove_leftovers,
    write_curve,
    write_status,
)
from rnnviz.train import Progress


def a_job(visitor: str, job_id: str = "20260101-120000-abcdef", **changes) -> JobStatus:
    out = store.visitor_dir(visitor) / "rnn-h8-20260101-120000.safetensors"
    return replace(JobStatus(id=job_id, visitor=visitor, out=str(out), settings=Settings(cell_type="rnn", hidden=8),
                             state=JobState.QUEUED, server="a1b2c3", submitted=1.0), **changes)


def test_a_status_is_written_and_read_back_whole(user_models):
    visitor = store.new_visitor_id()
    status = a_job(visitor, state=JobState.DONE, epochs_done=3, pid=4242, started=2.0, pruned=["old"],
                   progress=Progress(3, 30, 30, 0.5, 0.9, val_accuracy=0.8, samples_per_second=100.0, batch_loss=0.4),
                   summary=JobSummary(0.95, 0.94, 12.5, False))
    write_status(status)
    assert read_status(visitor, status.id) == status
    assert read_status(visitor, "20990101-000000-ffffff") is None  # no such job


def test_the_newest_job_is_found_and_a_broken_status_reads_as_none(user_models):
    visitor = store.new_visitor_id()
    assert newest_job(visitor) is None
    for job_id in ("20260101-120000-aaaaaa", "20260102-090000-bbbbbb"):
        write_status(a_job(visitor, job_id))
    write_curve(a_job(visitor, "20260102-090000-bbbbbb"), [Progress(1, 1, 10, 2.0, 0.1)])  # not a status file
    assert newest_job(visitor).id == "20260102-090000-bbbbbb"
    job_files(visitor, "20260102-090000-bbbbbb")["status"].write_text("{broken")
    assert read_status(visitor, "20260102-090000-bbbbbb") is None


def test_the_curve_round_trips(user_models):
    status = a_job(store.new_visitor_id())
    points = [Progress(1, step, 20, 2.0 / step, 0.05 * step, batch_loss=1.0) for step in range(1, 6)]
    write_curve(status, points)
    assert read_curve(status.visitor, status.id) == points
    assert read_curve(status.visitor, "20990101-000000-ffffff") == []


def test_what_a_killed_writer_left_is_removed(user_models):
    status = a_job(store.new_visitor_id())
    write_status(status)
    folder = job_files(status.visitor, status.id)["status"].parent
    left = [folder / f".{status.id}.json.x1.tmp", folder.parent / ".rnn-h8-20260101-120000.safetensors.y2.tmp"]
    kept = folder.parent / ".another.safetensors.z3.tmp"  # another job's: not this one's to remove
    for path in [*left, kept]:
        path.write_bytes(b"half")
    remove_leftovers(status)
    assert not any(path.exists() for path in left) and kept.exists()


def test_a_job_counts_the_pen_digits_mixed_into_its_epochs():
    """The queue's time estimates count what a job trains on: 700 MNIST images and 30% pen digits are 1,000."""
    assert images_per_job(Settings(epochs=2, limit=700, pen_share=0.3)) == 2 * 1000
    assert images_per_job(Settings(epochs=2, val_size=5000)) == 2 * 55_000  # all of MNIST's 60,000 less validation


def test_estimated_starts_first_come_first_served():
    # one slot, busy for 30 s more; queued jobs of 60 s and 10 s start after it, one after the other
    assert estimated_starts([30.0], [60.0, 10.0, 5.0], slots=1) == [30.0, 90.0, 100.0]
    # two slots, one free: the first queued job starts now
    assert estimated_starts([30.0], [60.0, 10.0], slots=2) == [0.0, 30.0]
