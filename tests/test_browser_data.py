"""What the browser views draw, checked against each model's own trace: Inspect's one model in half
precision; Compare's several models under one what-if, as compact bytes in shared ranges. And their code: one
replay file holds all of it."""

import base64
import re

import numpy as np
import pytest

from rnnviz import browser_data, measures, memory, trace
from rnnviz.browser_data import Racer, race
from rnnviz.intervention import Intervention
from rnnviz.serving import store
from tests.conftest import random_model
from tools.browser import halves
from ui.views import IMPORT, WEB, replay_html


def decoded(text: str, lo: float, hi: float) -> np.ndarray:
    return np.frombuffer(base64.b64decode(text), dtype=np.uint8) / 255 * (hi - lo) + lo


def test_bytes_keep_values_to_within_half_a_step():
    values = np.array([[-3.0, -1.0, -0.5], [0.0, 0.999, 7.0]])
    back = decoded(browser_data.to_bytes(values, -1, 1), -1, 1)
    np.testing.assert_allclose(back, np.clip(values, -1, 1).ravel(), atol=1 / 255)


def test_the_cell_state_range_is_the_99th_percentile_and_at_least_one():
    c = np.linspace(-4, 4, 1001).reshape(7, 143)
    assert browser_data.cell_state_range([None, c]) == pytest.approx(np.percentile(np.abs(c), 99))
    assert browser_data.cell_state_range([c / 100]) == 1.0 and browser_data.cell_state_range([None]) == 1.0


@pytest.fixture(scope="module")
def racers(shipped_models):
    return [Racer(cell_type.upper(), model, memory.saved_memory(store.shipped_path(cell_type)))
            for cell_type, model in shipped_models.items()]


def test_the_race_is_each_models_own_trace_in_shared_ranges(racers, digits):
    image = digits[0][3].numpy()
    raced = race(racers, image)
    view = raced.view
    assert [panel["name"] for panel in view["models"]] == [racer.name for racer in racers] == list(raced.traces)
    assert view["note"] == "" and view["steps"] == 28
    scale = browser_data.cell_state_range([t.cell_state for t in raced.traces.values()])
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


@pytest.mark.parametrize("cell_type", ["lstm", "gru", "rnn"])
def test_inspect_sends_the_trace_in_half_precision(cell_type, shipped_models, digits):
    model, image = shipped_models[cell_type], digits[0][11].numpy()
    own = trace(model, image)
    view = browser_data.inspect("mine", model, own, unit=7)
    assert (view["view"], view["cell"], view["units"], view["steps"]) == ("inspect", cell_type, 100, 28)
    assert view["orders"] == {by: measures.unit_order(model, own, by).tolist() for by in measures.ORDERINGS}
    assert view["unit"] == 7 and browser_data.inspect("mine", model, own)["unit"] is None
    assert view["prediction"] == own.prediction
    assert [panel["quantity"] for panel in view["panels"]] == [what for what, *_ in browser_data.PANELS[cell_type]]
    for panel in view["panels"]:  # steps x units, each value to float16's precision
        sent = halves(panel["values"]).reshape(28, 100)
        np.testing.assert_allclose(sent, browser_data.quantity(own, panel["quantity"]), rtol=1e-3, atol=1e-4)
    np.testing.assert_allclose(halves(view["probs"]).reshape(28, 10), own.probs, rtol=1e-3, atol=1e-4)
    np.testing.assert_allclose(decoded(view["image"], 0, 1).reshape(28, 28), own.image, atol=0.5 / 255)
    scale = browser_data.cell_state_range([own.cell_state])
    assert view["ranges"]["cell_state"] == [-round(scale, 3), round(scale, 3)] and view["ranges"]["gate"] == [0, 1]


def test_a_views_id_changes_with_its_data_and_only_then(shipped_models, digits):
    model = shipped_models["gru"]
    first, second = (trace(model, digits[0][i].numpy()) for i in (1, 2))
    assert browser_data.inspect("m", model, first, 0)["id"] == browser_data.inspect("m", model, first, 0)["id"]
    ids = {browser_data.inspect("m", model, first, 0)["id"], browser_data.inspect("m", model, first, 1)["id"],
           browser_data.inspect("m", model, second, 0)["id"]}
    assert len(ids) == 3


def test_the_replays_inliner_takes_out_every_import_in_the_views_code():
    for path in [*WEB.glob("*.js"), *WEB.glob("*.css")]:
        imports = re.findall(r"^(?:import|@import)\b.*\n", path.read_text(), re.MULTILINE)
        assert imports == [found[0] for found in IMPORT.finditer(path.read_text())], path.name


@pytest.mark.parametrize("view", ["inspect", "compare", "answer", "alike"])
def test_a_replay_holds_each_module_of_its_view_once_with_no_import(view):
    page = replay_html(view, {"id": 1}, "A <title>")
    script = page.split('<script type="module">', 1)[1]
    assert not re.search(r"^(import|export)\b", script, re.MULTILINE) and "@import" not in page
    defined = re.findall(r"^function (\w+)", script, re.MULTILINE)
    assert len(defined) == len(set(defined)) and {"bytes", "lookupTables", "element", "mount"} <= set(defined)
    assert re.search(r"^\.probs \{", page, re.MULTILINE) and "A &lt;title&gt;" in page  # views.css; the title escaped
