"""MNIST as in-memory tensors, and the training-time augmentation (the one place for both).

The data directory is, in order: the `data_dir` argument (the CLI's --data), the RNNVIZ_DATA
environment variable, or the cache folder (~/.cache/rnnviz). It may hold the four original IDX
.gz files directly (e.g. an offline copy) or torchvision's layout (MNIST/raw/...). When the files
are missing, torchvision downloads them (needs internet): `download_mnist` does it with progress.
"""

import hashlib
import math
import os
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import torch
import torch.nn.functional as F

from .config import cache_dir

FILES = (
    "train-images-idx3-ubyte.gz",
    "train-labels-idx1-ubyte.gz",
    "t10k-images-idx3-ubyte.gz",
    "t10k-labels-idx1-ubyte.gz",
)
TEST_SIZE = 10_000  # MNIST test digits
DOWNLOAD_BYTES = 11_594_722  # the four .gz files together (about 11 MB)
# Bicubic upsampling 4 -> 28 px along one axis as a (28, 4) matrix: M @ x @ M.T equals
# F.interpolate(x, (28, 28), mode="bicubic") to 1e-6, and is 8x faster on small batches.
_PIXEL_CENTRES = torch.linspace(-1 + 1 / 28, 1 - 1 / 28, 28)  # as affine_grid(align_corners=False)
_BICUBIC_4_TO_28 = F.interpolate(torch.eye(4).reshape(4, 1, 4, 1), size=(28, 1), mode="bicubic",
                                 align_corners=False)[:, 0, :, 0].T
_ONES = torch.ones(28, 1)
_GRID_LEFT = torch.cat([_BICUBIC_4_TO_28, _PIXEL_CENTRES[:, None], _ONES], 1)  # (28 rows, 6): M, y, 1
_GRID_RIGHT = torch.cat([_BICUBIC_4_TO_28, _ONES, _PIXEL_CENTRES[:, None]], 1).T  # (6, 28 columns): M, 1, x


class DatasetMissing(FileNotFoundError):
    """MNIST is not on disk and could not be downloaded."""


def data_dir(path=None) -> Path:
    return Path(path or os.environ.get("RNNVIZ_DATA") or cache_dir()).expanduser()


def has_mnist(path=None) -> bool:
    """True when the four MNIST files are in the data directory (so no download is needed)."""
    folder = data_dir(path)
    return any(all((d / f).exists() for f in FILES) for d in (folder, folder / "MNIST" / "raw"))


def _torchvision_root(folder: Path) -> Path:
    """A root that torchvision.datasets.MNIST accepts: the files must sit in root/MNIST/raw.

    A folder holding the .gz files directly (possibly read-only) is linked into a cache folder.
    """
    if not all((folder / f).exists() for f in FILES):
        return folder
    root = cache_dir() / "linked" / hashlib.sha1(str(folder.resolve()).encode()).hexdigest()[:12]
    raw = root / "MNIST" / "raw"
    raw.mkdir(parents=True, exist_ok=True)
    for name in FILES:
        link = raw / name
        if not link.exists():
            link.symlink_to((folder / name).resolve())
    return root


def load_mnist(split: str, path=None, download: bool = True) -> tuple[torch.Tensor, torch.Tensor]:
    """MNIST "train" (60,000) or "test" (10,000): images (N, 28, 28) float32 in [0, 1], labels (N,)."""
    from torchvision.datasets import MNIST  # heavy import, only needed here

    folder = data_dir(path)
    if not has_mnist(folder) and not download:
        raise DatasetMissing(_missing_message(folder))
    try:
        # With the .gz files on disk, torchvision's "download" only checks and unpacks them (no network).
        dataset = MNIST(_torchvision_root(folder), train=(split == "train"), download=download or has_mnist(folder))
    except (RuntimeError, OSError) as error:
        raise DatasetMissing(f"{_missing_message(folder)} ({error})") from error
    return dataset.data.float().div_(255.0), dataset.targets.clone()


def download_mnist(path=None, on_progress=None, poll_seconds: float = 0.25) -> Path:
    """Download MNIST into the data directory with torchvision's downloader (its mirrors and md5
    checks); `on_progress(fraction of the bytes)` while it runs. Raises DatasetMissing if it fails,
    and then leaves no file behind that could pass for MNIST (a corrupt or partial .gz)."""
    from torchvision.datasets import MNIST
    from torchvision.datasets.utils import check_integrity

    folder = data_dir(path)
    raw, failed = folder / "MNIST" / "raw", []

    def fetch():
        try:
            MNIST(folder, train=False, download=True)  # fetches all four files
        except Exception as error:  # offline, a mirror down, a bad checksum...: reported below
            failed.append(error)

    worker = threading.Thread(target=fetch, name="download-mnist", daemon=True)
    worker.start()
    while worker.is_alive():
        worker.join(poll_seconds)
        if on_progress:  # torchvision writes each file as it arrives
            arrived = sum(f.stat().st_size for f in raw.glob("*.gz")) if raw.is_dir() else 0
            on_progress(min(1.0, arrived / DOWNLOAD_BYTES))
    if failed:
        for name, md5 in MNIST.resources:  # torchvision keeps a file whose checksum failed
            if not check_integrity(str(raw / name), md5):
                (raw / name).unlink(missing_ok=True)
    if failed or not has_mnist(folder):
        reason = f" ({type(failed[0]).__name__}: {str(failed[0])[:200]})" if failed else ""
        raise DatasetMissing(f"{_missing_message(folder)}{reason}")
    return folder


def _missing_message(folder: Path) -> str:
    return (
        f"MNIST was not found in {folder} and could not be downloaded. Put the four original "
        f"files ({', '.join(FILES)}) in a folder and point RNNVIZ_DATA (or --data) at it."
    )


def split_train_val(images, labels, val_size: int, seed: int):
    """A seeded, held-out validation split of the training set."""
    order = torch.randperm(len(images), generator=torch.Generator().manual_seed(seed))
    val, train = order[:val_size], order[val_size:]
    return (images[train], labels[train]), (images[val], labels[val])


def batches(images: torch.Tensor, labels: torch.Tensor, order: torch.Tensor, batch_size: int, prepare,
            chunk: int = 1024, background: bool = True):
    """One epoch's batches (prepare(images, labels), labels) in `order`.

    `prepare` (e.g. augmentation) runs on about `chunk` images at a time: few Python calls per
    batch (each one holds the GIL the training loop needs). With `background`, a thread prepares
    the next chunk while the training steps run (torch releases the GIL while it computes): that
    pays when a core is spare. When torch's threads already fill every core, a second thread only
    competes with them, so the chunk is prepared between steps by those same threads. Chunks are
    prepared in order either way: a seeded generator gives the same batches.
    """
    per_chunk = max(1, chunk // batch_size) * batch_size

    def prepared(first: int):
        index = order[first : first + per_chunk]
        return prepare(images[index], labels[index]), labels[index]

    def split(chunk_images, chunk_labels):
        for start in range(0, len(chunk_labels), batch_size):
            yield chunk_images[start : start + batch_size], chunk_labels[start : start + batch_size]

    if not background:
        for first in range(0, len(order), per_chunk):
            yield from split(*prepared(first))
        return
    with ThreadPoolExecutor(1, thread_name_prefix="prepare-batches") as pool:
        upcoming = pool.submit(prepared, 0)
        for first in range(per_chunk, len(order) + per_chunk, per_chunk):
            ready = upcoming.result()
            if first < len(order):
                upcoming = pool.submit(prepared, first)
            yield from split(*ready)


def augment(images: torch.Tensor, labels: torch.Tensor, generator: torch.Generator,
            strength: float = 1.0) -> torch.Tensor:
    """Writer styles, then random rotation, scale, shear, shift, elastic wobble and stroke thickness.

    images (N, 28, 28) in [0, 1] with their labels (N,) -> augmented images (N, 28, 28).

    Runs on the whole batch at once, cheap next to the recurrent net. The ranges cover how people
    draw once their drawing is preprocessed like MNIST, including bold strokes that fill loops.
    (1.0 is the strength the shipped models were trained with.)
    """
    images = add_writer_styles(images, labels, generator)
    n = images.shape[0]

    def uniform(low, high, *shape):
        return low + (high - low) * torch.rand(n, *shape, generator=generator)

    angle = uniform(-12, 12) * strength * math.pi / 180
    scale = 1 + uniform(-0.12, 0.12) * strength
    shear = uniform(-0.25, 0.25) * strength
    shift = uniform(-2, 2, 2) / 14 * strength  # +-2 px, in grid units (1 = half the image)
    cos, sin = torch.cos(angle) / scale, torch.sin(angle) / scale
    theta = torch.stack(
        [torch.stack([cos, -sin + shear * cos, shift[:, 0]], 1),
         torch.stack([sin, cos + shear * sin, shift[:, 1]], 1)], 1
    )  # (N, 2, 3) maps output to input coordinates
    wobble = uniform(-1.5, 1.5, 2, 4, 4) / 14 * strength  # smooth displacement, up to 1.5 px
    grid = sampling_grid(theta, wobble)  # (N, 28, 28, 2)
    warped = F.grid_sample(images[:, None], grid, align_corners=False)  # (N, 1, 28, 28)
    # A bold brush on a small drawing fills loops and corners, even once preprocessing has thinned
    # its strokes again: that is a morphological closing (dilate, then erode), here by 1 or 2 px.
    # Each filter runs only on the images that use it.
    closing = uniform(0, 1)
    for chosen, k in ((closing < 0.15 * strength, 5), ((closing >= 0.15 * strength) & (closing < 0.35 * strength), 3)):
        if chosen.any():
            warped[chosen] = -max_filter(-max_filter(warped[chosen], k), k)
    # Stroke thickness: blend towards one dilation (amount 0..1), on towards a second (> 1), or
    # towards a grey erosion (< 0).
    amount = uniform(-0.6, 1.6)[:, None, None, None] * strength
    thicker = max_filter(warped, 3)
    out = warped + amount * (thicker - warped)
    thin, thick = amount.flatten() < 0, amount.flatten() > 1
    if thin.any():
        out[thin] = warped[thin] - amount[thin] * (-max_filter(-warped[thin], 3) - warped[thin])
    if thick.any():
        out[thick] = thicker[thick] + (amount[thick] - 1) * (max_filter(thicker[thick], 3) - thicker[thick])
    return out.clamp_(0, 1)[:, 0]


def sampling_grid(theta: torch.Tensor, wobble: torch.Tensor) -> torch.Tensor:
    """Where each output pixel samples its input: the affine map theta (N, 2, 3) plus the wobble
    (N, 2, 4, 4) upsampled bicubically -> (N, 28, 28, 2) input (x, y) in grid units.

    F.affine_grid(theta, align_corners=False) plus F.interpolate(wobble, bicubic), as one product
    _GRID_LEFT @ K @ _GRID_RIGHT per coordinate, K (6, 6) holding wobble and theta: 1 ms for 1,024
    images on one thread, against 13 ms for the sum written out term by term.
    """
    n = theta.shape[0]
    k = torch.zeros(n, 2, 6, 6)
    k[..., :4, :4] = wobble  # M @ wobble @ M.T
    k[..., 4, 4], k[..., 5, 4], k[..., 5, 5] = theta[..., 1], theta[..., 2], theta[..., 0]  # * y, + 1, * x
    k_right = (k @ _GRID_RIGHT).permute(0, 2, 3, 1).reshape(n, 6, 56)  # (N, 6, 28 columns x 2 coordinates)
    return (_GRID_LEFT @ k_right).view(n, 28, 28, 2)


def max_filter(images: torch.Tensor, k: int) -> torch.Tensor:
    """F.max_pool2d(images, k, stride=1, padding=k // 2) for odd k, exactly, as maxima of shifted
    copies: 20-30x faster on CPU than max_pool2d, which made up 70% of augment's time."""
    r = k // 2
    padded = F.pad(images, (r, r, r, r), value=-math.inf)
    height, width = images.shape[-2:]
    rows = padded[..., :height, :]
    for i in range(1, k):
        rows = torch.maximum(rows, padded[..., i : i + height, :])
    out = rows[..., :width]
    for j in range(1, k):
        out = torch.maximum(out, rows[..., j : j + width])
    return out


def draw_segments(images: torch.Tensor, start: torch.Tensor, end: torch.Tensor, width: float = 2.0) -> torch.Tensor:
    """Add anti-aliased straight strokes to images (N, 28, 28); start, end (N, 2) as (row, col) in px."""
    grid = torch.stack(torch.meshgrid(torch.arange(28.0), torch.arange(28.0), indexing="ij"), -1)  # (28, 28, 2)
    direction = (end - start)[:, None, None]  # (N, 1, 1, 2)
    along = ((grid - start[:, None, None]) * direction).sum(-1) / direction.square().sum(-1).clamp(min=1e-6)
    closest = start[:, None, None] + along.clamp(0, 1)[..., None] * direction  # (N, 28, 28, 2)
    distance = (grid - closest).norm(dim=-1)  # (N, 28, 28)
    return torch.maximum(images, (width / 2 + 0.5 - distance).clamp(0, 1))


def add_writer_styles(images: torch.Tensor, labels: torch.Tensor, generator: torch.Generator,
                      fraction: float = 0.25) -> torch.Tensor:
    """Give some 0s a slash (Ø) and some 1s a long flag (European styles that MNIST lacks)."""
    images = images.clone()
    chosen = torch.rand(len(labels), generator=generator) < fraction
    zeros, ones = (chosen & (labels == 0)).nonzero()[:, 0], (chosen & (labels == 1)).nonzero()[:, 0]
    ink = images[torch.cat([zeros, ones])] > 0.5  # (n, 28, 28), only the images styled: the 0s, then the 1s
    rows_with_ink = ink.any(2)  # (n, 28)
    top = rows_with_ink.float().argmax(1)  # first inked row
    bottom = 27 - rows_with_ink.flip(1).float().argmax(1)
    height = (bottom - top + 1).float()  # (n,)
    ones_ink, ones_top = ink[len(zeros):], top[len(zeros):]
    zeros_height, ones_height = height[: len(zeros)], height[len(zeros):]

    def uniform(low, high, n):
        return low + (high - low) * torch.rand(n, generator=generator)

    if len(zeros):
        lean = uniform(15, 40, len(zeros)) * math.pi / 180  # from vertical, towards the right: "/"
        half = uniform(0.55, 0.7, len(zeros)) * zeros_height
        direction = torch.stack([-torch.cos(lean), torch.sin(lean)], 1)  # (n, 2) up and right
        centre = torch.tensor([14.0, 14.0])
        images[zeros] = draw_segments(images[zeros], centre - half[:, None] * direction,
                                      centre + half[:, None] * direction, width=uniform(1.5, 2.5, 1).item())
    if len(ones):
        top_ink = ones_ink[torch.arange(len(ones)), ones_top]  # (n, 28)
        top_col = (top_ink.float() * torch.arange(28.0)).sum(1) / top_ink.sum(1).clamp(min=1)
        start = torch.stack([ones_top.float(), top_col], 1)  # (n, 2)
        drop = uniform(30, 60, len(ones)) * math.pi / 180  # flag angle below the horizontal, pointing left
        length = uniform(0.25, 0.45, len(ones)) * ones_height
        end = start + length[:, None] * torch.stack([torch.sin(drop), -torch.cos(drop)], 1)
        images[ones] = draw_segments(images[ones], start, end, width=uniform(1.5, 2.5, 1).item())
    return images
