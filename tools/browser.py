"""Drive the real app in Debian's Chromium: serve it, open pages, draw with the mouse, read the result.

Shared by tests/test_browser.py and the bench/ scripts. The page records (in `window.rnnviz`)
every mouse-up and every change of Streamlit's script state, with `performance.now()` times, so
"mouse-up to prediction shown" is measured inside the page, free of Playwright's own delays; it
also counts websocket frames, to tell client-side work from server round trips.
"""

import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from rnnviz import load_model, preprocess_canvas, trace
from rnnviz.config import CANVAS_SIDE, DEFAULT_BRUSH
from rnnviz.data import pendigits
from rnnviz.preprocess import decode_drawing
from rnnviz.serving import store
from ui.state import Key

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
CANVAS = f'.st-key-{Key.CANVAS} [data-testid="stBidiComponentIsolated"] canvas.upper-canvas'
WEB_MODULES = "/_stcore/bidi-components/rnnviz.views/"  # the browser modules, as the page's views import them
RESET = f'.st-key-{Key.CANVAS} [data-testid="stBidiComponentIsolated"] button[title="Reset canvas & history"]'  # bin

RECORDER = """
const rnnviz = window.rnnviz = {mouseups: [], sent: [], received: [], predictions: [], shown: []};
const label = new TextEncoder().encode('Prediction');
function carriesPrediction(data) {  // a (small) server message holding the Prediction metric
  const bytes = data instanceof ArrayBuffer && data.byteLength < 16384 ? new Uint8Array(data) : [];
  outer: for (let i = 0; i + label.length <= bytes.length; i++) {
    for (let j = 0; j < label.length; j++) if (bytes[i + j] !== label[j]) continue outer;
    return true;
  }
  return false;
}
window.WebSocket = class extends WebSocket {  // the same socket, noting when frames go and come
  constructor(...args) {
    super(...args);
    this.addEventListener('message', event => {
      const t = performance.now();
      rnnviz.received.push(t);
      if (carriesPrediction(event.data)) rnnviz.predictions.push(t);
    });
  }
  send(data) {
    rnnviz.sent.push(performance.now());
    super.send(data);
  }
};
addEventListener('mouseup', () => rnnviz.mouseups.push(performance.now()), true);
rnnviz.metric = label => {  // the st.metric with this label: {value, fresh (sent by the current run)}, or null
  for (const m of document.querySelectorAll('[data-testid="stMetric"]')) {
    if (m.querySelector('[data-testid="stMetricLabel"]')?.innerText.trim() === label)
      return {value: m.querySelector('[data-testid="stMetricValue"]').innerText.trim(),
              fresh: m.closest('[data-stale]')?.getAttribute('data-stale') !== 'true'};
  }
  return null;
};
rnnviz.readings = [];  // each change of the live view's answer: {t, value}
rnnviz.reading = () => document.querySelector('.st-key-LIVE_KEY [data-testid="stBidiComponentIsolated"]')
  ?.shadowRoot?.querySelector('[data-reading]')?.dataset.reading ?? null;
let watched = null;
const readingChanged = () => rnnviz.readings.push({t: performance.now(), value: rnnviz.reading()});
let last = null;
new MutationObserver(() => {  // each time the page draws a new or re-sent prediction
  const root = document.querySelector('.st-key-LIVE_KEY [data-testid="stBidiComponentIsolated"]')?.shadowRoot;
  if (root && root !== watched) {  // the live view's answer, from its mount on
    watched = root;
    new MutationObserver(readingChanged).observe(root, {subtree: true, attributes: true,
                                                        attributeFilter: ['data-reading']});
  }
  const now = rnnviz.metric('Prediction');
  if (now?.fresh && (!last?.fresh || now.value !== last.value)) rnnviz.shown.push({t: performance.now(), ...now});
  last = now;
}).observe(document, {subtree: true, childList: true, characterData: true, attributes: true,
                      attributeFilter: ['data-stale']});
""".replace("LIVE_KEY", Key.LIVE_VIEW)

# After the last mouse-up, the first message the page sent (the drawing) and the first Prediction
# the server sent back: the prediction on the page, and when it was drawn (ms after the mouse-up).
# A re-sent prediction that did not change may draw nothing: then its arrival time counts.
PREDICTION_AFTER_MOUSE_UP = """() => {
  const {mouseups, sent, predictions, shown} = window.rnnviz;
  const up = mouseups.at(-1);
  const send = sent.find(t => t > up);
  const arrived = send && predictions.find(t => t > send);
  const metric = window.rnnviz.metric('Prediction');
  if (!arrived || !metric?.fresh || performance.now() - arrived < 100) return undefined;  // let the page draw it
  const drawn = shown.find(s => s.t > send);
  return {prediction: metric.value, ms: (drawn?.t ?? arrived) - up, send_ms: send - up};
}"""
# After the last mouse-up: the live view's pause (the drawing sent, the server's answer, 300 ms quiet), then
# the live view's answer and when it last changed.
READING_AFTER_PAUSE = """() => {
  const {mouseups, sent, received, readings} = window.rnnviz;
  const up = mouseups.at(-1), send = sent.find(t => t > up);
  if (!send || !(received.at(-1) > send) || performance.now() - received.at(-1) < 300) return undefined;
  const now = window.rnnviz.reading(), before = readings.filter(r => r.t < send);
  let last = before.length - 1;  // the answer's last change: the first of the last run of equal values
  while (last > 0 && before[last - 1].value === before[last].value) last--;
  return {prediction: now || null, ms: last >= 0 ? before[last].t - up : null, send_ms: send - up};
}"""
# The page has sent `messages` since the last mouse-up, the server answered and then sent nothing for `ms`.
QUIET_AFTER_MOUSE_UP = """([messages, ms]) => {
  const {mouseups, sent, received} = window.rnnviz;
  const since = sent.filter(t => t > mouseups.at(-1));
  return since.length >= messages && received.at(-1) > since.at(-1) && performance.now() - received.at(-1) > ms;
}"""
# Every message the page sent was answered, and nothing came or went for `ms`, nor since `since`.
SETTLED = """([since, ms]) => {
  const {sent, received} = window.rnnviz, last = Math.max(since, sent.at(-1) ?? 0, received.at(-1) ?? 0);
  return !(sent.at(-1) > (received.at(-1) ?? 0)) && performance.now() - last > ms;
}"""
# The tab `name` is open and a finished run has filled its panel (tabs only render while open).
TAB_SHOWN = """name => {
  const tab = [...document.querySelectorAll('[role="tab"][aria-selected="true"]')]
    .find(t => t.innerText.trim() === name);
  const panel = tab && document.getElementById(tab.getAttribute('aria-controls'));
  const state = document.querySelector('[data-test-script-state]')?.getAttribute('data-test-script-state');
  return state === 'notRunning' && Boolean(panel?.innerText.trim()) && !panel.querySelector('[data-stale="true"]');
}"""

class BrowserMissing(RuntimeError):
    """Playwright or Debian's Chromium is not installed."""


def free_port() -> int:
    """A loopback port no process listens on now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@dataclass(frozen=True)
class Served:
    """A Streamlit server started by `serve`: its URL, process id and log file."""
    url: str
    pid: int
    log: Path


@contextmanager
def serve(script: Path | str = "app.py", cwd: Path = ROOT, models: Path | None = None, timeout: float = 90):
    """`streamlit run script` from `cwd` on a free loopback port; yields the Served server. User models go to
    `models`, or a fresh temp folder."""
    port = free_port()
    with tempfile.TemporaryDirectory(prefix="rnnviz-serve-") as tmp, open(Path(tmp) / "server.log", "w+") as log:
        env = {**os.environ, "RNNVIZ_MODELS": str(models or Path(tmp) / "models")}
        env.setdefault("RNNVIZ_DATA", str(ROOT.parent / "shared" / "mnist"))
        server = subprocess.Popen(
            [sys.executable, "-m", "streamlit", "run", str(script), "--server.headless", "true",
             "--server.address", "127.0.0.1", "--server.port", str(port), "--browser.gatherUsageStats", "false",
             "--server.fileWatcherType", "none"],
            cwd=cwd, env=env, stdout=log, stderr=subprocess.STDOUT,
        )
        url = f"http://127.0.0.1:{port}"
        try:
            _wait_healthy(url, server, log, timeout)
            yield Served(url, server.pid, Path(log.name))
        finally:
            server.terminate()
            try:
                server.wait(10)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait()


@contextmanager
def streamlit_server(timeout: float = 90, models: Path | None = None):
    """Serve this checkout's app.py on a free loopback port; yields its URL."""
    with serve(models=models, timeout=timeout) as served:
        yield served.url


def _wait_healthy(url: str, server: subprocess.Popen, log, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            log.seek(0)
            raise RuntimeError(f"streamlit exited with code {server.returncode}:\n{log.read()[-3000:]}")
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"streamlit did not answer {url}/_stcore/health within {timeout:.0f} s")


@contextmanager
def chromium():
    """A headless Debian Chromium driven by Playwright (never a downloaded browser)."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError as error:
        raise BrowserMissing("the browser tests need Playwright: pip install playwright "
                             "(the Python package only; never run `playwright install`)") from error
    if not os.access(CHROMIUM, os.X_OK):
        raise BrowserMissing(f"the browser tests need Debian's Chromium at {CHROMIUM}: apt-get install chromium")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            yield browser
        finally:
            browser.close()


def open_app(browser, url: str, timeout_ms: float = 30_000, ready: str | None = CANVAS, **context):
    """A new session (its own browser context: 1400 x 1000 unless `context` says otherwise) with the page
    loaded, `ready` shown (by default the canvas, ready to draw on; None: nothing in particular) and its
    script run."""
    page = browser.new_context(**{"viewport": {"width": 1400, "height": 1000}, **context}).new_page()
    page.add_init_script(RECORDER)
    page.goto(url)
    if ready:
        page.locator(ready).wait_for(state="visible", timeout=timeout_ms)
    page.wait_for_selector('[data-test-script-state="notRunning"]', timeout=timeout_ms)
    return page


def websocket_frames(page) -> dict:
    """How many websocket frames the page has sent to and received from the server so far."""
    return page.evaluate("({sent: window.rnnviz.sent.length, received: window.rnnviz.received.length})")


def pen_strokes(record: dict, seed: int, height: float = 0.7) -> list[np.ndarray]:
    """A pen digit placed anywhere on the app's canvas, as a user would draw it (canvas pixel coordinates)."""
    return pendigits.place(record["strokes"], height, DEFAULT_BRUSH, np.random.default_rng(seed), CANVAS_SIDE)


def draw_stroke(page, stroke, release: bool = True, steps: int = 4) -> None:
    """One stroke (points in canvas pixel coordinates) with the mouse: move, press, drag (`steps` mouse moves from
    point to point), release (or, with release=False, still held: the caller lets go). The canvas is scrolled
    into sight first, as a person would."""
    page.locator(CANVAS).scroll_into_view_if_needed()
    box = page.locator(CANVAS).bounding_box()
    (x, y), *rest = stroke
    page.mouse.move(box["x"] + x, box["y"] + y)
    page.mouse.down()
    for x, y in rest:
        page.mouse.move(box["x"] + x, box["y"] + y, steps=steps)
    if release:
        page.mouse.up()


def touch_stroke(page, stroke) -> None:
    """One stroke with a finger (touch events through the DevTools protocol), as on a phone or tablet."""
    page.locator(CANVAS).scroll_into_view_if_needed()
    box = page.locator(CANVAS).bounding_box()
    cdp = page.context.new_cdp_session(page)
    points = [{"x": box["x"] + x, "y": box["y"] + y} for x, y in stroke]
    cdp.send("Input.dispatchTouchEvent", {"type": "touchStart", "touchPoints": [points[0]]})
    for point in points[1:]:
        cdp.send("Input.dispatchTouchEvent", {"type": "touchMove", "touchPoints": [point]})
    cdp.send("Input.dispatchTouchEvent", {"type": "touchEnd", "touchPoints": []})
    cdp.detach()


def draw_strokes(page, strokes) -> list[dict]:
    """Draw strokes with the mouse, waiting after each one for the pause's round trip (the live view sends
    the drawing, the server answers), as a person who looks at the answer between strokes would.

    Returns wait_for_reading's answer for each stroke; the last one holds the digit's prediction.
    """
    answers = []
    for stroke in strokes:
        draw_stroke(page, stroke)
        answers.append(wait_for_reading(page))
    return answers


def clear_canvas(page, wait: bool = True) -> None:
    """Press Clear (the canvas toolbar's bin): the canvas empties at once and sends itself; by default,
    wait for the server's answer."""
    page.locator(RESET).click()
    if wait:
        wait_until_quiet(page)


def seen_image(page) -> np.ndarray | None:
    """The (28, 28) image in [0, 1] that the page's network reads now (rnnviz/web/reading.js), None if none."""
    image = page.evaluate(f"async () => Array.from((await import('{WEB_MODULES}reading.js')).digitNow().image ?? [])")
    return np.array(image, dtype=np.float32).reshape(28, 28) if image else None


def metric(page, label: str) -> str | None:
    """The value shown by the st.metric labelled `label` (None if there is none)."""
    return page.evaluate("label => window.rnnviz.metric(label)?.value ?? null", label)


def open_tab(page, name: str, timeout_ms: float = 30_000) -> None:
    """Click a tab and wait for its content. (A tab opens on mouse-down, so its run can start before the
    mouse-up, and a quick run may show no script-state change at all.)"""
    page.get_by_role("tab", name=name, exact=True).click()
    page.wait_for_function(TAB_SHOWN, arg=name, timeout=timeout_ms)


def wait_for_reading(page, timeout_ms: float = 30_000) -> dict:
    """Wait, after the last mouse-up, for the live view's pause: the drawing sent, the server's answer and
    then quiet. Returns {"prediction": the live view's answer (drawn in the page as the pen moved; None if
    none), "ms": the last change of that answer, ms after the mouse-up (negative: while the pen was down),
    "send_ms": mouse-up to the drawing sent}."""
    return page.wait_for_function(READING_AFTER_PAUSE, timeout=timeout_ms).json_value()


def wait_for_prediction(page, timeout_ms: float = 30_000) -> dict:
    """Wait for the prediction that the drawing sent after the last mouse-up brings back.

    Returns {"prediction": the value on the page, "ms": mouse-up to the prediction drawn,
    "send_ms": mouse-up to the canvas sending the drawing}.
    """
    return page.wait_for_function(PREDICTION_AFTER_MOUSE_UP, timeout=timeout_ms).json_value()


def wait_until_quiet(page, messages: int = 1, quiet_ms: float = 1000, timeout_ms: float = 30_000) -> None:
    """Wait until the page has sent `messages` since the last mouse-up, the server has answered,
    and then nothing has come for `quiet_ms`."""
    page.wait_for_function(QUIET_AFTER_MOUSE_UP, arg=[messages, quiet_ms], timeout=timeout_ms)


def readable_digits(records: list[dict], count: int) -> list[tuple[int, dict]]:
    """The first `count` pen digits (index, record) that the shipped LSTM reads right offline, drawn
    as pen_strokes(record, seed=index) places them: the page must then show the same answer."""
    model = load_model(store.shipped_path("lstm"))
    chosen = []
    for index, record in enumerate(records):
        canvas = pendigits.render(pen_strokes(record, index), DEFAULT_BRUSH)
        if trace(model, preprocess_canvas(canvas)).prediction == record["label"]:
            chosen.append((index, record))
            if len(chosen) == count:
                break
    return chosen


# The views drawn in the browser live in open shadow roots (Playwright's locators pierce them); each has a
# root element `.view` holding the step it shows in data-step, a `button.play` and an `input.step` slider.
INSPECT_VIEW = f".st-key-{Key.INSPECT_VIEW}"
COMPARE_VIEW = f".st-key-{Key.COMPARE_VIEW}"
# JS: every panel of Compare's view as {model, step, reads, final}, or [] before it is drawn.
COMPARE_PANELS = f"""() => {{
  const host = document.querySelector('{COMPARE_VIEW} [data-testid="stBidiComponentIsolated"]');
  const root = host && (host.shadowRoot || host).querySelector('.view');
  return root ? [...root.querySelectorAll('.panel')].map(p => ({{
    model: p.dataset.model, step: Number(p.dataset.step), reads: p.querySelector('.reads').textContent,
    final: p.querySelector('.final').textContent}})) : [];
}}"""
# JS: the pixels of canvas number `arg[1]` of the panel of model `arg[0]`, as a list of RGBA bytes.
PANEL_CANVAS = f"""([model, index]) => {{
  const host = document.querySelector('{COMPARE_VIEW} [data-testid="stBidiComponentIsolated"]');
  const panel = [...(host.shadowRoot || host).querySelectorAll('.panel')].find(p => p.dataset.model === model);
  const canvas = panel.querySelectorAll('canvas')[index];
  return Array.from(canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data);
}}"""


def compare_panels(page) -> list[dict]:
    return page.evaluate(COMPARE_PANELS)


def shown_step(view) -> int:
    """The step a view (the locator of its `.view`) shows."""
    return int(view.get_attribute("data-step"))


def canvas_pixels(canvas) -> np.ndarray:
    """The pixels of a canvas (a locator) as drawn: (height, width, 4) RGBA bytes."""
    height, width, data = canvas.evaluate("c => [c.height, c.width, Array.from(c.getContext('2d')"
                                          ".getImageData(0, 0, c.width, c.height).data)]")
    return np.array(data, dtype=np.uint8).reshape(height, width, 4)


def see(page, selector: str, quiet_ms: float = 700) -> None:
    """Scroll the element `selector` into sight, as a person would, and wait until the page has settled: the
    tab's views of the drawing (Key.SERVER_VIEWS) are asked for when they come into sight, if a drawing was sent
    while they were out of it (rnnviz/web/sight.js)."""
    since = page.evaluate("performance.now()")
    page.locator(selector).first.scroll_into_view_if_needed()
    page.wait_for_function(SETTLED, arg=[since, quiet_ms], timeout=30_000)


def download(page, key: str, folder: Path) -> Path:
    """Scroll to the download button `key`, click it and keep the file in `folder`; its path."""
    button = f".st-key-{key} button"  # (its help is a second button)
    see(page, button)
    with page.expect_download() as started:
        page.locator(button).first.click()
    path = folder / started.value.suggested_filename
    started.value.save_as(path)
    return path


# The live view beside the canvas (rnnviz/web/live.js), in an open shadow root: its root `.view` (data-step, a
# `button.play`, an `input.step` slider) and the answer, the element whose data-reading is the predicted digit
# ('' before ink, or while the drawing cannot be read), next to the text "Prediction".
LIVE_VIEW = f".st-key-{Key.LIVE_VIEW}"
# JS: the live view's shadow root, or null before it is mounted.
LIVE_ROOT = f"""() =>
  document.querySelector('{LIVE_VIEW} [data-testid="stBidiComponentIsolated"]')?.shadowRoot ?? null"""
# JS: the live view's answer now: the digit, '' before ink, or null when the page has no live view (yet).
LIVE_READING = f"""() => ({LIVE_ROOT})()?.querySelector('[data-reading]')?.dataset.reading ?? null"""


def live_reading(page) -> str | None:
    """The live view's answer now: the digit it shows, '' before ink, None when the page has no live view."""
    return page.evaluate(LIVE_READING)


def drawing_now(page) -> np.ndarray:
    """The canvas's drawing now, as the live view sends it at a pause (rnnviz/web/pen.js drawingNow), decoded
    by the server's own decoder: (H, W, 4) RGBA."""
    url = page.evaluate(f"async () => (await import('{WEB_MODULES}pen.js')).drawingNow('{Key.CANVAS}')")
    return decode_drawing(url)
