"""What-if changes inside the recurrence: checked against the written formulas, and no change means no change."""

import numpy as np
import pytest
import torch

from rnnviz import CELL_TYPES, trace
from rnnviz.intervention import Intervention
from rnnviz.recurrence import unroll
from tests.conftest import random_model


def sigmoid(x):
    return 1 / (1 + np.exp(-x))


def reference(model, image: np.ndarray, keep_gate=None, silenced=(), blank_rows=None) -> np.ndarray:
    """The textbook recurrence in float64 numpy, written out from the module docstring with the clamp,
    independent of rnnviz.recurrence: h_t (steps, hidden)."""
    weights = {name: value.detach().double().numpy() for name, value in model.rnn.named_parameters()}
    image = image.astype(np.float64).copy()
    if blank_rows:
        image[blank_rows[0] - 1 : blank_rows[1]] = 0
    x = (image - 0.1307) / 0.3081
    hidden_size = model.hidden_size
    h, c, out = np.zeros(hidden_size), np.zeros(hidden_size), []
    keep = np.ones(hidden_size)
    keep[list(silenced)] = 0
    for row in x:
        a = weights["weight_ih_l0"] @ row + weights["bias_ih_l0"]
        b = weights["weight_hh_l0"] @ h + weights["bias_hh_l0"]
        if model.cell_type == "lstm":
            i, f, g, o = np.split(a + b, 4)
            f = sigmoid(f) if keep_gate is None else np.full(hidden_size, keep_gate)
            c = (f * c + sigmoid(i) * np.tanh(g)) * keep
            h = sigmoid(o) * np.tanh(c) * keep
        elif model.cell_type == "gru":
            (ar, az, an), (br, bz, bn) = np.split(a, 3), np.split(b, 3)
            r = sigmoid(ar + br)
            z = sigmoid(az + bz) if keep_gate is None else np.full(hidden_size, keep_gate)
            n = np.tanh(an + r * bn)
            h = ((1 - z) * n + z * h) * keep
        else:
            h = np.tanh(a + b) * keep
        out.append(h)
    return np.array(out)


@pytest.mark.parametrize("cell_type", CELL_TYPES)
def test_no_intervention_changes_nothing(cell_type, digits):
    images = digits[0][:50]
    model = random_model(cell_type, hidden=23)
    with torch.no_grad():
        plain = unroll(model, images)
        for nothing in (None, Intervention()):
            same = unroll(model, images, nothing)
            assert plain.keys() == same.keys()
            for name in plain:
                assert torch.equal(plain[name], same[name]), name  # bit for bit: the default path is untouched


@pytest.mark.parametrize("cell_type", CELL_TYPES)
@pytest.mark.parametrize("change", [
    {"keep_gate": 0.0}, {"keep_gate": 1.0}, {"keep_gate": 0.5}, {"silenced": (0, 3, 7)},
    {"blank_rows": (5, 12)}, {"keep_gate": 1.0, "silenced": (2,), "blank_rows": (20, 28)},
])
def test_interventions_follow_the_formulas(cell_type, change, digits):
    model = random_model(cell_type, hidden=11, seed=3)
    image = digits[0][4].numpy()
    traced = trace(model, image, Intervention(**change))
    np.testing.assert_allclose(traced.hidden, reference(model, image, **change), atol=1e-5)
    if cell_type == "rnn" and set(change) == {"keep_gate"}:  # no gate that keeps the state: nothing to clamp
        np.testing.assert_array_equal(traced.hidden, trace(model, image).hidden)


def test_lstm_forget_gate_clamped(digits):
    """f = 0: c_t = i_t g_t, the cell holds only this row; f = 1: c_t is the running sum of i g."""
    model = random_model("lstm", hidden=13, seed=4)
    image = digits[0][9]
    for value in (0.0, 1.0):
        traced = trace(model, image, Intervention(keep_gate=value))
        written = traced.gates["input"] * traced.gates["candidate"]  # (steps, hidden)
        expected = written if value == 0 else np.cumsum(written, axis=0)
        np.testing.assert_allclose(traced.cell_state, expected, atol=1e-5)
        assert np.all(traced.gates["forget"] == value)
        np.testing.assert_allclose(traced.hidden, traced.gates["output"] * np.tanh(traced.cell_state), atol=1e-6)


def test_gru_update_gate_clamped(digits):
    """z = 1: h never leaves h_0 = 0; z = 0: h_t is the candidate n_t."""
    model = random_model("gru", hidden=13, seed=5)
    image = digits[0][9]
    assert np.all(trace(model, image, Intervention(keep_gate=1.0)).hidden == 0)
    traced = trace(model, image, Intervention(keep_gate=0.0))
    np.testing.assert_allclose(traced.hidden, traced.gates["candidate"], atol=1e-6)


def test_silenced_units_hold_nothing_and_blanked_rows_are_not_seen(digits):
    model = random_model("lstm", hidden=13, seed=6)
    image = digits[0][2].numpy()
    traced = trace(model, image, Intervention(silenced=(1, 5)))
    assert np.all(traced.hidden[:, [1, 5]] == 0) and np.all(traced.cell_state[:, [1, 5]] == 0)
    blanked = trace(model, image, Intervention(blank_rows=(10, 14)))
    plain = trace(model, image)
    np.testing.assert_array_equal(blanked.hidden[:9], plain.hidden[:9])  # the steps before the band: as they were
    assert np.all(blanked.image[9:14] == 0) and np.array_equal(blanked.image[14:], image[14:])
    assert np.abs(image[9:14]).sum() > 0 and not np.allclose(blanked.hidden[13], plain.hidden[13])


def test_bad_interventions_are_refused():
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        Intervention(keep_gate=1.5)
    with pytest.raises(ValueError, match="first, last"):
        Intervention(blank_rows=(10, 3))
    assert not Intervention().active and Intervention().describe() == ""
    assert Intervention(keep_gate=0.0, silenced=(3,), blank_rows=(1, 14)).describe() == (
        "forget gate (LSTM) and update gate (GRU) clamped to 0; unit 3 silenced; rows 1-14 blanked")
