"""Who may start a training: the live markers behind the checks, as several page processes share them."""

from rnnviz.serving import admission, store


def test_a_marker_another_replica_dropped_meanwhile_is_no_error(user_models, monkeypatch):
    """Two replicas look at the live trainings at once: both find an ended job's marker; one drops it first."""
    admission._live_dir().mkdir(parents=True)
    marker = admission._live_dir() / f"{store.new_visitor_id()}-20260101-000000-abcdef.job"
    marker.touch()

    def ended_and_dropped_by_the_other(visitor, job_id):
        marker.unlink()  # the other replica, between this one's listing and its own unlink
        return None

    monkeypatch.setattr(admission, "read_status", ended_and_dropped_by_the_other)
    assert admission.live_trainings() == [] and not marker.exists()
