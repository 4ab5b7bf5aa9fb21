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


def render_variants(records, variants: int, max_brush: float, min_height: float,
                    seed: int = 0, styles: float = 0.0) -> tuple[torch.Tensor, torch.Tensor]:
    """`variants` drawings of every record, each with its own brush, size, position, slant and aspect
    (and a share `styles` of the 0s, 1s and 7s with a european_stroke), through preprocess_canvas:
    images (N, 28, 28) in [0, 1] and labels (N,)."""
    rng = np.random.default_rng(seed)
    images, labels = [], []
    for _ in range(variants):
        for record in records:
            brush, height = rng.uniform(MIN_BRUSH, max_brush), rng.uniform(min_height, MAX_HEIGHT)
            strokes = record["strokes"]
            if styles and record["label"] in STYLED and rng.uniform() < styles:
                strokes = european_stroke(record["label"], strokes, rng)
            strokes = pendigits.place(jitter(strokes, rng), height, brush, rng)
            try:
                images.append(preprocess_canvas(pendigits.render(strokes, brush)))
            except EmptyCanvasError:  # a degenerate record (a single point): nothing to learn from
                continue
            labels.append(record["label"])
    return torch.from_numpy(np.stack(images)), torch.tensor(labels)


def rendered(path, variants: int, max_brush: float, min_height: float, seed: int = 0,
             source: str | None = None, styles: float = 0.0) -> tuple[torch.Tensor, torch.Tensor]:
    """render_variants of the .jsonl at `path` (only `source`'s rows, if given), made once and then read
    from the cache folder."""
    styled = f"-e{styles:g}" if styles else ""
    name = f"{pendigits.file_key(path, source)}-v{variants}-b{max_brush:g}-h{min_height:g}{styled}-s{seed}.npz"
    kept = cache_dir() / "pen-renders" / name
    if not kept.exists():
        images, labels = render_variants(pendigits.load(path, source), variants, max_brush, min_height, seed,
                                         styles)
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
                      settings.seed, source, settings.pen_styles) for path, source in selection]
    pen_images, pen_labels = torch.cat([pen for pen, _ in drawn]), torch.cat([digit for _, digit in drawn])
    pick = torch.randperm(len(pen_labels), generator=torch.Generator().manual_seed(settings.seed))[:count]
    return torch.cat([images, pen_images[pick]]), torch.cat([labels, pen_labels[pick]])
