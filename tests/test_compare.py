"""Compare's pipeline: several models reading one digit under one what-if, as compact bytes in shared
ranges, checked against each model's own trace."""

import base64

import numpy as np
import pytest

from rnnviz import compare, measures, memory, trace
from rnnviz.compare import Racer, race
from rnnviz.intervention import Intervention
from rnnviz.serving import store
from tests.conftest import random_model


def decoded(text: str, lo: float, hi: float) -> np.ndarray:
    return np.frombuffer(base64.b64decode(text), dtype=np.uint8) / 255 * (hi - lo) + lo


def test_bytes_keep_values_to_within_half_a_step():
    values = np.array([[-3.0, -1.0, -0.5], [0.0, 0.999, 7.0]])
    back = decoded(compare.to_bytes(values, -1, 1), -1, 1)
    np.testing.assert_allclose(back, np.clip(values, -1, 1).ravel(), atol=1 / 255)


def test_the_cell_state_range_is_the_99th_percentile_and_at_least_one():
    c = np.linspace(-4, 4, 1001).reshape(7, 143)
    assert compare.cell_state_range([None, c]) == pytest.approx(np.percentile(np.abs(c), 99))
    assert compare.cell_state_range([c / 100]) == 1.0 and compare.cell_state_range([None]) == 1.0


@pytest.fixture(scope="module")
def racers(shipped_models):
    return [Racer(cell_type.upper(), model, memory.cached_memory(store.shipped_path(cell_type)))
            for cell_type, model in shipped_models.items()]


def test_the_race_is_each_models_own_trace_in_shared_ranges(racers, digits):
    image = digits[0][3].numpy()
    raced = race(racers, image)
    view = raced.view
    assert [panel["name"] for panel in view["models"]] == [racer.name for racer in racers] == list(raced.traces)
    assert view["note"] == "" and view["steps"] == 28
    scale = compare.cell_state_range([t.cell_state for t in raced.traces.values()])
    assert view["cell_range"] == round(scale, 3)
    for racer, panel in zip(racers, view["models"], strict=True):
        own = trace(racer.model, image)
        assert panel["prediction"] == own.prediction and panel["was"] is None
        order = measures.unit_order(racer.model, own, "contribution")
        hidden = decoded(panel["hidden"], -1, 1).reshape(len(order), 28)  # units (in order) x steps
        np.testing.assert_allclose(hidden, own.hidden[:, order].T, atol=1 / 255 + 1e-6)
        np.testing.assert_allclose(np.array(panel["probs"]), own.probs, atol=5e-5)
        recalled = decoded(panel["reconstruction"], 0, 1).reshape(28, 28, 28)  # steps x rows x columns
        expected = np.nan_to_num(racer.decoders.reconstruct(own), nan=0.0)
        np.testing.assert_allclose(recalled, expected, atol=1 / 255 + 1e-6)
        if own.cell_state is not None:
            cell_state = decoded(panel["cell_state"], -scale, scale).reshape(len(order), 28)
            np.testing.assert_allclose(cell_state, np.clip(own.cell_state[:, order].T, -scale, scale),
                                       atol=2 * scale / 255 + 1e-6)
        else:
            assert panel["cell_state"] is None


def test_a_what_if_changes_every_racer_and_names_what_it_was(racers, digits):
    image = digits[0][9].numpy()
    clamped = Intervention(keep_gate=0.0)
    raced = race(racers, image, clamped)
    assert "clamped to 0" in raced.view["note"]
    for racer, panel in zip(racers, raced.view["models"], strict=True):
        changed, before = trace(racer.model, image, clamped), trace(racer.model, image)
        assert panel["prediction"] == changed.prediction
        assert panel["was"] == (None if changed.prediction == before.prediction else before.prediction)
        if "forget" in panel["gates"]:
            assert np.all(decoded(panel["gates"]["forget"], 0, 1) == 0)  # the clamp is what is drawn
    assert {name for panel in raced.view["models"] for name in panel["gates"]} == {
        "input", "forget", "output", "reset", "update"}  # sigmoid gates only: no candidates


def test_a_model_without_decoders_or_of_another_size_races_too(digits):
    racers = [Racer("tiny", random_model("lstm", hidden=5), None), Racer("wide", random_model("rnn", hidden=40), None)]
    view = race(racers, digits[0][0].numpy()).view
    assert [panel["units"] for panel in view["models"]] == [5, 40]
    assert all(panel["reconstruction"] is None for panel in view["models"])
    assert view["models"][1]["gates"] == {} and view["models"][1]["cell_state"] is None
