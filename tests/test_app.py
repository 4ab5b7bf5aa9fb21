"""The Streamlit app, driven headlessly with AppTest: real pen drawings, shipped models, real files."""

import base64
import io
import json
import time
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from streamlit.testing.v1 import AppTest

from rnnviz import gallery, pendigits, preprocess_canvas, registry, save_checkpoint, trace

ROOT = Path(__file__).resolve().parents[1]
CANVAS_KEY = "canvas"
ONE_PER_DIGIT = 10  # pen digits to draw: the first of each label


@pytest.fixture
def user_models(tmp_path, monkeypatch):
    """An empty user model folder for this test (never ~/.cache)."""
    folder = tmp_path / "user-models"
    monkeypatch.setenv("RNNVIZ_MODELS", str(folder))
    return folder


@pytest.fixture
def app(user_models):
    """A fresh app; `app(drawing=rgba, tab="Compare")` sets what the user drew and the open tab."""

    def make(drawing=None, tab=None):
        at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
        if drawing is not None:
            at.session_state[CANVAS_KEY] = canvas_state(drawing)
        if tab is not None:
            at.session_state["tab"] = tab
        return at

    threads = torch.get_num_threads()
    yield make
    torch.set_num_threads(threads)  # the app runs in this process and sets its own


def canvas_state(rgba: np.ndarray) -> dict:
    """What the canvas component sends after a stroke: the drawing as a PNG data URL."""
    png = io.BytesIO()
    Image.fromarray(rgba).save(png, format="PNG")
    url = "data:image/png;base64," + base64.b64encode(png.getvalue()).decode()
    return {"drawing": {"raw": {"objects": []}, "data": url}, "backgroundFit": None}


@pytest.fixture(scope="module")
def drawings(pen_records):
    """(label, canvas RGBA) for the first pen digit of each label, drawn as a user would (18 px brush)."""
    rng = np.random.default_rng(0)
    firsts = {}
    for record in pen_records:
        firsts.setdefault(record["label"], record)
    return [(label, pendigits.render(pendigits.place(firsts[label]["strokes"], 0.7, 18, rng), 18))
            for label in sorted(firsts)][:ONE_PER_DIGIT]


def metric(at, label: str) -> str:
    [found] = [m for m in at.metric if m.label == label]
    return found.value


def chart_spec(at, key: str) -> dict:
    [chart] = [c for c in at.get("plotly_chart") if c.proto.id.endswith(f"-{key}")]
    return json.loads(chart.proto.spec)


def test_starts_with_the_shipped_models(app):
    at = app().run()
    assert not at.exception
    options = at.selectbox(key="model").options
    assert [o.split(" ")[0] for o in options] == ["LSTM", "GRU", "RNN"]
    assert "Draw a digit" in at.info[0].value
    assert not [m for m in at.metric if m.label == "Prediction"]


def test_prediction_reads_real_pen_digits(app, drawings):
    for label, rgba in drawings:
        at = app(drawing=rgba).run()
        assert not at.exception
        assert metric(at, "Prediction") == str(label), f"a drawn {label}"


def test_prediction_is_the_selected_models_own(app, drawings, shipped_models):
    label, rgba = drawings[3]
    image = preprocess_canvas(rgba)
    at = app(drawing=rgba).run()
    for cell in ("gru", "rnn", "lstm"):
        at.selectbox(key="model").set_value(str(registry.shipped_path(cell))).run()
        assert metric(at, "Prediction") == str(trace(shipped_models[cell], image).prediction), cell
        panels = [d for d in chart_spec(at, "step-figure")["data"] if d["type"] == "heatmap"]
        assert len(panels) == 1 + {"lstm": 6, "gru": 4, "rnn": 1}[cell]  # the input image + gates/states


def test_stepping_is_client_side_frames(app, drawings):
    _, rgba = drawings[7]
    at = app(drawing=rgba).run()
    spec = chart_spec(at, "step-figure")
    assert [f["name"] for f in spec["frames"]] == [str(s) for s in range(1, 29)]
    slider = spec["layout"]["sliders"][0]
    assert len(slider["steps"]) == 28 and slider["active"] == 27
    assert all(s["method"] == "animate" for s in slider["steps"])
    assert spec["frames"][13]["layout"]["title"]["text"].startswith("Step 14 of 28")

    unit = at.selectbox(key="unit")
    chosen = unit.options[5]  # e.g. "unit 42"
    unit.set_value(int(chosen.split()[1])).run()
    spec = chart_spec(at, "step-figure")
    assert spec["layout"]["title"]["subtitle"]["text"].startswith(chosen.capitalize() + ":")

    at.radio(key="order").set_value("index").run()
    assert at.selectbox(key="unit").options[:3] == ["unit 0", "unit 1", "unit 2"]


def test_compare_shows_all_three_models(app, drawings, shipped_models):
    label, rgba = drawings[2]
    image = preprocess_canvas(rgba)
    at = app(drawing=rgba, tab="Compare").run()
    assert not at.exception
    for cell in ("rnn", "gru", "lstm"):
        assert metric(at, cell.upper()) == str(trace(shipped_models[cell], image).prediction)
    spec = chart_spec(at, "compare-figure")
    assert sum(d["type"] == "heatmap" for d in spec["data"]) == 3


def test_gallery_digits_read_as_when_the_gallery_was_made(app):
    examples = gallery.load()
    at = app().run()
    at.radio(key="source").set_value("Gallery").run()
    for i in (0, len(examples) - 1):  # a correctly read digit, and one the shipped LSTM gets wrong
        at.selectbox(key="example").set_value(i).run()
        assert not at.exception
        assert metric(at, "Prediction") == str(examples.lstm_prediction[i])
    assert (examples.lstm_prediction != examples.labels).sum() >= 3


def test_empty_canvas_says_what_to_do(app):
    black = np.zeros((280, 280, 4), dtype=np.uint8)
    black[..., 3] = 255
    at = app(drawing=black).run()
    assert not at.exception
    assert any("canvas is empty" in info.value for info in at.info)
    assert not [m for m in at.metric if m.label == "Prediction"]


def test_user_checkpoints_join_the_picker(app, user_models, shipped_models):
    save_checkpoint(shipped_models["gru"], user_models / "my-gru.pt", test_accuracy=0.5)
    at = app().run()
    assert "my-gru: GRU 100, 50.0% test" in at.selectbox(key="model").options
    assert (ROOT / "models" / "my-gru.pt").exists() is False


@pytest.mark.parametrize("content, reason", [
    (b"not a checkpoint at all", "not a readable rnnviz checkpoint"),
    (None, "not an rnnviz checkpoint"),  # a real torch file, but someone else's
])
def test_bad_upload_is_refused_and_the_app_keeps_working(app, drawings, user_models, content, reason):
    if content is None:
        foreign = io.BytesIO()
        torch.save({"weights": torch.zeros(3)}, foreign)
        content = foreign.getvalue()
    label, rgba = drawings[4]
    at = app(drawing=rgba).run()
    at.file_uploader(key="upload").set_value(("model.pt", content, "application/octet-stream")).run()
    assert not at.exception
    [error] = at.error
    assert "Could not add this checkpoint" in error.value and reason in error.value
    assert not list(user_models.glob("*.pt"))
    assert metric(at, "Prediction")  # still reading the drawing


def test_good_upload_is_added_and_selected(app, user_models):
    at = app().run()
    content = (ROOT / "models" / "rnn.pt").read_bytes()
    at.file_uploader(key="upload").set_value(("friend.pt", content, "application/octet-stream")).run()
    assert not at.exception
    [saved] = user_models.glob("friend-rnn-*.pt")
    assert at.selectbox(key="model").value == str(saved)
    assert at.success[0].value.startswith(f"Added {saved.name}")


def test_checkpoint_path_on_disk(app, tmp_path):
    bad = tmp_path / "broken.pt"
    bad.write_bytes(b"\x80\x02garbage")
    at = app().run()
    at.text_input(key="checkpoint-path").input(str(bad)).run()
    assert "Could not add this checkpoint" in at.error[0].value
    at.text_input(key="checkpoint-path").input(str(tmp_path / "missing.pt")).run()
    assert "cannot read" in at.error[0].value


def wait_for(job, seconds=120):
    deadline = time.monotonic() + seconds
    while job.running and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not job.running, "training did not finish in time"


def test_train_in_the_app_and_stop_early(app, user_models):
    at = app(tab="Train").run()
    at.selectbox(key="train-cell").set_value("rnn")
    at.select_slider(key="train-hidden").set_value(16)
    at.select_slider(key="train-images").set_value(55000)  # far more than it will get through
    at.button(key="start-training").click().run()
    job = at.session_state["job"]
    at.button(key="stop-training").click().run()
    wait_for(job)
    assert job.state == "stopped" and job.summary["stopped_early"]
    assert job.out.parent == user_models and job.out.exists()
    at.run()
    assert not at.exception
    assert any("stopped early" in s.value for s in at.success)
    assert str(job.out) in [str(e.path) for e in registry.list_checkpoints()]
    assert job.history and job.history[0].step >= 1


def test_missing_dataset_is_explained(app, tmp_path, monkeypatch):
    monkeypatch.setenv("RNNVIZ_DATA", str(tmp_path / "nowhere"))
    at = app(tab="Train").run()
    assert not at.exception
    assert any("RNNVIZ_DATA" in w.value for w in at.warning)
