"""What the browser views get from the server. The browser reads each digit itself, with the models'
weights (`weights`, sent once as float32 bytes) and its mirror of rnnviz's recurrence and preprocessing
(rnnviz/web/); the server sends the views what only it knows: which model, the unit or order a link asked
for, the what-if, a digit it chose (the gallery, a test digit, a link), and what needs more than the
weights: what a model still remembers (its memory decoders) and the training digits alike. Each view's
data is a compact JSON-ready dict, sent once per change.

Pictures (a digit chosen on the server, the rows a model still remembers, the training digits alike) travel
as base64 bytes, 0..255 over [0, 1]: the browser maps a byte straight to a colour.
"""

import base64
import hashlib
import json
import weakref
from dataclasses import dataclass

import numpy as np
from safetensors.numpy import save as write_safetensors

from .config import COLS, ROWS
from .intervention import Intervention
from .measures import ORDERINGS, SIGMOID_GATES
from .memory import MemoryDecoders
from .model import RowReader
from .neighbours import Alike
from .recurrence import GATE_NAMES, trace


@dataclass(frozen=True)
class Racer:
    """One model in the race: its name on the page, the model, and its memory decoders (None: none)."""

    name: str
    model: RowReader
    decoders: MemoryDecoders | None


# Inspect's panels of each cell type: (quantity, symbol, title, colour range); a quantity is a gate's
# name, "cell_state" or "hidden"; a range is "gate" (0..1), "state" (-1..1) or "cell_state" (per digit).
PANELS = {
    "lstm": (
        ("input", "i", "Input gate i: how much of g to write", "gate"),
        ("forget", "f", "Forget gate f: how much memory to keep", "gate"),
        ("candidate", "g", "Candidate g: what could be written", "state"),
        ("output", "o", "Output gate o: how much memory to show", "gate"),
        ("cell_state", "c", "Cell state c: the memory", "cell_state"),
        ("hidden", "h", "Hidden state h: what the read-out sees", "state"),
    ),
    "gru": (
        ("reset", "r", "Reset gate r: how much old state the candidate uses", "gate"),
        ("update", "z", "Update gate z: how much old state to keep", "gate"),
        ("candidate", "n", "Candidate n: the proposed new state", "state"),
        ("hidden", "h", "Hidden state h: what the read-out sees", "state"),
    ),
    "rnn": (("hidden", "h", "Hidden state h: what the read-out sees", "state"),),
}


_IDS: "weakref.WeakKeyDictionary[RowReader, tuple[tuple[int, ...], str]]" = weakref.WeakKeyDictionary()


def model_id(model: RowReader) -> str:
    """A short digest of a model's config and weights: how the browser names it. Kept per model until its weights
    change (PyTorch counts each tensor's in-place changes): a page names its models at every run, and hashing
    every weight each time was a third of a new page's first run on the server."""
    versions = tuple(tensor._version for tensor in model.state_dict().values())  # (one per weight tensor)
    kept = _IDS.get(model)
    if kept is None or kept[0] != versions:
        digest = hashlib.sha1(json.dumps(model.config, sort_keys=True).encode())
        for name, tensor in model.state_dict().items():
            digest.update(name.encode() + tensor.detach().cpu().numpy().astype("<f4").tobytes())
        kept = _IDS[model] = versions, digest.hexdigest()[:12]
    return kept[1]


def weights(models: list[RowReader]) -> bytes:
    """Every model's weights as the browser reads them (rnnviz/web/weights.js): one safetensors file of
    float32 tensors named "<model id>/<PyTorch name>", the models' configs in its metadata. Sent once: the
    page keeps it, and the browser reads every drawing with it."""
    tensors, configs = {}, {}
    for model in models:
        name_of = model_id(model)
        configs[name_of] = model.config
        for name, tensor in model.state_dict().items():
            tensors[f"{name_of}/{name}"] = tensor.detach().cpu().numpy().astype("<f4")
    return write_safetensors(tensors, metadata={"models": json.dumps(configs, sort_keys=True)})


def to_bytes(values: np.ndarray, lo: float, hi: float) -> str:
    """values mapped from [lo, hi] to 0..255 (clipped), flattened row-major, base64."""
    scaled = np.clip((np.asarray(values, dtype=np.float64) - lo) / (hi - lo), 0, 1) * 255
    return base64.b64encode(np.rint(scaled).astype(np.uint8).tobytes()).decode()


def cell_state_range(cell_states: list) -> float:
    """The one colour range of the LSTM's c in a view: the 99th percentile of |c| over the (steps, hidden)
    arrays given (None for models without one), at least 1. The browser's views compute it themselves
    (rnnviz/web/trace.js `stateRange`); this is their reference."""
    values = [np.abs(c).ravel() for c in cell_states if c is not None]
    return max(1.0, float(np.percentile(np.concatenate(values), 99))) if values else 1.0


def fingerprinted(view: dict) -> dict:
    """The view with "id", a digest of everything in it: the browser redraws only when it changes."""
    digest = hashlib.sha1(json.dumps(view, sort_keys=True).encode()).hexdigest()[:16]
    return {**view, "id": digest}


def panel_titles(cell_type: str) -> list[dict]:
    """The panels a view shows of a model of this cell type, in order: quantity, symbol, title, colour range."""
    return [{"quantity": what, "symbol": symbol, "title": title, "range": kind}
            for what, symbol, title, kind in PANELS[cell_type]]


def live(name: str, model: RowReader, image: np.ndarray | None = None, canvas: str | None = None) -> dict:
    """What the live reading beside the canvas draws: the model by its id (its weights travel once, by
    `weights`) and its panels; and the digit, either the pen on the canvas whose component key is `canvas`,
    read in the browser as it moves, or `image` (28, 28), chosen on the server."""
    return fingerprinted({"view": "live", "model": model_id(model), "name": name, "cell": model.cell_type,
                          "units": model.hidden_size, "steps": ROWS, "cols": COLS,
                          "panels": panel_titles(model.cell_type), "canvas": canvas,
                          "image": None if image is None else to_bytes(image, 0, 1)})


def inspect(name: str, model: RowReader, unit: int | None = None, order: str | None = None) -> dict:
    """What Inspect's view needs to read the page's digit through `model` and show every step: the model
    by its id, its panels, the orders of the units it offers (ORDERINGS), and the unit to follow (None:
    the top one) and the order to show (None: the first), which the visitor may change in the page."""
    return fingerprinted({
        "view": "inspect", "model": model_id(model), "name": name, "cell": model.cell_type, "steps": ROWS,
        "cols": COLS, "units": model.hidden_size, "panels": panel_titles(model.cell_type),
        "order_names": dict(ORDERINGS), "unit": None if unit is None else int(unit),
        "order": order if order in ORDERINGS else None,
    })


def what_if(intervention: Intervention) -> dict:
    """A what-if as the browser's recurrence takes it (rnnviz/web/recurrence.js)."""
    return {"keepGate": intervention.keep_gate, "silenced": [int(u) for u in intervention.silenced],
            "blankRows": None if intervention.blank_rows is None else list(intervention.blank_rows)}


def compare(racers: list[Racer], image: np.ndarray | None, intervention: Intervention | None = None) -> dict:
    """What Compare's view needs to race the racers on the page's digit under one what-if, in the browser:
    each model by its id, with its gates, and what it still remembers of `image` (the digit the server was
    last sent, read under the what-if: rows 1..t decoded after each step t, steps x 28 x 28 bytes; None
    without decoders or digit), and the what-if in words."""
    intervention = intervention or Intervention()
    models = []
    for racer in racers:
        memory = None
        if racer.decoders is not None and image is not None:
            reconstruction = racer.decoders.reconstruct(trace(racer.model, image, intervention))
            memory = to_bytes(np.nan_to_num(reconstruction, nan=0.0), 0, 1)
        models.append({"id": model_id(racer.model), "name": racer.name, "cell": racer.model.cell_type,
                       "units": racer.model.hidden_size, "memory": memory,
                       "gates": [name for name in GATE_NAMES[racer.model.cell_type] if name in SIGMOID_GATES]})
    return fingerprinted({"view": "compare", "steps": ROWS, "cols": COLS, "models": models,
                          "what_if": what_if(intervention), "note": intervention.describe()})


def alike(candidates: list[Alike]) -> dict:
    """The training digits alike (rnnviz.neighbours.alike): for each candidate answer, its probability and
    its nearest training digits (images, k x 28 x 28 bytes, nearest first) with their distances."""
    groups = [{"digit": found.digit, "probability": round(found.probability, 4), "images": to_bytes(found.images, 0, 1),
               "distances": [round(float(d), 2) for d in found.distances]} for found in candidates]
    return fingerprinted({"view": "alike", "cols": COLS, "rows": ROWS, "groups": groups})
