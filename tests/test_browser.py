"""The app in a real browser: real pen digits drawn with the mouse, no stroke lost, stepping in the page, every tab.

Needs Playwright and Debian's Chromium (see README); without them these tests fail, they never skip.
Select or leave them out with the `browser` marker.
"""

import base64
import json
import re
from itertools import pairwise

import numpy as np
import pytest
from playwright.sync_api import TimeoutError as PlaywrightTimeout
from scipy.ndimage import gaussian_filter
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

from rnnviz import browser_data, load_model, measures, neighbours, preprocess_canvas, reading, trace
from rnnviz.config import CANVAS_SIDE, DEFAULT_BRUSH
from rnnviz.data import nondigits, pendigits
from rnnviz.figures import charts, palette
from rnnviz.intervention import Intervention
from rnnviz.neighbours import saved_index
from rnnviz.recipes import APP_RECIPE, RECIPES, Settings
from rnnviz.serving import store
from rnnviz.train import train
from tools.browser import (
    CANVAS,
    COMPARE_PANELS,
    COMPARE_VIEW,
    INSPECT_VIEW,
    LIVE_VIEW,
    PANEL_CANVAS,
    WEB_MODULES,
    canvas_pixels,
    chromium,
    clear_canvas,
    compare_panels,
    download,
    draw_stroke,
    draw_strokes,
    drawing_now,
    live_reading,
    open_app,
    open_tab,
    pen_strokes,
    see,
    seen_image,
    shown_step,
    streamlit_server,
    touch_stroke,
    wait_for_reading,
    wait_until_quiet,
    websocket_frames,
)
from ui.state import KEEP_GATE_CHOICES, UNSURE, Key, Tab

pytestmark = pytest.mark.browser

# Indices into dev.jsonl: five labels, one- and two-stroke digits (the shipped LSTM reads them right).
DIGITS = (1, 5, 11, 16, 28)

VEIL = float(palette.VEIL.rsplit(",", 1)[1].rstrip(")"))  # the white veil's opacity over the steps not read yet
ZOOM = 6, 2  # px of a heatmap cell in Inspect's view: a step's width, a unit's height


@pytest.fixture(scope="module")
def browser():
    """One Chromium for the module (Playwright's sync API allows one at a time)."""
    with chromium() as launched:
        yield launched


@pytest.fixture(scope="module")
def page(browser):
    """One browser session on a freshly served app."""
    with streamlit_server() as url:
        yield open_app(browser, url)


def draw(page, record, seed) -> str:
    """Clear the canvas, draw the pen digit with the mouse; returns the prediction shown."""
    clear_canvas(page)
    assert live_reading(page) == ""  # no ink, no answer
    return draw_strokes(page, pen_strokes(record, seed))[-1]["prediction"]


def test_drawn_digits_are_read(page, pen_records):
    assert len({pen_records[i]["label"] for i in DIGITS}) == len(DIGITS)
    assert {len(pen_records[i]["strokes"]) for i in DIGITS} == {1, 2}
    for index in DIGITS:
        label = pen_records[index]["label"]
        assert draw(page, pen_records[index], index) == str(label), f"dev.jsonl[{index}], a {label}"
        assert live_reading(page) == str(label)


def test_the_answer_follows_the_pen_while_it_is_down_with_no_message_to_the_server(page, pen_records):
    """With the pen still down, mid-stroke, the live view already shows PyTorch's answer on the drawing as it
    is then, from the browser's own 28 x 28 (within 2/255 of rnnviz's): on an empty canvas, and over a stroke
    just ended, the next one begun at once (while the pen is down the page reads only where there can be ink);
    nothing went to or from the server."""
    model = load_model(store.shipped_path("lstm"))
    record = next(r for r in pen_records if len(r["strokes"]) == 2 and r["label"] == 4)
    clear_canvas(page)
    frames = websocket_frames(page)
    for stroke in pen_strokes(record, 3):
        draw_stroke(page, stroke[: len(stroke) // 2 + 1], release=False)  # half the stroke, the pen held down
        page.wait_for_timeout(300)  # a few frames
        pixels, seen, shown = drawing_now(page), seen_image(page), live_reading(page)
        expected = preprocess_canvas(pixels)
        assert np.abs(seen - expected).max() <= 2 / 255  # the browser's image of the drawing as it is
        assert shown == str(trace(model, expected).prediction)
        page.mouse.up()  # and the next stroke begins at once
    assert websocket_frames(page) == frames  # the pen moved: not a word to or from the server
    answer = trace(model, preprocess_canvas(drawing_now(page))).prediction
    assert wait_for_reading(page)["prediction"] == str(answer)


def server_elements(page, act) -> list[tuple[list[int], str]]:
    """(delta path, what) of each element the server sent while act() ran: the kind of element, and a view's
    or component's element id (which ends with its key)."""
    received, cdp = [], page.context.new_cdp_session(page)
    cdp.send("Network.enable")
    cdp.on("Network.webSocketFrameReceived", lambda event: received.append(event["response"]))
    act()
    cdp.detach()
    elements = []
    for frame in received:
        message = ForwardMsg()
        message.ParseFromString(base64.b64decode(frame["payloadData"]))
        if message.WhichOneof("type") == "delta" and message.delta.WhichOneof("type") == "new_element":
            element = message.delta.new_element
            kind = element.WhichOneof("type")
            what = f"{element.bidi_component.component_name} {element.bidi_component.id}" if kind == "bidi_component" \
                else kind
            elements.append((list(message.metadata.delta_path), what))
    return elements


def test_a_pause_reruns_only_what_the_server_says_of_the_drawing_and_can_be_seen(page, pen_records):
    """At a pause the server gets the drawing and sends back only what depends on it and is in sight: the Inspect
    view (its link carries the drawing), not the title, the sidebar, the canvas or the live view, nor the
    downloads and the digits alike below the window. Scrolled to, those come at once, of the new drawing."""
    clear_canvas(page)
    strokes = pen_strokes(pen_records[DIGITS[0]], DIGITS[0])
    sent = server_elements(page, lambda: (draw_strokes(page, strokes[:1]), wait_until_quiet(page)))
    assert any(what.endswith(Key.INSPECT_VIEW) for _, what in sent), sent  # the new link
    assert not [what for _, what in sent if what.endswith(Key.ALIKE_VIEW) or what == "download_button"], sent
    assert not [what for _, what in sent if "canvas" in what or what.endswith(Key.LIVE_VIEW)], sent
    assert not [path for path, what in sent if path[0] != 0 or path[:2] == [0, 0] or what == "radio"], sent  # the
    # sidebar, the page's head, the input choice
    sent = server_elements(page, lambda: see(page, f".st-key-{Key.SERVER_VIEWS}"))  # asked for, answered, quiet
    assert any(what.endswith(Key.ALIKE_VIEW) for _, what in sent), sent
    assert [what for _, what in sent].count("download_button") == 3, sent  # the trace's CSV, JSON and replay


@pytest.mark.parametrize("width, height", [(1366, 768), (768, 1024)])
def test_the_first_screen_is_the_reading(browser, pen_records, width, height, tmp_path):
    """After drawing, with no scrolling: the canvas, the answer as it evolves, Play and the slider, and every
    view of the LSTM (its three gates, the candidate, c and h), each with its caption."""
    with streamlit_server() as url:
        page = open_app(browser, url, viewport={"width": width, "height": height})
        draw_strokes(page, pen_strokes(pen_records[DIGITS[1]], DIGITS[1]))
        live = page.locator(f"{LIVE_VIEW} .view")
        captions = live.locator(".panel figcaption").all_inner_texts()
        assert captions == [title for _, _, title, _ in browser_data.PANELS["lstm"]]
        shown = [page.locator(CANVAS), live.locator(".answer"), live.locator("button.play"),
                 live.locator("input.step"), *live.locator(".panel").all()]
        assert "Prediction" in live.locator(".answer").inner_text() and len(shown) == 10
        page.screenshot(path=tmp_path / f"first-screen-{width}.png")  # to look at (pytest keeps tmp_path)
        for element in shown:
            box = element.bounding_box()
            assert 0 <= box["y"] and box["y"] + box["height"] <= height and box["x"] + box["width"] <= width, box
        assert page.evaluate("() => document.querySelector('[data-testid=stMain]')?.scrollTop ?? 0") == 0
        page.context.close()


def replay_data(html: str) -> dict:
    """The view's data a replay file holds."""
    return json.loads(html.split("({data: ", 1)[1].rsplit(", parentElement: document.body});", 1)[0])


def replay_digit(html: str) -> np.ndarray:
    """The (28, 28) digit a replay file holds."""
    digit = re.search(r'new Float32Array\(bytes\("([^"]+)"\)', html)[1]
    return np.frombuffer(base64.b64decode(digit), "<f4").reshape(28, 28)


def quantity(own, name: str) -> np.ndarray:
    """(steps, units) values of "hidden", "cell_state" or a gate in a trace."""
    return {"hidden": own.hidden, "cell_state": own.cell_state}.get(name, own.gates.get(name))


def heatmap_colours(own, model, panel: dict, by: str = "contribution") -> np.ndarray:
    """The colours Inspect's view must paint a panel's heatmap with, from PyTorch's trace of the digit the
    browser read: (units in order, steps, 3)."""
    scale = browser_data.cell_state_range([own.cell_state])
    lo, hi = {"gate": (0, 1), "state": (-1, 1), "cell_state": (-scale, scale)}[panel["range"]]
    order = measures.unit_order(model, own, by)  # the units as the view shows them, top first
    values = quantity(own, panel["quantity"])[:, order].T  # (units, steps)
    scale = palette.GATE_SCALE if panel["range"] == "gate" else palette.STATE_SCALE
    return palette.lookup_table(scale)[np.clip(np.rint((values - lo) * (255 / (hi - lo))), 0, 255).astype(int)]


def assert_heatmap_shows(pixels: np.ndarray, expected: np.ndarray, step: int) -> None:
    """The steps read so far are the values' colours; the steps after them are veiled in white."""
    cells = pixels[1::ZOOM[1], 2::ZOOM[0], :3].astype(int)  # one pixel inside each cell, clear of the step's line
    np.testing.assert_allclose(cells[:, :step], expected[:, :step], atol=2)
    veiled = np.rint(expected[:, step:] * (1 - VEIL) + 255 * VEIL)
    np.testing.assert_allclose(cells[:, step:], veiled, atol=3)


def test_inspect_plays_in_the_page_and_draws_the_trace(page, pen_records, tmp_path):
    record = pen_records[DIGITS[0]]
    draw(page, record, DIGITS[0])
    wait_until_quiet(page)  # the view comes after the prediction
    view = page.locator(f"{INSPECT_VIEW} .view")
    view.locator("canvas").first.wait_for()
    assert shown_step(view) == 28
    data = replay_data(download(page, Key.INSPECT_REPLAY, tmp_path).read_text())  # what the page was sent
    model = load_model(store.shipped_path("lstm"))
    own = trace(model, seen_image(page))  # PyTorch's trace of the digit the browser read
    frames = websocket_frames(page)

    slider = view.locator("input.step")
    slider.focus()
    page.keyboard.press("Home")
    assert shown_step(view) == 1
    view.locator("button.play").click()
    page.wait_for_function("view => Number(view.dataset.step) >= 6", arg=view.element_handle(), timeout=10_000)
    view.locator("button.play").click()  # pause
    step = shown_step(view)
    assert 6 <= step < 28 and f"after row {step}." in view.locator(".update").inner_text()
    heatmaps = view.locator(".panel figure canvas")
    assert heatmaps.count() == len(data["panels"]) == 6
    for number, panel in enumerate(data["panels"]):
        assert_heatmap_shows(canvas_pixels(heatmaps.nth(number)), heatmap_colours(own, model, panel), step)
    digit = canvas_pixels(view.locator("figure canvas").first)[..., :3].astype(int)  # 6 px a pixel of the digit
    assert digit[step * 6 + 2:].max() < 120 and (digit[(step - 1) * 6, 2:-2, 0] > 200).all()  # darkened; the box
    assert websocket_frames(page) == frames  # all of it without a word to or from the server

    # Hovering a heatmap writes out that unit's update at that step, with the trace's numbers.
    hidden = heatmaps.nth(5)
    hidden.scroll_into_view_if_needed()
    box = hidden.bounding_box()
    row, at = 3, 10  # the 4th unit from the top, step 10
    page.mouse.move(box["x"] + (at - 0.5) / 28 * box["width"], box["y"] + (row + 0.5) / 100 * box["height"])
    tip = view.locator(".tip")
    tip.wait_for()
    unit = measures.unit_order(model, own, "contribution")[row]
    text = tip.inner_text().replace("−", "-")
    assert text.startswith(f"unit {unit}, step {at}: h = ")
    values = {panel["quantity"]: quantity(own, panel["quantity"])[:, unit] for panel in data["panels"]}
    f, c, i, g, o, h = (values[name] for name in ("forget", "cell_state", "input", "candidate", "output", "hidden"))
    numbers = [float(n) for n in re.findall(r"-?\d+\.\d\d", text.split("\n", 1)[1])]
    assert numbers == pytest.approx([f[at - 1], c[at - 2], i[at - 1], g[at - 1], c[at - 1], o[at - 1], c[at - 1],
                                     h[at - 1]], abs=0.0051)  # c = f·c + i·g = c, h = o·tanh(c) = h, 2 decimals
    assert live_reading(page) == str(own.prediction)


def test_the_views_code_is_served_as_files_not_sent_with_each_run(page, browser, pen_records):
    """The views' modules come from Streamlit's component files (their imports resolved there); what a run
    sends is their data, not their code."""
    fresh = open_app(browser, page.url)
    received = []
    fresh.on("websocket", lambda socket: socket.on("framereceived", lambda frame: received.append(frame)))
    fresh.reload()
    fresh.locator(CANVAS).wait_for()
    draw(fresh, pen_records[DIGITS[0]], DIGITS[0])
    wait_until_quiet(fresh)
    fresh.locator(f"{INSPECT_VIEW} .view canvas").first.wait_for()
    fetched = fresh.evaluate("performance.getEntriesByType('resource').map(entry => new URL(entry.name).pathname)")
    files = ("views.js", "inspect.js", "live.js", "recurrence.js", "preprocess.js", "draw.js", "views.css", "live.css")
    assert {f"{WEB_MODULES}{name}" for name in files} <= set(fetched)
    sent = b"".join(frame if isinstance(frame, bytes) else frame.encode() for frame in received)
    assert b"paletteColours" not in sent and b"buildInspect" not in sent and b"lstmStep" not in sent
    assert b"views.js" in sent  # the component's file, named
    fresh.context.close()


def test_the_answer_and_the_digits_alike_are_drawn_from_what_was_read(page, pen_records):
    """The image beside the prediction is the one the network read, and Inspect's training digits alike are the
    LSTM's nearest training digits to that image's final state; more strokes repaint both in place."""
    model, index = load_model(store.shipped_path("lstm")), saved_index(store.shipped_path("lstm"))
    alike = page.locator(f".st-key-{Key.ALIKE_VIEW} .view")
    kept = "view => [...view.querySelectorAll('canvas')].every(c => c.dataset.kept === 'yes')"
    draw(page, pen_records[DIGITS[2]], DIGITS[2])
    for more in (False, True):
        if more:  # strokes of another digit over it: the same views, repainted
            page.evaluate("view => view.querySelectorAll('canvas').forEach(c => { c.dataset.kept = 'yes'; })",
                          alike.element_handle())
            draw_strokes(page, pen_strokes(pen_records[DIGITS[3]], DIGITS[3]))
        wait_until_quiet(page)
        see(page, f".st-key-{Key.ALIKE_VIEW}")
        read = trace(model, seen_image(page))  # what the page read, read again here
        assert live_reading(page) == str(read.prediction)
        groups = alike.locator("section.group")
        for rank, candidate in enumerate(neighbours.alike(index, read.hidden[-1], read.probs[-1])):
            assert groups.nth(rank).get_attribute("data-digit") == str(candidate.digit)
            canvases = groups.nth(rank).locator("canvas")
            assert canvases.count() == neighbours.NEAREST
            for i in (0, neighbours.NEAREST - 1):
                assert np.array_equal(canvas_pixels(canvases.nth(i))[..., 0], np.rint(candidate.images[i] * 255))
    assert page.evaluate(kept, alike.element_handle())  # repainted, not made again


def test_the_order_and_the_unit_change_in_the_page(page, tmp_path):
    """Ordering the units another way, or clicking a unit to follow it, repaints the view in the page (no
    message to the server, no canvas made again), at the step it was at."""
    view = page.locator(f"{INSPECT_VIEW} .view")
    heatmaps = view.locator(".panel figure canvas")
    heatmaps.first.wait_for()
    view.locator("input.step").focus()
    page.keyboard.press("Home")
    for _ in range(11):
        page.keyboard.press("ArrowRight")
    assert shown_step(view) == 12
    data = replay_data(download(page, Key.INSPECT_REPLAY, tmp_path).read_text())
    model = load_model(store.shipped_path("lstm"))
    own = trace(model, seen_image(page))  # PyTorch's trace of the digit the browser read
    page.evaluate("view => view.querySelectorAll('canvas').forEach(canvas => { canvas.dataset.kept = 'yes'; })",
                  view.element_handle())
    frames = websocket_frames(page)
    view.get_by_role("button", name=measures.ORDERINGS["index"]).click()
    assert view.get_attribute("data-order") == "index" and shown_step(view) == 12
    for number, panel in enumerate(data["panels"]):
        assert_heatmap_shows(canvas_pixels(heatmaps.nth(number)), heatmap_colours(own, model, panel, "index"), 12)
    hidden = heatmaps.nth(len(data["panels"]) - 1)
    box = hidden.bounding_box()
    hidden.click(position={"x": box["width"] / 2, "y": (42 + 0.5) / 100 * box["height"]})  # unit 42: by number
    assert view.get_attribute("data-unit") == "42" and "Unit 42 at step 12" in view.locator(".update").inner_text()
    assert view.locator("select").input_value() == "42"
    assert page.evaluate("view => [...view.querySelectorAll('canvas')].every(c => c.dataset.kept === 'yes')",
                         view.element_handle())
    assert websocket_frames(page) == frames  # all of it without a word to or from the server
    view.get_by_role("button", name=measures.ORDERINGS["contribution"]).click()


def test_compare_shows_all_three_models(page, pen_records):
    index = DIGITS[1]
    draw(page, pen_records[index], index)
    open_tab(page, Tab.COMPARE)
    page.wait_for_function(f"() => ({COMPARE_PANELS})().length === 3", timeout=30_000)
    shown = {panel["model"]: panel["final"] for panel in compare_panels(page)}
    assert list(shown) == ["RNN", "GRU", "LSTM"]
    assert all(final[-1] in "0123456789" for final in shown.values()), shown
    assert shown["LSTM"] == f"final {live_reading(page)}" == f"final {pen_records[index]['label']}"
    open_tab(page, Tab.INSPECT)


def test_both_replays_play_offline_from_disk(page, browser, pen_records, tmp_path):
    """The replays downloaded from the page open from disk with the network off, play, and draw what the
    page drew: Inspect's heatmaps, and Compare's race with the what-if as it was set."""
    draw(page, pen_records[DIGITS[3]], DIGITS[3])
    wait_until_quiet(page)
    inspect_file = download(page, Key.INSPECT_REPLAY, tmp_path)
    open_tab(page, Tab.COMPARE)
    page.wait_for_function(f"() => ({COMPARE_PANELS})().length === 3", timeout=30_000)
    page.get_by_text(next(choice for choice, value in KEEP_GATE_CHOICES.items() if value == 0.0)).click()
    page.wait_for_function(f"() => ({COMPARE_PANELS})().some(p => p.final.includes('was'))", timeout=30_000)
    compare_file = download(page, Key.COMPARE_REPLAY, tmp_path)
    shown = compare_panels(page)
    page.get_by_text(next(choice for choice, value in KEEP_GATE_CHOICES.items() if value is None)).click()
    open_tab(page, Tab.INSPECT)

    context = browser.new_context(viewport={"width": 1200, "height": 900})
    context.set_offline(True)
    fetched = []
    context.on("request", lambda request: fetched.append(request.url))
    offline = context.new_page()
    for path in (inspect_file, compare_file):
        offline.goto(path.as_uri())
        view = offline.locator(".view")
        view.locator("canvas").first.wait_for()
        view.locator("input.step").focus()
        offline.keyboard.press("Home")
        view.locator("button.play").click()
        offline.wait_for_function("view => view.dataset.step === '28'", arg=view.element_handle(), timeout=15_000)
        offline.screenshot(path=tmp_path / f"{path.stem}-offline.png")
    data = replay_data(inspect_file.read_text())
    model = load_model(store.shipped_path("lstm"))
    own = trace(model, replay_digit(inspect_file.read_text()))  # PyTorch's trace of the digit it carries
    offline.goto(inspect_file.as_uri())
    heatmaps = offline.locator(".view .panel figure canvas")
    heatmaps.first.wait_for()
    for number, panel in enumerate(data["panels"]):
        assert_heatmap_shows(canvas_pixels(heatmaps.nth(number)), heatmap_colours(own, model, panel), 28)
    offline.goto(compare_file.as_uri())
    offline.locator(".view .panel").first.wait_for()
    replayed = [{"model": panel.get_attribute("data-model"), "final": panel.locator("header .final").inner_text()}
                for panel in offline.locator(".view .panel").all()]
    assert replayed == [{"model": p["model"], "final": p["final"]} for p in shown]  # the what-if as it was set
    assert "clamped to 0" in offline.locator(".view .note").inner_text()
    assert all(url.startswith("file://") for url in fetched), fetched  # nothing but the file itself
    context.close()


def test_every_tab_opens_without_an_error(page, pen_records):
    draw(page, pen_records[DIGITS[2]], DIGITS[2])
    tabs = page.get_by_role("tab")
    names = [tabs.nth(i).inner_text().strip() for i in range(tabs.count())]
    assert names == [str(tab) for tab in Tab]
    for name in names[1:] + names[:1]:  # the first tab is open already: end with it
        open_tab(page, name, timeout_ms=180_000)  # Insight computes test-set statistics on a cold cache
        assert page.locator('[data-testid="stException"]').count() == 0, f"a traceback in {name}"
        assert page.get_by_role("tabpanel").first.inner_text().strip(), f"{name} is empty"


# ---- no stroke is lost ----

def line(*corners, step: float = 10.0) -> np.ndarray:
    """A stroke through the corner points (canvas px), with a point every `step` px or so, as a mouse gives."""
    points = [np.linspace(a, b, max(2, int(np.hypot(*np.subtract(b, a)) // step))) for a, b in pairwise(corners)]
    return np.concatenate([points[0]] + [segment[1:] for segment in points[1:]])


EDGE, REACH = 12, 70  # px: a corner stroke starts this far from both edges (the brush is 18 px) and goes in
FAR = CANVAS_SIDE - EDGE
# From each corner of the canvas inwards; the top right is where the toolbar used to lie in wait.
CORNERS = {"top left": line((EDGE, EDGE), (EDGE + REACH, EDGE + REACH)),
           "top right": line((FAR, EDGE), (FAR - REACH, EDGE + REACH)),
           "bottom left": line((EDGE, FAR), (EDGE + REACH, FAR - REACH)),
           "bottom right": line((FAR, FAR), (FAR - REACH, FAR - REACH))}
BAR = line((50, 40), (50, 240))  # drawn, then cleared
SEVEN = line((70, 50), (210, 50), (110, 240))  # drawn right after Clear
BLUR = 1.5  # px of the 28 x 28 image: the browser's and the offline rendering differ by about a pixel
NEAR = 0.04  # blurred mean difference: these drawings come within 0.025; a SEVEN cut short by a late Clear, 0.042


def draw_at_once(page, stroke) -> np.ndarray | None:
    """Come from off the canvas and press at the stroke's start without resting there, as a quick hand does;
    returns the (28, 28) image the network then read."""
    page.mouse.move(1, 1)  # the top left of the page: off the canvas
    draw_stroke(page, stroke)
    try:
        wait_until_quiet(page, quiet_ms=500, timeout_ms=10_000)
    except PlaywrightTimeout:
        pytest.fail("the canvas sent nothing after the stroke: it was lost")
    page.wait_for_selector('[data-test-script-state="notRunning"]')  # a busy server can pause mid-run
    return seen_image(page)


def assert_read(seen, drawn: list, lost: dict) -> None:
    """The network read the `drawn` strokes: its image is nearer to theirs (rendered offline, as the page
    does) than to any `lost` version of them (a stroke missing or cut short)."""
    assert seen is not None, "the network read nothing"

    def distance(strokes):  # mean absolute difference per pixel, in [0, 1], blurred: a 1 px shift is no loss
        expected = preprocess_canvas(pendigits.render(strokes, DEFAULT_BRUSH))
        return float(np.abs(gaussian_filter(seen, BLUR) - gaussian_filter(expected, BLUR)).mean())

    mine = distance(drawn)
    assert mine < NEAR, f"the image read is far from the drawing ({mine:.3f})"
    for name, strokes in lost.items():
        if strokes:  # nothing at all is covered by `seen is not None`
            assert mine < distance(strokes), f"the image read looks like the drawing with {name}"


def test_strokes_started_at_once_in_every_corner_are_read(page, tmp_path):
    clear_canvas(page)
    drawn = {}
    for corner, stroke in CORNERS.items():
        seen = draw_at_once(page, stroke)
        assert_read(seen, [*drawn.values(), stroke], {f"the {corner} stroke missing": list(drawn.values())})
        drawn[corner] = stroke
    # A stroke cut short shows only beside others (the image is scaled to the ink): look again at the end.
    lost = {}
    for corner in CORNERS:
        others = [stroke for name, stroke in drawn.items() if name != corner]
        lost[f"the {corner} stroke missing"] = others
        lost[f"the {corner} stroke cut short"] = [*others, drawn[corner][len(drawn[corner]) // 2:]]
    assert_read(seen, list(drawn.values()), lost)
    page.screenshot(path=tmp_path / "corners.png")  # to look at: pytest keeps tmp_path (or use --basetemp)


@pytest.mark.parametrize("delay_ms", [0, 50, 100])
def test_a_stroke_begun_right_after_clear_is_kept_whole(page, delay_ms, tmp_path):
    clear_canvas(page)
    assert_read(draw_at_once(page, BAR), [BAR], {})
    clear_canvas(page, wait=False)
    page.wait_for_timeout(delay_ms)
    seen = draw_at_once(page, SEVEN)
    half = len(SEVEN) // 2
    assert_read(seen, [SEVEN], {"the bar kept": [BAR, SEVEN], "its start cut": [SEVEN[half:]],
                                "its end cut": [SEVEN[:half]]})
    page.screenshot(path=tmp_path / "after-clear.png")


def index_of_lstm():
    return saved_index(store.shipped_path("lstm"))


def first_drawing(candidates, wanted) -> dict:
    """The first candidate (a record) whose drawing, as pen_strokes places it, the shipped LSTM judges
    as `wanted(trace, verdict)` offline: the page must then say the same."""
    model, index = load_model(store.shipped_path("lstm")), index_of_lstm()
    for seed, record in enumerate(candidates):
        digit_trace = trace(model, preprocess_canvas(pendigits.render(pen_strokes(record, seed), DEFAULT_BRUSH)))
        if wanted(digit_trace, reading.judge(digit_trace.hidden[-1], digit_trace.probs[-1], index)):
            return {"record": record, "seed": seed, "prediction": digit_trace.prediction}
    raise AssertionError("no candidate drawing is judged as wanted")


def alert_text(page) -> str:
    return " ".join(page.locator('[data-testid="stAlert"]').all_inner_texts())


def test_a_flagged_one_is_read_and_a_scribble_is_called_unsure(page, pen_records):
    flagged = [pendigits.european_style(r) for r in pen_records if r["label"] == 1]
    one = first_drawing(flagged, lambda t, verdict: t.prediction == 1 and verdict.sure)
    clear_canvas(page)
    assert draw_strokes(page, pen_strokes(one["record"], one["seed"]))[-1]["prediction"] == "1"
    wait_until_quiet(page)
    assert UNSURE not in alert_text(page)
    assert live_reading(page) == "1"
    see(page, f".st-key-{Key.ALIKE_VIEW}")
    assert page.get_by_text("its nearest training 1s").count() == 1  # Inspect: the 1s it finds alike

    rng = np.random.default_rng(0)
    scribbles = [{"strokes": nondigits.scribble(rng)} for _ in range(40)]
    far = index_of_lstm().distance_ceiling * 1.15  # beyond it: the browser's brush is not quite PIL's
    scribble = first_drawing(scribbles, lambda t, verdict: verdict.distance > far)
    clear_canvas(page)
    draw_strokes(page, pen_strokes(scribble["record"], scribble["seed"]))
    wait_until_quiet(page)
    assert UNSURE in alert_text(page) and "unlike the training" in alert_text(page)


# ---- Compare: racing models, and on a phone ----

QUIET = "() => performance.now() - window.rnnviz.received.at(-1) > 1500"  # nothing from the server for 1.5 s
COMPARED_DIGIT = 1  # dev.jsonl[1], a 2: the shipped LSTM reads it right, and reads a 1 with its forget gate at 0


@pytest.fixture(scope="module")
def with_my_model(browser, tmp_path_factory):
    """A session on an app whose user folder holds a model just trained (a tiny LSTM, 1 epoch on 4,000 digits)."""
    folder = tmp_path_factory.mktemp("user-models")
    train(Settings(cell_type="lstm", hidden=24, epochs=1, batch_size=64, lr=1e-2, limit=4000, val_size=1000, augment=0),
          out=folder / "tiny-lstm.safetensors")
    with streamlit_server(models=folder) as url:
        page = open_app(browser, url)
        yield page, load_model(folder / "tiny-lstm.safetensors")
        page.context.close()


def test_compare_races_shipped_and_trained_models_in_the_page(with_my_model, pen_records):
    page, tiny = with_my_model
    record = pen_records[COMPARED_DIGIT]
    draw_strokes(page, pen_strokes(record, COMPARED_DIGIT))
    open_tab(page, Tab.COMPARE)
    page.locator(".st-key-compared input").click()  # add the trained model to the three shipped ones
    page.keyboard.type("tiny-lstm")
    page.keyboard.press("Enter")
    page.keyboard.press("Escape")
    page.wait_for_function(f"() => ({COMPARE_PANELS})().length === 4", timeout=120_000)  # fits its memory first
    panels = compare_panels(page)
    assert [p["model"] for p in panels] == ["RNN", "GRU", "LSTM", "tiny-lstm (LSTM)"]
    assert all(p["step"] == 28 for p in panels)
    lstm = next(p for p in panels if p["model"] == "LSTM")
    assert lstm["final"] == f"final {record['label']}"

    page.wait_for_function(f"""() => {{  // every panel decodes what it remembers: the new model is measured
      const host = document.querySelector('{COMPARE_VIEW} [data-testid="stBidiComponentIsolated"]');
      const root = host && (host.shadowRoot || host);
      const panels = root ? [...root.querySelectorAll('.panel')] : [];
      return panels.length === 4 && panels.every(p => [...p.querySelectorAll('figcaption')]
        .some(c => c.textContent === 'what it still remembers'));
    }}""", timeout=600_000)  # a worker measures the new model first: minutes on a busy machine
    page.wait_for_function(QUIET, timeout=90_000)
    frames = websocket_frames(page)  # the shared slider: every panel moves to row 9, in the page
    slider = page.locator(f"{COMPARE_VIEW} input.step")
    slider.focus()
    page.keyboard.press("Home")
    for _ in range(8):
        page.keyboard.press("ArrowRight")
    panels = compare_panels(page)
    assert [p["step"] for p in panels] == [9] * 4
    assert all(p["reads"].endswith("at row 9") for p in panels), panels
    assert websocket_frames(page) == frames

    for panel in panels:  # what each still remembers: rows 1-9 decoded (varied), rows 10-28 the flat grey
        pixels = np.array(page.evaluate(PANEL_CANVAS, [panel["model"], 1])).reshape(28, 28, 4)[..., 0]
        assert pixels[:9].std() > 5 and np.all(pixels[9:] == 60), panel["model"]

    hidden_before = page.evaluate(PANEL_CANVAS, ["LSTM", 2])
    forget = next(choice for choice, value in KEEP_GATE_CHOICES.items() if value == 0.0)
    page.get_by_text(forget).click()
    page.wait_for_function(f"() => ({COMPARE_PANELS})().some(p => p.final.includes('was'))", timeout=90_000)
    image = preprocess_canvas(pendigits.render(pen_strokes(record, COMPARED_DIGIT), DEFAULT_BRUSH))
    clamped = trace(tiny, image, Intervention(keep_gate=0.0)).prediction  # the tiny LSTM is clamped too
    lstm = trace(load_model(store.shipped_path("lstm")), image, Intervention(keep_gate=0.0)).prediction
    assert lstm != record["label"]  # with no memory kept, the LSTM misreads this digit
    shown = {p["model"]: p for p in compare_panels(page)}
    assert shown["LSTM"]["final"] == f"final {lstm} (was {record['label']})"
    assert shown["tiny-lstm (LSTM)"]["final"].startswith(f"final {clamped}")
    assert shown["RNN"]["final"] == panels[0]["final"]  # no forget gate: the RNN is as it was
    assert shown["LSTM"]["step"] == 9  # the view kept its step
    assert page.evaluate(PANEL_CANVAS, ["LSTM", 2]) != hidden_before  # its states changed


@pytest.mark.parametrize("width, height", [(390, 844), (768, 1024)])
def test_phone_draws_by_touch_and_plays_both_views(width, height, browser, pen_records, tmp_path):
    """A phone and a tablet: draw with a finger on the first screen and see the prediction there too, play
    Inspect's view (its panels reflowed to the screen: one column on a phone, its slider wide) and Compare's
    view; the page fits the screen."""
    record = pen_records[COMPARED_DIGIT]
    with streamlit_server() as url:
        page = open_app(browser, url, 60_000, viewport={"width": width, "height": height}, has_touch=True,
                        is_mobile=True, device_scale_factor=2)
        canvas = page.locator(CANVAS).bounding_box()
        assert canvas["y"] + canvas["height"] <= height, canvas  # all of the canvas on the first screen
        for stroke in pen_strokes(record, COMPARED_DIGIT):
            touch_stroke(page, stroke)
            page.wait_for_timeout(500)
        page.wait_for_function(f"() => window.rnnviz.reading() === '{record['label']}'", timeout=30_000)
        page.wait_for_function(QUIET, timeout=30_000)  # and the server's part, after the pause
        said = page.locator(f"{LIVE_VIEW} .answer").bounding_box()
        assert page.evaluate("() => window.scrollY") == 0 and said["y"] + said["height"] <= height, said
        page.screenshot(path=str(tmp_path / f"drawn-{width}.png"))

        view = page.locator(f"{INSPECT_VIEW} .view")
        view.scroll_into_view_if_needed()
        view.locator("input.step").focus()
        page.keyboard.press("Home")
        view.locator("button.play").tap()
        page.wait_for_function("view => Number(view.dataset.step) >= 4", arg=view.element_handle(), timeout=15_000)
        page.screenshot(path=str(tmp_path / f"inspect-{width}.png"))
        widest = page.evaluate("() => document.documentElement.scrollWidth")
        assert widest <= width, f"the page is {widest} px wide on a {width} px screen"
        assert view.locator("input.step").bounding_box()["width"] > 0.4 * width  # a slider, not a dot
        boxes = [view.locator(".grid > *").nth(i).bounding_box() for i in range(view.locator(".grid > *").count())]
        assert len(boxes) == 10 and all(0 <= box["x"] and box["x"] + box["width"] <= width for box in boxes), boxes
        columns = len({round(box["x"]) for box in boxes})
        assert columns == (1 if width < 600 else 2), boxes  # a phone: one panel a row; a tablet: two

        page.get_by_role("tab", name=Tab.COMPARE, exact=True).tap()
        page.wait_for_function(f"() => ({COMPARE_PANELS})().length === 3", timeout=60_000)
        page.locator(f"{COMPARE_VIEW} button.play").tap()
        page.wait_for_function(f"() => ({COMPARE_PANELS})().every(p => p.step > 3 && p.step < 28)", timeout=10_000)
        boxes = [page.locator(f"{COMPARE_VIEW} .panel").nth(i).bounding_box() for i in range(3)]
        assert all(box["x"] >= 0 and box["x"] + box["width"] <= width for box in boxes), boxes
        if width < 600:
            assert boxes[0]["y"] < boxes[1]["y"] < boxes[2]["y"]  # stacked, one above the other
        page.screenshot(path=str(tmp_path / f"compare-{width}.png"))
        assert page.evaluate("() => document.documentElement.scrollWidth") <= width
        page.context.close()


# JS: the traces (name, points, opacity) of the plotly chart that draws the smoothed training loss, or null.
LOSS_TRACES = f"""() => {{
  for (const chart of document.querySelectorAll('[data-testid="stPlotlyChart"] .js-plotly-plot')) {{
    // _fullData: plotly's own copy, with numpy arrays (sent as typed-array specs) decoded and defaults filled in
    const traces = (chart._fullData || []).map(t => ({{name: t.name, points: t.y.length, opacity: t.opacity}}));
    if (traces.some(t => t.name === '{charts.SMOOTHED_LOSS}')) return traces;
  }}
  return null;
}}"""


@pytest.mark.slow
def test_the_train_tab_trains_its_default_lstm_well(browser, tmp_path, monkeypatch):
    """Start training on the default recipe (about a minute on an idle core; minutes on a busy machine)."""
    monkeypatch.setenv("RNNVIZ_CACHE", str(tmp_path / "cache"))
    with streamlit_server() as url:
        page = open_app(browser, url, timeout_ms=120_000)  # a first load on a busy machine can take a minute
        open_tab(page, Tab.TRAIN, timeout_ms=60_000)
        page.locator(f".st-key-{Key.START_TRAINING} button").click()
        done = page.get_by_text(re.compile(r"test accuracy \d+\.\d%"))
        done.wait_for(timeout=600_000)
        accuracy = float(re.search(r"test accuracy (\d+\.\d)%", done.inner_text()).group(1))
        traces = page.evaluate(LOSS_TRACES)
        page.context.close()
    assert RECIPES[APP_RECIPE].settings.cell_type == "lstm"
    assert accuracy >= 97.0
    by_name = {trace["name"]: trace for trace in traces}
    raw, smoothed = by_name[charts.RAW_LOSS], by_name[charts.SMOOTHED_LOSS]
    assert smoothed["points"] == raw["points"] > 100  # a point every few batches over all epochs
    assert raw["opacity"] < 1 == smoothed["opacity"]  # the raw losses faint behind the average
