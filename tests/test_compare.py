"""The Compare view's data: what the browser draws, in shared ranges, as compact bytes."""

import base64

import numpy as np

from rnnviz import compare, measures, memory, registry, trace
from rnnviz.intervention import Intervention


def decoded(text: str, lo: float, hi: float) -> np.ndarray:
    return np.frombuffer(base64.b64decode(text), dtype=np.uint8) / 255 * (hi - lo) + lo


def test_bytes_keep_values_to_within_half_a_step():
    values = np.array([[-3.0, -1.0, -0.5], [0.0, 0.999, 7.0]])
    back = decoded(compare.to_bytes(values, -1, 1), -1, 1)
    np.testing.assert_allclose(back, np.clip(values, -1, 1).ravel(), atol=1 / 255)


def test_panels_of_the_shipped_models(shipped_models, digits):
    image = digits[0][3]
    traces = {cell_type: trace(model, image) for cell_type, model in shipped_models.items()}
    scale = compare.cell_scale(list(traces.values()))
    assert scale >= np.percentile(np.abs(traces["lstm"].cell), 99) - 1e-6 and scale >= 1
    lstm = traces["lstm"]
    order = measures.unit_order(shipped_models["lstm"], lstm, "contribution")
    recon = memory.cached_memory(registry.shipped_path("lstm")).reconstruct(lstm)
    changed = trace(shipped_models["lstm"], image, Intervention(memory_gate=0.0))
    view = compare.model_view("LSTM", changed, order, scale, recon, baseline=lstm)
    assert view["was"] == (None if changed.prediction == lstm.prediction else lstm.prediction)
    hidden = decoded(view["hidden"], -1, 1).reshape(100, 28)  # units (in order) x steps
    np.testing.assert_allclose(hidden, changed.hidden[:, order].T, atol=1 / 255 + 1e-6)
    forget = decoded(view["gates"]["forget"], 0, 1).reshape(28, 100)
    assert np.all(forget == 0)  # the clamp is what is drawn
    assert set(view["gates"]) == {"input", "forget", "output"}  # sigmoid gates only
    assert len(base64.b64decode(view["memory"])) == 28 * 28 * 28
    data = compare.view_data([view, compare.model_view("RNN", traces["rnn"], np.arange(100), scale, None)], scale)
    assert data["models"][1]["cell_state"] is None and data["models"][1]["gates"] == {}
    assert data["steps"] == 28 and data["cell_scale"] == round(scale, 3)
