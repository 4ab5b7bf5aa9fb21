"""The Compare view's data: several models' traces of one digit as one JSON-ready dict, sent to the
browser once, which then draws any step by itself (ui/compare_view.js).

Arrays in [lo, hi] travel as base64 bytes, 0..255 over the range (a tenth of the JSON numbers' size):
the browser maps a byte straight to a colour. All models share one range per quantity: states
(h, c) on [-scale, scale], with one scale for every h and one for every c; gates, images and
reconstructions on [0, 1].
"""

import base64

import numpy as np

from .config import COLS, ROWS
from .measures import SIGMOID_GATES
from .recurrence import Trace

HIDDEN_SCALE = 1.0  # |h| <= 1 (tanh)


def to_bytes(values: np.ndarray, lo: float, hi: float) -> str:
    """values mapped from [lo, hi] to 0..255 (clipped), flattened row-major, base64."""
    scaled = np.clip((np.asarray(values, dtype=np.float64) - lo) / (hi - lo), 0, 1) * 255
    return base64.b64encode(np.rint(scaled).astype(np.uint8).tobytes()).decode()


def cell_scale(traces: list[Trace]) -> float:
    """One colour range for every LSTM's c: the 99th percentile of |c| over the traces (at least 1)."""
    cells = [np.abs(t.cell).ravel() for t in traces if t.cell is not None]
    return max(1.0, float(np.percentile(np.concatenate(cells), 99))) if cells else 1.0


def model_view(name: str, trace: Trace, order: np.ndarray, scale: float, memory: np.ndarray | None,
               baseline: Trace | None = None) -> dict:
    """One model's panel: name; trace of the digit; order (hidden,) of its units, top first; scale of c;
    memory (steps, 28, 28) reconstructions (NaN for rows not read), or None; baseline: the same model
    with no intervention (its prediction is shown beside a changed one)."""
    hidden_ordered = trace.hidden[:, order].T  # (hidden, steps): one line per unit, one column per step
    view = {
        "name": name,
        "cell": trace.cell_type,
        "units": int(trace.hidden.shape[1]),
        "image": to_bytes(trace.image, 0, 1),  # 28 x 28
        "probs": np.round(trace.probs, 4).tolist(),  # (steps, 10)
        "hidden": to_bytes(hidden_ordered, -HIDDEN_SCALE, HIDDEN_SCALE),  # units x steps
        "cell_state": None if trace.cell is None else to_bytes(trace.cell[:, order].T, -scale, scale),
        "gates": {name: to_bytes(values[:, order], 0, 1)  # steps x units, per step the units in order
                  for name, values in trace.gates.items() if name in SIGMOID_GATES},
        "memory": None if memory is None else to_bytes(np.nan_to_num(memory, nan=0.0), 0, 1),  # steps x 28 x 28
        "prediction": trace.prediction,
        "was": None if baseline is None or baseline.prediction == trace.prediction else baseline.prediction,
    }
    return view


def view_data(models: list[dict], cell_scale: float, note: str = "") -> dict:
    """Everything the browser draws: the models' panels (model_view), the shared c range, a note."""
    return {"steps": ROWS, "cols": COLS, "cell_scale": round(cell_scale, 3), "hidden_scale": HIDDEN_SCALE,
            "models": models, "note": note}
