"""One home for the numbers the whole project shares: image and canvas geometry, the cache folder."""

import os
from pathlib import Path

ROWS, COLS = 28, 28  # an image is ROWS time steps of COLS pixels each
NUM_CLASSES = 10
CANVAS_SIDE = 280  # px, the app's drawing canvas (and the pen-digit replay's)
DEFAULT_BRUSH = 18  # px, the canvas brush's width until the user changes it
MIN_BRUSH, MAX_BRUSH = 6, 40  # px, the brush slider's range (the pen digits trained on are replayed across it)
TOP_HALF = ROWS // 2  # rows 1-14: summaries report how much of a curve lies there


def cache_dir() -> Path:
    """Where rnnviz keeps downloads and caches: $RNNVIZ_CACHE, or ~/.cache/rnnviz."""
    return Path(os.environ.get("RNNVIZ_CACHE") or Path.home() / ".cache" / "rnnviz").expanduser()
