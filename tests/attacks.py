"""What a hostile visitor can send the server, and a way to try each in a fresh process, through the real
page (AppTest) or rnnviz's own loader, measuring its time and the process's peak memory growth.

Shared by tests/test_attacks.py and bench/probes.py (which runs every probe against this code and an
older checkout, side by side). Every crafted input is built here, small on disk as its attack needs.
"""

import base64
import json
import struct
import subprocess
import sys
import zlib
from dataclasses import dataclass
from pathlib import Path

import torch

from rnnviz import RowReader
from rnnviz.preprocess import MAX_DRAWING_URL


class Reduces:
    """Pickles as a call of `function` with `arguments`: what a crafted checkpoint makes its loader do."""

    def __init__(self, function, *arguments):
        self.function, self.arguments = function, arguments

    def __reduce__(self):
        return self.function, self.arguments


def _payload(hidden: int = 8) -> dict:
    """A real checkpoint's dict, to spoil."""
    model = RowReader("lstm", hidden)
    return {"format": "rnnviz-checkpoint-1", "config": model.config, "state_dict": model.state_dict(),
            "test_accuracy": 0.5}


def crafted_checkpoints(folder: Path) -> dict[str, Path]:
    """name -> a crafted checkpoint file, each a few KB (but one) on disk."""
    folder.mkdir(parents=True, exist_ok=True)
    stride_zero = torch.zeros(1).expand(125_000_000)  # 125 million floats, one stored
    spoils = {
        "bytearray of 300 MB in an extra key": {"extra": Reduces(bytearray, 300_000_000)},
        "bytearray of 1 GB in an extra key": {"extra": Reduces(bytearray, 10**9)},
        "stride-0 view made float64 by torch's rebuild": {
            "extra": Reduces(torch._utils._rebuild_device_tensor_from_cpu_tensor, stride_zero, torch.float64,
                             "cpu", False)},
        "45 MB tensor in an extra key": {"extra": torch.zeros(45 * 2**20 // 4)},
        "meta weights": {"state_dict": {k: v.to("meta") for k, v in _payload()["state_dict"].items()}},
        "sparse weights": {"state_dict": {k: v.to_sparse() for k, v in _payload()["state_dict"].items()}},
    }
    paths = {}
    for name, spoil in spoils.items():
        paths[name] = folder / f"{name.replace(' ', '-')}.pt"
        torch.save({**_payload(hidden=1 if name.startswith("45 MB") else 8), **spoil}, paths[name])
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
            "predictions": [m.value for m in at.metric if m.label == "Prediction"]}
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
    return Probe(setup, '(at.file_uploader(key="upload").set_value((Path(sys.argv[1]).name, data, '
                        '"application/octet-stream")).run(), shown(at))[1]', path)


def canvas_probe(value) -> Probe:
    return Probe(PAGE_SETUP, '(at.session_state.__setitem__("canvas", value), at.run(), shown(at))[2]', value)


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
