"""A trace exported as CSV and JSON reads back exactly."""

import csv
import io
import json

import numpy as np
import pytest

from rnnviz import export, trace
from tests.conftest import random_model


@pytest.mark.parametrize("cell_type", ["gru", "lstm"])
def test_trace_export_round_trips(cell_type, digits):
    digit_trace = trace(random_model(cell_type), digits[0][0])
    quantities = {"hidden": digit_trace.hidden, "prob": digit_trace.probs, **digit_trace.gates}
    if digit_trace.cell_state is not None:
        quantities["cell_state"] = digit_trace.cell_state
    rebuilt = {name: np.full_like(values, np.nan) for name, values in quantities.items()}
    for row in csv.DictReader(io.StringIO(export.trace_to_csv(digit_trace))):
        rebuilt[row["quantity"]][int(row["step"]) - 1, int(row["unit"])] = float(row["value"])
    for name, values in quantities.items():
        np.testing.assert_array_equal(rebuilt[name], values, err_msg=name)

    loaded = json.loads(export.trace_to_json(digit_trace))
    assert loaded["cell_type"] == cell_type and loaded["prediction"] == digit_trace.prediction
    assert (loaded["cell_state"] is None) == (cell_type != "lstm")
    for name in ("image", "hidden", "probs"):
        np.testing.assert_array_equal(np.array(loaded[name], dtype=np.float32), getattr(digit_trace, name),
                                      err_msg=name)
    for name, values in digit_trace.gates.items():
        np.testing.assert_array_equal(np.array(loaded["gates"][name], dtype=np.float32), values, err_msg=name)
