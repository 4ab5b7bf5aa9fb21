"""What the server sends the browser views: the models' weights (exact float32, by each model's id), which model
each view reads through, the what-if, and what only the server knows (the memory read-outs). And their code:
one replay file holds all of it, with the weights and the digit."""

import base64
import json
import re
import tempfile

import numpy as np
import pytest
import torch
from safetensors import safe_open
from safetensors.numpy import load as load_safetensors

import ui.views as views
from rnnviz import browser_data, measures, memory, trace
from rnnviz.browser_data import Racer
from rnnviz.intervention import Intervention
from rnnviz.serving import store
from tests.conftest import random_model
from ui.views import IMPORT, WEB, replay_html


def safe_open_metadata(sent: bytes) -> dict:
    """A safetensors file's metadata, read by safetensors itself."""
    with tempfile.NamedTemporaryFile(suffix=".safetensors") as file:
        file.write(sent)
        file.flush()
        with safe_open(file.name, "np") as opened:
            return opened.metadata()


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


def test_the_weights_are_every_models_own_float32_tensors_under_its_id(shipped_models):
    models = [*shipped_models.values(), random_model("gru", hidden=5)]
    sent = browser_data.weights(models)
    tensors, configs = load_safetensors(sent), json.loads(safe_open_metadata(sent)["models"])
    ids = [browser_data.model_id(model) for model in models]
    assert len(set(ids)) == len(models) and configs == {i: m.config for i, m in zip(ids, models, strict=True)}
    for model_name, model in zip(ids, models, strict=True):
        for name, tensor in model.state_dict().items():
            assert tensors[f"{model_name}/{name}"].dtype == np.float32
            np.testing.assert_array_equal(tensors[f"{model_name}/{name}"], tensor.numpy())  # exact: float32 bytes
    assert len(tensors) == 6 * len(models)
    assert browser_data.weights(models) == sent  # the same models, the same bytes: the page keeps them


def test_a_models_id_follows_its_weights():
    model = random_model("lstm", hidden=5)
    before = browser_data.model_id(model)
    assert browser_data.model_id(model) == before
    with torch.no_grad():
        model.readout.bias[3] += 1e-3
    assert browser_data.model_id(model) != before


def test_compare_sends_each_racer_and_what_it_remembers_of_the_servers_digit(racers, digits):
    image = digits[0][3].numpy()
    clamped = Intervention(keep_gate=0.0, silenced=(3, 5), blank_rows=(2, 4))
    view = browser_data.compare(racers, image, clamped)
    assert view["what_if"] == {"keepGate": 0.0, "silenced": [3, 5], "blankRows": [2, 4]}
    assert "clamped to 0" in view["note"] and view["steps"] == 28
    assert [panel["name"] for panel in view["models"]] == [racer.name for racer in racers]
    for racer, panel in zip(racers, view["models"], strict=True):
        assert panel["id"] == browser_data.model_id(racer.model) and panel["units"] == 100
        recalled = decoded(panel["memory"], 0, 1).reshape(28, 28, 28)  # steps x rows x columns
        expected = np.nan_to_num(racer.decoders.reconstruct(trace(racer.model, image, clamped)), nan=0.0)
        np.testing.assert_allclose(recalled, expected, atol=0.5 / 255 + 1e-6)  # of the digit read under the what-if
    assert {name for panel in view["models"] for name in panel["gates"]} == {
        "input", "forget", "output", "reset", "update"}  # sigmoid gates only: no candidates


def test_compare_with_no_digit_or_no_decoders_sends_no_memory(digits):
    racers = [Racer("tiny", random_model("lstm", hidden=5), None), Racer("wide", random_model("rnn", hidden=40), None)]
    view = browser_data.compare(racers, digits[0][0].numpy())
    assert [panel["units"] for panel in view["models"]] == [5, 40] and view["models"][1]["gates"] == []
    assert all(panel["memory"] is None for panel in view["models"])
    assert view["what_if"] == {"keepGate": None, "silenced": [], "blankRows": None} and view["note"] == ""


@pytest.mark.parametrize("cell_type", ["lstm", "gru", "rnn"])
def test_inspect_and_the_live_view_name_the_model_and_its_panels_and_nothing_of_the_drawing(cell_type,
                                                                                           shipped_models, digits):
    model = shipped_models[cell_type]
    view = browser_data.inspect("mine", model, unit=7, order="activity")
    assert (view["view"], view["cell"], view["units"], view["steps"]) == ("inspect", cell_type, 100, 28)
    assert view["model"] == browser_data.model_id(model) and (view["unit"], view["order"]) == (7, "activity")
    assert view["order_names"] == measures.ORDERINGS and browser_data.inspect("m", model, order="?")["order"] is None
    assert [panel["quantity"] for panel in view["panels"]] == [what for what, *_ in browser_data.PANELS[cell_type]]
    pen = browser_data.live("mine", model, canvas="canvas")
    assert (pen["canvas"], pen["image"], pen["model"]) == ("canvas", None, view["model"])
    chosen = browser_data.live("mine", model, image=digits[0][11].numpy())
    np.testing.assert_allclose(decoded(chosen["image"], 0, 1), digits[0][11].numpy().ravel(), atol=0.5 / 255)
    assert chosen["canvas"] is None and chosen["panels"] == view["panels"]


def test_a_views_id_changes_with_its_data_and_only_then(shipped_models):
    model = shipped_models["gru"]
    assert browser_data.inspect("m", model, 0)["id"] == browser_data.inspect("m", model, 0)["id"]
    ids = {browser_data.inspect("m", model, 0)["id"], browser_data.inspect("m", model, 1)["id"],
           browser_data.inspect("m", shipped_models["lstm"], 0)["id"]}
    assert len(ids) == 3


def test_the_replays_inliner_takes_out_every_import_in_the_views_code():
    for path in [*WEB.glob("*.js"), *WEB.glob("*.css")]:
        imports = re.findall(r"^(?:import|@import)\b.*\n", path.read_text(), re.MULTILINE)
        assert imports == [found[0] for found in IMPORT.finditer(path.read_text())], path.name


def test_the_inliner_refuses_a_name_two_modules_declare(tmp_path, monkeypatch):
    (tmp_path / "a.js").write_text("export function twice() {}\n")
    (tmp_path / "b.js").write_text("import { twice as once } from './a.js';\nexport function twice() {}\n")
    monkeypatch.setattr(views, "WEB", tmp_path)
    with pytest.raises(ValueError, match="twice"):
        views.inlined("b.js")


def test_a_replay_holds_every_module_once_the_weights_and_the_digit(shipped_models, digits):
    model, image = shipped_models["lstm"], digits[0][4].numpy()
    page = replay_html(browser_data.inspect("m", model), "A <title>", [model], image)
    script = page.split('<script type="module">', 1)[1]
    assert not re.search(r"^(import|export)\b", script, re.MULTILINE) and "@import" not in page
    defined = re.findall(r"^function (\w+)", script, re.MULTILINE)
    assert {"bytes", "lookupTables", "element", "mount", "read", "preprocess", "mountView"} <= set(defined)
    weights = re.search(r'addWeights\(bytes\("([^"]+)"\)\)', script)[1]
    assert base64.b64decode(weights) == browser_data.weights([model])
    digit = re.search(r'new Float32Array\(bytes\("([^"]+)"\)', script)[1]
    np.testing.assert_array_equal(np.frombuffer(base64.b64decode(digit), "<f4").reshape(28, 28), image)
    assert re.search(r"^\[data-view=\"live\"\] \.panels \{", page, re.MULTILINE) and "A &lt;title&gt;" in page
