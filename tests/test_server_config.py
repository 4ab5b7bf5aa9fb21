"""The operator's settings: read from the environment, with safe defaults."""

import pytest

from rnnviz.serving.server_config import server_config


@pytest.mark.parametrize("setting, address, enabled", [
    (None, "127.0.0.1", True), (None, "localhost", True), (None, "::1", True),
    (None, "", False), (None, None, False), (None, "0.0.0.0", False), (None, "10.0.0.5", False),
    ("on", "0.0.0.0", True), ("off", "127.0.0.1", False), ("maybe", "127.0.0.1", False),
])
def test_the_path_box_is_on_by_default_only_on_loopback(monkeypatch, setting, address, enabled):
    if setting is None:
        monkeypatch.delenv("RNNVIZ_PATH_BOX", raising=False)
    else:
        monkeypatch.setenv("RNNVIZ_PATH_BOX", setting)
    assert server_config().path_box_enabled(address) is enabled


def test_numbers_are_read_and_bad_ones_fall_back(monkeypatch):
    monkeypatch.delenv("RNNVIZ_LEASE_SECONDS", raising=False)
    monkeypatch.setenv("RNNVIZ_WORKERS", "3")
    monkeypatch.setenv("RNNVIZ_MAX_MODELS", "many")
    monkeypatch.setenv("RNNVIZ_MAX_MB", "0")
    monkeypatch.setenv("RNNVIZ_JOB_MINUTES", "0.5")
    read = server_config()
    assert read.workers == 3 and read.max_models == 10 and read.max_megabytes == 50 and read.job_minutes == 0.5
    assert read.lease_seconds == 10  # unset
    monkeypatch.setenv("RNNVIZ_LEASE_SECONDS", "2.5")
    assert server_config().lease_seconds == 2.5
    monkeypatch.setenv("RNNVIZ_LEASE_SECONDS", "-1")
    assert server_config().lease_seconds == 10
    monkeypatch.delenv("RNNVIZ_WORKERS")
    assert server_config().workers >= 1


def test_the_store_is_the_operators_folder_or_the_cache_folders(monkeypatch, tmp_path):
    monkeypatch.setenv("RNNVIZ_MODELS", str(tmp_path / "store"))
    assert server_config().store == tmp_path / "store"
    monkeypatch.delenv("RNNVIZ_MODELS")
    monkeypatch.setenv("RNNVIZ_CACHE", str(tmp_path / "cache"))
    assert server_config().store == tmp_path / "cache" / "models"
