"""A trace, exported: CSV (one value per line) and JSON (every array)."""

import csv
import io
import json
from dataclasses import asdict

import numpy as np

from .recurrence import Trace


def _trace_quantities(trace: Trace) -> dict[str, np.ndarray]:
    """name -> (steps, units) array: hidden, cell_state (LSTM), each gate, and prob (units = digit classes)."""
    cell_state = {"cell_state": trace.cell_state} if trace.cell_state is not None else {}
    return {"hidden": trace.hidden, **cell_state, **trace.gates, "prob": trace.probs}


def trace_to_csv(trace: Trace) -> str:
    """Long format, one value per line: step (1 = top row), quantity, unit, value."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["step", "quantity", "unit", "value"])
    for quantity, values in _trace_quantities(trace).items():
        for step, unit in np.ndindex(values.shape):
            writer.writerow([step + 1, quantity, unit, float(values[step, unit])])  # floats print exactly (repr)
    return out.getvalue()


def trace_to_json(trace: Trace) -> str:
    """All fields of the Trace (arrays as nested lists) plus its prediction."""
    return json.dumps({**asdict(trace), "prediction": trace.prediction}, default=np.ndarray.tolist)
