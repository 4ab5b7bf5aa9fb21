"""Real pen digits as training images: each digit replayed as a canvas drawing the way a user's
strokes reach the model (the app's round white brush at a random width, size and position, a
small random slant and aspect), then `preprocess_canvas`.

Replaying costs about 7 ms a drawing here, so the renders are made once per set of settings and
kept in the cache folder (rnnviz.config.cache_dir()/pen-renders); the training loop then treats
them like MNIST images (and augments them the same way).
"""

import hashlib
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


def train_path() -> Path:
    """Where the training pen digits live in this project's workspace."""
    return pendigits.default_path().with_name("train.jsonl")


def jitter(strokes, rng: np.random.Generator) -> list[np.ndarray]:
    """The same digit with a random slant and aspect ratio, as another writer might draw it."""
    shear, stretch = rng.uniform(-SLANT, SLANT), np.exp(rng.uniform(-ASPECT, ASPECT))
    transform = np.array([[stretch, 0.0], [shear, 1.0]])  # (x, y) row vectors times this
    return [np.asarray(s, dtype=np.float64).reshape(-1, 2) @ transform for s in strokes]


def render_variants(records, variants: int, max_brush: float, min_height: float,
                    seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """`variants` drawings of every record, each with its own brush, size, position, slant and aspect,
    through preprocess_canvas: images (N, 28, 28) in [0, 1] and labels (N,)."""
    rng = np.random.default_rng(seed)
    images, labels = [], []
    for _ in range(variants):
        for record in records:
            brush, height = rng.uniform(MIN_BRUSH, max_brush), rng.uniform(min_height, MAX_HEIGHT)
            strokes = pendigits.place(jitter(record["strokes"], rng), height, brush, rng)
            try:
                images.append(preprocess_canvas(pendigits.render(strokes, brush)))
            except EmptyCanvasError:  # a degenerate record (a single point): nothing to learn from
                continue
            labels.append(record["label"])
    return torch.from_numpy(np.stack(images)), torch.tensor(labels)


def rendered(path, variants: int, max_brush: float, min_height: float,
             seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """render_variants of the .jsonl at `path`, made once and then read from the cache folder."""
    path = Path(path)
    source = hashlib.sha256(path.read_bytes()).hexdigest()[:12]
    kept = cache_dir() / "pen-renders" / f"{source}-v{variants}-b{max_brush:g}-h{min_height:g}-s{seed}.npz"
    if not kept.exists():
        images, labels = render_variants(pendigits.load(path), variants, max_brush, min_height, seed)
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
    path = settings.pen_digits or train_path()
    count = pen_count(len(images), settings.pen_share)
    records = sum(1 for line in open(path) if line.strip())
    pen_images, pen_labels = rendered(path, max(1, -(-count // records)), settings.pen_max_brush,
                                      settings.pen_min_height, settings.seed)
    pick = torch.randperm(len(pen_labels), generator=torch.Generator().manual_seed(settings.seed))[:count]
    return torch.cat([images, pen_images[pick]]), torch.cat([labels, pen_labels[pick]])
