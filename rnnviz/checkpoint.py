"""Saving and loading checkpoints: weights plus config, training settings and measured accuracy.

A checkpoint is a plain dict of tensors, strings and numbers written with torch.save and read
with torch.load(weights_only=True), which never unpickles arbitrary objects. Before torch reads
anything, the file is bounded: a zip archive as torch.save writes it (stored, not compressed,
entries; a small pickle; few tensors), so a crafted file cannot make the server inflate or build
more than a checkpoint's worth. Then the config, the nesting of everything else and each tensor's
shape are checked against the model the config describes, before the model is built.
Writes are atomic: a crash mid-write leaves the previous file (or none), never a broken one.
"""

import io
import os
import zipfile
from pathlib import Path

import torch

from .files import atomic_write
from .model import CELL_TYPES, RowReader

FORMAT = "rnnviz-checkpoint-1"
MAX_BYTES = 50 * 1024 * 1024  # a hidden-1024 LSTM is about 17 MB; anything far larger is foreign
MAX_HIDDEN = 1024  # the largest model MAX_BYTES holds comfortably
MAX_ENTRIES = 64  # zip entries: the pickle, a few metadata files and one per tensor (every cell type has 6)
MAX_PICKLE_BYTES = 1024 * 1024  # the pickle holds the dict's structure, history and settings: a few KB
MAX_NODES = 20_000  # values (lists, dicts, numbers, strings) outside the weights, counted per visit
MAX_DEPTH = 8  # nesting of those values (history is a list of dicts: depth 3)
MAX_TEXT = 10_000  # characters of any one string


class CheckpointError(ValueError):
    """The file is not a usable rnnviz checkpoint (corrupt, foreign, or the wrong shape)."""


def save_checkpoint(model: RowReader, path, **info) -> Path:
    """Write model weights + config + `info` (accuracy, training settings...) atomically."""
    payload = {"format": FORMAT, "config": model.config, "state_dict": model.state_dict(), **info}
    return atomic_write(path, lambda file: torch.save(payload, file))


def _read_bytes(source, name: str) -> bytes:
    """At most MAX_BYTES + 1 bytes of a path or file object (never more, whatever the file claims)."""
    try:
        if isinstance(source, (str, os.PathLike)):
            with open(source, "rb") as file:
                return file.read(MAX_BYTES + 1)
        return source.read(MAX_BYTES + 1)
    except OSError as error:
        raise CheckpointError(f"{name}: cannot read ({error.strerror})") from error


def _check_archive(data: bytes, name: str) -> None:
    """The file must look like what torch.save writes: a zip of a few stored entries, a small pickle."""
    if len(data) > MAX_BYTES:
        raise CheckpointError(f"{name}: too large for an rnnviz checkpoint (over {MAX_BYTES // 2**20} MB)")
    try:
        entries = zipfile.ZipFile(io.BytesIO(data)).infolist()
    except (zipfile.BadZipFile, OSError, ValueError, EOFError) as error:
        raise CheckpointError(f"{name}: not an rnnviz checkpoint (not a torch.save zip archive)") from error
    if len(entries) > MAX_ENTRIES:
        raise CheckpointError(f"{name}: not an rnnviz checkpoint ({len(entries)} entries in the archive)")
    if any(entry.compress_type != zipfile.ZIP_STORED for entry in entries):  # torch.save never compresses
        raise CheckpointError(f"{name}: not an rnnviz checkpoint (compressed entries)")
    if sum(entry.file_size for entry in entries) > MAX_BYTES:
        raise CheckpointError(f"{name}: too large for an rnnviz checkpoint")
    if any(entry.filename.endswith(".pkl") and entry.file_size > MAX_PICKLE_BYTES for entry in entries):
        raise CheckpointError(f"{name}: not an rnnviz checkpoint (its structure is too large)")


def _check_nesting(value, name: str) -> None:
    """Everything but the weights is plain data of bounded size and depth (shared references count
    once per visit, so a small file cannot stand for an exponentially large structure)."""
    stack, visited = [(value, 0)], 0
    while stack:
        item, depth = stack.pop()
        visited += 1
        if visited > MAX_NODES or depth > MAX_DEPTH:
            raise CheckpointError(f"{name}: not an rnnviz checkpoint (its data is nested too deep or too large)")
        if isinstance(item, dict):
            stack.extend((part, depth + 1) for pair in item.items() for part in pair)
        elif isinstance(item, (list, tuple)):
            stack.extend((part, depth + 1) for part in item)
        elif isinstance(item, str) and len(item) > MAX_TEXT:
            raise CheckpointError(f"{name}: not an rnnviz checkpoint (a text entry is too long)")


def _check_weights(payload: dict, name: str) -> None:
    """The state_dict holds exactly the tensors, of exactly the shapes, that the config's model has."""
    config, weights = payload["config"], payload.get("state_dict")
    if not isinstance(weights, dict) or not all(isinstance(t, torch.Tensor) for t in weights.values()):
        raise CheckpointError(f"{name}: no weights (state_dict of tensors) in the checkpoint")
    with torch.device("meta"):  # shapes only: nothing allocated
        shapes = RowReader(config["cell"], config["hidden_size"]).state_dict()
    expected = {key: tuple(t.shape) for key, t in shapes.items()}
    found = {key: tuple(t.shape) for key, t in weights.items()}
    if found != expected:
        raise CheckpointError(f"{name}: weights do not fit a {config['cell'].upper()} with {config['hidden_size']} "
                              "hidden units")
    if not all(t.dtype.is_floating_point for t in weights.values()):
        raise CheckpointError(f"{name}: weights are not floating-point numbers")


def read_checkpoint(source) -> dict:
    """Read and validate a checkpoint from a path or a binary file object; returns its dict."""
    name = Path(getattr(source, "name", str(source))).name[:100]
    data = _read_bytes(source, name)
    _check_archive(data, name)
    try:
        payload = torch.load(io.BytesIO(data), map_location="cpu", weights_only=True)
    except Exception as error:  # torch raises many kinds; its messages suggest unsafe loading, so not passed on
        if "weights_only" in str(error) or "Unsupported global" in str(error):
            raise CheckpointError(f"{name}: refused, it holds Python objects other than tensors, numbers "
                                  "and text") from error
        raise CheckpointError(f"{name}: not a readable rnnviz checkpoint (damaged or foreign)") from error
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        raise CheckpointError(f"{name}: not an rnnviz checkpoint (no '{FORMAT}' marker)")
    config = payload.get("config")
    if (
        not isinstance(config, dict)
        or set(config) != {"cell", "hidden_size"}
        or config["cell"] not in CELL_TYPES
        or type(config["hidden_size"]) is not int
        or not 1 <= config["hidden_size"] <= MAX_HIDDEN
    ):
        raise CheckpointError(f"{name}: invalid model config (expected cell in {CELL_TYPES} and hidden_size "
                              f"1-{MAX_HIDDEN})")
    _check_nesting({key: value for key, value in payload.items() if key != "state_dict"}, name)
    _check_weights(payload, name)
    return payload


def load_model(source) -> RowReader:
    """Load a checkpoint (path or binary file object) as a RowReader in eval mode.

    The returned model carries the checkpoint's other entries as `model.info`
    (e.g. test_accuracy, train settings).
    """
    payload = read_checkpoint(source)
    model = RowReader(payload["config"]["cell"], payload["config"]["hidden_size"])
    model.load_state_dict(payload["state_dict"])  # keys and shapes checked by read_checkpoint
    if not all(weights.isfinite().all() for weights in model.state_dict().values()):
        name = Path(getattr(source, "name", str(source))).name[:100]
        raise CheckpointError(f"{name}: weights contain NaN or infinite values")
    model.info = {k: v for k, v in payload.items() if k not in ("state_dict", "config", "format")}
    return model.eval()
