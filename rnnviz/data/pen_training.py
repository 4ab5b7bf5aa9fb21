"""Real pen digits as training images: each digit replayed as a canvas drawing the way a user's
strokes reach the model (the app's round white brush at a random width, size and position, a
small random slant and aspect), then `preprocess_canvas`.

The digits may come from several files, or from some institutions (sources) of a file
(`Settings.pen_digits`, e.g. "train.jsonl,more-writers.jsonl:syn"); every digit is drawn the same
number of times, so a file or institution weighs as much as its number of digits.

Replaying costs about 7 ms a drawing here, so the renders are made once per file, source and set of
settings and kept in the cache folder (rnnviz.config.cache_dir()/pen-renders); the training loop
then treats them like MNIST images (and augments them the same way).
"""

from pathlib import Path

import numpy as np
import torch

from ..config import MIN_BRUSH, cache_dir
from ..files import atomic_write
from ..preprocess import EmptyCanvasError, preprocess_canvas
from . import pendigits

MAX_HEIGHT = 0.95  # fraction of the canvas
SLANT = 0.25  # largest shear of the strokes (x += SLANT * y), either way
ASPECT = 0.15  # largest change of the width / height ratio, either way
STYLED = (0, 1, 7)  # the digits european_stroke restyles
HOOK_RADIUS = (0.1, 0.3)  # hooked_tail's radius, as a share of the digit's height
HOOK_TURN = (90.0, 160.0)  # how far hooked_tail turns, degrees from straight down (180: back up to level)
# stroke_jitter at strength 1, each stroke on its own (a digit's longer side spans 1):
STROKE_TURN = 10.0  # largest turn, degrees either way
STROKE_SCALE = 0.1  # largest change of size, either way
STROKE_SHIFT = 0.04  # largest shift along x and y
STROKE_SPACING = (0.005, 0.05)  # the resampled points' spacing is drawn from this range (pen speed)


def train_path() -> Path:
    """Where the training pen digits live in this project's workspace."""
    return pendigits.default_path().with_name("train.jsonl")


def training_selection(spec: str) -> list[tuple[Path, str | None]]:
    """The (file, source) pairs that `Settings.pen_digits` names (empty: train.jsonl); never the dev set."""
    selection = pendigits.parse_selection(spec or train_path().name)
    if any(path.name == pendigits.default_path().name for path, _ in selection):
        raise ValueError(f"pen_digits: {pendigits.default_path().name} is for measuring only, never for training")
    return selection


def jitter(strokes, rng: np.random.Generator) -> list[np.ndarray]:
    """The same digit with a random slant and aspect ratio, as another writer might draw it."""
    shear, stretch = rng.uniform(-SLANT, SLANT), np.exp(rng.uniform(-ASPECT, ASPECT))
    transform = np.array([[stretch, 0.0], [shear, 1.0]])  # (x, y) row vectors times this
    return [np.asarray(s, dtype=np.float64).reshape(-1, 2) @ transform for s in strokes]


def resample(points: np.ndarray, spacing: float) -> np.ndarray:
    """A stroke (P, 2) as points every `spacing` along its length (its ends kept), as a pen moving at
    another speed samples it: the brush joins them by straight lines, so coarse spacing cuts corners."""
    lengths = np.concatenate([[0.0], np.cumsum(np.linalg.norm(np.diff(points, axis=0), axis=1))])
    if len(points) < 2 or lengths[-1] == 0:
        return points
    along = np.linspace(0, lengths[-1], max(2, int(np.ceil(lengths[-1] / spacing)) + 1))
    return np.stack([np.interp(along, lengths, points[:, 0]), np.interp(along, lengths, points[:, 1])], axis=1)


def stroke_jitter(strokes, rng: np.random.Generator, strength: float = 1.0) -> list[np.ndarray]:
    """The digit with each stroke moved on its own, as a writer never puts a stroke twice in the same
    place: turned, scaled and shifted about its centre (up to STROKE_TURN, STROKE_SCALE, STROKE_SHIFT
    times `strength`), then resampled at a random pen speed (`resample`)."""
    moved = []
    for stroke in strokes:
        points = np.asarray(stroke, dtype=np.float64).reshape(-1, 2)
        turn = np.radians(rng.uniform(-STROKE_TURN, STROKE_TURN) * strength)
        scale = 1 + rng.uniform(-STROKE_SCALE, STROKE_SCALE) * strength
        shift = rng.uniform(-STROKE_SHIFT, STROKE_SHIFT, 2) * strength
        rotation = np.array([[np.cos(turn), np.sin(turn)], [-np.sin(turn), np.cos(turn)]])  # row vectors times this
        centre = points.mean(axis=0)
        spacing = STROKE_SPACING[0] + rng.uniform() * (STROKE_SPACING[1] - STROKE_SPACING[0]) * strength
        moved.append(resample((points - centre) @ rotation * scale + centre + shift, spacing))
    return moved


def european_stroke(label: int, strokes, rng: np.random.Generator) -> list:
    """The strokes of a 0, 1 or 7 with the stroke many European writers add, at a random length and angle:
    a slash through the 0, a long upstroke on the 1, a crossbar on the 7's stem."""
    points = np.concatenate([np.asarray(s, dtype=np.float64).reshape(-1, 2) for s in strokes])  # (P, 2) x, y down
    (left, top), (right, bottom) = points.min(axis=0), points.max(axis=0)
    height = bottom - top
    if label == 0:  # "/" through the middle, past the loop at both ends
        lean = np.radians(rng.uniform(10, 60))  # from upright to nearly diagonal
        half = rng.uniform(0.5, 0.9) * height * np.array([np.sin(lean), -np.cos(lean)])  # up and right
        centre = np.array([(left + right) / 2, (top + bottom) / 2])
        extra = [centre - half, centre + half]
    elif label == 1:  # from the top, down and to the left
        drop = np.radians(rng.uniform(25, 60))  # below the horizontal
        start = points[points[:, 1].argmin()]
        extra = [start, start + rng.uniform(0.3, 0.8) * height * np.array([-np.cos(drop), np.sin(drop)])]
    else:  # a 7: a short horizontal bar across the stem, near mid-height
        middle = top + rng.uniform(0.45, 0.6) * height
        stem = points[np.abs(points[:, 1] - middle).argmin()]
        half = rng.uniform(0.12, 0.25) * height
        extra = [[stem[0] - half, middle], [stem[0] + half, middle]]
    return [*strokes, [list(p) for p in extra]]


def hooked_tail(strokes, rng: np.random.Generator) -> list:
    """The strokes of a 9 with its stem's end hooked to the left, as many writers end it: an arc that
    starts at the digit's lowest point going down and turns left (HOOK_TURN, at a radius of HOOK_RADIUS
    times the digit's height)."""
    points = np.concatenate([np.asarray(s, dtype=np.float64).reshape(-1, 2) for s in strokes])  # (P, 2) x, y down
    bottom = points[points[:, 1].argmax()]
    radius = rng.uniform(*HOOK_RADIUS) * np.ptp(points[:, 1])
    turn = np.radians(np.linspace(0, rng.uniform(*HOOK_TURN), 8))  # (8,)
    arc = np.stack([np.cos(turn) - 1, np.sin(turn)], axis=1) * radius + bottom  # (8, 2): from the bottom, left
    return [*strokes, arc.tolist()]


def render_variants(records, variants: int, max_brush: float, min_height: float, seed: int = 0,
                    styles: float = 0.0, strokes_moved: float = 0.0,
                    hooked_9s: float = 0.0) -> tuple[torch.Tensor, torch.Tensor]:
    """`variants` drawings of every record, each with its own brush, size, position, slant and aspect
    (and a share `styles` of the 0s, 1s and 7s with a european_stroke, a share `hooked_9s` of the 9s
    with a hooked_tail, and with `strokes_moved`, each stroke moved on its own by stroke_jitter at that
    strength), through preprocess_canvas: images (N, 28, 28) in [0, 1] and labels (N,)."""
    rng = np.random.default_rng(seed)
    images, labels = [], []
    for _ in range(variants):
        for record in records:
            brush, height = rng.uniform(MIN_BRUSH, max_brush), rng.uniform(min_height, MAX_HEIGHT)
            strokes = record["strokes"]
            if styles and record["label"] in STYLED and rng.uniform() < styles:
                strokes = european_stroke(record["label"], strokes, rng)
            if hooked_9s and record["label"] == 9 and rng.uniform() < hooked_9s:
                strokes = hooked_tail(strokes, rng)
            if strokes_moved:
                strokes = stroke_jitter(strokes, rng, strokes_moved)
            strokes = pendigits.place(jitter(strokes, rng), height, brush, rng)
            try:
                images.append(preprocess_canvas(pendigits.render(strokes, brush)))
            except EmptyCanvasError:  # a degenerate record (a single point): nothing to learn from
                continue
            labels.append(record["label"])
    return torch.from_numpy(np.stack(images)), torch.tensor(labels)


def rendered(path, variants: int, max_brush: float, min_height: float, seed: int = 0,
             source: str | None = None, styles: float = 0.0, strokes_moved: float = 0.0,
             hooked_9s: float = 0.0) -> tuple[torch.Tensor, torch.Tensor]:
    """render_variants of the .jsonl at `path` (only `source`'s rows, if given), made once and then read
    from the cache folder."""
    styled = ((f"-e{styles:g}" if styles else "") + (f"-j{strokes_moved:g}" if strokes_moved else "")
              + (f"-k{hooked_9s:g}" if hooked_9s else ""))
    name = f"{pendigits.file_key(path, source)}-v{variants}-b{max_brush:g}-h{min_height:g}{styled}-s{seed}.npz"
    kept = cache_dir() / "pen-renders" / name
    if not kept.exists():
        images, labels = render_variants(pendigits.load(path, source), variants, max_brush, min_height, seed,
                                         styles, strokes_moved, hooked_9s)
        atomic_write(kept, lambda file: np.savez_compressed(
            file, images=(images * 255).round().to(torch.uint8).numpy(), labels=labels.numpy()))
    with np.load(kept) as saved:  # read back even when just made: the same 8-bit images every time
        return torch.from_numpy(saved["images"]).float().div_(255), torch.from_numpy(saved["labels"])


def pen_count(mnist_images: int, pen_share: float) -> int:
    """How many pen digits mix_in adds to `mnist_images` so that they make up `pen_share` of the whole."""
    return round(mnist_images * pen_share / (1 - pen_share))


def mix_in(images: torch.Tensor, labels: torch.Tensor, settings) -> tuple[torch.Tensor, torch.Tensor]:
    """MNIST training images (N, 28, 28) and labels with rendered pen digits added, so that they make up
    `settings.pen_share` of the whole; unchanged when the share is 0."""
    if not settings.pen_share:
        return images, labels
    selection = training_selection(settings.pen_digits)
    count = pen_count(len(images), settings.pen_share)
    records = sum(len(pendigits.load(path, source)) for path, source in selection)
    drawn = [rendered(path, max(1, -(-count // records)), settings.pen_max_brush, settings.pen_min_height,
                      settings.seed, source, settings.pen_styles, settings.pen_strokes_moved, settings.pen_hooked_9s)
             for path, source in selection]
    pen_images, pen_labels = torch.cat([pen for pen, _ in drawn]), torch.cat([digit for _, digit in drawn])
    pick = torch.randperm(len(pen_labels), generator=torch.Generator().manual_seed(settings.seed))[:count]
    return torch.cat([images, pen_images[pick]]), torch.cat([labels, pen_labels[pick]])
