"""Real pen-drawn digits (stroke trajectories) and their replay as canvas drawings.

A record is {"label": int, "strokes": [[[x, y], ...], ...]} with screen coordinates (y down)
scaled so that the longer side spans 0..1. `place` puts a digit on a canvas the way a user
would draw it; `render` paints it like the app's canvas (white round-capped strokes on black).
"""

import hashlib
import json
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from ..config import CANVAS_SIDE


def load(path, source: str | None = None) -> list[dict]:
    """Read a .jsonl file of pen digits; with `source`, only the rows of that source (institution)."""
    with open(path) as f:
        records = [json.loads(line) for line in f if line.strip()]
    if source is None:
        return records
    picked = [r for r in records if r.get("source") == source]
    if not picked:
        raise ValueError(f"{path} has no digits of source {source!r}")
    return picked


def file_key(path, source: str | None = None) -> str:
    """A short name for a file's contents (and the source picked from it), to name what is cached from it."""
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()[:12] + (f"-{source}" if source else "")


def parse_selection(spec: str) -> list[tuple[Path, str | None]]:
    """The pen-digit files a setting names, as (path, source or None).

    `spec` is comma-separated entries `FILE` or `FILE:SOURCE` (only that source's rows, e.g.
    `more-writers.jsonl:gmd`); a bare file name means the workspace's pen-digits folder.
    """
    selection = []
    for entry in filter(None, (part.strip() for part in spec.split(","))):
        name, _, source = entry.rpartition(":") if not entry.endswith(".jsonl") else (entry, "", "")
        path = Path(name).expanduser()
        selection.append((default_path().with_name(name) if path.name == name else path, source or None))
    return selection


def place(strokes, height: float, stroke_width: float, rng: np.random.Generator,
          canvas: int = CANVAS_SIDE) -> list[np.ndarray]:
    """Scale a digit so it is `height` (fraction of the canvas) tall and put it anywhere it fits.

    Returns the strokes as (points, 2) arrays of canvas pixel coordinates.
    """
    points = [np.asarray(s, dtype=np.float64).reshape(-1, 2) for s in strokes]
    every = np.concatenate(points)
    low, extent = every.min(axis=0), np.ptp(every, axis=0)  # (x, y)
    room = canvas - stroke_width - 2  # the ink, brush included, must stay on the canvas
    scale = min(height * canvas / max(extent[1], 1e-3), room / max(extent.max(), 1e-3))
    size = extent * scale
    offset = stroke_width / 2 + 1 + rng.uniform(0, 1, 2) * (room - size)
    return [(p - low) * scale + offset for p in points]


def render(strokes, stroke_width: float, canvas: int = CANVAS_SIDE) -> np.ndarray:
    """Paint strokes (canvas pixel coordinates) as white round strokes on black.

    Returns (canvas, canvas, 4) uint8 RGBA, what st_canvas gives back with a black background.
    Drawn at 2x and averaged down, for anti-aliased edges like the browser's.
    """
    scale = 2
    image = Image.new("L", (canvas * scale, canvas * scale), 0)
    draw = ImageDraw.Draw(image)
    width = stroke_width * scale
    for stroke in strokes:
        xy = [tuple(p) for p in np.asarray(stroke) * scale]
        if len(xy) > 1:
            draw.line(xy, fill=255, width=max(1, round(width)), joint="curve")
        for x, y in (xy[0], xy[-1]) if len(xy) > 1 else xy:  # round caps
            draw.ellipse([x - width / 2, y - width / 2, x + width / 2, y + width / 2], fill=255)
    grey = np.asarray(image.resize((canvas, canvas), Image.Resampling.BOX))
    rgba = np.empty((canvas, canvas, 4), dtype=np.uint8)
    rgba[..., :3] = grey[..., None]
    rgba[..., 3] = 255
    return rgba


def european_style(record: dict) -> dict | None:
    """The same digit as many European writers draw it: a 0 with a slash, a 1 with a long flag.

    Returns a new record with one extra stroke, or None for other digits.
    """
    points = np.concatenate([np.asarray(s, dtype=np.float64).reshape(-1, 2) for s in record["strokes"]])
    (left, top), (right, bottom) = points.min(axis=0), points.max(axis=0)
    height = bottom - top
    if record["label"] == 0:  # a "/" through the middle, past the loop at both ends
        centre = np.array([(left + right) / 2, (top + bottom) / 2])
        half = 0.6 * height * np.array([np.sin(np.radians(25)), -np.cos(np.radians(25))])  # up and right
        extra = [centre - half, centre + half]
    elif record["label"] == 1:  # from the top, down and to the left at 45 degrees
        start = points[points[:, 1].argmin()]
        extra = [start, start + 0.4 * height * np.array([-np.cos(np.radians(45)), np.sin(np.radians(45))])]
    else:
        return None
    return {"label": record["label"], "strokes": [*record["strokes"], [list(p) for p in extra]]}


def default_path() -> Path:
    """Where the development set lives in this project's workspace."""
    return Path(__file__).resolve().parents[3] / "shared" / "pen-digits" / "dev.jsonl"
