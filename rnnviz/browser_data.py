"""What the browser views draw: one model reading one digit (Inspect), several racing on one digit under
one what-if (Compare), the answer beside the prediction, and the training digits alike, as compact
JSON-ready dicts. Each is sent once per change; the browser then draws any step by itself (ui/views/).

Pictures (the digit, the rows a model still remembers, and Compare's states and gates) travel as
base64 bytes, 0..255 over a range: the browser maps a byte straight to a colour. Inspect's values
travel as base64 float16, since the page writes them out as numbers (3 significant digits). Models
share one range per quantity: states (h, c) on [-range, range], with one range for every h and one
for every c; gates, images and reconstructions on [0, 1].
"""

import base64
import hashlib
import json
from dataclasses import dataclass

import numpy as np
from safetensors.numpy import save as write_safetensors

from .config import COLS, ROWS
from .intervention import Intervention
from .measures import ORDERINGS, SIGMOID_GATES, unit_order
from .memory import MemoryDecoders
from .model import RowReader
from .neighbours import Alike
from .recurrence import Trace, trace

HIDDEN_RANGE = 1.0  # |h| <= 1 (tanh)


@dataclass(frozen=True)
class Racer:
    """One model in the race: its name on the page, the model, and its memory decoders (None: none)."""

    name: str
    model: RowReader
    decoders: MemoryDecoders | None


@dataclass(frozen=True)
class Race:
    """What Compare shows: the view's data (view_data), and each racer's trace by name."""

    view: dict
    traces: dict[str, Trace]


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


def model_id(model: RowReader) -> str:
    """A short digest of a model's config and weights: how the browser names it."""
    digest = hashlib.sha1(json.dumps(model.config, sort_keys=True).encode())
    for name, tensor in model.state_dict().items():
        digest.update(name.encode() + tensor.detach().cpu().numpy().astype("<f4").tobytes())
    return digest.hexdigest()[:12]


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


def to_halves(values: np.ndarray) -> str:
    """values as little-endian float16, flattened row-major, base64."""
    return base64.b64encode(np.asarray(values, dtype="<f2").tobytes()).decode()


def quantity(trace: Trace, name: str) -> np.ndarray:
    """(steps, hidden) values of one of a trace's quantities: "hidden", "cell_state" or a gate."""
    return {"hidden": trace.hidden, "cell_state": trace.cell_state}.get(name, trace.gates.get(name))


def cell_state_range(cell_states: list) -> float:
    """The one colour range of the LSTM's c in every view: the 99th percentile of |c| over the
    (steps, hidden) arrays given (None for models without one), at least 1."""
    values = [np.abs(c).ravel() for c in cell_states if c is not None]
    return max(1.0, float(np.percentile(np.concatenate(values), 99))) if values else 1.0


def model_view(name: str, trace: Trace, order: np.ndarray, cell_range: float, reconstruction: np.ndarray | None,
               baseline: Trace | None = None) -> dict:
    """One model's panel: name; trace of the digit; order (hidden,) of its units, top first; the range of c;
    reconstruction (steps, 28, 28) of the rows read (NaN for rows not read), or None; baseline: the same
    model with no what-if (its prediction is shown beside a changed one)."""
    hidden_ordered = trace.hidden[:, order].T  # (hidden, steps): one line per unit, one column per step
    cell_state = trace.cell_state
    return {
        "name": name,
        "cell": trace.cell_type,
        "units": int(trace.hidden.shape[1]),
        "image": to_bytes(trace.image, 0, 1),  # 28 x 28
        "probs": np.round(trace.probs, 4).tolist(),  # (steps, 10)
        "hidden": to_bytes(hidden_ordered, -HIDDEN_RANGE, HIDDEN_RANGE),  # units x steps
        "cell_state": None if cell_state is None else to_bytes(cell_state[:, order].T, -cell_range, cell_range),
        "gates": {name: to_bytes(values[:, order], 0, 1)  # steps x units, per step the units in order
                  for name, values in trace.gates.items() if name in SIGMOID_GATES},
        "reconstruction": None if reconstruction is None else to_bytes(np.nan_to_num(reconstruction, nan=0.0), 0, 1),
        "prediction": trace.prediction,
        "was": None if baseline is None or baseline.prediction == trace.prediction else baseline.prediction,
    }


def view_data(models: list[dict], cell_range: float, note: str = "") -> dict:
    """Everything Compare's view draws: the models' panels (model_view), the shared range of c, a note."""
    return fingerprinted({"view": "compare", "steps": ROWS, "cols": COLS, "cell_range": round(cell_range, 3),
                          "hidden_range": HIDDEN_RANGE, "models": models, "note": note})


def fingerprinted(view: dict) -> dict:
    """The view with "id", a digest of everything in it: the browser redraws only when it changes."""
    digest = hashlib.sha1(json.dumps(view, sort_keys=True).encode()).hexdigest()[:16]
    return {**view, "id": digest}


def inspect(name: str, model: RowReader, trace: Trace, unit: int | None = None, order: str | None = None) -> dict:
    """Everything Inspect's view draws of `model` reading one digit: its name; the digit; the class
    probabilities after every step; each panel's values (steps, hidden) as float16 and the range of c;
    the units in every order of ORDERINGS (top first: the page offers each, the first at the start); and
    the unit to follow (None: the top one) and the order to show (None: the first), which the visitor may
    change in the page."""
    orders = {by: unit_order(model, trace, by) for by in ORDERINGS}
    panels = [{"quantity": what, "symbol": symbol, "title": title, "range": kind,
               "values": to_halves(quantity(trace, what))}  # steps x units, in the units' own order
              for what, symbol, title, kind in PANELS[trace.cell_type]]
    cell_range = round(cell_state_range([trace.cell_state]), 3)
    return fingerprinted({
        "view": "inspect", "name": name, "cell": trace.cell_type, "steps": trace.steps, "cols": COLS,
        "units": int(trace.hidden.shape[1]), "image": to_bytes(trace.image, 0, 1), "probs": to_halves(trace.probs),
        "prediction": trace.prediction, "panels": panels,
        "orders": {by: [int(u) for u in order] for by, order in orders.items()},
        "order_names": {by: ORDERINGS[by] for by in orders},
        "unit": None if unit is None else int(unit), "order": order if order in ORDERINGS else None,
        "ranges": {"gate": [0, 1], "state": [-HIDDEN_RANGE, HIDDEN_RANGE], "cell_state": [-cell_range, cell_range]},
    })


def race(racers: list[Racer], image, intervention: Intervention | None = None) -> Race:
    """Every racer reading the (28, 28) image under the what-if: the view's data (units ordered by their
    contribution to each model's answer, c on one shared range, the rows each still remembers) and the
    traces. With an active what-if each panel also names the answer it gave without it."""
    intervention = intervention or Intervention()
    traces = {racer.name: trace(racer.model, image, intervention) for racer in racers}
    cell_range = cell_state_range([t.cell_state for t in traces.values()])
    panels = []
    for racer in racers:
        digit_trace = traces[racer.name]
        baseline = trace(racer.model, image) if intervention.active else None
        reconstruction = None if racer.decoders is None else racer.decoders.reconstruct(digit_trace)
        panels.append(model_view(racer.name, digit_trace, unit_order(racer.model, digit_trace, "contribution"),
                                 cell_range, reconstruction, baseline))
    return Race(view_data(panels, cell_range, intervention.describe()), traces)


def live(name: str, model: RowReader, image: np.ndarray | None = None, canvas: str | None = None) -> dict:
    """What the live reading beside the canvas draws: the model by its id (its weights travel once, by
    `weights`) and its panels' titles; and the digit, either the pen on the canvas whose component key is
    `canvas`, read in the browser as it moves, or `image` (28, 28), chosen on the server."""
    panels = [{"quantity": what, "symbol": symbol, "title": title, "range": kind}
              for what, symbol, title, kind in PANELS[model.cell_type]]
    return fingerprinted({"view": "live", "model": model_id(model), "name": name, "cell": model.cell_type,
                          "units": model.hidden_size, "steps": ROWS, "cols": COLS, "panels": panels, "canvas": canvas,
                          "image": None if image is None else to_bytes(image, 0, 1)})


def alike(candidates: list[Alike]) -> dict:
    """The training digits alike (rnnviz.neighbours.alike): for each candidate answer, its probability and
    its nearest training digits (images, k x 28 x 28 bytes, nearest first) with their distances."""
    groups = [{"digit": found.digit, "probability": round(found.probability, 4), "images": to_bytes(found.images, 0, 1),
               "distances": [round(float(d), 2) for d in found.distances]} for found in candidates]
    return fingerprinted({"view": "alike", "cols": COLS, "rows": ROWS, "groups": groups})
