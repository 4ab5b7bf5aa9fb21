"""The step-by-step trace must reproduce torch's fused RNN/GRU/LSTM exactly."""

import numpy as np
import pytest
import torch

from rnnviz import GATE_NAMES, RowReader, trace
from rnnviz.trace import unroll


def random_model(cell: str, hidden: int = 37, seed: int = 0) -> RowReader:
    """Random weights, with larger-than-default scale so gates actually move."""
    torch.manual_seed(seed)
    model = RowReader(cell, hidden).eval()
    with torch.no_grad():
        for p in model.parameters():
            p.mul_(3.0)
    return model


@pytest.mark.parametrize("cell", ["rnn", "gru", "lstm"])
def test_unrolled_states_equal_torch_modules(cell, mnist_test):
    images = mnist_test[0][:64]  # real digits
    model = random_model(cell)
    with torch.no_grad():
        x = model.normalize(images)
        if cell == "lstm":
            hidden_all, (_, last_cell) = model.rnn(x)
        else:
            hidden_all, _ = model.rnn(x)
        out = unroll(model, images)
    assert out["hidden"].shape == (64, 28, 37)
    torch.testing.assert_close(out["hidden"], hidden_all, atol=1e-5, rtol=0)
    if cell == "lstm":
        torch.testing.assert_close(out["cell"][:, -1], last_cell[0], atol=1e-5, rtol=0)
        # Every intermediate cell state too: run nn.LSTM one step at a time from the traced state.
        for step in (0, 13, 27):
            h0 = out["hidden"][:, step - 1] if step else torch.zeros(64, 37)
            c0 = out["cell"][:, step - 1] if step else torch.zeros(64, 37)
            _, (_, c1) = model.rnn(x[:, step : step + 1], (h0[None], c0[None]))
            torch.testing.assert_close(out["cell"][:, step], c1[0], atol=1e-5, rtol=0)


@pytest.mark.parametrize("cell", ["rnn", "gru", "lstm"])
def test_trace_of_one_digit(cell, mnist_test):
    images, labels = mnist_test
    model = random_model(cell, hidden=100, seed=1)
    record = trace(model, images[0].numpy())
    assert record.hidden.shape == (28, 100)
    assert set(record.gates) == set(GATE_NAMES[cell])
    assert (record.cell is not None) == (cell == "lstm")
    for name, values in record.gates.items():
        assert values.shape == (28, 100)
        low, high = (-1, 1) if name == "candidate" else (0, 1)
        assert values.min() >= low and values.max() <= high, name
    assert np.all(np.abs(record.hidden) <= 1)
    # Per-step probabilities: rows sum to one, and the last step is the model's own softmax.
    np.testing.assert_allclose(record.probs.sum(axis=1), 1.0, atol=1e-5)
    with torch.no_grad():
        final = torch.softmax(model(images[:1]), dim=1)[0].numpy()
    np.testing.assert_allclose(record.probs[-1], final, atol=1e-6)
    assert record.prediction == int(final.argmax())


def test_gates_recombine_into_states(mnist_test):
    """The LSTM update written out in the app, c_t = f*c_(t-1) + i*g and h_t = o*tanh(c_t), holds."""
    record = trace(random_model("lstm", seed=2), mnist_test[0][7])
    gates, cell = record.gates, record.cell
    previous = np.vstack([np.zeros((1, cell.shape[1])), cell[:-1]])
    np.testing.assert_allclose(cell, gates["forget"] * previous + gates["input"] * gates["candidate"], atol=1e-5)
    np.testing.assert_allclose(record.hidden, gates["output"] * np.tanh(cell), atol=1e-5)


def test_trace_rejects_wrong_shape():
    with pytest.raises(ValueError, match="28, 28"):
        trace(random_model("gru"), np.zeros((28, 27), dtype=np.float32))
