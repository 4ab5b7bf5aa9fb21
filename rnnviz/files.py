"""Files on disk: atomic writes (a crash mid-write leaves the previous file, or none, never a broken
one), and the files computed from a checkpoint and kept beside it (its test-set statistics, memory
decoders and neighbour index), so that they are made once."""

import hashlib
import os
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Generic, TypeVar

from .config import cache_dir

Kept = TypeVar("Kept")


def atomic_write(path, write: Callable[[BinaryIO], None]) -> Path:
    """Write a file through `write(file)` into a temp file in the same folder, fsync it, rename it
    over `path`. Readers see the old file or the whole new one; no temp file is left on error."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name[:200]}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as file:
            write(file)
            file.flush()
            os.fsync(file.fileno())
        os.chmod(tmp, 0o644)  # mkstemp makes it private; these are ordinary files
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


@dataclass(frozen=True)
class KeptFile(Generic[Kept]):
    """One kind of file computed from a checkpoint: "<checkpoint>.<sha256 of its bytes>-<data>.v<version>.<kind>.npz",
    kept beside the checkpoint, or in the cache folder's <kind>/ when that folder is not writable. The
    checkpoint's hash in the name means a retrained checkpoint gets its own; `data` names what it was
    computed on (e.g. a fingerprint of the digits); a new `version` leaves the old files unread."""

    kind: str
    version: int
    load: Callable[[Path], Kept]
    save: Callable[[Kept, Path], None]

    def paths(self, checkpoint, data: str) -> list[Path]:
        """Where the file may be; the first is where it is written."""
        checkpoint = Path(checkpoint)
        model_key = hashlib.sha256(checkpoint.read_bytes()).hexdigest()[:16]
        name = f"{checkpoint.name}.{model_key}-{data}.v{self.version}.{self.kind}.npz"
        beside, cached = checkpoint.parent / name, cache_dir() / self.kind / name
        return [beside, cached] if os.access(checkpoint.parent, os.W_OK) else [cached, beside]

    def cached(self, checkpoint, data: str) -> Kept | None:
        """The kept file's contents, or None when it has not been made."""
        found = [path for path in self.paths(checkpoint, data) if path.exists()]
        return self.load(found[0]) if found else None

    def get(self, checkpoint, data: str, make: Callable[[], Kept]) -> Kept:
        """The kept file's contents: read when kept, else made by `make()` and kept."""
        found = self.cached(checkpoint, data)
        if found is None:
            found, path = make(), self.paths(checkpoint, data)[0]
            path.parent.mkdir(parents=True, exist_ok=True)
            self.save(found, path)
        return found
