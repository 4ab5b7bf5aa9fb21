"""The operator's settings: read from the environment, with safe defaults."""

import pytest

from rnnviz import serving


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
    assert serving.settings().path_box_enabled(address) is enabled


def test_numbers_are_read_and_bad_ones_fall_back(monkeypatch):
    monkeypatch.setenv("RNNVIZ_WORKERS", "3")
    monkeypatch.setenv("RNNVIZ_MAX_MODELS", "many")
    monkeypatch.setenv("RNNVIZ_MAX_MB", "0")
    settings = serving.settings()
    assert settings.workers == 3 and settings.max_models == 10 and settings.max_megabytes == 1
    monkeypatch.delenv("RNNVIZ_WORKERS")
    assert serving.settings().workers >= 1
