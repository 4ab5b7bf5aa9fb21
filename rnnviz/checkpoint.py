"""Saving and loading checkpoints: weights plus config, training settings and measured accuracy.

A checkpoint is a plain dict of tensors, strings and numbers written with torch.save and read
with torch.load(weights_only=True), which never unpickles arbitrary objects. Writes are atomic:
a crash mid-write leaves the previous file (or none), never a broken one.
"""

import os
from pathlib import Path

import torch

from .files import atomic_write
from .model import CELL_TYPES, RowReader

FORMAT = "rnnviz-checkpoint-1"
MAX_BYTES = 50 * 1024 * 1024  # a hidden-1024 LSTM is about 17 MB; anything far larger is foreign


class CheckpointError(ValueError):
    """The file is not a usable rnnviz checkpoint (corrupt, foreign, or the wrong shape)."""


def save_checkpoint(model: RowReader, path, **info) -> Path:
    """Write model weights + config + `info` (accuracy, training settings...) atomically."""
    payload = {"format": FORMAT, "config": model.config, "state_dict": model.state_dict(), **info}
    return atomic_write(path, lambda file: torch.save(payload, file))


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
        or config["cell"] not in CELL_TYPES
        or type(config["hidden_size"]) is not int
        or not 1 <= config["hidden_size"] <= 4096
    ):
        raise CheckpointError(f"{name}: invalid model config (expected cell in {CELL_TYPES} and hidden_size 1-4096)")
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
    model = RowReader(payload["config"]["cell"], payload["config"]["hidden_size"])
    try:
        model.load_state_dict(payload["state_dict"])
    except (RuntimeError, TypeError, AttributeError) as error:
        first = str(error).strip().splitlines()[0]
        raise CheckpointError(f"{name}: weights do not fit a {payload['config']} model ({first})") from error
    if not all(weights.isfinite().all() for weights in model.state_dict().values()):
        raise CheckpointError(f"{name}: weights contain NaN or infinite values")
    model.info = {k: v for k, v in payload.items() if k not in ("state_dict", "config", "format")}
    return model.eval()
