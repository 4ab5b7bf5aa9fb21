"""The shared numbers and folders: where data and caches are, and geometry that fits together."""

from pathlib import Path

import pytest

from rnnviz import config
from tests.conftest import data_missing


def test_the_cache_and_data_folders_follow_the_environment(monkeypatch, tmp_path):
    monkeypatch.delenv("RNNVIZ_CACHE", raising=False)
    monkeypatch.delenv("RNNVIZ_DATA", raising=False)
    assert config.cache_dir() == Path.home() / ".cache" / "rnnviz" == config.data_dir()
    monkeypatch.setenv("RNNVIZ_CACHE", str(tmp_path / "cache"))
    assert config.cache_dir() == tmp_path / "cache" == config.data_dir()  # no data folder: the cache's
    monkeypatch.setenv("RNNVIZ_DATA", str(tmp_path / "mnist"))
    assert config.data_dir() == tmp_path / "mnist"
    assert config.data_dir(tmp_path / "given") == tmp_path / "given"  # a CLI's --data wins


def test_the_geometry_fits_together():
    assert config.CANVAS_SIDE % config.COLS == 0  # a digit is shown at the canvas's size in whole pixels
    assert config.MIN_BRUSH < config.DEFAULT_BRUSH < config.MAX_BRUSH
    assert config.TOP_HALF * 2 == config.ROWS


def test_the_shipped_models_are_in_the_models_folder():
    shipped = {path.name for path in config.MODELS_DIR.glob("*.safetensors")}
    assert shipped == {"lstm.safetensors", "gru.safetensors", "rnn.safetensors"}


def outcome_of_missing_data() -> str:
    """What a test whose data is missing comes to: "failed" or "skipped"."""
    try:
        data_missing("MNIST")
    except pytest.fail.Exception:
        return "failed"
    except pytest.skip.Exception:
        return "skipped"
    return "ran on"


@pytest.mark.parametrize("value, outcome", [
    *((value, "failed") for value in ("true", "TRUE", "True", "1", "yes", "Yes", "on", "ON")),
    *((value, "skipped") for value in (None, "", "false", "0", "no", "off")),
])
def test_missing_data_fails_under_ci_however_ci_says_so(monkeypatch, value, outcome):
    if value is None:
        monkeypatch.delenv("CI", raising=False)
    else:
        monkeypatch.setenv("CI", value)
    assert outcome_of_missing_data() == outcome
