"""What a hostile visitor can send the server, and a way to try each in a fresh process, through the real
page (AppTest) or rnnviz's own loader, measuring its time and the process's peak memory growth.

Shared by tests/test_attacks.py and bench/probes.py (which runs every probe against this code and an
older checkout, side by side). Every crafted input is built here, small on disk as its attack needs.
"""

import base64
import io
import json
import pickle
import struct
import subprocess
import sys
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path

from rnnviz import RowReader
from rnnviz.checkpoint import FORMAT, RECORD
from rnnviz.preprocess import MAX_DRAWING_URL
from ui.state import Key

MEGABYTES = 150  # what any one probe may cost the server in memory (its seconds: bench/probes.py)


def checkpoint_parts(model: RowReader | None = None) -> tuple[dict, dict]:
    """A real checkpoint's record and weights, to spoil before write_checkpoint."""
    model = model or RowReader("lstm", 8)
    return {"format": FORMAT, "config": dict(model.config), "test_accuracy": 0.5}, dict(model.state_dict())


def write_checkpoint(path: Path, record, weights: dict, edit_header=None, padding: int = 0) -> Path:
    """A safetensors file written by hand, so that any part of it can lie: `weights` laid end to end,
    `record` as JSON in its metadata, then `edit_header(header)` and `padding` spaces after the header."""
    header, blobs, offset = {"__metadata__": {RECORD: json.dumps(record)}}, [], 0
    for key, tensor in weights.items():
        blob = tensor.detach().float().contiguous().numpy().tobytes()
        header[key] = {"dtype": "F32", "shape": list(tensor.shape), "data_offsets": [offset, offset + len(blob)]}
        blobs.append(blob)
        offset += len(blob)
    if edit_header:
        edit_header(header)
    text = json.dumps(header).encode() + b" " * padding
    path.write_bytes(struct.pack("<Q", len(text)) + text + b"".join(blobs))
    return path


def torch_zip(pickled: bytes, extra_entries: int = 0) -> bytes:
    """An archive as torch.save writes it (a folder holding data.pkl, byteorder and the weights of a real
    RNN of 100 units, as models/rnn.pt was), with `pickled` as its data.pkl; and `extra_entries` more
    entries listed in its central directory, each a name and nothing else."""
    weights = RowReader("rnn", 100).state_dict()
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_STORED) as archive:
        archive.writestr("rnn/data.pkl", pickled)
        archive.writestr("rnn/byteorder", "little")
        for number, tensor in enumerate(weights.values()):
            archive.writestr(f"rnn/data/{number}", tensor.numpy().tobytes())
    data = out.getvalue()
    if not extra_entries:
        return data
    end = data.rindex(b"PK\x05\x06")  # the end of central directory record: rewrite its counts and size
    entries, size, offset = struct.unpack("<HII", data[end + 10: end + 20])
    extra = b"".join(struct.pack("<IHHHHHHIIIHHHHHII", 0x02014B50, 20, 20, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0)
                     + b"x" for _ in range(extra_entries))
    count = min(entries + extra_entries, 0xFFFF)
    return (data[:end] + extra + data[end:end + 8] + struct.pack("<HHII", count, count, size + len(extra), offset)
            + data[end + 20:])


def _pickle(*parts: bytes) -> bytes:
    return b"\x80\x02" + b"".join(parts) + b"."


def _nested_persistent_id(levels: int = 20) -> bytes:
    """A persistent id that is a list nested `levels` deep, each level holding the one below twice."""
    nested: list = []
    for _ in range(levels):
        nested = [nested, nested]
    return _pickle(pickle.dumps(nested, protocol=2)[2:-1], b"Q")  # BINPERSID


def _reused_tensor_arguments(reduces: int = 34_000) -> bytes:
    """One description of a tensor's arguments (a size of 250,000 numbers) rebuilt by `reduces` REDUCEs."""
    size = b"]" + b"(" + b"K\x01" * 250_000 + b"e"  # EMPTY_LIST, MARK, BININT1 1..., APPENDS
    arguments = b"(" + b"N" + b"K\x00" + size + b")" + b"t" + b"q\x01"  # (None, 0, size, ()) memoised as 1
    rebuild = b"ctorch._utils\n_rebuild_tensor_v2\nq\x00"
    return _pickle(rebuild, arguments, b"(", b"h\x00h\x01R" * reduces, b"l")


def crafted_checkpoints(folder: Path) -> dict[str, Path]:
    """name -> a crafted PyTorch checkpoint, each models/rnn.pt's archive with only its pickle replaced (but
    the last): each once cost the server seconds or gigabytes while a pickle was still read."""
    folder.mkdir(parents=True, exist_ok=True)
    keys = (pickle.encode_long(k * (2**61 - 1)) for k in range(1, 75_001))  # all hash alike
    collide = b"".join(b"\x8a" + bytes([len(key)]) + key + b"N" for key in keys)  # LONG1 key, None
    archives = {
        "memo index of 108 M": torch_zip(_pickle(b"}r" + struct.pack("<I", 108_000_000))),
        "memo index of 200 M before the first memo write": torch_zip(_pickle(b"r" + struct.pack("<I", 200_000_000)
                                                                             + b"}")),
        "75,000 integer keys that hash alike": torch_zip(_pickle(b"}(", collide, b"u")),
        "persistent id nested 20 deep": torch_zip(_nested_persistent_id()),
        "tensor arguments rebuilt by 34,000 REDUCEs": torch_zip(_reused_tensor_arguments()),
        "1.1 M entries in the zip's directory": torch_zip(_pickle(b"}"), extra_entries=1_100_000),
    }
    paths = {}
    for name, data in archives.items():
        paths[name] = folder / f"{name.replace(' ', '-').replace(',', '')}.pt"
        paths[name].write_bytes(data)
    return paths


def crafted_safetensors(folder: Path) -> dict[str, Path]:
    """name -> a crafted .safetensors checkpoint that lies in its header or its record."""
    folder.mkdir(parents=True, exist_ok=True)
    record, weights = checkpoint_parts()
    nested = "[" * 100_000 + "]" * 100_000
    huge = {"readout.weight": {"dtype": "F32", "shape": [10**6, 10**6], "data_offsets": [0, 4 * 10**12]}}
    cases = {
        "a header of 300 KB": dict(padding=300 * 1024),
        "a record nested 100,000 deep": dict(record_text=nested),
        "a tensor claiming 4 TB": dict(edit_header=lambda header: header.update(huge)),
        "weights that overlap": dict(edit_header=lambda header: header["readout.bias"].update(
            data_offsets=[0, 40])),
        "3,000 tensors named": dict(edit_header=lambda header: header.update(
            {f"t{n}": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]} for n in range(3_000)})),
    }
    paths = {}
    for name, case in cases.items():
        path = folder / f"{name.replace(' ', '-').replace(',', '')}.safetensors"
        edit = case.get("edit_header")
        if "record_text" in case:
            edit = lambda header, text=case["record_text"]: header["__metadata__"].update({RECORD: text})  # noqa: E731
        paths[name] = write_checkpoint(path, record, weights, edit, case.get("padding", 0))
    return paths


def chunk(kind: bytes, data: bytes) -> bytes:
    """One PNG chunk: its data's length, its type, its data and their checksum."""
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png(width: int, height: int) -> bytes:
    """A black RGBA PNG of any size, made row by row (an 8192 px square is a few hundred KB)."""
    deflate, row, rows = zlib.compressobj(9), bytes(1 + 4 * width), []
    rows += [deflate.compress(row) for _ in range(height)]
    header = struct.pack(">IIBBBBB", width, height, 8, 6, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", b"".join(rows) + deflate.flush()) \
        + chunk(b"IEND", b"")


def declared_png(width: int, height: int) -> bytes:
    """A PNG whose header declares any size, with almost no pixel data behind it."""
    real = png(2, 2)
    return real[:8] + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 6, 0, 0, 0)) + real[8 + 25:]


def cut_off_png() -> bytes:
    """A PNG's first 20 bytes, as a broken upload leaves it: its signature and half its IHDR chunk (25 bytes)."""
    return png(280, 280)[:8 + 12]


def with_empty_chunks(data: bytes, count: int) -> bytes:
    """A PNG with `count` empty private chunks (12 bytes each) after its header: the same image, in `count`
    more pieces for a decoder to read and skip."""
    return data[:8 + 25] + chunk(b"prVt", b"") * count + data[8 + 25:]


def url(data: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(data).decode()


def canvas_value(data, fit=None) -> dict:
    """The canvas component's state, as a (forged) client would send it."""
    return {"drawing": {"raw": {"objects": []}, "data": data}, "backgroundFit": fit}


def forged_canvases() -> dict[str, object]:
    """name -> a canvas state no canvas sends."""
    black = png(280, 280)
    room = (MAX_DRAWING_URL - len(url(b""))) * 3 // 4 - len(black)  # bytes left under the limit (base64: 4 for 3)
    return {
        "8192 px square PNG": canvas_value(url(png(8192, 8192))),
        "13000 px square PNG": canvas_value(url(png(13000, 13000))),
        "PNG header declaring 30000 px": canvas_value(url(declared_png(30000, 30000))),
        "data not a string": canvas_value(12345),
        "drawing a string": {"drawing": "a drawing", "backgroundFit": None},
        "malformed backgroundFit": canvas_value(url(png(280, 280)), fit={"naturalWidth": 3}),
        "invalid base64": canvas_value("data:image/png;base64,***not base64***"),
        "cut-off PNG (signature and half an IHDR)": canvas_value(url(cut_off_png())),
        "many tiny PNG chunks, just under the size limit": canvas_value(url(with_empty_chunks(black, room // 12))),
    }


CHILD = """
import json, sys, time
from pathlib import Path

def status(field):
    line = next(l for l in Path("/proc/self/status").read_text().splitlines() if l.startswith(field))
    return int(line.split()[1]) / 1024

{setup}
Path("/proc/self/clear_refs").write_text("5")  # the peak from here on
before, start = status("VmRSS"), time.perf_counter()
try:
    outcome = {{"ok": True, "result": {action}}}
except BaseException as error:
    outcome = {{"ok": False, "error": type(error).__name__, "message": str(error)[:300]}}
outcome.update(seconds=round(time.perf_counter() - start, 3), peak_mb=round(status("VmHWM") - before, 1))
print("PROBE " + json.dumps(outcome, default=str))
"""
PAGE_SETUP = """
import os
os.environ.setdefault("RNNVIZ_CACHE", sys.argv[2])
from streamlit.testing.v1 import AppTest
at = AppTest.from_file("app.py", default_timeout=120)
at.run()  # a page that has run once: its models loaded, as on a running server
value = json.loads(Path(sys.argv[1]).read_text())

def shown(at):
    texts = lambda elements: [element.value for element in elements]
    return {"exceptions": [e.message for e in at.exception], "errors": texts(at.error), "infos": texts(at.info),
            "read": hasattr((at.session_state["drawn"] if "drawn" in at.session_state else (0, None))[1],
                            "shape")}  # whether the server read an image from it
"""


@dataclass
class Probe:
    """One attack: how to run it in a fresh process."""

    setup: str  # code run first, not measured
    action: str  # the expression measured; its value is the probe's result
    argument: object  # what the child gets as sys.argv[1] (written to a file when it is not a path)


def checkpoint_probe(path: Path) -> Probe:
    return Probe("import rnnviz", "str(rnnviz.load_model(sys.argv[1]).hidden_size) + ' hidden units, loaded'", path)


def upload_probe(path: Path) -> Probe:
    setup = PAGE_SETUP.replace("value = json.loads(Path(sys.argv[1]).read_text())",
                               "data = Path(sys.argv[1]).read_bytes()")
    return Probe(setup, f'(at.session_state.__setitem__("{Key.ADD_CHECKPOINT}", True), at.run(), '
                        'at.file_uploader(key="upload").set_value((Path(sys.argv[1]).name, data, '
                        '"application/octet-stream")).run(), shown(at))[3]', path)


def canvas_probe(value) -> Probe:
    return Probe(PAGE_SETUP, f'(at.session_state.__setitem__("{Key.LIVE_VIEW}", value), at.run(), shown(at))[2]',
                 value)  # what the live view sends at a pause


def run(probe: Probe, cwd: Path, scratch: Path, timeout: float = 300) -> dict:
    """The probe in a fresh Python at `cwd` (a checkout of the app): its outcome, seconds and peak MB."""
    argument = probe.argument
    if not isinstance(argument, Path):
        argument = scratch / "value.json"
        argument.write_text(json.dumps(probe.argument))
    child = subprocess.run([sys.executable, "-c", CHILD.format(setup=probe.setup, action=probe.action),
                            str(argument), str(scratch / "cache")], cwd=cwd, capture_output=True, text=True,
                           timeout=timeout)
    lines = [line for line in child.stdout.splitlines() if line.startswith("PROBE ")]
    if not lines:
        return {"ok": False, "error": "the process died", "message": child.stderr[-300:], "exit": child.returncode}
    return json.loads(lines[-1].removeprefix("PROBE "))
