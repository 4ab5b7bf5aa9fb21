"""Saving and loading checkpoints: weights plus config, training settings and measured accuracy.

A checkpoint is a plain dict of tensors, strings and numbers, written with torch.save. Reading one
never runs torch.load, nor anything a file names: a visitor's upload must not be able to make the
server build or hold more than the file can justify.

1. The file is bounded: a zip archive as torch.save writes it (stored, not compressed, entries; a
   small pickle; few tensors), at most MAX_BYTES.
2. The pickle's opcodes are walked (pickletools): only the few globals that torch.save of our own
   payload uses may appear, and none of the opcodes that build other objects.
3. It is then unpickled by an unpickler that knows only those globals, each replaced by a recorder:
   a tensor comes out as a description (its storage's record, type and length; offset, shape and
   stride), nothing is allocated beyond the pickle's own small values.
4. Every tensor must be dense, contiguous, on the CPU, of a floating type, with a record in the
   archive exactly as long as its shape says. Only the state_dict's tensors are read, and only the
   keys the format defines are kept: nothing else rides along into memory.
5. The config, the nesting of everything else and each tensor's shape are checked against the model
   the config describes, before the model is built.

Every refusal is a CheckpointError with one short line. Writes are atomic: a crash mid-write leaves
the previous file (or none), never a broken one.
"""

import io
import math
import os
import pickle
import pickletools
import zipfile
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path

import torch

from .files import atomic_write
from .model import CELL_TYPES, RowReader

FORMAT = "rnnviz-checkpoint-1"
MAX_BYTES = 50 * 1024 * 1024  # a hidden-1024 LSTM is about 17 MB; anything far larger is foreign
MAX_HIDDEN = 1024  # the largest model MAX_BYTES holds comfortably
MAX_ENTRIES = 64  # zip entries: the pickle, a few metadata files and one per tensor (every cell type has 6)
MAX_PICKLE_BYTES = 1024 * 1024  # the pickle holds the dict's structure, history and settings: a few KB
MAX_OPCODES = 200_000  # a 50-epoch history is about 3,000
MAX_NODES = 20_000  # values (lists, dicts, numbers, strings) outside the weights, counted per visit
MAX_DEPTH = 8  # nesting of those values (history is a list of dicts: depth 3)
MAX_TEXT = 10_000  # characters of any one string
KEPT_KEYS = ("format", "config", "state_dict", "test_accuracy", "val_accuracy", "settings", "history",
             "stopped_early", "train_seconds", "device", "torch_version")  # what rnnviz.train writes
STORAGE_TYPES = {"FloatStorage": torch.float32, "DoubleStorage": torch.float64, "HalfStorage": torch.float16,
                 "BFloat16Storage": torch.bfloat16}
ALLOWED_GLOBALS = ("collections OrderedDict", "torch._utils _rebuild_tensor_v2",
                   *(f"torch {storage}" for storage in STORAGE_TYPES))  # what a torch.save of ours names
REFUSED_OPCODES = {"INST", "OBJ", "NEWOBJ", "NEWOBJ_EX", "STACK_GLOBAL", "PERSID", "EXT1", "EXT2", "EXT4",
                   "BYTEARRAY8", "NEXT_BUFFER", "READONLY_BUFFER"}  # none of them is in a torch.save of ours


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


def _open_archive(data: bytes, name: str) -> zipfile.ZipFile:
    """The file must look like what torch.save writes: a zip of a few stored entries, a small pickle."""
    if len(data) > MAX_BYTES:
        raise CheckpointError(f"{name}: too large for an rnnviz checkpoint (over {MAX_BYTES // 2**20} MB)")
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        entries = archive.infolist()
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
    return archive


def _record(archive: zipfile.ZipFile, ending: str, name: str) -> tuple[str, bytes]:
    """The archive's folder (torch.save names it after the file) and the one entry ending in `ending`."""
    found = [entry for entry in archive.infolist() if entry.filename.endswith(f"/{ending}")]
    if len(found) != 1:
        raise CheckpointError(f"{name}: not an rnnviz checkpoint (no {ending} in the archive)")
    return found[0].filename[: -len(ending)], _entry(archive, found[0], name)


def _entry(archive: zipfile.ZipFile, info: zipfile.ZipInfo, name: str) -> bytes:
    """One entry's bytes; a damaged archive (bad checksum, truncated) is refused, not raised through."""
    try:
        return archive.read(info)
    except (zipfile.BadZipFile, OSError, ValueError, EOFError) as error:
        raise CheckpointError(f"{name}: not a readable rnnviz checkpoint (damaged)") from error


@dataclass(frozen=True)
class StorageRef:
    """A tensor storage as the pickle names it: a record of the archive, its type and its length."""

    key: str
    dtype: torch.dtype
    location: str
    numel: int


@dataclass(frozen=True)
class TensorRef:
    """A tensor as the pickle describes it: which storage, from where, of which shape."""

    storage: StorageRef
    offset: int
    size: tuple
    stride: tuple


class _Recorder(pickle.Unpickler):
    """Unpickles our payload's plain values, and records what each tensor would be instead of building it."""

    def find_class(self, module: str, name: str):
        if (module, name) == ("collections", "OrderedDict"):
            return OrderedDict
        if (module, name) == ("torch._utils", "_rebuild_tensor_v2"):
            return lambda storage, offset, size, stride, *rest: TensorRef(storage, offset, tuple(size), tuple(stride))
        if module == "torch" and name in STORAGE_TYPES:
            return STORAGE_TYPES[name]
        raise pickle.UnpicklingError(f"{module}.{name}")

    def persistent_load(self, pid):
        kind, dtype, key, location, numel = pid  # ("storage", FloatStorage, "0", "cpu", 11200)
        if kind != "storage" or not isinstance(dtype, torch.dtype) or not isinstance(numel, int):
            raise pickle.UnpicklingError("persistent id")
        return StorageRef(str(key), dtype, str(location), numel)


def _opcodes(pickled: bytes, name: str):
    """The pickle's opcodes (pickletools.genops); a broken pickle is refused in one line."""
    try:
        yield from pickletools.genops(pickled)
    except (ValueError, EOFError) as error:
        raise CheckpointError(f"{name}: not a readable rnnviz checkpoint (damaged or foreign)") from error


def _check_opcodes(pickled: bytes, name: str) -> None:
    """Before anything is unpickled: only the opcodes and the globals torch.save of our payload uses."""
    for count, (opcode, argument, _) in enumerate(_opcodes(pickled, name)):
        if count > MAX_OPCODES or opcode.name in REFUSED_OPCODES:
            raise CheckpointError(f"{name}: refused, its structure is not that of an rnnviz checkpoint")
        if opcode.name == "GLOBAL" and argument not in ALLOWED_GLOBALS:
            raise CheckpointError(f"{name}: refused, it holds Python objects other than tensors, numbers and text")


def _unpickle(pickled: bytes, name: str):
    _check_opcodes(pickled, name)
    try:
        return _Recorder(io.BytesIO(pickled)).load()
    except (pickle.UnpicklingError, ValueError, TypeError, EOFError, KeyError, IndexError, AttributeError,
            RecursionError, MemoryError) as error:
        raise CheckpointError(f"{name}: not a readable rnnviz checkpoint (damaged or foreign)") from error


def _tensor(archive: zipfile.ZipFile, folder: str, ref, name: str) -> torch.Tensor:
    """A dense CPU tensor read from its record, which must hold exactly what its shape says."""
    storage = ref.storage if isinstance(ref, TensorRef) else None
    if (storage is None or storage.location != "cpu" or ref.offset != 0 or len(ref.size) != len(ref.stride)
            or not all(isinstance(n, int) and 0 <= n <= MAX_BYTES for n in ref.size)):
        raise CheckpointError(f"{name}: refused, its weights are not dense tensors on the CPU")
    contiguous = tuple(math.prod(ref.size[i + 1:]) for i in range(len(ref.size)))
    numel = math.prod(ref.size)
    try:
        info = archive.getinfo(f"{folder}data/{storage.key}")
    except KeyError as error:
        raise CheckpointError(f"{name}: not an rnnviz checkpoint (a tensor's data is missing)") from error
    if ref.stride != contiguous or storage.numel != numel or info.file_size != numel * storage.dtype.itemsize:
        raise CheckpointError(f"{name}: refused, a tensor's data does not match its shape")
    return torch.frombuffer(bytearray(_entry(archive, info, name)), dtype=storage.dtype).view(ref.size)


def _check_nesting(value, name: str) -> None:
    """Everything but the weights is plain data (text, numbers, lists and dicts of them) of bounded size
    and depth (shared references count once per visit, so a small file cannot stand for an exponentially
    large structure)."""
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
        elif not isinstance(item, (str, int, float, bool, type(None))):
            raise CheckpointError(f"{name}: not an rnnviz checkpoint (tensors outside its weights)")


def _check_config(payload, name: str) -> dict:
    """The format's marker and a config of a cell type and a size this server builds."""
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
    return config


def _check_weights(config: dict, weights, name: str) -> None:
    """The state_dict names exactly the tensors, of exactly the shapes, that the config's model has."""
    if not isinstance(weights, dict) or not all(isinstance(ref, TensorRef) for ref in weights.values()):
        raise CheckpointError(f"{name}: no weights (state_dict of tensors) in the checkpoint")
    with torch.device("meta"):  # shapes only: nothing allocated
        shapes = RowReader(config["cell"], config["hidden_size"]).state_dict()
    if {key: tuple(t.shape) for key, t in shapes.items()} != {key: ref.size for key, ref in weights.items()}:
        raise CheckpointError(f"{name}: weights do not fit a {config['cell'].upper()} with {config['hidden_size']} "
                              "hidden units")


def read_checkpoint(source) -> dict:
    """Read and validate a checkpoint from a path or a binary file object; returns its dict, with only
    the keys the format defines."""
    name = Path(getattr(source, "name", str(source))).name[:100]
    archive = _open_archive(_read_bytes(source, name), name)
    folder, pickled = _record(archive, "data.pkl", name)
    if _record(archive, "byteorder", name)[1] != b"little":
        raise CheckpointError(f"{name}: not an rnnviz checkpoint (saved on a big-endian machine)")
    payload = _unpickle(pickled, name)
    config = _check_config(payload, name)
    kept = {key: payload[key] for key in KEPT_KEYS if key in payload and key != "state_dict"}
    _check_nesting(kept, name)
    _check_weights(config, payload.get("state_dict"), name)
    weights = {key: _tensor(archive, folder, ref, name) for key, ref in payload["state_dict"].items()}
    return {**kept, "state_dict": weights}


def load_model(source) -> RowReader:
    """Load a checkpoint (path or binary file object) as a RowReader in eval mode. Raises only
    CheckpointError, with one short line.

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
