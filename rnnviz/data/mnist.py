"""MNIST as in-memory tensors: found on disk, or downloaded with torchvision's downloader.

The data folder (rnnviz.config.data_dir) is, in order: a CLI's --data, the RNNVIZ_DATA environment
variable, or the cache folder (~/.cache/rnnviz). It may hold the four original IDX .gz files
directly (e.g. an offline copy) or torchvision's layout (MNIST/raw/...). When the files are missing,
torchvision downloads them (needs internet): `download_mnist` does it with progress.
"""

import hashlib
import threading
from pathlib import Path

import torch

from ..config import cache_dir, data_dir

FILES = (
    "train-images-idx3-ubyte.gz",
    "train-labels-idx1-ubyte.gz",
    "t10k-images-idx3-ubyte.gz",
    "t10k-labels-idx1-ubyte.gz",
)
TRAIN_SIZE, TEST_SIZE = 60_000, 10_000  # MNIST's training and test digits
DOWNLOAD_BYTES = 11_594_722  # the four .gz files together (about 11 MB)


class DatasetMissing(FileNotFoundError):
    """MNIST is not on disk and could not be downloaded."""


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
    """A seeded, held-out validation split of the training set: ((images, labels), (val_images, val_labels))."""
    order = torch.randperm(len(images), generator=torch.Generator().manual_seed(seed))
    val, train = order[:val_size], order[val_size:]
    return (images[train], labels[train]), (images[val], labels[val])
