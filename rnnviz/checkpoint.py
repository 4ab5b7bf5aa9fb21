"""Saving and loading checkpoints: the weights in a safetensors file, with the model's config and its
training record (accuracy, settings, history) as JSON in the file's metadata.

safetensors is a format made to be read from strangers: an 8-byte header length, a JSON header naming
each tensor's dtype, shape and byte range, then the raw bytes. Nothing in it is code and nothing is
unpickled. Reading one (read_checkpoint) still checks, before any tensor's bytes are read:

1. the file does not start like a PyTorch file (a zip or a pickle): that is refused with one line
   pointing to `rnnviz convert`, which converts it on the user's own machine, for files they trust;
2. the header's length is at most MAX_HEADER_BYTES, and it parses as JSON with no repeated name;
3. the record is plain data of bounded size and depth, and its config names a cell type and a size
   this server builds;
4. the header's tensors are exactly that model's, by name, dtype (float32) and shape, laid end to end.

Only then are the weights read (exactly as many bytes as the header says, never more) and handed to
safetensors' own parser. Every refusal is a CheckpointError with one short line. Writes are atomic: a
crash mid-write leaves the previous file (or none), never a broken one.
"""

import json
import math
import os
import struct
from pathlib import Path

import torch
from safetensors.torch import load as parse_safetensors
from safetensors.torch import save as write_safetensors

from . import cli
from .files import atomic_write
from .model import CELL_TYPES, RowReader

FORMAT = "rnnviz-checkpoint-1"
SUFFIX = ".safetensors"  # a checkpoint's file ending
RECORD = "rnnviz"  # the metadata entry holding the record as JSON
MAX_BYTES = 50 * 1024 * 1024  # a hidden-1024 LSTM is about 17 MB; anything far larger is foreign
MAX_HIDDEN = 1024  # the largest model MAX_BYTES holds comfortably
MAX_HEADER_BYTES = 256 * 1024  # a 50-epoch record is about 15 KB
MAX_NODES = 20_000  # values (lists, dicts, numbers, strings) in the record
MAX_DEPTH = 8  # nesting of those values (history is a list of dicts: depth 3)
MAX_TEXT = 10_000  # characters of any one string
KEPT_KEYS = ("test_accuracy", "val_accuracy", "settings", "history", "stopped_early", "train_seconds", "device",
             "torch_version")  # what rnnviz.train records beside the format and config
PYTORCH_STARTS = (b"PK\x03\x04", b"\x80")  # torch.save's zip archive, or its older bare pickle
CONVERT_HINT = ("a PyTorch file: rnnviz reads .safetensors only; if you trust it, convert it with "
                "`rnnviz convert FILE.pt`")


class CheckpointError(ValueError):
    """The file is not a usable rnnviz checkpoint (corrupt, foreign, or the wrong shape)."""


def save_checkpoint(model: RowReader, path, **info) -> Path:
    """Write model weights + config + `info` (accuracy, training settings...) atomically."""
    record = json.dumps({"format": FORMAT, "config": model.config, **info})
    weights = {key: tensor.detach().cpu().float().contiguous() for key, tensor in model.state_dict().items()}
    data = write_safetensors(weights, metadata={RECORD: record})
    return atomic_write(path, lambda file: file.write(data))


def _name(source) -> str:
    """A file's name for messages: never a server folder."""
    named = source if isinstance(source, (str, os.PathLike)) else getattr(source, "name", "upload")
    return Path(str(named)).name[:100]


def _no_repeats(pairs: list) -> dict:
    """A JSON object whose names are all different (two parsers could keep different ones of a repeat)."""
    made = dict(pairs)
    if len(made) != len(pairs):
        raise ValueError("repeated name")
    return made


def _parse_json(text, name: str, what: str):
    try:
        return json.loads(text, object_pairs_hook=_no_repeats)
    except (ValueError, RecursionError) as error:  # JSONDecodeError and UnicodeDecodeError are ValueErrors
        raise CheckpointError(f"{name}: not a readable rnnviz checkpoint (its {what} is damaged)") from error


def _read_header(file, name: str) -> tuple[bytes, dict]:
    """The 8-byte length and the JSON header it announces, refused before parsing when too long."""
    start = file.read(8)
    if len(start) < 8:
        raise CheckpointError(f"{name}: not an rnnviz checkpoint (too short)")
    (length,) = struct.unpack("<Q", start)
    if length > MAX_HEADER_BYTES:  # a PyTorch file's first bytes, read as a length, are always far more
        if start.startswith(PYTORCH_STARTS):
            raise CheckpointError(f"{name}: {CONVERT_HINT}")
        raise CheckpointError(f"{name}: not an rnnviz checkpoint (a header of {length:,} bytes)")
    header_bytes = file.read(length)
    if len(header_bytes) < length:
        raise CheckpointError(f"{name}: not a readable rnnviz checkpoint (cut off)")
    header = _parse_json(header_bytes, name, "header")
    if not isinstance(header, dict):
        raise CheckpointError(f"{name}: not an rnnviz checkpoint (its header is not a table)")
    return start + header_bytes, header


def _check_nesting(value, name: str) -> None:
    """The record is plain data (text, numbers, lists and tables of them) of bounded size and depth."""
    stack, visited = [(value, 0)], 0
    while stack:
        item, depth = stack.pop()
        visited += 1
        if visited > MAX_NODES or depth > MAX_DEPTH:
            raise CheckpointError(f"{name}: not an rnnviz checkpoint (its record is nested too deep or too large)")
        if isinstance(item, dict):
            stack.extend((part, depth + 1) for pair in item.items() for part in pair)
        elif isinstance(item, list):
            stack.extend((part, depth + 1) for part in item)
        elif isinstance(item, str) and len(item) > MAX_TEXT:
            raise CheckpointError(f"{name}: not an rnnviz checkpoint (a text entry is too long)")


def _read_record(header: dict, name: str) -> dict:
    """The record kept in the header's metadata: the format's marker, a config this server builds, and
    only the other keys the format defines."""
    metadata = header.get("__metadata__")
    text = metadata.get(RECORD) if isinstance(metadata, dict) else None
    if not isinstance(text, str):
        raise CheckpointError(f"{name}: not an rnnviz checkpoint (no '{RECORD}' record in its metadata)")
    record = _parse_json(text, name, "record")
    _check_nesting(record, name)
    if not isinstance(record, dict) or record.get("format") != FORMAT:
        raise CheckpointError(f"{name}: not an rnnviz checkpoint (no '{FORMAT}' marker)")
    config = record.get("config")
    if (
        not isinstance(config, dict)
        or set(config) != {"cell_type", "hidden_size"}
        or config["cell_type"] not in CELL_TYPES
        or type(config["hidden_size"]) is not int
        or not 1 <= config["hidden_size"] <= MAX_HIDDEN
    ):
        raise CheckpointError(f"{name}: invalid model config (expected cell_type in {CELL_TYPES} and hidden_size "
                              f"1-{MAX_HIDDEN})")
    return {"config": config, **{key: record[key] for key in KEPT_KEYS if key in record}}


def _weights_length(header: dict, config: dict, name: str) -> int:
    """The bytes of weights the header announces, once its tensors are exactly the config's model's: the
    same names, float32, the same shapes, laid end to end from the first byte with no gap or overlap."""
    with torch.device("meta"):  # shapes only: nothing allocated
        expected = RowReader(**config).state_dict()
    misfit = f"{name}: weights do not fit a {config['cell_type'].upper()} with {config['hidden_size']} hidden units"
    tensors = {key: entry for key, entry in header.items() if key != "__metadata__"}
    if set(tensors) != set(expected):
        raise CheckpointError(misfit)
    spans = []
    for key, entry in tensors.items():
        shape = list(expected[key].shape)
        offsets = entry.get("data_offsets") if isinstance(entry, dict) else None
        if (not isinstance(entry, dict) or entry.get("dtype") != "F32" or entry.get("shape") != shape
                or not isinstance(offsets, list) or len(offsets) != 2 or any(type(n) is not int for n in offsets)
                or offsets[1] - offsets[0] != 4 * math.prod(shape)):
            raise CheckpointError(f"{misfit} ({key})")
        spans.append(offsets)
    spans.sort()
    if [begin for begin, _ in spans] != [0] + [end for _, end in spans[:-1]]:
        raise CheckpointError(f"{name}: not an rnnviz checkpoint (its weights overlap or leave gaps)")
    return spans[-1][1]


def _open(source, name: str):
    """A binary file object for a path or a file object."""
    if not isinstance(source, (str, os.PathLike)):
        return source
    try:
        return open(source, "rb")
    except OSError as error:
        raise CheckpointError(f"{name}: cannot read ({error.strerror})") from error


def read_checkpoint(source) -> dict:
    """Read and check a checkpoint from a path or a binary file object: its record (config, accuracy,
    settings, history...) with "state_dict", the weights. Raises only CheckpointError."""
    name = _name(source)
    file = _open(source, name)
    try:
        head, header = _read_header(file, name)
        record = _read_record(header, name)
        length = _weights_length(header, record["config"], name)
        weights = file.read(length + 1)  # one more: a file longer than its header says is not ours
    except OSError as error:
        raise CheckpointError(f"{name}: cannot read ({error.strerror})") from error
    finally:
        if file is not source:
            file.close()
    if len(weights) != length:
        why = "cut off" if len(weights) < length else "longer than its header says"
        raise CheckpointError(f"{name}: not a readable rnnviz checkpoint ({why})")
    try:
        state_dict = parse_safetensors(head + weights)
    except Exception as error:  # safetensors raises its own SafetensorError; any failure is one line
        raise CheckpointError(f"{name}: not a readable rnnviz checkpoint (damaged)") from error
    return {**record, "state_dict": state_dict}


def load_model(source) -> RowReader:
    """Load a checkpoint (path or binary file object) as a RowReader in eval mode. Raises only
    CheckpointError, with one short line.

    The returned model carries the checkpoint's record but its config as `model.info`
    (e.g. test_accuracy, train settings).
    """
    payload = read_checkpoint(source)
    model = RowReader(**payload["config"])
    model.load_state_dict(payload["state_dict"])  # names and shapes checked by read_checkpoint
    if not all(weights.isfinite().all() for weights in model.state_dict().values()):
        raise CheckpointError(f"{_name(source)}: weights contain NaN or infinite values")
    model.info = {key: value for key, value in payload.items() if key not in ("state_dict", "config")}
    return model.eval()


def convert(path, out=None) -> Path:
    """Convert a torch.save checkpoint of rnnviz's older format into a .safetensors one beside it (or at
    `out`). It unpickles the file (with torch.load's weights_only guard): only for files you trust."""
    path = Path(path)
    payload = torch.load(path, map_location="cpu", weights_only=True)
    if not isinstance(payload, dict) or payload.get("format") != FORMAT or not isinstance(payload.get("config"), dict):
        raise CheckpointError(f"{path.name}: not an rnnviz checkpoint (no '{FORMAT}' marker)")
    config = payload["config"]  # older checkpoints named the cell type "cell"
    model = RowReader(config.get("cell_type", config.get("cell")), config["hidden_size"])
    model.load_state_dict(payload["state_dict"])
    info = {key: payload[key] for key in KEPT_KEYS if key in payload}
    return save_checkpoint(model, out or path.with_suffix(SUFFIX), **info)


def main(argv=None):
    """`rnnviz convert FILE.pt [...]`: each file converted beside itself."""
    made = cli.parser("Convert rnnviz checkpoints saved with torch.save (.pt) into .safetensors, the only format "
                      "the app reads. Converting unpickles the file: run it only on files you trust, on your own "
                      "machine.", data=False, device=False)
    args = cli.parse(made, argv)
    for path in args.checkpoints:
        try:
            print(f"{path} -> {convert(path)}")
        except (CheckpointError, OSError, RuntimeError, KeyError, TypeError, ValueError) as error:
            made.error(f"{path}: {error}")


if __name__ == "__main__":
    main()
