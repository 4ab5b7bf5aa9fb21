"""The step-by-step recurrence reproduces torch's fused RNN/GRU/LSTM exactly, on real digits, and runs
on the model's device."""

import numpy as np
import pytest
import torch

from rnnviz import CELL_TYPES, GATE_NAMES, trace
from rnnviz.intervention import Intervention
from rnnviz.recurrence import unroll
from tests.conftest import random_model


@pytest.mark.parametrize("cell_type", CELL_TYPES)
def test_unrolled_states_equal_torch_modules(cell_type, digits):
    images = digits[0][:64]  # real digits
    model = random_model(cell_type, hidden=37)
    with torch.no_grad():
        x = model.normalize(images)
        if cell_type == "lstm":
            hidden_all, (_, last_cell) = model.rnn(x)
        else:
            hidden_all, _ = model.rnn(x)
        out = unroll(model, images)
    assert out["hidden"].shape == (64, 28, 37)
    torch.testing.assert_close(out["hidden"], hidden_all, atol=1e-5, rtol=0)
    if cell_type == "lstm":
        torch.testing.assert_close(out["cell_state"][:, -1], last_cell[0], atol=1e-5, rtol=0)
        # Every intermediate cell_type state too: run nn.LSTM one step at a time from the traced state.
        for step in (0, 13, 27):
            h0 = out["hidden"][:, step - 1] if step else torch.zeros(64, 37)
            c0 = out["cell_state"][:, step - 1] if step else torch.zeros(64, 37)
            _, (_, c1) = model.rnn(x[:, step : step + 1], (h0[None], c0[None]))
            torch.testing.assert_close(out["cell_state"][:, step], c1[0], atol=1e-5, rtol=0)


@pytest.mark.parametrize("cell_type", CELL_TYPES)
def test_trace_of_one_digit(cell_type, digits):
    images, _ = digits
    model = random_model(cell_type, hidden=100, seed=1)
    digit_trace = trace(model, images[0].numpy())
    assert digit_trace.hidden.shape == (28, 100)
    assert set(digit_trace.gates) == set(GATE_NAMES[cell_type])
    assert (digit_trace.cell_state is not None) == (cell_type == "lstm")
    for name, values in digit_trace.gates.items():
        assert values.shape == (28, 100)
        low, high = (-1, 1) if name == "candidate" else (0, 1)
        assert values.min() >= low and values.max() <= high, name
    assert np.all(np.abs(digit_trace.hidden) <= 1)
    # Per-step probabilities: rows sum to one, and the last step is the model's own softmax.
    np.testing.assert_allclose(digit_trace.probs.sum(axis=1), 1.0, atol=1e-5)
    with torch.no_grad():
        final = torch.softmax(model(images[:1]), dim=1)[0].numpy()
    np.testing.assert_allclose(digit_trace.probs[-1], final, atol=1e-6)
    assert digit_trace.prediction == int(final.argmax())


def test_gates_recombine_into_states(digits):
    """The LSTM update written out in the app, c_t = f*c_(t-1) + i*g and h_t = o*tanh(c_t), holds."""
    digit_trace = trace(random_model("lstm", hidden=37, seed=2), digits[0][7])
    gates, cell_state = digit_trace.gates, digit_trace.cell_state
    previous = np.vstack([np.zeros((1, cell_state.shape[1])), cell_state[:-1]])
    np.testing.assert_allclose(cell_state, gates["forget"] * previous + gates["input"] * gates["candidate"], atol=1e-5)
    np.testing.assert_allclose(digit_trace.hidden, gates["output"] * np.tanh(cell_state), atol=1e-5)


def test_trace_rejects_wrong_shape():
    with pytest.raises(ValueError, match="28, 28"):
        trace(random_model("gru"), np.zeros((28, 27), dtype=np.float32))


def test_settled_step(shipped_models, digits):
    for model in shipped_models.values():
        for image in digits[0][:20]:
            digit_trace = trace(model, image)
            settled = digit_trace.settled_step
            guesses = digit_trace.probs.argmax(axis=1)
            assert np.all(guesses[settled - 1 :] == digit_trace.prediction)
            assert settled == 1 or guesses[settled - 2] != digit_trace.prediction


@pytest.mark.parametrize("cell_type", CELL_TYPES)
def test_the_recurrence_runs_where_the_model_is(cell_type):
    """On the meta device (shapes only, as on a GPU: every tensor the recurrence makes must be made there),
    with every what-if at once."""
    model = random_model(cell_type, hidden=9).to("meta")
    change = Intervention(keep_gate=0.5, silenced=(1, 4), blank_rows=(3, 9))
    out = unroll(model, torch.zeros(2, 28, 28, device="meta"), change)
    assert all(value.device.type == "meta" for value in out.values())
    assert out["hidden"].shape == (2, 28, 9) and out["logits"].shape == (2, 28, 10)
