"""A hostile visitor cannot hurt the server: every probe of the kind a visitor can send, each in a fresh
process through the real page or rnnviz's own loader, ends in a prediction or one short message, in
under a second and 150 MB, with no traceback, no server folder and no object address; and fuzzed canvas
values and mutated real checkpoints, each in a sandboxed process, do the same."""

import base64
import json
import os
import re
import struct
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import rnnviz
import ui.evaluate_tab
import ui.widgets
from rnnviz import CanvasError, RowReader, preprocess_canvas, save_checkpoint, stats
from rnnviz.checkpoint import CheckpointError
from rnnviz.preprocess import MAX_DRAWING_SIDE, decode_drawing
from rnnviz.recipes import Settings
from rnnviz.serving import admission, store
from rnnviz.serving.jobs import JobState
from rnnviz.serving.local_queue import LocalQueue
from tests.conftest import ROOT, CountingReader, app_test, canvas_state, wait_for
from tools import attacks
from ui.state import Key, Source, Tab
from ui.widgets import NO_DIGIT

MEGABYTES = attacks.MEGABYTES
MESSAGE = 200  # characters: "one short line"
LEAKS = re.compile(r"0x[0-9a-f]{6,}|/(tmp|home|root|usr|work)/|Traceback")  # an object address, a server path


def assert_cheap(outcome: dict) -> None:
    assert outcome["peak_mb"] < MEGABYTES, outcome


@pytest.fixture(scope="module")
def crafted(tmp_path_factory):
    folder = tmp_path_factory.mktemp("crafted")
    return {**attacks.crafted_checkpoints(folder), **attacks.crafted_safetensors(folder)}


@pytest.mark.slow
@pytest.mark.parametrize("name", ["memo index of 200 M before the first memo write",
                                  "75,000 integer keys that hash alike",
                                  "1.1 M entries in the zip's directory", "a tensor claiming 4 TB",
                                  "a record nested 100,000 deep"])
def test_a_crafted_checkpoint_is_refused_in_one_line_in_a_fresh_process(name, crafted, tmp_path):
    outcome = attacks.run(attacks.checkpoint_probe(crafted[name]), ROOT, tmp_path)
    assert not outcome["ok"] and outcome["error"] == "CheckpointError", outcome
    assert len(outcome["message"]) < MESSAGE and not LEAKS.search(outcome["message"])
    assert_cheap(outcome)


@pytest.mark.slow
@pytest.mark.parametrize("name", ["75,000 integer keys that hash alike", "a tensor claiming 4 TB"])
def test_an_upload_of_a_crafted_checkpoint_is_one_line_on_the_page(name, crafted, tmp_path):
    outcome = attacks.run(attacks.upload_probe(crafted[name]), ROOT, tmp_path)
    shown = outcome["result"]
    assert not shown["exceptions"] and len(shown["errors"]) == 1, shown
    assert shown["errors"][0].startswith("Could not add this checkpoint") and not LEAKS.search(shown["errors"][0])
    assert ("rnnviz convert" in shown["errors"][0]) == name.startswith("75,000")  # a .pt gets the way to convert it
    assert_cheap(outcome)


@pytest.mark.slow
@pytest.mark.parametrize("name", list(attacks.forged_canvases()))
def test_a_forged_drawing_is_one_message_on_the_page(name, tmp_path):
    outcome = attacks.run(attacks.canvas_probe(attacks.forged_canvases()[name]), ROOT, tmp_path)
    shown = outcome["result"]
    assert not shown["exceptions"] and not shown["read"], shown
    said = shown["errors"] + [info for info in shown["infos"] if info != NO_DIGIT]  # what the page says of it
    if name == "malformed backgroundFit":  # an empty canvas's PNG, a field the server never reads: nothing to say
        assert said == [], shown
    else:
        assert len(said) == 1 and len(said[0]) < MESSAGE and not LEAKS.search(said[0]), shown
        assert said[0].startswith("This drawing cannot be read"), shown
    assert_cheap(outcome)


def test_the_canvas_stays_usable_after_a_forged_drawing(user_models, digits):
    at = app_test({Key.LIVE_VIEW: attacks.forged_canvases()["drawing a string"]}).run()
    assert not at.exception and at.error
    rgba = np.zeros((280, 280, 4), np.uint8)
    rgba[..., 3] = 255
    rgba[40:240, 130:150, :3] = 255  # a 1
    at.session_state[Key.LIVE_VIEW] = canvas_state(rgba)
    at.run()
    assert not at.exception and not at.error
    np.testing.assert_array_equal(at.session_state[Key.DRAWN][1], preprocess_canvas(rgba))  # read again, as drawn


def test_a_drawing_larger_than_a_canvas_sends_is_refused_from_its_header():
    assert decode_drawing(attacks.url(attacks.png(MAX_DRAWING_SIDE, 280))).shape == (280, MAX_DRAWING_SIDE, 4)
    with pytest.raises(CanvasError, match="1201 x 280 px"):
        decode_drawing(attacks.url(attacks.declared_png(MAX_DRAWING_SIDE + 1, 280)))


# ---- fuzzing, each case in a sandbox process ----

SANDBOX = """
import base64, io, json, sys, time
from pathlib import Path
import rnnviz
from rnnviz.preprocess import decode_drawing, drawing_url

def status(field):
    line = next(l for l in Path("/proc/self/status").read_text().splitlines() if l.startswith(field))
    return int(line.split()[1]) / 1024

for line in sys.stdin:
    kind, case = json.loads(line)
    Path("/proc/self/clear_refs").write_text("5")
    before, start = status("VmRSS"), time.perf_counter()
    try:
        if kind == "canvas":
            result = list(rnnviz.preprocess_canvas(decode_drawing(drawing_url(case))).shape)
        else:
            file = io.BytesIO(base64.b64decode(case))
            file.name = "fuzzed.safetensors"
            result = rnnviz.load_model(file).hidden_size
        outcome = {"ok": True, "result": result}
    except (rnnviz.CanvasError, rnnviz.CheckpointError) as error:
        outcome = {"ok": False, "error": type(error).__name__, "message": str(error)}
    except BaseException as error:
        outcome = {"ok": False, "error": "UNEXPECTED " + type(error).__name__, "message": str(error)[:300]}
    outcome.update(seconds=time.perf_counter() - start, peak_mb=status("VmHWM") - before)
    print(json.dumps(outcome, default=str), flush=True)
"""


HANG = 60  # seconds without an answer: the case hung the process (its cost is measured in bench/probes.py)


class Sandbox:
    """A process that tries one case at a time; one that hangs or kills it is a failure."""

    def __init__(self):
        self.process = subprocess.Popen([sys.executable, "-c", SANDBOX], cwd=ROOT, stdin=subprocess.PIPE,
                                        stdout=subprocess.PIPE, text=True)

    def check(self, kind: str, case) -> dict:
        self.process.stdin.write(json.dumps([kind, case]) + "\n")
        self.process.stdin.flush()
        answer = []
        reader = threading.Thread(target=lambda: answer.append(self.process.stdout.readline()))
        reader.start()
        reader.join(HANG)
        assert answer and answer[0], f"{kind} case hung or killed the process: {str(case)[:200]}"
        outcome = json.loads(answer[0])
        assert not outcome["error"].startswith("UNEXPECTED") if not outcome["ok"] else True, outcome
        assert outcome["peak_mb"] < MEGABYTES, outcome
        if not outcome["ok"]:
            assert len(outcome["message"]) < MESSAGE and not LEAKS.search(outcome["message"]), outcome
        return outcome

    def close(self):
        self.process.stdin.close()
        self.process.wait(30)


@pytest.fixture(scope="module")
def sandbox():
    box = Sandbox()
    yield box
    box.close()


SMALL_PNGS = st.builds(lambda width, height: attacks.url(attacks.png(width, height)), st.integers(1, 64),
                       st.integers(1, 64))
DECLARED = st.builds(lambda width, height: attacks.url(attacks.declared_png(width, height)),
                     st.integers(0, 2**32 - 1), st.integers(0, 2**32 - 1))
SCALARS = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=30)
JSON_VALUES = st.recursive(SCALARS, lambda inner: st.lists(inner, max_size=4)
                           | st.dictionaries(st.text(max_size=8), inner, max_size=4), max_leaves=12)
CANVAS_VALUES = st.one_of(
    JSON_VALUES,
    st.builds(attacks.canvas_value, st.one_of(SMALL_PNGS, DECLARED, st.text(max_size=60), JSON_VALUES)),
    st.builds(lambda text: attacks.canvas_value("data:image/png;base64," + text), st.text(max_size=200)),
)


@pytest.mark.slow
@given(value=CANVAS_VALUES)
@settings(max_examples=150, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow,
                                                                  HealthCheck.function_scoped_fixture])
def test_fuzzed_canvas_values_give_an_image_or_one_message(sandbox, value):
    outcome = sandbox.check("canvas", value)
    assert outcome["ok"] or outcome["error"] in ("CanvasError", "EmptyCanvasError")


REAL_CHECKPOINT = (ROOT / "models" / "rnn.safetensors").read_bytes()
(HEADER_LENGTH,) = struct.unpack("<Q", REAL_CHECKPOINT[:8])


@pytest.mark.slow
@given(data=st.data())
@settings(max_examples=120, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
def test_mutated_real_checkpoints_load_or_are_refused_in_one_line(sandbox, data):
    """Bytes flipped, inserted, deleted or cut anywhere in a shipped checkpoint, or in its JSON header with the
    length rewritten around it (so that the header's length still reads)."""
    mutated = bytearray(REAL_CHECKPOINT)
    if data.draw(st.booleans(), label="in the header"):
        mutated = bytearray(_with_header(REAL_CHECKPOINT, data))
    else:
        for _ in range(data.draw(st.integers(1, 8), label="mutations")):
            if not mutated:
                break
            at = data.draw(st.integers(0, len(mutated) - 1), label="at")
            how = data.draw(st.sampled_from(["flip", "insert", "delete", "cut"]), label="how")
            if how == "flip":
                mutated[at] ^= data.draw(st.integers(1, 255), label="bits")
            elif how == "insert":
                mutated[at:at] = data.draw(st.binary(min_size=1, max_size=16), label="bytes")
            elif how == "delete":
                del mutated[at: at + data.draw(st.integers(1, 64), label="length")]
            else:
                del mutated[at:]
    outcome = sandbox.check("checkpoint", base64.b64encode(bytes(mutated)).decode())
    assert outcome["ok"] or outcome["error"] == "CheckpointError"


PINNED = {  # mutations that once found a fault, or that sit on a check's edge: tried on every run
    "the length's top byte set": lambda data: data[:7] + b"\x80" + data[8:],
    "the length one short": lambda data: struct.pack("<Q", HEADER_LENGTH - 1) + data[8:],
    "the length one long": lambda data: struct.pack("<Q", HEADER_LENGTH + 1) + data[8:],
    "the header's first brace gone": lambda data: data[:8] + b" " + data[9:],
    "the last weight byte cut": lambda data: data[:-1],
    "a byte appended": lambda data: data + b"\x00",
    "the header's record quoted twice": lambda data: data.replace(b'"rnnviz":"', b'"rnnviz":"\\"', 1),
}


@pytest.mark.parametrize("case", list(PINNED))
def test_pinned_mutations_of_a_real_checkpoint_are_refused_in_one_line(case):
    mutated = PINNED[case](REAL_CHECKPOINT)
    with pytest.raises(CheckpointError, match="pinned.safetensors") as refused:
        rnnviz.load_model(CountingReader(mutated, "pinned.safetensors"))
    assert len(str(refused.value)) < MESSAGE and not LEAKS.search(str(refused.value))


def _with_header(checkpoint: bytes, data) -> bytes:
    """The checkpoint with bytes of its JSON header changed, its length rewritten to match."""
    header = bytearray(checkpoint[8: 8 + HEADER_LENGTH])
    for _ in range(data.draw(st.integers(1, 6), label="header mutations")):
        at = data.draw(st.integers(0, len(header) - 1), label="header at")
        header[at] = data.draw(st.sampled_from(b'{}[]",:0123456789e.-\\ ' + bytes(range(256))), label="header byte")
    return struct.pack("<Q", len(header)) + header + checkpoint[8 + HEADER_LENGTH:]


# ---- the page: no tracebacks, no server folders ----

def test_visitors_see_no_error_details():
    config = (ROOT / ".streamlit" / "config.toml").read_text()
    assert re.search(r'^showErrorDetails = "none"$', config, re.MULTILINE)


def test_an_error_in_a_tab_is_one_line_with_a_reference_and_the_page_goes_on(user_models, monkeypatch):
    def broken(*args):
        raise RuntimeError("/home/someone/secret went wrong at 0x7fca1234")

    monkeypatch.setattr(ui.evaluate_tab, "selected_stats", broken)
    monkeypatch.setattr(ui.widgets, "details_shown", lambda: False)  # as a visitor's page is served
    at = app_test({Key.TAB: Tab.EVALUATE}).run()
    assert not at.exception
    [error] = at.error
    assert re.fullmatch(r"Something went wrong here \(reference [0-9a-f]{8}\)\. The rest of the page works; the "
                        r"server's log has the details under that reference\.", error.value)
    assert at.selectbox(key=Key.MODEL)  # the rest of the page is there


def test_no_message_names_a_server_folder_when_mnist_is_missing(user_models, tmp_path, monkeypatch):
    secret = tmp_path / "home-of-the-operator"
    monkeypatch.setenv("RNNVIZ_DATA", str(secret))
    monkeypatch.setenv("RNNVIZ_CACHE", str(secret / "cache"))
    inspect_a_test_digit = {Key.SOURCE: Source.TEST_SET, Key.TEST_DIGIT: 1}
    for tab, extra in ((Tab.TRAIN, {}), (Tab.EVALUATE, {}), (Tab.INSPECT, inspect_a_test_digit)):
        at = app_test({Key.TAB: tab, **extra}).run()
        texts = [element.value for kind in ("info", "error", "warning", "markdown", "caption")
                 for element in getattr(at, kind)]
        assert not at.exception and texts
        assert not [text for text in texts if str(secret) in text or "home-of-the-operator" in text], tab


# ---- a fair share of training ----

@pytest.fixture
def queue(user_models, tmp_path, monkeypatch, offline_mnist):
    monkeypatch.setenv("RNNVIZ_SLOTS", str(tmp_path / "slots"))
    made = LocalQueue(workers=1, queue_limit=5)
    yield made
    made.close()


SHORT = Settings(cell_type="rnn", hidden=8, epochs=1, limit=300, val_size=200)


def test_one_visitor_cannot_hold_two_trainings_even_from_two_tabs_at_once(queue):
    visitor, accepted, refused = store.new_visitor_id(), [], []

    def submit():
        try:
            accepted.append(queue.submit(SHORT, visitor, "10.0.0.1"))
        except admission.Refused as error:
            refused.append(str(error))

    tabs = [threading.Thread(target=submit) for _ in range(4)]
    for tab in tabs:
        tab.start()
    for tab in tabs:
        tab.join()
    assert len(accepted) == 1 and refused == ["You have a training queued or running already."] * 3


def test_one_address_cannot_fill_the_queue_with_fresh_ids(queue, monkeypatch):
    monkeypatch.setenv("RNNVIZ_PER_ADDRESS", "2")
    for _ in range(2):
        queue.submit(SHORT, store.new_visitor_id(), "10.0.0.7")
    with pytest.raises(admission.Refused, match="from your network"):
        queue.submit(SHORT, store.new_visitor_id(), "10.0.0.7")
    queue.submit(SHORT, store.new_visitor_id(), "10.0.0.8")  # another address still may


def test_a_training_longer_than_the_budget_is_refused_before_it_starts(queue):
    hours = Settings(cell_type="lstm", hidden=256, epochs=50, batch_size=32)  # the form's largest
    with pytest.raises(admission.Refused, match=r"about \d+ min here, and the server allows 15 min"):
        queue.submit(hours, store.new_visitor_id(), "10.0.0.9")


@pytest.mark.slow
def test_a_training_that_runs_over_its_budget_stops_there_and_keeps_what_it_learned(queue, monkeypatch):
    monkeypatch.setenv("RNNVIZ_JOB_MINUTES", "0.05")  # 3 s: the estimate of a tiny job passes, the run does not
    visitor = store.new_visitor_id()
    queue.rate = 1e9  # the estimate says it takes no time
    queue.submit(Settings(cell_type="lstm", hidden=64, epochs=200, val_size=400), visitor, "10.0.0.10")
    status = wait_for(queue, visitor, seconds=180)
    assert status.state == JobState.STOPPED and status.stop_reason == "time" and Path(status.out).exists()


def test_a_model_larger_than_the_server_takes_is_refused_with_the_limit(user_models, monkeypatch):
    monkeypatch.setenv("RNNVIZ_MAX_HIDDEN", "64")
    with pytest.raises(CheckpointError, match="100 hidden units; this server takes models of up to 64"):
        store.add_checkpoint((ROOT / "models" / "gru.safetensors").read_bytes(), "big.safetensors",
                             store.new_visitor_id())


# ---- heavy work off the page's process, and the store bounded ----

@pytest.mark.slow
def test_a_new_checkpoints_first_look_runs_in_a_worker(user_models, tmp_path, monkeypatch, mnist_test):
    """Evaluate on a just-uploaded checkpoint: a worker measures it (never the page's process, here
    forbidden to), the page shows its progress, then the measures."""
    monkeypatch.setenv("RNNVIZ_SLOTS", str(tmp_path / "slots"))
    monkeypatch.setattr(stats, "compute_test_set_stats", lambda *args, **kwargs: pytest.fail("measured in the page"))
    small = save_checkpoint(RowReader("gru", 8), tmp_path / "small.safetensors", test_accuracy=0.1)
    at = app_test({Key.TAB: Tab.EVALUATE, Key.ADD_CHECKPOINT: True}).run()
    at.file_uploader(key=Key.UPLOAD).set_value(("small.safetensors", small.read_bytes(), "")).run()
    assert not at.exception and "small-gru" in at.selectbox(key=Key.MODEL).value
    assert any("first a worker measures it" in (bar.proto.text or "") for bar in at.get("progress"))
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline and not [m for m in at.metric if m.label == "Test accuracy"]:
        time.sleep(2)
        at.run()
    assert not at.exception and [m for m in at.metric if m.label == "Test accuracy"]


def test_the_store_forgets_folders_unvisited_too_long_and_stays_within_its_size(user_models, monkeypatch):
    monkeypatch.setenv("RNNVIZ_KEEP_DAYS", "30")
    gru = (ROOT / "models" / "gru.safetensors").read_bytes()
    old, recent, busy = (store.new_visitor_id() for _ in range(3))
    for visitor in (old, recent, busy):
        for number in range(5):  # 0.8 MB a visitor
            store.add_checkpoint(gru, f"mine-{number}.safetensors", visitor)
        store.visited(visitor)
    now = time.time()
    for visitor, days in ((old, 31), (recent, 2), (busy, 40)):
        for path in (store.visitor_dir(visitor), store.visitor_dir(visitor) / store.VISITED):
            os.utime(path, (now - days * 86_400, now - days * 86_400))
    assert store.sweep(busy={busy}, now=now) == [old]
    assert store.visitor_dir(recent).exists() and store.visitor_dir(busy).exists()
    monkeypatch.setenv("RNNVIZ_STORE_MB", "1")  # room for one visitor's models: all but the busy one's go
    assert store.sweep(busy={busy}, now=now) == [recent] and store.visitor_dir(busy).exists()
