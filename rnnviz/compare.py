"""Compare: several models reading one digit, under one what-if, as the data the browser view draws
(ui/compare_view.js). It is sent once per change; the browser then draws any step by itself.

Arrays in [lo, hi] travel as base64 bytes, 0..255 over the range (a tenth of the JSON numbers' size):
the browser maps a byte straight to a colour. All models share one range per quantity: states
(h, c) on [-range, range], with one range for every h and one for every c; gates, images and
reconstructions on [0, 1].
"""

import base64
from dataclasses import dataclass

import numpy as np

from .config import COLS, ROWS
from .intervention import Intervention
from .measures import SIGMOID_GATES, unit_order
from .memory import MemoryDecoders
from .model import RowReader
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


def to_bytes(values: np.ndarray, lo: float, hi: float) -> str:
    """values mapped from [lo, hi] to 0..255 (clipped), flattened row-major, base64."""
    scaled = np.clip((np.asarray(values, dtype=np.float64) - lo) / (hi - lo), 0, 1) * 255
    return base64.b64encode(np.rint(scaled).astype(np.uint8).tobytes()).decode()


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
    """Everything the browser draws: the models' panels (model_view), the shared range of c, a note."""
    return {"steps": ROWS, "cols": COLS, "cell_range": round(cell_range, 3), "hidden_range": HIDDEN_RANGE,
            "models": models, "note": note}


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
