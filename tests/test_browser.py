"""The app in a real browser: real pen digits drawn with the mouse, stepping in the page, every tab.

Needs Playwright and Debian's Chromium (see README); without them these tests fail, they never skip.
"""

import re

import pytest

from rnnviz import plots
from rnnviz.recipes import APP_RECIPE, RECIPES
from tests.browser import (
    SHOWN_STEP_TEXT,
    STEP_FIGURE,
    chromium,
    clear_canvas,
    draw_strokes,
    metric,
    open_app,
    open_tab,
    pen_strokes,
    streamlit_server,
    wait_until_quiet,
    websocket_frames,
)
from ui.state import Key, Tab

# Indices into dev.jsonl: five labels, one- and two-stroke digits (the shipped LSTM reads them right).
DIGITS = (1, 5, 11, 16, 28)

# JS: where the row highlight (the step figure's first shape) is on the page; undefined while it is drawn.
ROW_TOP = f"document.querySelector('{STEP_FIGURE} .layer-above .shapelayer path')?.getBoundingClientRect().top"
SHOWN_STEP = f"() => ({{title: {SHOWN_STEP_TEXT}, row_top: {ROW_TOP}}})"


@pytest.fixture(scope="module")
def page():
    """One browser session on a freshly served app."""
    with streamlit_server() as url, chromium() as browser:
        yield open_app(browser, url)


def draw(page, record, seed) -> str:
    """Clear the canvas, draw the pen digit with the mouse; returns the prediction shown."""
    clear_canvas(page)
    assert metric(page, "Prediction") is None
    return draw_strokes(page, pen_strokes(record, seed))[-1]["prediction"]


def test_drawn_digits_are_read(page, pen_records):
    assert len({pen_records[i]["label"] for i in DIGITS}) == len(DIGITS)
    assert {len(pen_records[i]["strokes"]) for i in DIGITS} == {1, 2}
    for index in DIGITS:
        label = pen_records[index]["label"]
        assert draw(page, pen_records[index], index) == str(label), f"dev.jsonl[{index}], a {label}"
        assert metric(page, "Prediction") == str(label)


def test_stepping_happens_in_the_page(page, pen_records):
    draw(page, pen_records[DIGITS[0]], DIGITS[0])
    wait_until_quiet(page)  # the step figure comes after the prediction
    figure = page.locator(STEP_FIGURE)
    page.wait_for_function(f"() => {ROW_TOP} !== undefined && {SHOWN_STEP_TEXT} !== undefined")
    last = page.evaluate(SHOWN_STEP)
    assert last["title"] == "Step 28 of 28"
    frames = websocket_frames(page)

    figure.locator(".updatemenu-button", has_text="Play").click()
    wait_for_title(page, "^Step ([4-9]|1[0-9]) of 28")
    figure.locator(".updatemenu-button", has_text="Pause").click()
    playing = page.evaluate(SHOWN_STEP)
    assert playing["row_top"] < last["row_top"]  # the highlight went back up to an early row

    rail = figure.locator(".slider-rail-touch-rect").bounding_box()
    tick = figure.locator(".slider-tick-rect").first.bounding_box()
    x, y = tick["x"] + tick["width"] / 2, rail["y"] + rail["height"] / 2  # the slider at step 1
    on_top = page.evaluate("([x, y]) => document.elementFromPoint(x, y).getAttribute('class')", [x, y])
    assert on_top == "slider-rail-touch-rect", f"step 1 of the slider is covered by {on_top}"
    page.mouse.click(x, y)
    wait_for_title(page, "^Step 1 of 28")  # the slider's readout changes first, then the frame moves the shapes
    page.wait_for_function(f"top => {ROW_TOP} < top", arg=playing["row_top"], timeout=5_000)
    assert websocket_frames(page) == frames  # all of it without a word to or from the server


def wait_for_title(page, pattern: str) -> None:
    """Wait for the step figure's "Step t of 28" to match the regular expression."""
    page.wait_for_function(f"() => /{pattern}/.test({SHOWN_STEP_TEXT})", timeout=15_000)


def test_compare_shows_all_three_models(page, pen_records):
    index = DIGITS[1]
    draw(page, pen_records[index], index)
    open_tab(page, "Compare")
    shown = {cell: metric(page, cell) for cell in ("RNN", "GRU", "LSTM")}
    assert all(value in tuple("0123456789") for value in shown.values()), shown
    assert shown["LSTM"] == metric(page, "Prediction") == str(pen_records[index]["label"])
    open_tab(page, "Inspect")


def test_every_tab_opens_without_an_error(page, pen_records):
    draw(page, pen_records[DIGITS[2]], DIGITS[2])
    tabs = page.get_by_role("tab")
    names = [tabs.nth(i).inner_text().strip() for i in range(tabs.count())]
    assert {"Inspect", "Compare", "Train"} <= set(names)
    for name in names[1:] + names[:1]:  # the first tab is open already: end with it
        open_tab(page, name, timeout_ms=180_000)  # Insight computes test-set statistics on a cold cache
        assert page.locator('[data-testid="stException"]').count() == 0, f"a traceback in {name}"
        assert page.get_by_role("tabpanel").first.inner_text().strip(), f"{name} is empty"


# JS: the traces (name, points, opacity) of the plotly chart that draws the smoothed training loss, or null.
LOSS_TRACES = f"""() => {{
  for (const chart of document.querySelectorAll('[data-testid="stPlotlyChart"] .js-plotly-plot')) {{
    // _fullData: plotly's own copy, with numpy arrays (sent as typed-array specs) decoded and defaults filled in
    const traces = (chart._fullData || []).map(t => ({{name: t.name, points: t.y.length, opacity: t.opacity}}));
    if (traces.some(t => t.name === '{plots.SMOOTHED_LOSS}')) return traces;
  }}
  return null;
}}"""


@pytest.mark.browser
@pytest.mark.slow
def test_the_train_tab_trains_its_default_lstm_well(tmp_path, monkeypatch):
    """Start training on the default recipe (about a minute on an idle core; minutes on a busy machine)."""
    monkeypatch.setenv("RNNVIZ_CACHE", str(tmp_path / "cache"))
    with streamlit_server() as url, chromium() as browser:
        page = open_app(browser, url, timeout_ms=120_000)  # a first load on a busy machine can take a minute
        open_tab(page, Tab.TRAIN, timeout_ms=60_000)
        page.locator(f".st-key-{Key.START_TRAINING} button").click()
        done = page.get_by_text(re.compile(r"test accuracy \d+\.\d%"))
        done.wait_for(timeout=600_000)
        accuracy = float(re.search(r"test accuracy (\d+\.\d)%", done.inner_text()).group(1))
        traces = page.evaluate(LOSS_TRACES)
    assert RECIPES[APP_RECIPE].settings.cell_type == "lstm"
    assert accuracy >= 97.0
    by_name = {trace["name"]: trace for trace in traces}
    raw, smoothed = by_name[plots.RAW_LOSS], by_name[plots.SMOOTHED_LOSS]
    assert smoothed["points"] == raw["points"] > 100  # a point every few batches over all epochs
    assert raw["opacity"] < 1 == smoothed["opacity"]  # the raw losses faint behind the average
