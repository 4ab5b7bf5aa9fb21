"""Memory decoders: ridge read-outs of the rows read so far, their test-set curves, the files they are kept in."""

import numpy as np
import torch

from rnnviz import memory, save_checkpoint, trace
from rnnviz.intervention import Intervention
from rnnviz.serving import store
from tests.conftest import random_model


def test_decoders_solve_the_ridge_normal_equations(digits):
    images = digits[0][:200].double()
    model = random_model("lstm", hidden=9, seed=1).double()
    weights = memory.fit_decoders(model, images, ridge=3.0)
    assert [w.shape for w in weights[:3]] == [(19, 28), (19, 56), (19, 84)]  # [h, c, 1] -> rows 1..t
    with torch.no_grad():
        states = memory._states(model, images)  # (N, steps, 19)
    for step in (0, 13, 27):
        x, y = states[:, step].numpy(), images.flatten(1)[:, : (step + 1) * 28].numpy()
        penalty = 3.0 * np.eye(19)
        penalty[-1, -1] = 0
        np.testing.assert_allclose((x.T @ x + penalty) @ weights[step], x.T @ y, rtol=1e-4, atol=1e-3)


def test_memory_of_a_model_on_real_digits(digits, tmp_path):
    """Fitted on 250 digits, evaluated on 50 others: the row just read decodes far better than chance,
    the curve and a reconstruction have the right shapes, and the file round-trips."""
    images = digits[0]
    model = random_model("gru", hidden=32, seed=2, scale=1.0)
    weights = memory.fit_decoders(model, images[:250])
    found = memory.MemoryDecoders("gru", weights, *memory.decoding_error(model, weights, images[250:]))
    assert np.isnan(found.error[3, 4]) and not np.isnan(found.error[4, 4])  # row 5 is first read at step 5
    curve = found.lag_r2
    assert curve.shape == (28,) and curve[0] > 0.2
    recon = found.reconstruct(trace(model, images[260]))
    assert recon.shape == (28, 28, 28) and np.isnan(recon[9, 10:]).all() and (recon[9, :10] >= 0).all()
    path = tmp_path / "m.npz"
    memory.save_memory(found, path)
    again = memory.load_memory(path)
    np.testing.assert_allclose(again.lag_r2, curve)
    np.testing.assert_allclose(again.weights[27], found.weights[27], rtol=1e-2, atol=1e-3)  # kept as float16


def test_shipped_models_ship_their_memory():
    """No MNIST needed: the shipped decoders are on disk, and the curves show what the README reports."""
    curves = {}
    for cell_type in store.SHIPPED:
        found = memory.saved_memory(store.shipped_path(cell_type))
        assert found is not None, f"no memory decoders shipped for {cell_type}"
        assert found.cell_type == cell_type and len(found.weights) == 28
        curves[cell_type] = found.lag_r2
    for cell_type, curve in curves.items():
        assert curve[0] > 0.8 and curve[0] > curve[7] > curve[14], cell_type  # recent rows are remembered best
    assert curves["lstm"][7] > curves["rnn"][7] and curves["lstm"][14] > curves["rnn"][14]


def test_clamping_the_forget_gate_changes_what_the_lstm_remembers(shipped_models, digits):
    model = shipped_models["lstm"]
    decoders = memory.saved_memory(store.shipped_path("lstm"))
    image = digits[0][0]
    plain = decoders.reconstruct(trace(model, image))
    forgetful = decoders.reconstruct(trace(model, image, Intervention(keep_gate=0.0)))
    truth = image.numpy()
    error = {name: np.nanmean((recon[27, :14] - truth[:14]) ** 2) for name, recon in
             (("plain", plain), ("forgetful", forgetful))}
    assert error["forgetful"] > 1.5 * error["plain"]  # with f = 0 the top of the digit is gone at the end


def test_memory_is_kept_beside_a_checkpoint(digits, tmp_path):
    model = random_model("rnn", hidden=8, seed=3)
    path = save_checkpoint(model, tmp_path / "tiny.safetensors", test_accuracy=0.1)
    assert memory.saved_memory(path) is None
    images = digits[0]
    first = memory.make_memory(path, images[:100], images[100:200])
    assert memory.MEMORY.paths(path, memory.FIT_KEY)[0].exists()
    np.testing.assert_allclose(memory.saved_memory(path).lag_r2, first.lag_r2)

