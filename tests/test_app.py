"""The Streamlit app, driven headlessly with AppTest: real pen drawings, shipped models, real files."""

import base64
import csv
import io
import json
import shutil
from pathlib import Path
from urllib.parse import parse_qs

import numpy as np
import pytest
import torch
from PIL import Image
from streamlit.runtime.media_file_manager import MediaFileManager

import ui.cache
import ui.widgets
from rnnviz import (
    CELL_TYPES,
    browser_data,
    load_model,
    measures,
    memory,
    preprocess_canvas,
    save_checkpoint,
    stats,
    trace,
)
from rnnviz.config import DEFAULT_BRUSH
from rnnviz.data import gallery, nondigits, pendigits
from rnnviz.figures.palette import browser_palette
from rnnviz.intervention import Intervention
from rnnviz.preprocess import decode_drawing
from rnnviz.serving import store
from rnnviz.serving.jobs import JobState
from tests.conftest import ROOT, app_test, canvas_state, markdown_tags, random_model, wait_for, wait_until
from tools import attacks
from ui import address, cache
from ui.lesson import load_lesson
from ui.link import NO_LINK_YET
from ui.state import (
    KEEP_GATE_CHOICES,
    UNSURE,
    Chart,
    InsightView,
    Key,
    Param,
    Source,
    Tab,
    wrong_digit_key,
)
from ui.widgets import NO_DIGIT

ONE_PER_DIGIT = 10  # pen digits to draw: the first of each label


@pytest.fixture
def app(user_models):
    """A fresh app; `app(drawing=rgba, tab=Tab.COMPARE, form_open=True)` sets what the user drew, the open tab
    and whether "Add a checkpoint" is open."""

    def make(drawing=None, tab=None, form_open=False, **state):
        at = app_test({**state, Key.ADD_CHECKPOINT: form_open})
        if drawing is not None:
            at.session_state[Key.LIVE_VIEW] = canvas_state(drawing)
        if tab is not None:
            at.session_state[Key.TAB] = tab
        return at

    threads = torch.get_num_threads()
    yield make
    torch.set_num_threads(threads)  # the app runs in this process and sets its own


@pytest.fixture(scope="module")
def drawings(pen_records):
    """(label, canvas RGBA) for the first pen digit of each label, drawn as a user would (the default brush)."""
    rng = np.random.default_rng(0)
    firsts = {}
    for record in pen_records:
        firsts.setdefault(record["label"], record)
    placed = {label: pendigits.place(firsts[label]["strokes"], 0.7, DEFAULT_BRUSH, rng) for label in sorted(firsts)}
    return [(label, pendigits.render(strokes, DEFAULT_BRUSH)) for label, strokes in placed.items()][:ONE_PER_DIGIT]


def metric(at, label: str) -> str:
    [found] = [m for m in at.metric if m.label == label]
    return found.value


def seen_digit(at) -> np.ndarray | None:
    """The (28, 28) digit the page reads: the one the server chose (sent to the live view), or the server's own
    reading of the drawing the live view sent (None: no digit)."""
    live = view_data(at, "live")
    if live is not None and live["image"] is not None:
        return (np.frombuffer(base64.b64decode(live["image"]), np.uint8) / np.float32(255)).reshape(28, 28)
    kept = at.session_state[Key.DRAWN] if Key.DRAWN in at.session_state else None
    return kept[1] if kept is not None and isinstance(kept[1], np.ndarray) else None


def answer(at) -> str | None:
    """The answer the visitor sees beside the canvas: the selected model's reading of the page's digit. The
    browser computes it with the same weights (rnnviz/web mirrors rnnviz; tests/web checks the mirror)."""
    digit = seen_digit(at)
    return None if digit is None else str(trace(load_model(at.selectbox(key=Key.MODEL).value), digit).prediction)


def chart_spec(at, key: str) -> dict:
    [chart] = [c for c in at.get("plotly_chart") if c.proto.id.endswith(f"-{key}")]
    return json.loads(chart.proto.spec)


def test_starts_with_the_shipped_models(app):
    at = app().run()
    assert not at.exception
    options = at.selectbox(key=Key.MODEL).options
    assert [o.split(" ")[0] for o in options] == ["LSTM", "GRU", "RNN"]
    assert not at.info and view_data(at, "live")["canvas"] == Key.CANVAS  # the live view says what to do
    assert answer(at) is None


@pytest.mark.slow
def test_prediction_reads_real_pen_digits(app, drawings):
    for label, rgba in drawings:
        at = app(drawing=rgba).run()
        assert not at.exception
        assert answer(at) == str(label), f"a drawn {label}"


@pytest.mark.slow
def test_prediction_is_the_selected_models_own(app, drawings, shipped_models):
    label, rgba = drawings[3]
    image = preprocess_canvas(rgba)
    at = app(drawing=rgba).run()
    for cell_type in ("gru", "rnn", "lstm"):
        at.selectbox(key=Key.MODEL).set_value(str(store.shipped_path(cell_type))).run()
        assert answer(at) == str(trace(shipped_models[cell_type], image).prediction), cell_type
        assert view_data(at, "inspect")["cell"] == cell_type


@pytest.mark.parametrize("cell_type", CELL_TYPES)
def test_inspect_and_the_live_view_read_through_the_selected_model_and_link_the_servers_digit(
        app, drawings, shipped_models, cell_type):
    chosen = {Key.MODEL: str(store.shipped_path(cell_type))}
    at = app(**chosen).run()
    model, name = shipped_models[cell_type], store.shipped_path(cell_type).stem
    assert not at.exception and view_data(at, "inspect")["link"] == {"note": NO_LINK_YET}  # no digit to link
    assert view_data(at, "live")["canvas"] == Key.CANVAS  # it reads the pen, in the browser
    _, rgba = drawings[7]
    at = app(drawing=rgba, **chosen).run()
    assert not at.exception
    sent = view_data(at, "inspect")
    assert sent.pop("palette") == browser_palette() and sent.pop("step") is None  # no step asked for
    link = parse_qs(sent.pop("link")["query"])  # what its "Copy a link" needs: this digit and model
    assert link[Param.MODELS] == [cell_type] and link[Param.TAB] == ["inspect"]
    image = preprocess_canvas(rgba)  # the server's own reading of the drawing the page sent
    assert np.abs(address.decode_digit(link[Param.DIGIT][0]) - image).max() <= 0.5 / 255 + 1e-6  # 8 bits
    assert sent == browser_data.inspect(name, model)  # the model by its weights' id, no unit or order asked for
    assert view_data(at, "live")["model"] == sent["model"] == browser_data.model_id(model)
    weights = [e.proto.bytes for e in at.get("bidi_component") if e.proto.bytes]
    others = [other for other_type, other in shipped_models.items() if other_type != cell_type]
    assert weights and weights[0] == browser_data.weights([model, *others])  # the selected model's first


def test_compare_shows_all_three_models(app, drawings, shipped_models):
    label, rgba = drawings[2]
    image = preprocess_canvas(rgba)
    at = app(drawing=rgba, tab=Tab.COMPARE, **{Key.COMPARE_CHART: True}).run()
    assert not at.exception
    sent = compare_view_data(at)
    assert [m["name"] for m in sent["models"]] == [cell_type.upper() for cell_type in CELL_TYPES]
    assert [m["id"] for m in sent["models"]] == [browser_data.model_id(shipped_models[c]) for c in CELL_TYPES]
    spec = chart_spec(at, Chart.COMPARE)
    assert sum(d["type"] == "heatmap" for d in spec["data"]) == 3
    assert image is not None


def view_data(at, view: str) -> dict | None:
    """The data the page sent to one of its browser views ("live", "inspect", "compare", "alike"), or None
    if the view is not on the page."""
    sent = [json.loads(e.proto.json) for e in at.get("bidi_component")
            if e.proto.component_name == "rnnviz.views" and e.proto.json]
    found = [data for data in sent if data.get("view") == view]
    return found[0] if found else None


def compare_view_data(at) -> dict | None:
    return view_data(at, "compare")


def test_compare_two_models_chosen_and_a_what_if(app, drawings, shipped_models):
    label, rgba = drawings[3]
    image = preprocess_canvas(rgba)
    chosen = [str(store.shipped_path("lstm")), str(store.shipped_path("gru"))]
    at = app(drawing=rgba, tab=Tab.COMPARE, **{Key.COMPARED: chosen}).run()
    assert not at.exception
    data = compare_view_data(at)
    assert [m["name"] for m in data["models"]] == ["LSTM", "GRU"]
    assert all(m["memory"] for m in data["models"])  # shipped decoders: what each remembers is there
    assert data["what_if"] == {"keepGate": None, "silenced": [], "blankRows": None}

    forget = next(choice for choice, value in KEEP_GATE_CHOICES.items() if value == 0.0)
    at.radio(key=Key.KEEP_GATE).set_value(forget).run()
    data = compare_view_data(at)
    assert data["what_if"]["keepGate"] == 0.0 and "clamped to 0" in data["note"]
    racer = browser_data.Racer("LSTM", shipped_models["lstm"], memory.saved_memory(store.shipped_path("lstm")))
    assert data["models"][0]["memory"] == browser_data.compare([racer], image, Intervention(keep_gate=0.0))[
        "models"][0]["memory"]  # what it remembers under the clamp


def test_compare_with_a_checkpoint_gone_missing(app, drawings, user_models, tmp_path, monkeypatch):
    monkeypatch.setenv("RNNVIZ_DATA", str(tmp_path / "no-mnist"))  # a new model's memory read-out needs MNIST
    mine = save_checkpoint(random_model("gru", hidden=8), user_models / "mine.safetensors", test_accuracy=0.1)
    chosen = [str(store.shipped_path("rnn")), str(mine)]
    at = app(drawing=drawings[0][1], tab=Tab.COMPARE, **{Key.COMPARED: chosen}).run()
    assert not at.exception
    assert [m["name"] for m in compare_view_data(at)["models"]] == ["RNN", "mine (GRU)"]
    assert compare_view_data(at)["models"][1]["memory"] is None
    assert any("needs the MNIST digits" in i.value and "mine" in i.value for i in at.info)
    mine.unlink()
    at.run()
    assert not at.exception
    assert any("No longer available" in w.value and "mine.safetensors" in w.value for w in at.warning)
    assert at.multiselect(key=Key.COMPARED).value == [str(store.shipped_path("rnn"))]
    assert "at least two" in at.info[0].value and compare_view_data(at) is None


def test_compare_with_no_digit_yet(app):
    at = app(tab=Tab.COMPARE).run()
    assert not at.exception
    assert [m["memory"] for m in compare_view_data(at)["models"]] == [None] * 3  # it waits for the pen
    spec = chart_spec(at, Chart.MEMORY_CURVES)  # the test-set memory curves need no digit
    assert [d["name"] for d in spec["data"]] == ["RNN", "GRU", "LSTM"]


def test_gallery_digits_read_as_when_the_gallery_was_made(app):
    examples = gallery.load()
    at = app().run()
    at.radio(key=Key.SOURCE).set_value(Source.GALLERY).run()
    for i in (0, len(examples) - 1):  # a correctly read digit, and one the shipped LSTM gets wrong
        at.selectbox(key=Key.EXAMPLE).set_value(i).run()
        assert not at.exception
        assert answer(at) == str(examples.lstm_prediction[i])
    assert (examples.lstm_prediction != examples.labels).sum() >= 3


def test_an_empty_canvas_is_no_digit_and_no_box_on_the_page(app):
    black = np.zeros((280, 280, 4), dtype=np.uint8)
    black[..., 3] = 255
    at = app(drawing=black).run()
    assert not at.exception and not at.info and not at.error  # the live view says "Draw a digit", in the page
    assert answer(at) is None and view_data(at, "live")["canvas"] == Key.CANVAS


@pytest.mark.slow
def test_user_checkpoints_join_the_picker(app, drawings, user_models, shipped_models):
    save_checkpoint(shipped_models["gru"], user_models / "my-gru.safetensors", test_accuracy=0.5)
    at = app(drawing=drawings[3][1]).run()
    mine = str(user_models / "my-gru.safetensors")
    assert "my-gru: GRU 100, 50.0% test" in at.selectbox(key=Key.MODEL).options
    at.selectbox(key=Key.MODEL).set_value(mine).run()
    image = preprocess_canvas(drawings[3][1])
    assert answer(at) == str(trace(shipped_models["gru"], image).prediction)  # read with my copy


@pytest.mark.slow
@pytest.mark.parametrize("name, content, reason", [
    ("model.safetensors", b"not a checkpoint at all", "not an rnnviz checkpoint"),
    ("model.pt", None, "rnnviz convert FILE.pt"),  # a PyTorch file: the way to convert it, nothing unpickled
])
def test_bad_upload_is_refused_and_the_app_keeps_working(app, drawings, user_models, name, content, reason):
    if content is None:
        pytorch = io.BytesIO()
        torch.save({"weights": torch.zeros(3)}, pytorch)
        content = pytorch.getvalue()
    label, rgba = drawings[4]
    at = app(drawing=rgba, form_open=True).run()
    at.file_uploader(key=Key.UPLOAD).set_value((name, content, "application/octet-stream")).run()
    assert not at.exception
    [error] = at.error
    assert "Could not add this checkpoint" in error.value and reason in error.value
    assert not list(user_models.rglob("*.safetensors"))
    assert answer(at)  # still reading the drawing


def test_the_checkpoint_form_and_how_it_works_are_made_only_when_opened(app):
    at = app().run()
    assert not at.file_uploader and not any("How it works" in m.value for m in at.markdown)  # a lighter first load
    at.session_state[Key.ADD_CHECKPOINT] = True
    at.session_state[Key.HOW_IT_WORKS] = True
    at.run()
    assert at.file_uploader(key=Key.UPLOAD) and any("How it works" in m.value for m in at.markdown)


def test_good_upload_is_added_and_selected(app, user_models):
    at = app(form_open=True).run()
    content = (ROOT / "models" / "rnn.safetensors").read_bytes()
    at.file_uploader(key=Key.UPLOAD).set_value(("friend.safetensors", content, "application/octet-stream")).run()
    assert not at.exception
    [saved] = user_models.rglob("friend-rnn-*.safetensors")
    assert at.selectbox(key=Key.MODEL).value == str(saved)
    assert at.success[0].value.startswith(f"Added {saved.name}")


def test_checkpoint_path_box(app, tmp_path, monkeypatch):
    at = app(form_open=True).run()
    assert not at.text_input  # off: AppTest's server listens on no loopback address
    monkeypatch.setenv("RNNVIZ_PATH_BOX", "on")
    monkeypatch.setenv("RNNVIZ_PATH_DIRS", str(tmp_path))
    (tmp_path / "broken.safetensors").write_bytes(b"\x80\x02garbage")
    shutil.copy(ROOT / "models" / "gru.safetensors", tmp_path / "mine.safetensors")
    at.run()
    for path in (tmp_path / "broken.safetensors", tmp_path / "missing.safetensors", "/etc/passwd"):
        at.text_input(key=Key.CHECKPOINT_PATH).input(str(path)).run()
        assert at.error[0].value == f"Could not add this checkpoint. {store.PATH_REFUSED}"
    at.text_input(key=Key.CHECKPOINT_PATH).input(str(tmp_path / "mine.safetensors")).run()
    assert "Added mine-gru" in at.success[0].value and "mine-gru" in at.selectbox(key=Key.MODEL).value
    assert str(tmp_path) not in " ".join(element.value for element in at.sidebar.caption)


@pytest.mark.slow
def test_train_in_the_app_and_stop_early(app, user_models, mnist_test):
    at = app(tab=Tab.TRAIN).run()
    at.selectbox(key=Key.TRAIN_CELL).set_value("rnn")
    at.select_slider(key=Key.TRAIN_HIDDEN).set_value(16)
    at.select_slider(key=Key.TRAIN_IMAGES).set_value(0)  # all of MNIST: far more than it will get through
    at.button(key=Key.START_TRAINING).click().run()
    visitor, queue = at.session_state[Key.VISITOR], cache.training_queue()
    wait_until(lambda: queue.latest(visitor).progress)  # a worker process is training
    at.run()
    at.button(key=Key.STOP_TRAINING).click().run()
    status = wait_for(queue, visitor)
    assert status.state == JobState.STOPPED and status.summary.stopped_early
    out = Path(status.out)
    assert out.parent == store.visitor_dir(visitor) and out.exists()
    at.run()
    assert not at.exception
    assert any("stopped early" in s.value for s in at.success)
    assert str(out) in [str(e.path) for e in store.list_checkpoints(visitor)]
    assert str(out) not in [str(e.path) for e in store.list_checkpoints(store.new_visitor_id())]


# ---- Insight and Evaluate: on the drawing and on the MNIST test set ----

@pytest.fixture(scope="module")
def shipped_stats(mnist_test):
    """The shipped models' test-set statistics (shipped beside models/*.safetensors)."""
    images, labels = mnist_test
    return {cell_type: stats.make_stats(store.shipped_path(cell_type), images, labels)
            for cell_type in CELL_TYPES}


def spec_array(value) -> np.ndarray:
    """An array of a plotly spec: a plain list, or numpy's bytes as {"dtype", "bdata"[, "shape"]}."""
    if not isinstance(value, dict):
        return np.asarray(value)
    flat = np.frombuffer(base64.b64decode(value["bdata"]), dtype=value["dtype"])
    return flat.reshape([int(n) for n in str(value["shape"]).split(",")]) if "shape" in value else flat


def curves(at, key: str) -> dict:
    """(trace name, x axis) -> y values of every line in a chart."""
    return {(d["name"], d.get("xaxis", "x")): spec_array(d["y"]) for d in chart_spec(at, key)["data"]}


def insight_view(app, view: str, drawing=None):
    at = app(drawing=drawing, tab=Tab.INSIGHT)
    at.session_state[Key.INSIGHT_VIEW] = view
    return at.run()


def test_insight_rows_for_a_pen_digit_and_the_test_set(app, drawings, shipped_models, shipped_stats):
    _, rgba = drawings[5]
    image = torch.from_numpy(preprocess_canvas(rgba))[None]
    at = insight_view(app, InsightView.ROWS, rgba)
    assert not at.exception
    drawing, test_set = curves(at, Chart.ROWS_DRAWING), curves(at, Chart.ROWS_TEST_SET)
    assert len(drawing) == len(test_set) == 2 * 3  # saliency and occlusion, one line per model
    for cell_type, model in shipped_models.items():
        name = cell_type.upper()
        np.testing.assert_allclose(drawing[name, "x"], measures.row_saliency(model, image)[0], rtol=1e-5)
        np.testing.assert_allclose(drawing[name, "x2"], measures.row_occlusion(model, image)[0], atol=1e-6)
        np.testing.assert_allclose(test_set[name, "x"], shipped_stats[cell_type].saliency, rtol=1e-6)
        np.testing.assert_allclose(test_set[name, "x2"], shipped_stats[cell_type].occlusion, rtol=1e-6)
    assert drawing["RNN", "x"].tolist() != drawing["LSTM", "x"].tolist()


def test_insight_gradient_flow_labels_the_drawing_with_each_models_prediction(app, drawings, shipped_models,
                                                                             shipped_stats):
    _, rgba = drawings[9]
    image = torch.from_numpy(preprocess_canvas(rgba))[None]
    at = insight_view(app, InsightView.GRADIENTS, rgba)
    assert not at.exception
    drawing, test_set = curves(at, Chart.GRADIENTS_DRAWING), curves(at, Chart.GRADIENTS_TEST_SET)
    for cell_type, model in shipped_models.items():
        with torch.no_grad():
            predicted = model(image).argmax(1)
        expected = measures.state_gradient_norms(model, image, predicted)[0]
        np.testing.assert_allclose(drawing[cell_type.upper(), "x"], expected, rtol=1e-5)
        np.testing.assert_allclose(test_set[cell_type.upper(), "x"], shipped_stats[cell_type].gradient_norms, rtol=1e-6)
    with torch.no_grad():
        predicted = shipped_models["lstm"](image).argmax(1)
    expected = measures.state_gradient_norms(shipped_models["lstm"], image, predicted, state="cell_state")[0]
    np.testing.assert_allclose(drawing["LSTM c", "x"], expected, rtol=1e-5)  # the LSTM's dL/dc_t beside its dL/dh_t
    np.testing.assert_allclose(test_set["LSTM c", "x"], shipped_stats["lstm"].cell_gradient_norms, rtol=1e-6)
    assert ("GRU c", "x") not in test_set  # only the LSTM has a cell state
    assert chart_spec(at, Chart.GRADIENTS_TEST_SET)["layout"]["yaxis"]["type"] == "log"
    assert any("own prediction" in c.value for c in at.caption)


def test_insight_units_and_gates_of_the_selected_lstm(app, drawings, shipped_stats, mnist_test):
    lstm = shipped_stats["lstm"]
    _, rgba = drawings[1]
    at = insight_view(app, InsightView.UNITS, rgba)
    assert not at.exception
    saturation = chart_spec(at, Key.SATURATION)
    assert [a["text"] for a in saturation["layout"]["annotations"]] == ["input gate", "forget gate", "output gate"]
    forget = [d for d in saturation["data"] if d.get("name") == "forget"][0]
    np.testing.assert_allclose(spec_array(forget["x"]), lstm.saturation["forget"][0])
    assert spec_array(forget["customdata"]).tolist() == list(range(100))  # the unit a click selects

    at.selectbox(key=Key.INSIGHT_UNIT).set_value(7).run()
    assert chart_spec(at, Chart.CLASS_MEANS)["layout"]["title"]["text"].startswith("Unit 7:")
    _, labels = mnist_test
    [strip] = [image for image in at.get("image") if len(image.proto.imgs) == stats.TOP_K]
    assert [i.caption for i in strip.proto.imgs] == [f"{labels[i]} (#{i})" for i in lstm.top_digits[7]]

    table = at.dataframe(key=Key.UNIT_TABLE).value
    assert len(table) == 100 and table.selectivity.is_monotonic_decreasing
    at.radio(key=Key.UNIT_SORT).set_value("keep_gate").run()
    table = at.dataframe(key=Key.UNIT_TABLE).value
    assert table.unit.iloc[0] == lstm.units["forget"].argmax()  # the unit whose forget gate is most open

    at.button(key=Key.FOLLOW_UNIT).click().run()  # follow unit 7 in Inspect
    assert view_data(at, "inspect")["unit"] == 7


def test_evaluate_shows_accuracy_and_the_confusion_of_all_test_digits(app, shipped_models):
    at = app(tab=Tab.EVALUATE).run()
    assert not at.exception
    counts = spec_array(chart_spec(at, Chart.CONFUSION)["data"][0]["text"])
    assert counts.shape == (10, 10) and counts.sum() == 10_000
    accuracy = shipped_models["lstm"].info["test_accuracy"]  # measured when the checkpoint was saved
    assert np.trace(counts) == round(accuracy * 10_000)
    assert metric(at, "Test accuracy") == f"{accuracy:.2%}"


def test_a_misread_test_digit_opens_in_inspect(app, shipped_stats, mnist_test):
    wrong = shipped_stats["lstm"].misclassified
    last = wrong.iloc[-1]  # on the last page
    at = app(tab=Tab.EVALUATE).run()
    at.number_input(key=Key.WRONG_PAGE).set_value(-(-len(wrong) // 24)).run()
    at.button(key=wrong_digit_key(last.image)).click().run()
    assert not at.exception
    assert at.radio(key=Key.SOURCE).value == Source.TEST_SET and at.number_input(key=Key.TEST_DIGIT).value == last.image
    assert answer(at) == str(last.predicted) != str(last.true)
    assert view_data(at, "inspect")  # the Inspect tab is open

    at.session_state[Key.TAB] = Tab.EVALUATE
    at.run().selectbox(key=Key.WRONG_TRUE).set_value(int(last.true)).run()
    shown = [b.label for b in at.button if b.key in {wrong_digit_key(i) for i in wrong.image}]
    assert shown == [f"{t} read as {p}" for t, p in wrong[wrong.true == last.true][["true", "predicted"]].values]


@pytest.fixture
def downloads(monkeypatch):
    """key -> the content a download button of the last run makes when clicked (the app makes it lazily)."""
    made = {}
    add_deferred = MediaFileManager.add_deferred

    def record(self, data_callable, *args, **kwargs):
        file_id = add_deferred(self, data_callable, *args, **kwargs)
        made[file_id] = data_callable
        return file_id

    monkeypatch.setattr(MediaFileManager, "add_deferred", record)

    def content(at, key):
        [button] = [b for b in at.get("download_button") if b.proto.id.endswith(f"-{key}")]
        return made[button.proto.deferred_file_id]()

    return content


@pytest.mark.slow
def test_downloads_hold_the_trace_its_replay_and_the_charts(app, drawings, shipped_models, downloads):
    _, rgba = drawings[6]
    digit_trace = trace(shipped_models["lstm"], preprocess_canvas(rgba))
    at = app(drawing=rgba).run()
    rows = list(csv.DictReader(io.StringIO(downloads(at, Key.TRACE_CSV))))
    quantities = {"hidden": digit_trace.hidden, "cell_state": digit_trace.cell_state, **digit_trace.gates,
                  "prob": digit_trace.probs}
    assert len(rows) == sum(values.size for values in quantities.values())
    for name, values in quantities.items():
        rebuilt = np.zeros_like(values)
        for row in rows:
            if row["quantity"] == name:
                rebuilt[int(row["step"]) - 1, int(row["unit"])] = float(row["value"])
        np.testing.assert_array_equal(rebuilt, values, err_msg=name)

    saved = json.loads(downloads(at, Key.TRACE_JSON))
    assert saved["prediction"] == digit_trace.prediction and saved["cell_type"] == "lstm"
    np.testing.assert_array_equal(np.array(saved["gates"]["forget"], dtype=np.float32), digit_trace.gates["forget"])
    np.testing.assert_array_equal(np.array(saved["image"], dtype=np.float32), digit_trace.image)

    replay = downloads(at, Key.INSPECT_REPLAY)
    assert replay.startswith("<!doctype html>") and "mountView({data: " in replay and "<script src" not in replay
    digit = base64.b64encode(preprocess_canvas(rgba).astype("<f4").tobytes()).decode()
    assert f'new Float32Array(bytes("{digit}")' in replay  # this digit, inlined: the replay reads it itself
    assert base64.b64encode(browser_data.weights([shipped_models["lstm"]])).decode() in replay  # with these weights

    at.session_state[Key.TAB] = Tab.COMPARE
    at.run()
    png = Image.open(io.BytesIO(downloads(at, f"{Chart.MEMORY_CURVES}-png"))).convert("RGB")
    red, green, blue = np.asarray(png).transpose(2, 0, 1)
    assert png.width >= 1000
    assert not ((red == 0) & (green == 0) & (1 <= blue) & (blue <= 0x11)).any()  # Streamlit's placeholder colours


def test_every_tab_and_view_opens_with_no_mnist_on_disk(app, drawings, shipped_models, tmp_path, monkeypatch):
    """A newcomer who only ran the README's first command: the shipped models' test-set figures are
    all there; only a new checkpoint's statistics need MNIST, and the page offers to download it."""
    monkeypatch.setenv("RNNVIZ_DATA", str(tmp_path / "no-mnist"))
    for cell_type in CELL_TYPES:
        assert stats.saved_stats(store.shipped_path(cell_type)), f"no statistics shipped for {cell_type}"
    expected_charts = {
        (Tab.INSPECT, None): set(), (Tab.COMPARE, None): {Chart.MEMORY_CURVES},
        (Tab.INSIGHT, InsightView.ROWS): {Chart.ROWS_DRAWING, Chart.ROWS_TEST_SET},
        (Tab.INSIGHT, InsightView.GRADIENTS): {Chart.GRADIENTS_DRAWING, Chart.GRADIENTS_TEST_SET},
        (Tab.INSIGHT, InsightView.UNITS): {Key.SATURATION, Chart.CLASS_MEANS}, (Tab.EVALUATE, None): {Chart.CONFUSION},
    }
    at = app(drawing=drawings[2][1]).run()
    assert view_data(at, "live")["canvas"] == Key.CANVAS  # the live reading, beside the canvas
    for (tab, view), charts in expected_charts.items():
        at.session_state[Key.TAB] = tab
        if view:
            at.session_state[Key.INSIGHT_VIEW] = view
        at.run()
        assert not at.exception, (tab, view)
        assert not at.info, (tab, view, [info.value for info in at.info])  # no box in place of a chart
        for key in charts:
            assert chart_spec(at, key), (tab, view, key)
    lstm = stats.saved_stats(store.shipped_path("lstm"))
    assert metric(at, "Test accuracy") == f"{lstm.accuracy:.2%}"
    at.session_state[Key.TAB] = Tab.TRAIN
    at.run()
    assert not at.exception and at.button(key=Key.DOWNLOAD_MNIST)  # training needs MNIST: offered
    at.session_state[Key.TAB] = Tab.EVALUATE
    at.run()
    misread = lstm.misclassified.image.iloc[0]
    at.button(key=wrong_digit_key(misread)).click().run()  # opens in Inspect from the kept image alone
    assert at.radio(key=Key.SOURCE).value == Source.TEST_SET
    assert answer(at) == str(lstm.predictions[misread])

    kept = set().union(*(stats.saved_stats(store.shipped_path(cell)).digit_index for cell in store.SHIPPED))
    at.number_input(key=Key.TEST_DIGIT).set_value(next(i for i in range(100) if i not in kept)).run()
    assert at.button(key=Key.DOWNLOAD_MNIST)  # a digit no statistics keep: MNIST is offered
    save_checkpoint(shipped_models["gru"], store.store_dir() / "mine.safetensors")
    at.session_state[Key.TAB] = Tab.EVALUATE
    at.session_state[Key.SOURCE] = Source.GALLERY
    at.run().selectbox(key=Key.MODEL).set_value(str(store.store_dir() / "mine.safetensors")).run()
    assert not at.exception and at.button(key=Key.DOWNLOAD_MNIST)  # a new checkpoint's statistics need MNIST
    assert any("MNIST" in info.value for info in at.info)


@pytest.mark.slow
def test_the_page_says_when_it_is_unsure_and_shows_what_it_read(app, drawings, pen_records, shipped_models):
    rng = np.random.default_rng(5)
    label, rgba = drawings[4]
    at = app(drawing=rgba).run()
    assert not at.exception and answer(at) == str(label)
    assert not [w for w in at.warning if UNSURE in w.value]  # a clear digit: no doubt expressed
    np.testing.assert_array_equal(seen_digit(at), preprocess_canvas(rgba))  # what the server read, as it read it
    scribbles = [nondigits.scribble(rng) for _ in range(6)]
    unsure = 0
    for strokes in scribbles:
        at = app(drawing=pendigits.render(pendigits.place(strokes, 0.7, DEFAULT_BRUSH, rng), DEFAULT_BRUSH)).run()
        unsure += any(UNSURE in w.value and "unlike the training" in w.value for w in at.warning)
    assert unsure >= 3, f"only {unsure} of 6 scribbles were called unsure"


def test_inspect_shows_the_training_digits_alike(app, drawings, shipped_models):
    label, rgba = drawings[7]
    at = app(drawing=rgba).run()
    own = trace(shipped_models["lstm"], preprocess_canvas(rgba))
    runner_up = int(np.argsort(own.probs[-1])[-2])
    sent = view_data(at, "alike")
    assert [group["digit"] for group in sent["groups"]] == [label, runner_up]  # the answer's, then the runner-up's
    index = cache.saved_index(store.Entry(store.shipped_path("lstm"), shipped=True))
    for group in sent["groups"]:
        positions, distances = index.nearest(own.hidden[-1], group["digit"])
        assert group["distances"] == pytest.approx(distances, abs=0.01) == sorted(group["distances"])
        assert group["images"] == browser_data.to_bytes(index.images[positions] / 255, 0, 1)  # nearest first
    assert "nearest" in sent["caption"]


def test_a_link_sets_its_view_up_once_and_leaves_only_the_visitor_in_the_address(app, shipped_models):
    digit = gallery.load().images[28]
    link = address.to_query(address.SharedView(digit=digit, models=("rnn", "gru", "lstm"), tab="compare", step=20,
                                               what_if=Intervention(keep_gate=0.0)))
    at = app()
    at.query_params.update(link)
    at.run()
    assert not at.exception and not at.warning
    assert at.session_state[Key.SOURCE] == Source.LINK and at.session_state[Key.TAB] == Tab.COMPARE
    sent = compare_view_data(at)
    assert sent["step"] == 20 and Param.STEP in sent["link"]["step"]
    assert [m["id"] for m in sent["models"]] == [browser_data.model_id(shipped_models[cell]) for cell in CELL_TYPES]
    assert sent["what_if"]["keepGate"] == 0.0  # the race, clamped, of the link's digit
    assert view_data(at, "live")["image"] == browser_data.to_bytes(digit, 0, 1)
    assert parse_qs(sent["link"]["query"])[Param.GATE] == ["0"]  # its own link says the same
    assert set(at.query_params) == {Param.VISITOR}  # the link taken out: a reload keeps the visitor's own view
    at.run()
    assert compare_view_data(at)["step"] is None  # the step was asked for once; the page's own from then on


def test_a_tampered_link_opens_the_default_view_and_says_what_it_ignored(app):
    at = app()
    at.query_params.update({Param.DIGIT: "eJzzSM3JyVcozy_KSQEAGgQEXQ", Param.STEP: "99",
                            Param.MODELS: "lstm"})
    at.run()
    assert not at.exception and len(at.warning) == 1
    said = at.warning[0].value
    assert said.startswith("Part of this link was ignored") and "digit=" in said and "step=99" in said
    assert at.session_state[Key.SOURCE] == Source.DRAW and NO_DIGIT not in said


def test_a_link_cannot_write_a_link_or_an_image_into_the_page(app):
    at = app()
    at.query_params.update({"[Your session expired: sign in](https://evil.example/login)": "1",
                            Param.STEP: "![](https://evil.example/pixel.png)"})
    at.run()
    assert not at.exception and len(at.warning) == 1
    said = at.warning[0].value
    assert r"\[Your session expired\: s…" in said and r"step=\!\[\]\(https\:\/\/evil\.example…" in said
    assert markdown_tags(said) == {"p"}  # one paragraph of text: no link, no image


def test_a_model_not_shipped_cannot_travel_in_a_link_and_the_view_says_why(app, drawings, user_models,
                                                                           shipped_models):
    save_checkpoint(shipped_models["gru"], user_models / "my-gru.safetensors", test_accuracy=0.5)
    at = app(drawing=drawings[1][1]).run()
    at.selectbox(key=Key.MODEL).set_value(str(user_models / "my-gru.safetensors")).run()
    link = view_data(at, "inspect")["link"]
    assert set(link) == {"note"} and "my-gru" in link["note"] and "shipped models only" in link["note"]


def test_a_link_to_a_gallery_digit_opens_that_digit(app):
    at = app()
    at.query_params.update({Param.EXAMPLE: "13", Param.TAB: "inspect", Param.MODELS: "lstm"})
    at.run()
    assert not at.exception and not at.warning and at.session_state[Key.SOURCE] == Source.GALLERY
    assert view_data(at, "live")["image"] == browser_data.to_bytes(gallery.load().images[13], 0, 1)  # what it reads


def test_the_lesson_starts_from_the_first_screen_and_sets_up_its_steps(app, shipped_models):
    """Into the lesson, then Next through every step: each opens its tab, and the network reads its gallery digit."""
    at = app().run()
    at.button(key=Key.LESSON_START).click().run()
    assert not at.exception and at.session_state[Key.LESSON_STEP] == 0 and view_data(at, "inspect")["step"] == 10
    examples = gallery.load()
    for number, step in enumerate(load_lesson()):
        if number:
            at.button(key=Key.LESSON_NEXT).click().run()
        assert not at.exception and at.session_state[Key.TAB] == Tab(step.view.tab.capitalize()), number
        if step.view.example is not None:
            assert at.session_state[Key.SOURCE] == Source.GALLERY
            assert view_data(at, "live")["image"] == browser_data.to_bytes(examples.images[step.view.example], 0, 1)
        if step.view.tab == "compare":
            assert len(compare_view_data(at)["models"]) == len(step.view.models)
    at.button(key=Key.LESSON_LEAVE).click().run()
    assert not at.exception and Key.LESSON_STEP not in at.session_state


def count_decodes(monkeypatch) -> list:
    """Every drawing the page decodes from now on (the page's first run imports ui.canvas)."""
    urls = []
    monkeypatch.setattr("ui.canvas.decode_drawing", lambda url: urls.append(url) or decode_drawing(url))
    return urls


def test_a_drawing_is_decoded_once_and_again_only_when_it_changes(app, drawings, monkeypatch):
    (first_label, first), (second_label, second) = drawings[:2]
    at = app().run()
    decoded = count_decodes(monkeypatch)
    at.session_state[Key.LIVE_VIEW] = canvas_state(first)
    at.run()
    at.slider(key=Key.BRUSH).set_value(DEFAULT_BRUSH + 4).run()  # reruns, the drawing as it was
    at.run()
    assert not at.exception and answer(at) == str(first_label) and len(decoded) == 1
    at.session_state[Key.LIVE_VIEW] = canvas_state(second)
    at.run()
    at.run()
    assert not at.exception and answer(at) == str(second_label) and len(decoded) == 2


def test_the_server_reads_each_drawing_once_in_the_visitors_session(app, drawings, monkeypatch):
    """The server's reading (for the downloads and digits alike) and its verdict (beside the live reading) are
    each made once per drawing and kept in the visitor's session, not in the cache every visitor shares: a
    visitor's drawings cannot crowd it."""
    at = app().run()
    from ui import live_reading  # imported by the page's first run (it needs the canvas component)

    made = {"read_digit": [], "verdict_on": []}
    for name, made_by in made.items():
        function = getattr(live_reading, name)
        monkeypatch.setattr(live_reading, name, lambda *args, f=function, m=made_by: m.append(args) or f(*args))
    shared = set(ui.cache._cache().values)
    for _, drawing in drawings[:3]:
        at.session_state[Key.LIVE_VIEW] = canvas_state(drawing)
        at.run()
        at.run()  # the same drawing: read again from the session
    assert not at.exception and {name: len(calls) for name, calls in made.items()} == {"read_digit": 3,
                                                                                     "verdict_on": 3}
    assert set(ui.cache._cache().values) == shared


def test_a_cut_off_drawing_is_one_short_message_at_every_rerun_and_the_page_goes_on(app, monkeypatch):
    at = app().run()
    decoded = count_decodes(monkeypatch)
    at.session_state[Key.LIVE_VIEW] = attacks.canvas_value(attacks.url(attacks.cut_off_png()))
    for _ in range(2):
        at.run()
        assert not at.exception and [error.value for error in at.error] == [
            "This drawing cannot be read: its image data is damaged. Draw again, or clear the canvas."]
        assert [tab.label for tab in at.tabs] == list(Tab)  # the page goes on under it
    assert len(decoded) == 1


def test_an_error_reading_the_digit_is_one_line_and_the_page_goes_on(app, drawings, monkeypatch):
    def broken(url):
        raise RuntimeError("/home/someone/secret went wrong")

    at = app().run()
    monkeypatch.setattr("ui.canvas.decode_drawing", broken)
    monkeypatch.setattr(ui.widgets, "details_shown", lambda: False)  # as a visitor's page is served
    at.session_state[Key.LIVE_VIEW] = canvas_state(drawings[0][1])
    at.run()
    assert not at.exception
    [error] = at.error
    assert error.value.startswith("Something went wrong here (reference ") and "secret" not in error.value
    assert [tab.label for tab in at.tabs] == list(Tab)
