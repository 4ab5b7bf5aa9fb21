"""Where checkpoints live: the shipped models (read-only) and a model store for trained or added ones.

The store is $RNNVIZ_MODELS, or the cache folder's models/ (rnnviz/serving/server_config.py); server
replicas may share it (every write is atomic). Each visitor has a folder of their own in it, named by
a random visitor id: a visitor sees the shipped models, the class's (checkpoints the operator puts at the
store's top level) and their own; everyone's only when the operator shares them (RNNVIZ_SHARE_MODELS). A
visitor keeps at most RNNVIZ_MAX_MODELS models and RNNVIZ_MAX_MB megabytes: adding more removes their oldest.
"""

import io
import os
import re
import secrets
import shutil
import stat
import threading
import time
from collections import deque
from dataclasses import dataclass
from pathlib import Path

from ..checkpoint import MAX_BYTES, SUFFIX, CheckpointError, load_model
from ..config import MODELS_DIR
from ..files import atomic_write
from .server_config import server_config

SHIPPED_DIR = MODELS_DIR
SHIPPED = ("lstm", "gru", "rnn")  # shipped checkpoints, in picker order: models/<cell type>.safetensors
VISITORS = "visitors"  # the store's folder of visitors' folders
VISITOR_ID = re.compile(r"[0-9a-f]{32}")
PATH_REFUSED = "No usable rnnviz checkpoint at that path in the folders this server allows."  # every refusal
# Checkpoint names given out, newest last: a job writes its file only at its end, so a second job must
# not get the same name meanwhile. A name carries the second it was made in, so only this second's can
# collide: the last HANDED_OUT_KEPT are far more than jobs start in a second.
HANDED_OUT_KEPT = 1024
_handed_out: deque[Path] = deque(maxlen=HANDED_OUT_KEPT)
_handing_out = threading.Lock()


@dataclass(frozen=True)
class Entry:
    """One checkpoint the app can load."""

    path: Path
    shipped: bool

    @property
    def name(self) -> str:
        return self.path.stem


def store_dir() -> Path:
    """The model store (its top level holds the class's models; visitors/ the visitors' own)."""
    return server_config().store


def new_visitor_id() -> str:
    """A fresh visitor id: 128 random bits, as 32 hex digits."""
    return secrets.token_hex(16)


def is_visitor_id(text) -> bool:
    """Whether `text` is a visitor id as new_visitor_id makes them (and nothing else: no path can pass)."""
    return isinstance(text, str) and VISITOR_ID.fullmatch(text) is not None


def visitor_dir(visitor: str) -> Path:
    """A visitor's own folder in the store. Raises ValueError for anything but a visitor id."""
    if not is_visitor_id(visitor):
        raise ValueError("not a visitor id")
    return store_dir() / VISITORS / visitor


def shipped_path(cell_type: str) -> Path:
    """The shipped checkpoint of a cell type: models/<cell type>.safetensors."""
    return SHIPPED_DIR / f"{cell_type}{SUFFIX}"


def _newest_first(folders) -> list[Path]:
    found = []
    for folder in folders:
        for path in folder.glob(f"*{SUFFIX}") if folder.is_dir() else ():
            try:
                found.append((path.stat().st_mtime, path))
            except OSError:  # removed meanwhile (pruned by another replica)
                continue
    return [path for _, path in sorted(found, reverse=True)]


def list_checkpoints(visitor: str | None = None) -> list[Entry]:
    """The shipped checkpoints that exist, then the class's and the visitor's own (newest first);
    every visitor's when the operator shares models."""
    shipped = [Entry(shipped_path(cell_type), True) for cell_type in SHIPPED if shipped_path(cell_type).exists()]
    folders = [store_dir()]
    if server_config().share_models:
        folders += sorted((store_dir() / VISITORS).glob("*"))
    elif visitor:
        folders.append(visitor_dir(visitor))
    return shipped + [Entry(path, False) for path in _newest_first(folders)]


def new_checkpoint_path(stem: str, visitor: str | None = None) -> Path:
    """A file name in the visitor's folder (or the store's top level) that no other checkpoint has,
    e.g. gru-h64-20250101-120000.safetensors. Names handed out are remembered: two jobs started in the same
    second get different files."""
    folder = visitor_dir(visitor) if visitor else store_dir()
    base = f"{stem[:40]}-{time.strftime('%Y%m%d-%H%M%S')}"  # at most 160 bytes + date: fits any file system
    with _handing_out:
        path, n = folder / f"{base}{SUFFIX}", 1
        while path.exists() or path in _handed_out:
            n += 1
            path = folder / f"{base}-{n}{SUFFIX}"
        _handed_out.append(path)
    return path


def _bytes(paths) -> int:
    """Bytes of the files among `paths` (one removed meanwhile counts nothing)."""
    total = 0
    for path in paths:
        try:
            total += path.stat().st_size if path.is_file() else 0
        except OSError:  # removed meanwhile
            continue
    return total


def _footprint(checkpoint: Path) -> int:
    """Bytes a checkpoint takes with the files kept beside it (its statistics, decoders, index)."""
    return _bytes(checkpoint.parent.glob(f"{checkpoint.name}*"))


def prune(visitor: str, keep: Path | None = None) -> list[str]:
    """Remove the visitor's oldest models until it holds at most the operator's count and size, the files
    kept beside them included (never `keep`, the one just added). Returns the names removed."""
    limits, removed = server_config(), []
    sizes = {path: _footprint(path) for path in _newest_first([visitor_dir(visitor)])}
    while len(sizes) > limits.max_models or sum(sizes.values()) > limits.max_megabytes * 2**20:
        oldest = next((path for path in reversed(list(sizes)) if path != keep), None)
        if oldest is None:
            break
        oldest.unlink(missing_ok=True)
        for kept_beside in oldest.parent.glob(f"{oldest.stem}.*"):  # its statistics file
            kept_beside.unlink(missing_ok=True)
        del sizes[oldest]
        removed.append(oldest.stem)
    return removed


def pruned_message(removed: list[str]) -> str:
    """What to tell a visitor whose oldest models were removed ('' if none)."""
    if not removed:
        return ""
    limits = server_config()
    return (f"To stay within {limits.max_models} models and {limits.max_megabytes:.0f} MB per visitor, your "
            f"oldest {'model was' if len(removed) == 1 else f'{len(removed)} models were'} removed: "
            f"{', '.join(removed)}.")


def add_checkpoint(data: bytes, name: str, visitor: str | None = None) -> tuple[Path, list[str]]:
    """Check that `data` is an rnnviz checkpoint, then copy it into the visitor's folder (pruning
    its oldest if over the limits). Returns the new file and the names pruned.

    Raises CheckpointError for anything else (too large, corrupt, foreign); nothing is written then.
    """
    if len(data) > MAX_BYTES:
        raise CheckpointError(f"{name}: {len(data) / 1e6:.0f} MB is too large for an rnnviz checkpoint")
    file = io.BytesIO(data)
    file.name = name
    model = load_model(file)
    if model.hidden_size > server_config().max_hidden:
        raise CheckpointError(f"{name}: a model of {model.hidden_size} hidden units; this server takes models of up to "
                              f"{server_config().max_hidden}")
    saved = atomic_write(new_checkpoint_path(f"{Path(name).stem}-{model.cell_type}", visitor),
                         lambda out: out.write(data))
    return saved, prune(visitor, keep=saved) if visitor else []


def read_allowed_file(path: str, allowed: tuple[Path, ...]) -> bytes:
    """The bytes of a regular checkpoint file (.safetensors) under one of the `allowed` folders (after resolving every
    symlink), read through one descriptor and never more than a checkpoint's worth. Devices, FIFOs,
    sockets, folders, links out of the folders and anything unreadable raise CheckpointError with
    the same message, which says nothing about the path."""
    try:
        real = Path(os.path.realpath(Path(path).expanduser()))
        roots = [Path(os.path.realpath(folder)) for folder in allowed]
        if real.suffix != SUFFIX or not any(real.is_relative_to(root) for root in roots):
            raise PermissionError
        fd = os.open(real, os.O_RDONLY | os.O_NONBLOCK | os.O_NOFOLLOW)  # a FIFO opens at once, then is refused
        try:
            opened = os.fstat(fd)
            on_disk = os.stat(real, follow_symlinks=False)
            if (not stat.S_ISREG(opened.st_mode) or (opened.st_dev, opened.st_ino) != (on_disk.st_dev, on_disk.st_ino)
                    or opened.st_size > MAX_BYTES):
                raise PermissionError
            with os.fdopen(os.dup(fd), "rb") as file:
                data = file.read(MAX_BYTES + 1)
        finally:
            os.close(fd)
        if len(data) > MAX_BYTES:
            raise PermissionError
        return data
    except (OSError, ValueError) as error:
        raise CheckpointError(PATH_REFUSED) from error


def add_checkpoint_file(path: str, visitor: str | None = None,
                        allowed: tuple[Path, ...] | None = None) -> tuple[Path, list[str]]:
    """add_checkpoint for a file on the server, under the operator's allowed folders. Every refusal,
    a bad checkpoint included, is the one PATH_REFUSED message."""
    data = read_allowed_file(path, server_config().path_dirs if allowed is None else allowed)
    try:
        return add_checkpoint(data, Path(path).name, visitor)
    except CheckpointError as error:
        raise CheckpointError(PATH_REFUSED) from error


VISITED = ".visited"  # in a visitor's folder: its time is their last visit


def visited(visitor: str) -> None:
    """Note a visit (their folder is kept RNNVIZ_KEEP_DAYS after the last one); nothing for a visitor with
    no folder yet."""
    folder = visitor_dir(visitor)
    if folder.is_dir():
        (folder / VISITED).touch()


def sweep(busy: set[str], now: float | None = None) -> list[str]:
    """Keep the store within the operator's bounds: remove the visitors' folders unvisited for longer
    than RNNVIZ_KEEP_DAYS, then, while the store is over RNNVIZ_STORE_MB, the folders unvisited longest;
    never those of the `busy` visitors (a job of theirs is under way). Returns the ids removed."""
    limits, now = server_config(), time.time() if now is None else now
    folders = []
    for folder in (store_dir() / VISITORS).glob("*"):
        if is_visitor_id(folder.name) and folder.name not in busy:
            try:
                last = max(p.stat().st_mtime for p in (folder, folder / VISITED) if p.exists())
            except (OSError, ValueError):  # removed meanwhile
                continue
            folders.append((last, folder))
    expired = {folder for last, folder in folders if now - last > limits.keep_days * 86_400}
    total, removed = _bytes(store_dir().rglob("*")), []
    for _, folder in sorted(folders):  # unvisited longest first
        if folder in expired or total > limits.store_megabytes * 2**20:
            total -= _bytes(folder.rglob("*"))
            removed.append(folder)
    for folder in removed:
        shutil.rmtree(folder, ignore_errors=True)
    return [folder.name for folder in removed]


def describe(model, entry: Entry) -> str:
    """A picker label, e.g. 'LSTM (shipped), 98.9% test' or 'gru-h64-20250101-120000: GRU, 97.0% test'."""
    accuracy = model.info.get("test_accuracy")
    score = f", {accuracy:.1%} test" if isinstance(accuracy, float) else ""
    if entry.shipped:
        return f"{model.cell_type.upper()} (shipped){score}"
    return f"{entry.name}: {model.cell_type.upper()} {model.hidden_size}{score}"
