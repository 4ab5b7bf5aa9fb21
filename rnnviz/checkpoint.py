"""Saving and loading checkpoints: weights plus config, training settings and measured accuracy.

A checkpoint is a plain dict of tensors, strings and numbers written with torch.save and read
with torch.load(weights_only=True), which never unpickles arbitrary objects. Writes are atomic:
a crash mid-write leaves the previous file (or none), never a broken one.
"""

import os
import tempfile
from pathlib import Path

import torch

from .model import CELLS, RowReader

FORMAT = "rnnviz-checkpoint-1"
MAX_BYTES = 50 * 1024 * 1024  # a hidden-1024 LSTM is about 17 MB; anything far larger is foreign


class CheckpointError(ValueError):
    """The file is not a usable rnnviz checkpoint (corrupt, foreign, or the wrong shape)."""


def save_checkpoint(model: RowReader, path, **info) -> Path:
    """Write model weights + config + `info` (accuracy, training settings...) atomically."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    payload = {"format": FORMAT, "config": model.config, "state_dict": model.state_dict(), **info}
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            torch.save(payload, f)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o644)  # mkstemp makes it private; a checkpoint is an ordinary file
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def read_checkpoint(source) -> dict:
    """Read and validate a checkpoint from a path or a binary file object; returns its dict."""
    name = getattr(source, "name", str(source))
    try:
        size = os.path.getsize(source) if isinstance(source, (str, os.PathLike)) else None
    except OSError as error:
        raise CheckpointError(f"{name}: cannot read ({error.strerror})") from error
    if size is not None and size > MAX_BYTES:
        raise CheckpointError(f"{name}: {size / 1e6:.0f} MB is too large for an rnnviz checkpoint")
    try:
        payload = torch.load(source, map_location="cpu", weights_only=True)
    except Exception as error:  # torch raises many kinds for corrupt/unsafe files
        reason = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise CheckpointError(f"{name}: not a readable rnnviz checkpoint ({reason[:200]})") from error
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        raise CheckpointError(f"{name}: not an rnnviz checkpoint (no '{FORMAT}' marker)")
    config = payload.get("config")
    if (
        not isinstance(config, dict)
        or set(config) != {"cell", "hidden_size"}
        or config["cell"] not in CELLS
        or type(config["hidden_size"]) is not int
        or not 1 <= config["hidden_size"] <= 4096
    ):
        raise CheckpointError(f"{name}: invalid model config {config!r}")
    if not isinstance(payload.get("state_dict"), dict):
        raise CheckpointError(f"{name}: no weights (state_dict) in the checkpoint")
    return payload


def load_model(source) -> RowReader:
    """Load a checkpoint (path or binary file object) as a RowReader in eval mode.

    The returned model carries the checkpoint's other entries as `model.info`
    (e.g. test_accuracy, train settings).
    """
    payload = read_checkpoint(source)
    name = getattr(source, "name", str(source))
    model = RowReader(**payload["config"])
    try:
        model.load_state_dict(payload["state_dict"])
    except (RuntimeError, TypeError, AttributeError) as error:
        first = str(error).strip().splitlines()[0]
        raise CheckpointError(f"{name}: weights do not fit a {payload['config']} model ({first})") from error
    if not all(weights.isfinite().all() for weights in model.state_dict().values()):
        raise CheckpointError(f"{name}: weights contain NaN or infinite values")
    model.info = {k: v for k, v in payload.items() if k not in ("state_dict", "config", "format")}
    return model.eval()
