"""Where checkpoints live: the shipped models (read-only) and a user folder for trained or added ones.

The user folder is $RNNVIZ_MODELS, or the cache folder's models/. The app never writes to models/.
"""

import io
import os
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from .checkpoint import MAX_BYTES, CheckpointError, load_model
from .config import cache_dir
from .files import atomic_write

SHIPPED_DIR = Path(__file__).resolve().parents[1] / "models"
SHIPPED = ("lstm", "gru", "rnn")  # shipped checkpoints, in picker order: models/<cell type>.pt
_handed_out: set[Path] = set()  # checkpoint names given out (a training job writes its file only at the end)
_handing_out = threading.Lock()


@dataclass(frozen=True)
class Entry:
    """One checkpoint the app can load."""

    path: Path
    shipped: bool

    @property
    def name(self) -> str:
        return self.path.stem


def user_dir() -> Path:
    return Path(os.environ.get("RNNVIZ_MODELS") or cache_dir() / "models").expanduser()


def shipped_path(cell_type: str) -> Path:
    return SHIPPED_DIR / f"{cell_type}.pt"


def list_checkpoints() -> list[Entry]:
    """The shipped checkpoints that exist, then the user's (newest first)."""
    shipped = [Entry(shipped_path(cell_type), True) for cell_type in SHIPPED if shipped_path(cell_type).exists()]
    folder = user_dir()
    mine = sorted(folder.glob("*.pt"), key=lambda p: p.stat().st_mtime, reverse=True) if folder.is_dir() else []
    return shipped + [Entry(path, False) for path in mine]


def new_checkpoint_path(stem: str) -> Path:
    """A file name in the user folder that no other checkpoint has, e.g. gru-h64-20250101-120000.pt.

    Names handed out are remembered: two jobs started in the same second get different files.
    """
    folder = user_dir()
    base = f"{stem[:40]}-{time.strftime('%Y%m%d-%H%M%S')}"  # at most 160 bytes + date: fits any file system
    with _handing_out:
        path, n = folder / f"{base}.pt", 1
        while path.exists() or path in _handed_out:
            n += 1
            path = folder / f"{base}-{n}.pt"
        _handed_out.add(path)
    return path


def add_checkpoint(data: bytes, name: str) -> Path:
    """Check that `data` is an rnnviz checkpoint, then copy it into the user folder.

    Raises CheckpointError for anything else (too large, corrupt, foreign); nothing is written then.
    """
    if len(data) > MAX_BYTES:
        raise CheckpointError(f"{name}: {len(data) / 1e6:.0f} MB is too large for an rnnviz checkpoint")
    file = io.BytesIO(data)
    file.name = name
    model = load_model(file)
    return atomic_write(new_checkpoint_path(f"{Path(name).stem}-{model.cell_type}"), lambda file: file.write(data))


def add_checkpoint_file(path) -> Path:
    """add_checkpoint for a file on disk (checked for size before it is read)."""
    path = Path(path).expanduser()
    try:
        if path.stat().st_size > MAX_BYTES:
            raise CheckpointError(f"{path}: too large for an rnnviz checkpoint")
        data = path.read_bytes()
    except OSError as error:
        raise CheckpointError(f"{path}: cannot read ({error.strerror})") from error
    return add_checkpoint(data, path.name)


def describe(model, entry: Entry) -> str:
    """A picker label, e.g. 'LSTM (shipped), 98.9% test' or 'gru-h64-20250101-120000: GRU, 97.0% test'."""
    accuracy = model.info.get("test_accuracy")
    score = f", {accuracy:.1%} test" if isinstance(accuracy, float) else ""
    if entry.shipped:
        return f"{model.cell_type.upper()} (shipped){score}"
    return f"{entry.name}: {model.cell_type.upper()} {model.hidden_size}{score}"
