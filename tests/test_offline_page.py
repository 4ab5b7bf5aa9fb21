"""This page, offline: one HTML file with the three shipped models, which a visitor opens from disk with no
network, draws a digit in (mouse or finger), sees the live reading follow the pen and races the models.

The browser tests need Playwright and Debian's Chromium (see README), like tests/test_browser.py; select or
leave them out with the `browser` marker.
"""

import base64
import io
import re

import numpy as np
import pytest
from PIL import Image
from safetensors.numpy import load as read_safetensors
from streamlit.testing.v1 import AppTest

from rnnviz import preprocess_canvas, trace
from rnnviz.browser_data import model_id
from rnnviz.intervention import Intervention
from rnnviz.serving import store
from tools.browser import chromium, pen_strokes
from ui.state import KEEP_GATE_CHOICES, Key
from ui.views import BLANK_BANDS, offline_page_html

MEGABYTE = 1_000_000
DIGIT = 5  # dev.jsonl[5], a 4 in two strokes, which the shipped models read right where pen_strokes puts it
SKETCH = ".sketch canvas.upper-canvas"
READING = "document.querySelector('[data-reading]').dataset.reading"
# JS: the drawing as the visitor sees it (the surface's layers over black), as a PNG data URL
DRAWING = """() => {
  const [lower, upper] = ['lower', 'upper'].map(layer => document.querySelector(`.sketch canvas.${layer}-canvas`));
  const flat = document.createElement('canvas');
  flat.width = lower.width; flat.height = lower.height;
  const context = flat.getContext('2d');
  context.fillStyle = '#000';
  context.fillRect(0, 0, flat.width, flat.height);
  context.drawImage(lower, 0, 0);
  context.drawImage(upper, 0, 0);
  return flat.toDataURL('image/png');
}"""
STROKE_IN_PROGRESS = """() => {  // whether the surface's upper layer holds ink: a stroke not finished yet
  const upper = document.querySelector('.sketch canvas.upper-canvas');
  return upper.getContext('2d').getImageData(0, 0, upper.width, upper.height).data.some(byte => byte > 0);
}"""
NEXT_FRAME = "() => new Promise(done => requestAnimationFrame(() => requestAnimationFrame(done)))"


@pytest.fixture(scope="module")
def models(shipped_models):
    """The shipped models by their names on the page, in the picker's order (LSTM first)."""
    return {cell_type.upper(): shipped_models[cell_type] for cell_type in store.SHIPPED}


@pytest.fixture(scope="module")
def offline_html(models):
    return offline_page_html(models)


def test_the_file_is_small_holds_the_three_models_exactly_and_names_no_address(offline_html, models):
    assert len(offline_html.encode()) <= MEGABYTE
    [weights] = re.findall(r'addWeights\(bytes\("([A-Za-z0-9+/=]+)"\)\);', offline_html)
    tensors = read_safetensors(base64.b64decode(weights))
    for model in models.values():
        for name, tensor in model.state_dict().items():
            np.testing.assert_array_equal(tensors[f"{model_id(model)}/{name}"], tensor.numpy())  # float32, exact
    for outside in (r"https?:", r"//cdn", r"\bsrc\s*=", r"@import", r"\burl\(", r"<link", r"<iframe", r"\bimport\("):
        assert not re.search(outside, offline_html, re.IGNORECASE), outside  # nothing fetched from outside


def test_the_sidebar_offers_the_offline_page_under_the_model_picker():
    at = AppTest.from_string("from ui.sidebar import model_picker\nmodel_picker()").run(timeout=60)
    assert not at.exception
    [button] = [b for b in at.sidebar.get("download_button") if b.proto.id.endswith(f"-{Key.OFFLINE_PAGE}")]
    assert button.proto.label == "This page, offline (HTML)" and "USB stick" in button.proto.help


@pytest.fixture(scope="module")
def browser():
    with chromium() as launched:
        yield launched


def offline_page(browser, path, **context):
    """The file opened from disk in a fresh context with the network off; every http(s) request aborted and
    noted (in `page.attempted`), and the page's errors noted (in `page.errors`)."""
    session = browser.new_context(**context)
    session.set_offline(True)
    attempted = []
    session.route(re.compile(r"^https?://"), lambda route: (attempted.append(route.request.url), route.abort()))
    page = session.new_page()
    page.attempted, page.errors, page.requested = attempted, [], []
    page.on("pageerror", lambda error: page.errors.append(str(error)))
    page.on("request", lambda request: page.requested.append(request.url))
    page.goto(path.as_uri())
    page.locator(SKETCH).wait_for()
    return page


def mouse_strokes(page, strokes, hold_last: bool = True) -> None:
    """Strokes (in the surface's canvas pixels) with the mouse, each begun as soon as the last ends; the last
    one still held unless told otherwise."""
    box = page.locator(SKETCH).bounding_box()
    scale = box["width"] / 280
    for number, stroke in enumerate(strokes, 1):
        (x, y), *rest = stroke
        page.mouse.move(box["x"] + x * scale, box["y"] + y * scale)
        page.mouse.down()
        for x, y in rest:
            page.mouse.move(box["x"] + x * scale, box["y"] + y * scale, steps=4)
        if number < len(strokes) or not hold_last:
            page.mouse.up()


def touch_strokes(page, strokes) -> None:
    """Strokes with a finger (touch events through the DevTools protocol), as on a phone."""
    box = page.locator(SKETCH).bounding_box()
    scale = box["width"] / 280
    cdp = page.context.new_cdp_session(page)
    for stroke in strokes:
        points = [{"x": box["x"] + x * scale, "y": box["y"] + y * scale} for x, y in stroke]
        cdp.send("Input.dispatchTouchEvent", {"type": "touchStart", "touchPoints": [points[0]]})
        for point in points[1:]:
            cdp.send("Input.dispatchTouchEvent", {"type": "touchMove", "touchPoints": [point]})
        cdp.send("Input.dispatchTouchEvent", {"type": "touchEnd", "touchPoints": []})
    cdp.detach()


def drawn_image(page) -> np.ndarray:
    """The (28, 28) digit rnnviz reads in the drawing the page shows now."""
    page.evaluate(NEXT_FRAME)  # the page has read the last move
    png = base64.b64decode(page.evaluate(DRAWING).split(",", 1)[1])
    return preprocess_canvas(np.asarray(Image.open(io.BytesIO(png)).convert("RGBA")))


def race(page) -> dict[str, str]:
    """Each race panel's answer: model name -> "final N" (and "(was M)" under a what-if that changed it)."""
    return {panel.get_attribute("data-model"): panel.locator(".final").inner_text()
            for panel in page.locator(".compare .panel").all()}


def assert_stayed_offline(page) -> None:
    assert not page.attempted and all(url.startswith("file://") for url in page.requested), page.requested
    assert not page.errors, page.errors


@pytest.mark.browser
def test_a_pen_digit_is_read_offline_as_it_is_drawn_and_raced(browser, offline_html, models, pen_records, tmp_path):
    path = tmp_path / "rnnviz-offline.html"
    path.write_text(offline_html)
    page = offline_page(browser, path, viewport={"width": 1366, "height": 768})
    assert page.evaluate(READING) == ""
    record = pen_records[DIGIT]
    mouse_strokes(page, pen_strokes(record, DIGIT))
    page.wait_for_function(f"() => {READING} !== ''", timeout=10_000)  # the pen still down
    assert page.evaluate(STROKE_IN_PROGRESS)
    assert page.evaluate(READING) == str(trace(models["LSTM"], drawn_image(page)).prediction)
    page.mouse.up()
    image = drawn_image(page)
    assert page.evaluate(READING) == str(trace(models["LSTM"], image).prediction) == str(record["label"])
    assert race(page) == {name: f"final {trace(model, image).prediction}" for name, model in models.items()}
    page.screenshot(path=tmp_path / "offline-1366.png")

    live = page.locator(".live .view")
    live.locator("button.play").click()
    page.wait_for_function("view => Number(view.dataset.step) > 1", arg=live.element_handle(), timeout=10_000)
    page.wait_for_function("view => view.dataset.step === '28'", arg=live.element_handle(), timeout=15_000)

    page.locator(".drawing select").select_option(label="GRU")  # the live view reads with another model
    assert page.evaluate(READING) == str(trace(models["GRU"], image).prediction)
    what_if = Intervention(keep_gate=0.0, blank_rows=BLANK_BANDS["1-14 (the top half)"])
    gate, rows = page.locator(".what-if select").all()
    gate.select_option(label=next(label for label, value in KEEP_GATE_CHOICES.items() if value == 0.0))
    rows.select_option(label="1-14 (the top half)")
    assert page.locator(".compare .note").inner_text() == what_if.describe()
    for name, model in models.items():
        clamped, was = trace(model, image, what_if).prediction, trace(model, image).prediction
        assert race(page)[name] == f"final {clamped}" + ("" if clamped == was else f" (was {was})"), name
    page.locator(".race").scroll_into_view_if_needed()
    page.screenshot(path=tmp_path / "offline-1366-what-if.png")

    page.locator(".sketch button.clear").click()
    page.wait_for_function(f"() => {READING} === ''", timeout=5_000)
    assert_stayed_offline(page)
    page.context.close()


@pytest.mark.browser
def test_a_phone_draws_by_touch_offline_and_the_page_fits(browser, offline_html, models, pen_records, tmp_path):
    path = tmp_path / "rnnviz-offline.html"
    path.write_text(offline_html)
    page = offline_page(browser, path, viewport={"width": 390, "height": 844}, has_touch=True, is_mobile=True,
                        device_scale_factor=2)
    touch_strokes(page, pen_strokes(pen_records[DIGIT], DIGIT))
    page.wait_for_function(f"() => {READING} !== ''", timeout=10_000)
    image = drawn_image(page)
    assert page.evaluate(READING) == str(trace(models["LSTM"], image).prediction)
    assert race(page) == {name: f"final {trace(model, image).prediction}" for name, model in models.items()}
    assert page.evaluate("() => document.documentElement.scrollWidth") <= 390
    answer = page.locator("[data-reading]").bounding_box()
    assert answer["y"] + answer["height"] <= 844  # the surface and the answer on the first screen
    page.screenshot(path=tmp_path / "offline-390.png")
    page.screenshot(path=tmp_path / "offline-390-whole.png", full_page=True)
    assert_stayed_offline(page)
    page.context.close()
