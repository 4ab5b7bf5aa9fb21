"""Who may start a training: the live markers behind the checks, as several page processes share them."""

import pytest

from rnnviz.recipes import Settings
from rnnviz.serving import admission, store
from rnnviz.serving.jobs import new_job


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


@pytest.mark.parametrize("seconds, refused", [(15 * 60, False), (15 * 60 + 1, True)])
def test_a_training_may_take_the_whole_time_budget_and_not_a_second_more(monkeypatch, seconds, refused):
    monkeypatch.setenv("RNNVIZ_JOB_MINUTES", "15")
    monkeypatch.setattr(admission, "estimated_seconds", lambda settings, rate: seconds)
    if refused:
        with pytest.raises(admission.Refused, match="about 15 min here, and the server allows 15 min per training"):
            admission.check_size(Settings(), rate=1.0)
    else:
        admission.check_size(Settings(), rate=1.0)


def test_each_refusal_says_why_in_full(monkeypatch):
    monkeypatch.setenv("RNNVIZ_MAX_HIDDEN", "64")
    monkeypatch.setenv("RNNVIZ_PER_ADDRESS", "1")
    with pytest.raises(admission.Refused) as too_large:
        admission.check_size(Settings(hidden=128), rate=1e9)
    assert str(too_large.value) == "This server trains models of up to 64 hidden units."
    someone = new_job(store.new_visitor_id(), "here", address=admission.address_key("10.0.0.1"))
    with pytest.raises(admission.Refused) as network_full:
        admission.check_live([someone], store.new_visitor_id(), admission.address_key("10.0.0.1"))
    assert str(network_full.value) == ("1 trainings from your network are queued or running already; please start "
                                       "yours when one of them has finished.")
