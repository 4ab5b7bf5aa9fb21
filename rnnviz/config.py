"""One home for the numbers the whole project shares: image and canvas geometry, and the folders it
reads models and data from and keeps caches in."""

import os
from pathlib import Path

MODELS_DIR = Path(__file__).resolve().parents[1] / "models"  # the shipped models and what ships beside them

ROWS, COLS = 28, 28  # an image is ROWS time steps of COLS pixels each
NUM_CLASSES = 10
CANVAS_SIDE = 280  # px, the app's drawing canvas (and the pen-digit replay's)
DEFAULT_BRUSH = 18  # px, the canvas brush's width until the user changes it
MIN_BRUSH, MAX_BRUSH = 6, 40  # px, the brush slider's range (the pen digits trained on are replayed across it)
TOP_HALF = ROWS // 2  # rows 1-14: summaries report how much of a curve lies there


def cache_dir() -> Path:
    """Where rnnviz keeps downloads and caches: $RNNVIZ_CACHE, or ~/.cache/rnnviz."""
    return Path(os.environ.get("RNNVIZ_CACHE") or Path.home() / ".cache" / "rnnviz").expanduser()


def data_dir(path=None) -> Path:
    """Where MNIST is read from: `path` (a CLI's --data), else $RNNVIZ_DATA, else the cache folder."""
    return Path(path or os.environ.get("RNNVIZ_DATA") or cache_dir()).expanduser()
