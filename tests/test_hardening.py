"""Hostile and broken input: any array as a canvas, crafted checkpoints and uploads, training that is
killed or runs twice at once, and an app that answers all of it without a traceback."""

import shutil
import signal
import subprocess
import sys

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import array_shapes, arrays, scalar_dtypes

from rnnviz import CanvasError, EmptyCanvasError, RowReader, load_model, preprocess_canvas
from rnnviz.checkpoint import MAX_BYTES
from rnnviz.data import pendigits
from rnnviz.preprocess import MAX_SIDE
from rnnviz.serving import store
from rnnviz.serving.jobs import JobState
from tests.conftest import ROOT, app_test, digest, wait_for
from tools.attacks import checkpoint_parts, write_checkpoint
from ui import cache
from ui.state import Key, Source, Tab

FORM_OPEN = {Key.ADD_CHECKPOINT: True}  # "Add a checkpoint" open: its uploader is on the page
# ---- canvases ----

def read_or_refuse(canvas) -> np.ndarray | None:
    """preprocess_canvas must give a valid (28, 28) image or a CanvasError that explains itself."""
    try:
        image = preprocess_canvas(canvas)
    except CanvasError as error:
        assert len(str(error)) > 10, repr(error)
        return None
    assert image.shape == (28, 28) and image.dtype == np.float32
    assert np.isfinite(image).all() and image.min() >= 0 and image.max() <= 1
    return image


@pytest.mark.slow
@given(arrays(scalar_dtypes(), array_shapes(min_dims=0, max_dims=4, min_side=0, max_side=32)))
@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_any_array_is_read_or_refused_clearly(canvas):
    read_or_refuse(canvas)


@given(side=st.integers(8, 600), width=st.floats(1, 60),
       strokes=st.lists(st.lists(st.tuples(st.floats(0, 1), st.floats(0, 1)), min_size=1, max_size=6),
                        min_size=1, max_size=4))
@settings(max_examples=60, deadline=None)
def test_any_scribble_is_read(side, width, strokes):
    canvas = pendigits.render([np.array(s) * side for s in strokes], width, side)
    try:
        image = preprocess_canvas(canvas)
    except EmptyCanvasError:  # a dot, or ink smaller than a few pixels
        return
    assert read_or_refuse(canvas) is not None and image.max() > 0


def canvas(side, value, channels=4, dtype=np.uint8):
    return np.full((side, side, channels) if channels else (side, side), value, dtype=dtype)


def stroke_on(side: int) -> np.ndarray:
    rgba = canvas(side, 0)
    rgba[side // 4: 3 * side // 4, side // 2 - side // 40: side // 2 + side // 40, :3] = 255
    rgba[..., 3] = 255
    return rgba


@pytest.mark.parametrize("case, value, error", [
    ("no pixels", np.zeros((0, 0, 4), np.uint8), "no pixels"),
    ("no rows", np.zeros((0, 280), np.float32), "no pixels"),
    ("one white pixel", canvas(1, 255), "only a dot"),
    ("black", canvas(280, 0, channels=3), "empty"),
    ("transparent white", np.dstack([canvas(280, 255, 3), canvas(280, 0, 0)]), "empty"),
    ("all ink", canvas(280, 255), None),
    ("all ink, float", canvas(280, 1.0, 0, np.float64), None),
    ("all ink, bool", canvas(280, True, 0, bool), None),
    ("NaN", canvas(280, np.nan, 4, np.float32), "NaN or infinite"),
    ("one inf pixel", np.pad(canvas(1, np.inf, 0, np.float64), 100), "NaN or infinite"),
    ("too tall", np.zeros((MAX_SIDE + 1, 2), np.uint8), "too large"),
    ("huge, allowed", stroke_on(4000), None),
    ("2-D list", [[0, 255], [255, 0]], "dot"),
    ("text", "a digit", "numbers"),
    ("nothing", None, "numbers"),
])
def test_edge_case_canvases(case, value, error):
    if error is None:
        assert read_or_refuse(value) is not None, case
    else:
        with pytest.raises(CanvasError, match=error):
            preprocess_canvas(value)


# ---- training: killed midway ----

@pytest.mark.slow
def test_training_killed_midway_leaves_the_old_checkpoint(tmp_path, mnist_test):
    out = tmp_path / "model.safetensors"
    shutil.copy(ROOT / "models" / "rnn.safetensors", out)
    before = digest(out)
    run = subprocess.Popen(
        [sys.executable, "-m", "rnnviz.train", "--cell-type", "rnn", "--hidden", "16", "--epochs", "5",
         "--limit", "20000", "--val-size", "500", "--out", str(out)],
        cwd=ROOT, stderr=subprocess.PIPE, text=True,
    )
    try:
        for line in iter(lambda: run.stderr.read(40), ""):
            if "batch/s" in line or "s/batch" in line:  # the progress bar: training is under way
                break
        else:
            pytest.fail(f"training never started (exit code {run.wait()})")
    finally:
        run.send_signal(signal.SIGKILL)
        run.wait()
        run.stderr.close()
    assert run.returncode == -signal.SIGKILL
    assert [p.name for p in tmp_path.iterdir()] == ["model.safetensors"] and digest(out) == before


# ---- the app: shipped models stay as they are, and no traceback whatever happens ----

@pytest.fixture
def shipped(tmp_path, monkeypatch):
    """A copy of models/ that the app takes for its shipped folder, and also for the user's folder."""
    folder = tmp_path / "shipped"
    shutil.copytree(ROOT / "models", folder)
    monkeypatch.setattr(store, "SHIPPED_DIR", folder)
    monkeypatch.setenv("RNNVIZ_MODELS", str(folder))  # the worst case: the user's models beside the shipped ones
    monkeypatch.setenv("RNNVIZ_PATH_BOX", "on")
    monkeypatch.setenv("RNNVIZ_PATH_DIRS", str(folder))
    return folder


def test_shipped_models_cannot_be_overwritten_from_the_page(shipped):
    before = {p.name: digest(p) for p in shipped.glob("*.safetensors")}
    at = app_test(FORM_OPEN).run()
    gru = (shipped / "gru.safetensors").read_bytes()
    for name in ("lstm.safetensors", "../shipped/rnn.safetensors", str(shipped / "lstm.safetensors")):
        at.file_uploader(key=Key.UPLOAD).set_value((name, gru, "application/octet-stream")).run()
        assert not at.exception and "Added" in at.success[0].value
    at.text_input(key=Key.CHECKPOINT_PATH).input(str(shipped / "gru.safetensors")).run()
    assert not at.exception
    assert {p.name: digest(p) for p in shipped.glob("*.safetensors") if p.name in before} == before
    assert len(list(shipped.rglob("*.safetensors"))) == len(before) + 4


def test_upload_limit(shipped):
    at = app_test(FORM_OPEN).run()
    uploader = at.file_uploader(key=Key.UPLOAD)
    assert uploader.proto.max_upload_size_mb * 2**20 <= MAX_BYTES  # the page refuses what loading would
    uploader.set_value(("big.safetensors", bytes(MAX_BYTES + 1), "application/octet-stream")).run()  # a forged upload
    assert not at.exception and "too large" in at.error[0].value


def test_uploaded_name_too_long_for_the_disk(shipped):
    at = app_test(FORM_OPEN).run()
    rnn = (shipped / "rnn.safetensors").read_bytes()
    at.file_uploader(key=Key.UPLOAD).set_value(("x" * 300 + ".safetensors", rnn, "")).run()
    assert not at.exception
    [added] = [path for path in shipped.rglob("x*.safetensors")]  # a name the file system takes
    assert len(added.name) < 100 and load_model(added).cell_type == "rnn"
    assert at.selectbox(key=Key.MODEL).value == str(added) and "Added" in at.success[0].value


def test_broken_checkpoints_in_the_user_folder_are_skipped(shipped, tmp_path):
    (shipped / "garbage.safetensors").write_bytes(b"garbage")
    for case, spoil in [("no-weights", lambda record, weights: weights.clear()),
                        ("nan", lambda record, weights: [w.fill_(float("nan")) for w in weights.values()]),
                        ("odd-config", lambda record, weights: record["config"].update(layers=3))]:
        record, weights = checkpoint_parts(RowReader("gru", 8))
        spoil(record, weights)
        write_checkpoint(shipped / f"{case}.safetensors", record, weights)
    at = app_test().run()
    assert not at.exception
    skipped = " ".join(c.value for c in at.sidebar.caption)
    assert all(f"{case}.safetensors" in skipped for case in ("garbage", "no-weights", "nan", "odd-config"))
    assert len(at.selectbox(key=Key.MODEL).options) == 3


def test_forged_canvas_data_is_not_a_traceback(shipped):
    forged = {"drawing": {"raw": {"objects": []}, "data": "data:image/png;base64,AAAA"}, "backgroundFit": None}
    at = app_test({Key.LIVE_VIEW: forged}).run()
    assert not at.exception
    assert [error.value for error in at.error] == [
        "This drawing cannot be read: it is not a PNG image. Draw again, or clear the canvas."]
    assert not isinstance(at.session_state[Key.DRAWN][1], np.ndarray)  # nothing read from it


def test_no_models_at_all(shipped):
    for path in shipped.glob("*.safetensors"):
        path.unlink()
    at = app_test({Key.TAB: Tab.COMPARE}).run()
    at.radio(key=Key.SOURCE).set_value(Source.GALLERY).run()
    assert not at.exception
    assert "No model found" in at.sidebar.error[0].value
    assert len(at.warning) == 3  # one per missing shipped model


@pytest.mark.slow
def test_corrupt_dataset_fails_training_with_a_message(shipped, tmp_path, monkeypatch):
    data = tmp_path / "mnist"
    data.mkdir()
    for name in ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz", "t10k-images-idx3-ubyte.gz",
                 "t10k-labels-idx1-ubyte.gz"):
        (data / name).write_bytes(b"not gzip")
    monkeypatch.setenv("RNNVIZ_DATA", str(data))
    at = app_test({Key.TAB: Tab.TRAIN}).run()
    at.button(key=Key.START_TRAINING).click().run()
    status = wait_for(cache.training_queue(), at.session_state[Key.VISITOR])
    at.run()
    assert status.state == JobState.FAILED and not at.exception
    assert "Training failed" in at.error[0].value
