"""What a cheap tablet makes of the page as the pen moves: whether the answer shows while the pen is still
down, pointer move to the live view updated, main-thread time per stroke, the first prediction, page load,
the server's CPU per stroke and the live view's Play, at full CPU speed and with the CPU slowed 4x (DevTools),
against a bare Streamlit page (a title, the same canvas, a metric: bench/bare_page.py) measured side by side
in the same run.

    RNNVIZ_DATA=../shared/mnist python -m bench.slow_device [--rates 1 4] [--loads 3] [--firsts 2]
        [--strokes 6] [--plays 2] [--play-views live-view inspect-view [compare-view]] [--pen paced|awaited]
        [--before /tmp/old-main] [--floor]

The two pages answer differently. The app reads the drawing in the browser as the pen moves
(rnnviz/web/pen.js: the canvas read at most once per animation frame, the live view redrawn with the answer in
the element with data-reading, inside `.st-key-live-view`'s shadow root) and sends the drawing to the server
once per pause (PAUSE_MS = 700 ms after pen-up: one rerun, of the verdict and Inspect's view; the tab's other
views of the drawing, the digits alike and the downloads, wait until they are in sight, and here, in a
1400 x 1000 window with the page at its top, they are not). The bare page's canvas sends itself at each
mouse-up and the answer (an st.metric "Prediction") comes back with the rerun. Here every stroke is drawn
alone (4 s and more apart), so every app stroke costs a pause rerun: a person's strokes within a digit come
closer together and share one.

Each page kind (bare, app, and before with --before) has its own Streamlit server on loopback, warmed up by
one unmeasured page that draws a digit. Then, for each rate, every measured page is a fresh browser context
whose DevTools session sets the CPU throttling rate (Emulation.setCPUThrottlingRate) before it navigates (the
load is throttled too) and reads the main thread's busy time (Performance.getMetrics, TaskDuration). Page
kinds alternate, page by page and stroke by stroke, so that the machine's noise hits them alike.
A stroke is a real pen digit's stroke drawn by the paced pen (the default): the press, each further point
1/60 s after the one before by the clock, then the release, sent as DevTools mouse events on a connection of
their own (Chromium started with a DevTools port) without waiting for the page, as a hand does not wait:
Chromium queues what a busy page cannot take and hands it one pointermove per frame (coalesced), so a slow
page sees fewer moves, not a slower pen; a stroke of n points lasts n/60 s (0.3 to 0.9 s). `--pen awaited`
draws with Playwright's mouse instead (tools/browser.py draw_stroke: each point in 4 moves, each waiting for
the page to take the one before: the pen waits for the page, and the page reads once per move). The page
stamps with performance.now() every pointer-down, pointermove (button held, on the canvas) and mouse-up,
every change of the live view's DOM (a MutationObserver on its shadow root), every write of its
data-reading, and, while the pen is down, every animation frame (a requestAnimationFrame loop, on both kinds
alike).
- Answer while the pen is down (the app): for each measured stroke, whether data-reading was written with a
  digit between pointer-down and mouse-up (set, or updated to the same or another digit); also how many
  strokes' answer went blank ('') after the mouse-up before it came back, and how many changed after it.
- Pointer move to the view updated (the app): for every pointermove of every measured stroke, from its
  dispatch (performance.now() in a window capture listener, before pen.js's) to the next change of the live
  view's DOM (the MutationObserver's callback: pen.js's read and the view's whole redraw have run; every
  redraw writes data-reading, data-step and the readout, so each read shows as a change). Median and p95 over
  all moves. Also from the event's own timeStamp (when the browser took the input: includes waiting for the
  frame and for a busy main thread) to the same change.
- Frames while the pen is down (both kinds): frames per second and the longest gap between animation frames.
- First prediction: on each fresh page, 2 s after its load, the first stroke of a real pen digit, timed from
  its pointer-down to the first prediction shown (the app: the first data-reading written with a digit, pen
  still down; the bare page: its metric drawn after the mouse-up and the rerun), the target's measure; and
  from the mouse-up (the app: the first data-reading written with a digit after it, pen.js's read of the whole
  stroke a frame or two later; the bare page: as above).
  max(--loads, --firsts) pages are opened per kind and rate; each gives one load and one first stroke.
- Page load: from navigating to the canvas ready to draw on (visible, its drawing surface in place: a stroke
  drawn now is kept and read), the target's measure; and to the page settled (also no script running).
- Later strokes: the last page of each kind goes on drawing pen digits stroke by stroke (Clear between
  digits), --strokes of them: main-thread time while the pen is down and in the 4 s after the mouse-up (the
  app's pause rerun comes 0.7 s after it; the frames received after the window are counted, and must be 0),
  whose sum, the stroke's, is the target's measure; mouse-up to prediction; the server's CPU time (its process
  tree) from before the pointer-down until the page is quiet (the app's pause rerun included); the bytes the
  page received over the websocket from the mouse-up until 1 s quiet. As checks: main-thread time until quiet;
  on the load: main-thread time in the 2 s after it; on the page: the share of 2 quiet seconds its main thread
  is busy; whether the bare page drew a new Prediction (if its value did not change, its arrival is timed).
- Play (the app only): on each view `.st-key-<key>` of --play-views in turn (its root has data-step, a
  button.play and an input.step slider, maybe in an open shadow root), the slider set to 1 with Home, then
  Play clicked (from script, to keep Playwright's own checks out of the count) until data-step is 28:
  main-thread time per step (over 27 steps), the share of the wall time the main thread was busy, and
  websocket frames (must be 0). The target is the first view's, by default the live view beside the canvas:
  at 4x, no worse than Inspect's view measured so before the live view (38 ms per step, 19% busy); Inspect's
  view is played after it, in the same run, for reference. compare-view opens the Compare tab first (so list
  it last). The
  --before checkout is not played; it is read like the app if it has the live view, else like the bare page.
With --floor, a third kind is measured beside them: bench/live_floor_page.py, the bare page (its own canvas)
plus the app's live reader alone (the weights, the live view, and at each pause a rerun of a one-line
fragment), with its ratios to the bare page: what the design costs before the rest of the app.
Headless Chromium renders in software here, so absolute times are a worst case: read the ratios.
"""

import argparse
import hashlib
import json
import os
import subprocess
import time
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from playwright.sync_api import Error as PlaywrightError
from websockets.sync.client import connect

from bench.classroom import cpu_seconds, process_tree
from bench.report import save, stats, target
from rnnviz.data import pendigits
from tools.browser import (
    CANVAS,
    CHROMIUM,
    CHROMIUM_ARGS,
    LIVE_READING,
    LIVE_VIEW,
    PREDICTION_AFTER_MOUSE_UP,
    QUIET_AFTER_MOUSE_UP,
    RECORDER,
    clear_canvas,
    draw_stroke,
    free_port,
    open_tab,
    pen_strokes,
    readable_digits,
    serve,
    websocket_frames,
)

ROOT = Path(__file__).resolve().parents[1]
BARE_PAGE = Path(__file__).resolve().parent / "bare_page.py"
FLOOR_PAGE = Path(__file__).resolve().parent / "live_floor_page.py"
LIVE_KINDS = ("app", "floor")  # the page kinds that must answer in their live view
VIEWPORT = {"width": 1400, "height": 1000}  # as tools/browser.py open_app
TIMEOUT_MS = 120_000  # a throttled page on a busy machine is slow: generous, never the measure
POLL_MS = 100  # waits poll the page this often (Playwright's default polls at every frame: main-thread time)
SETTLE_MS = 2000  # after a load, before the first stroke: a person looks before drawing
WINDOW_S = 4.0  # main-thread time is counted this long after each mouse-up (the app's pause rerun: at 0.7 s)
QUIET_MS = 1000  # a stroke's traffic has ended when nothing came for this long
PLAY_STEPS = 27  # Play from step 1 to 28
PEN_HZ = 60  # the paced pen: one point of a stroke every 1/60 s by the clock, whatever the page does

# Appended to tools/browser.py's RECORDER (one init script, so it runs after it): the bytes of every
# websocket message received, with its performance.now() time.
BYTES_RECORDER = """
rnnviz.bytes = [];
const RecordedWebSocket = window.WebSocket;
window.WebSocket = class extends RecordedWebSocket {
  constructor(...args) {
    super(...args);
    this.addEventListener('message', event => {
      const data = event.data;
      rnnviz.bytes.push([performance.now(), data.byteLength ?? data.size ?? data.length ?? 0]);
    });
  }
};
"""
# Appended too, in a block of its own: the pen and the live view, timed in the page (performance.now()), in
# rnnviz.pen. downs: each pointer-down on the canvas; moves: [dispatched, event.timeStamp] of each pointermove
# on it with the button held (window capture listeners: before the canvas's and pen.js's own); frames: each
# animation frame while the pen is down (a requestAnimationFrame loop, from pointer-down to pointer-up);
# changes: each change of the live view's DOM (a MutationObserver on every shadow root, that keeps only the
# live view's, `.st-key-live-view`); readings: [time, value] of each write of its data-reading.
PEN_RECORDER = """{
const pen = rnnviz.pen = {downs: [], moves: [], frames: [], changes: [], readings: []};
const onCanvas = event => event.composedPath().some(node => node.classList?.contains('upper-canvas'));
let penDown = false;
const frame = t => { if (penDown) { pen.frames.push(t); requestAnimationFrame(frame); } };
addEventListener('pointerdown', event => {
  if (!onCanvas(event)) return;
  pen.downs.push(performance.now());
  if (!penDown) { penDown = true; requestAnimationFrame(frame); }
}, true);
addEventListener('pointermove', event => {
  if (event.buttons & 1 && onCanvas(event)) pen.moves.push([performance.now(), event.timeStamp]);
}, true);
addEventListener('pointerup', () => { penDown = false; }, true);
const attachShadow = Element.prototype.attachShadow;
Element.prototype.attachShadow = function (...args) {
  const root = attachShadow.apply(this, args);
  new MutationObserver(records => {
    if (!root.host.closest('LIVE_VIEW')) return;
    const t = performance.now();
    pen.changes.push(t);
    for (const record of records) {
      if (record.attributeName === 'data-reading') pen.readings.push([t, record.target.dataset.reading]);
    }
  }).observe(root, {subtree: true, childList: true, attributes: true, characterData: true});
  return root;
};
}""".replace("LIVE_VIEW", LIVE_VIEW)
# Received since the last mouse-up: bytes and frames (and the 3 largest), the frames after the main-thread window,
# when the last one came, and whether the page drew a new Prediction (the bare page: if not, the value did not
# change and its arrival was timed).
RECEIVED_AFTER_MOUSE_UP = """windowMs => {
  const {mouseups, sent, shown, bytes} = window.rnnviz;
  const up = mouseups.at(-1);
  const send = sent.find(t => t > up);
  const after = bytes.filter(([t]) => t > up);
  return {bytes: after.reduce((sum, [, n]) => sum + n, 0), frames: after.length,
          frames_after_window: after.filter(([t]) => t > up + windowMs).length,
          last_frame_ms: after.length ? after.at(-1)[0] - up : null,
          largest: after.map(([, n]) => n).sort((a, b) => b - a).slice(0, 3),
          drawn: send !== undefined && shown.some(s => s.t > send)};
}"""
# The live view's answer to the last stroke: the first data-reading written with a digit after the mouse-up
# (pen.js reads the whole stroke a frame or two after it), with the first message sent after it (the pause's
# drawing); a drawing it cannot read: '' once the pause's drawing went, 2 s on.
LIVE_PREDICTION_AFTER_MOUSE_UP = """() => {
  const {mouseups, sent, pen: {readings}} = window.rnnviz;
  const up = mouseups.at(-1);
  const send = sent.find(t => t > up);
  const sendMs = send === undefined ? null : send - up;
  const after = readings.find(([t, value]) => t > up && value !== '');
  if (after) return {prediction: after[1], ms: after[0] - up, send_ms: sendMs};
  if (send !== undefined && performance.now() - send > 2000) return {prediction: '', ms: null, send_ms: sendMs};
  return undefined;
}"""
# The last stroke, pointer-down to mouse-up, as the page saw it: its moves, and for each the time to the next
# change of the live view (from its dispatch; from its own timeStamp); the readings written while the pen was
# down, and after it (until now: the page is quiet), whether one of those was blank ('') before the answer
# came back; the animation frames. Times in ms.
PEN_STROKE = """() => {
  const {mouseups, pen: {downs, moves, frames, changes, readings}} = window.rnnviz;
  const down = downs.at(-1), up = mouseups.at(-1);
  const stroke = moves.filter(([t]) => t >= down && t <= up);
  const toView = [], inputToView = [];
  let next = 0;
  for (const [t, stamp] of stroke) {
    while (next < changes.length && changes[next] <= t) next++;
    if (next === changes.length) break;
    toView.push(+(changes[next] - t).toFixed(2));
    inputToView.push(+(changes[next] - stamp).toFixed(2));
  }
  const whileDown = readings.filter(([t]) => t > down && t < up);
  const before = readings.filter(([t]) => t <= down).at(-1);
  const answered = whileDown.filter(([, value]) => value !== '');
  const shown = frames.filter(t => t >= down - 50 && t <= up);
  const gaps = shown.slice(1).map((t, i) => t - shown[i]);
  const afterUp = readings.filter(([t]) => t > up);
  const final = afterUp.length ? afterUp.at(-1)[1] : null;
  const blank = afterUp.find(([, value]) => value === '');
  return {down, up, duration_ms: up - down, moves: stroke.length, move_to_view_ms: toView,
          input_to_view_ms: inputToView, view_changes_while_down: changes.filter(t => t > down && t < up).length,
          readings_while_down: whileDown.length, answered_while_down: answered.length > 0,
          pen_down_to_answer_ms: answered.length ? answered[0][0] - down : null,
          reading_before: before ? before[1] : null, reading_at_up: whileDown.length ? whileDown.at(-1)[1] : null,
          readings_after_up: afterUp.map(([t, value]) => [+(t - up).toFixed(1), value]), reading_final: final,
          blank_after_up: blank !== undefined && final !== '', blank_ms: blank === undefined || final === ''
            ? null : +(afterUp.find(([t, value]) => t > blank[0] && value !== '')?.[0] - blank[0]).toFixed(1),
          previous_after_up: before !== undefined && before[1] !== '' && final !== before[1]
            && afterUp.length > 1 && afterUp[0][1] === before[1],
          frames: shown.length, longest_frame_gap_ms: gaps.length ? Math.max(...gaps) : null};
}"""
# The view's root (the element with data-step inside `.st-key-<key>`, maybe in an open shadow root), or null.
FIND_VIEW = """key => {
  for (const box of document.querySelectorAll(`.st-key-${key}`)) {
    const direct = box.querySelector('[data-step]');
    if (direct) return direct;
    for (const host of box.querySelectorAll('[data-testid="stBidiComponentIsolated"]')) {
      const root = host.shadowRoot?.querySelector('[data-step]');
      if (root) return root;
    }
  }
  return null;
}"""
VIEW_AT_STEP = f"""([key, step]) => ({FIND_VIEW})(key)?.dataset.step === String(step)"""
# Resolves (performance.now()) when the view shows step `step`; no polling: a MutationObserver.
UNTIL_STEP = f"""([key, step, timeoutMs]) => new Promise((resolve, reject) => {{
  const view = ({FIND_VIEW})(key);
  const done = () => view.dataset.step === String(step);
  if (done()) return resolve(performance.now());
  const observer = new MutationObserver(() => {{
    if (done()) {{ observer.disconnect(); resolve(performance.now()); }}
  }});
  observer.observe(view, {{attributes: true, attributeFilter: ['data-step']}});
  setTimeout(() => reject(new Error(`the view did not reach step ${{step}}: at ${{view.dataset.step}}`)), timeoutMs);
}})"""
QUIET = f"() => performance.now() - (window.rnnviz.received.at(-1) ?? 0) > {QUIET_MS}"


# ---- serving ----

@dataclass
class Server:
    name: str
    url: str
    pid: int
    log: Path

    def cpu_seconds(self) -> float:
        return cpu_seconds(process_tree(self.pid))

    def log_tail(self, chars: int = 2000) -> str:
        return self.log.read_text(errors="replace")[-chars:]


@contextmanager
def streamlit_server(name: str, script: Path | str, cwd: Path, timeout: float = 180):
    """`streamlit run script` from `cwd` on a free loopback port (user models in a fresh temp folder)."""
    with serve(script, cwd, timeout=timeout) as served:
        yield Server(name, served.url, served.pid, served.log)


# ---- the browser and the pen ----

@dataclass
class Browser:
    """Debian's Chromium driven by Playwright, with a DevTools port of its own for the paced pen (None: the
    awaited pen, Playwright's mouse)."""
    browser: object
    port: int | None


@contextmanager
def chromium_with_port(paced: bool):
    """A headless Debian Chromium (as tools/browser.py chromium), listening for DevTools on a loopback port when
    the pen is paced: the pen's events then go in on a connection of their own, not through Playwright's."""
    from playwright.sync_api import sync_playwright
    port = free_port() if paced else None
    args = [*CHROMIUM_ARGS, *([f"--remote-debugging-port={port}"] if port else [])]
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=args, headless=True)
        try:
            yield Browser(browser, port)
        finally:
            browser.close()


def paced_stroke(session, stroke) -> None:
    """One stroke at a hand's pace: a hover move to its first point, then the press there and each further
    point, one every 1/PEN_HZ s by the clock, then the release, sent to the browser on a DevTools connection of
    their own without waiting for the page (Chromium queues and coalesces what a busy page cannot take, as it
    does a real pen's); returns once the browser has taken them all (the release included)."""
    box = session.page.locator(CANVAS).bounding_box()
    points = [(box["x"] + x, box["y"] + y) for x, y in stroke]
    with connect(session.pen_url, max_size=None, open_timeout=30) as socket:
        sent = 0

        def send(kind: str, point, buttons: int) -> None:
            nonlocal sent
            sent += 1
            params = {"type": kind, "x": point[0], "y": point[1], "button": "left" if kind != "mouseMoved" or buttons
                      else "none", "buttons": buttons, "clickCount": 1 if kind != "mouseMoved" else 0}
            socket.send(json.dumps({"id": sent, "method": "Input.dispatchMouseEvent", "params": params}))

        def answered(count: int) -> None:
            for _ in range(count):
                reply = json.loads(socket.recv(timeout=TIMEOUT_MS / 1000))
                if "error" in reply:
                    raise RuntimeError(f"the paced pen's event was refused: {reply}")

        send("mouseMoved", points[0], 0)
        answered(1)
        start = time.perf_counter()
        send("mousePressed", points[0], 1)
        for number, point in enumerate([*points[1:], points[-1]], start=1):
            time.sleep(max(0.0, start + number / PEN_HZ - time.perf_counter()))
            if number < len(points):
                send("mouseMoved", point, 1)
            else:
                send("mouseReleased", point, 0)
        answered(sent - 1)


def pen_stroke(session, stroke) -> None:
    """One stroke, released: paced (a hand's pace, see paced_stroke) or awaited (Playwright's mouse: each
    point in 4 moves, each move waiting until the page took the one before: the pen waits for the page)."""
    if session.pen_url:
        paced_stroke(session, stroke)
    else:
        draw_stroke(session.page, stroke, release=False)
        session.page.mouse.up()


# ---- one page session ----

class PageNotReady(RuntimeError):
    """A page did not show a canvas ready to draw on in time (the message says what it showed)."""


@dataclass
class Session:
    """A page in its own browser context, with a DevTools session that throttles it and reads its busy time."""
    server: Server
    page: object
    cdp: object
    load_s: float  # to the canvas ready to draw on
    settled_s: float  # to the page settled: no script running either
    pen_url: str | None = None  # the page's DevTools websocket, for the paced pen (None: the awaited pen)
    live: bool = False  # the page answers in its live view (the app), not in a metric after a rerun (the bare page)

    def busy(self) -> float:
        """Seconds the page's main thread has been busy so far (DevTools TaskDuration)."""
        metrics = self.cdp.send("Performance.getMetrics")["metrics"]
        return next(m["value"] for m in metrics if m["name"] == "TaskDuration")

    def close(self) -> None:
        self.page.context.close()


def open_session(browser: Browser, server: Server, rate: float) -> Session:
    """A fresh context, throttled before it navigates; timed from navigating to a canvas ready to draw on."""
    context = browser.browser.new_context(viewport=VIEWPORT)
    page = context.new_page()
    page.add_init_script(RECORDER + BYTES_RECORDER + PEN_RECORDER)
    cdp = context.new_cdp_session(page)
    cdp.send("Emulation.setCPUThrottlingRate", {"rate": rate})
    cdp.send("Performance.enable")
    start = time.perf_counter()
    try:
        page.goto(server.url)
        page.locator(CANVAS).wait_for(state="visible", timeout=TIMEOUT_MS)
        ready = time.perf_counter() - start
        page.wait_for_selector('[data-test-script-state="notRunning"]', timeout=TIMEOUT_MS)
    except PlaywrightError as error:
        try:
            text = page.evaluate("() => document.body?.innerText ?? ''")[:1000]
        except PlaywrightError as unreadable:
            text = f"(unreadable: {unreadable.message.splitlines()[0]})"
        context.close()
        raise PageNotReady(f"the {server.name} page at {rate:g}x is not ready after {time.perf_counter() - start:.0f} s"
                           f" ({error.message.splitlines()[0]}); it shows:\n{text}\n"
                           f"its server's log ends:\n{server.log_tail()}") from error
    settled = time.perf_counter() - start
    pen_url = None
    if browser.port:
        target = cdp.send("Target.getTargetInfo")["targetInfo"]["targetId"]
        pen_url = f"ws://127.0.0.1:{browser.port}/devtools/page/{target}"
    return Session(server, page, cdp, ready, settled, pen_url)


def find_live_view(session: Session) -> None:
    """Whether the page answers in its live view (`.st-key-live-view`'s data-reading): the app and the floor page
    must (it is waited for), the bare page does not; the --before checkout is looked at as it is (after the
    settle)."""
    if session.server.name in LIVE_KINDS:
        session.page.wait_for_function(f"() => ({LIVE_READING})() !== null", timeout=TIMEOUT_MS, polling=POLL_MS)
    session.live = session.page.evaluate(LIVE_READING) is not None


def measure_stroke(session: Session, stroke) -> dict:
    """Draw one stroke: what the page did while the pen was down (its moves, the live view's updates, its
    frames, main-thread time), then main-thread time in the WINDOW_S after its mouse-up, mouse-up to prediction,
    the server's CPU time (from before the pointer-down) and the websocket bytes received until the page is
    quiet."""
    page = session.page
    cpu, at_down = session.server.cpu_seconds(), session.busy()
    pen_stroke(session, stroke)
    at_up, start = session.busy(), time.perf_counter()
    page.wait_for_timeout(max(0.0, WINDOW_S - (time.perf_counter() - start)) * 1000)  # no polling in the window
    busy, window = session.busy() - at_up, time.perf_counter() - start
    answer = page.wait_for_function(LIVE_PREDICTION_AFTER_MOUSE_UP if session.live else PREDICTION_AFTER_MOUSE_UP,
                                    timeout=TIMEOUT_MS, polling=POLL_MS).json_value()
    page.wait_for_function(QUIET_AFTER_MOUSE_UP, arg=[1, QUIET_MS], timeout=TIMEOUT_MS, polling=POLL_MS)
    received = page.evaluate(RECEIVED_AFTER_MOUSE_UP, WINDOW_S * 1000)
    until_quiet = session.busy() - at_up  # past the window too, with the waits' polling: a check on the window
    cpu = session.server.cpu_seconds() - cpu
    pen = page.evaluate(PEN_STROKE)
    down_to_answer = pen["pen_down_to_answer_ms"] if session.live else None  # the bare page: after mouse-up only
    if down_to_answer is None and answer["ms"] is not None:
        down_to_answer = pen["duration_ms"] + answer["ms"]
    return {"prediction_ms": None if answer["ms"] is None else round(answer["ms"]),
            "pen_down_to_prediction_ms": None if down_to_answer is None else round(down_to_answer),
            "send_ms": None if answer["send_ms"] is None else round(answer["send_ms"]),
            "prediction_drawn": None if session.live else received["drawn"],
            "main_thread_ms_pen_down": round((at_up - at_down) * 1000, 1),
            "main_thread_ms": round(busy * 1000, 1),
            "main_thread_ms_stroke": round((at_up - at_down + busy) * 1000, 1),
            "window_s": round(window, 2), "main_thread_ms_until_quiet": round(until_quiet * 1000, 1),
            "server_cpu_ms": round(cpu * 1000),
            "ws_bytes_received": received["bytes"], "ws_frames_received": received["frames"],
            "ws_frames_after_window": received["frames_after_window"],
            "last_frame_ms": None if received["last_frame_ms"] is None else round(received["last_frame_ms"]),
            "ws_largest_frames": received["largest"],
            "prediction": answer["prediction"],
            "pen": {key: value for key, value in pen.items() if key not in ("down", "up")}}


def fresh_page(browser: Browser, server: Server, rate: float, digit, keep: bool = False) -> tuple[dict, Session | None]:
    """Load a fresh page, then draw the first stroke of `digit` (index, record): {load_s, first, failed_loads}.
    A load that fails is tried once more, and kept in failed_loads."""
    failed = []
    try:
        session = open_session(browser, server, rate)
    except PageNotReady as error:
        print(f"  FAILED LOAD, trying again: {error}", flush=True)
        failed.append(str(error)[:2000])
        session = open_session(browser, server, rate)
    busy = session.busy()
    session.page.wait_for_timeout(SETTLE_MS)
    after_load = session.busy() - busy  # high if the page was still busy loading when the canvas was ready
    find_live_view(session)
    index, record = digit
    first = measure_stroke(session, pen_strokes(record, index)[0])
    sample = {"load_s": round(session.load_s, 2), "settled_s": round(session.settled_s, 2),
              "after_load_main_thread_ms": round(after_load * 1000, 1),
              "first": first, "failed_loads": failed}
    if keep:
        return sample, session
    session.close()
    return sample, None


def stroke_plan(digits, first_digit, count: int) -> list[tuple[bool, np.ndarray]]:
    """The later strokes, as (clear the canvas first, stroke): the rest of `first_digit` (whose first stroke
    is drawn), then more digits, Clear before each, until `count` strokes."""
    index, record = first_digit
    plan = [(False, stroke) for stroke in pen_strokes(record, index)[1:]]
    for index, record in digits:
        if len(plan) >= count:
            break
        plan += [(number == 0, stroke) for number, stroke in enumerate(pen_strokes(record, index))]
    if len(plan) < count:
        raise ValueError(f"not enough pen digits for {count} strokes")
    return plan[:count]


def play(session: Session, key: str) -> dict:
    """Press the view's Play at step 1 and measure until it shows step 28."""
    page = session.page
    page.wait_for_function(FIND_VIEW, arg=key, timeout=TIMEOUT_MS, polling=POLL_MS)
    page.wait_for_function(QUIET, timeout=TIMEOUT_MS, polling=POLL_MS)
    slider = page.locator(f".st-key-{key} input.step").first
    slider.focus()
    page.keyboard.press("Home")
    page.wait_for_function(VIEW_AT_STEP, arg=[key, 1], timeout=TIMEOUT_MS, polling=POLL_MS)
    page.wait_for_timeout(500)
    button = page.locator(f".st-key-{key} button.play").first
    button.scroll_into_view_if_needed()
    frames, busy, start = websocket_frames(page), session.busy(), time.perf_counter()
    button.evaluate("button => button.click()")
    page.evaluate(UNTIL_STEP, [key, PLAY_STEPS + 1, TIMEOUT_MS])
    busy, wall = session.busy() - busy, time.perf_counter() - start
    page.wait_for_timeout(500)  # a frame that Play would cause has time to show
    after = websocket_frames(page)
    return {"main_thread_ms_per_step": round(busy * 1000 / PLAY_STEPS, 2), "busy_share": round(busy / wall, 3),
            "seconds": round(wall, 2), "websocket_frames": sum(after[k] - frames[k] for k in frames)}


def idle_share(session: Session, seconds: float = 2.0) -> float:
    """The share of `seconds` that a page, quiet since its last answer, keeps its main thread busy."""
    session.page.wait_for_function(QUIET, timeout=TIMEOUT_MS, polling=POLL_MS)
    busy, start = session.busy(), time.perf_counter()
    session.page.wait_for_timeout(seconds * 1000)
    return round((session.busy() - busy) / (time.perf_counter() - start), 3)


# ---- a run ----

def warm_up(browser: Browser, server: Server, digit) -> dict:
    """One unmeasured page, unthrottled, that draws a whole digit: the server's first run and caches."""
    session = open_session(browser, server, 1)
    session.page.wait_for_timeout(SETTLE_MS)
    find_live_view(session)
    index, record = digit
    strokes = [measure_stroke(session, stroke) for stroke in pen_strokes(record, index)]
    session.close()
    return {"load_s": round(session.load_s, 2), "prediction_ms": [s["prediction_ms"] for s in strokes],
            "live_view": session.live}


def measure_rate(browser: Browser, servers: list[Server], rate: float, digits, args) -> dict:
    """Every page kind at one throttling rate: {kind: {page_load_s, first_stroke, later_strokes, play}}."""
    pages = max(args.loads, args.firsts, 1)
    samples = {s.name: {"page_load_s": [], "page_settled_s": [], "after_load_main_thread_ms": [], "first_stroke": [],
                        "later_strokes": [], "live_view": None,
                        "idle_busy_share": [], "play": [], "failed_loads": []} for s in servers}
    kept = {}
    for number in range(pages):
        last = number == pages - 1
        for server in servers:  # kinds alternate, page by page
            sample, session = fresh_page(browser, server, rate, digits[number], keep=last)
            samples[server.name]["page_load_s"].append(sample["load_s"])
            samples[server.name]["page_settled_s"].append(sample["settled_s"])
            samples[server.name]["after_load_main_thread_ms"].append(sample["after_load_main_thread_ms"])
            samples[server.name]["failed_loads"] += sample["failed_loads"]
            samples[server.name]["first_stroke"].append(sample["first"])
            if session:
                kept[server.name] = session
                samples[server.name]["live_view"] = session.live
            first = sample["first"]
            print(f"  {rate:g}x {server.name}: load {sample['load_s']:.2f} s (settled {sample['settled_s']:.2f} s), "
                  f"first prediction {first['pen_down_to_prediction_ms']} ms from pen-down "
                  f"({first['prediction_ms']} ms from mouse-up; stroke {first['pen']['duration_ms']:.0f} ms, "
                  f"answered while down: {first['pen']['answered_while_down']})", flush=True)
    for clear, stroke in stroke_plan(digits[pages:], digits[pages - 1], args.strokes):
        for server in servers:  # and stroke by stroke
            if clear:
                clear_canvas(kept[server.name].page)
            later = measure_stroke(kept[server.name], stroke)
            samples[server.name]["later_strokes"].append(later)
            print(f"  {rate:g}x {server.name} later stroke: main thread {later['main_thread_ms_pen_down']} ms pen down"
                  f" + {later['main_thread_ms']} ms after, server CPU {later['server_cpu_ms']} ms, "
                  f"moves {later['pen']['moves']}, median move to view "
                  f"{np.median(later['pen']['move_to_view_ms']) if later['pen']['move_to_view_ms'] else None}",
                  flush=True)
    for name, session in kept.items():  # a quiet page's own main-thread use (animations, timers)
        samples[name]["idle_busy_share"].append(idle_share(session))
        if name != "app":
            session.close()
    app = kept["app"]
    samples["app"]["play"] = {}
    for view in args.play_views:
        if view == "compare-view":
            open_tab(app.page, "Compare", timeout_ms=TIMEOUT_MS)
        samples["app"]["play"][view] = [play(app, view) for _ in range(args.plays)]
    app.close()
    return samples


# ---- results ----

def tree_state(root: Path) -> dict:
    """What app.py serves from `root`: its commit, the files of the app (app.py, ui/, rnnviz/) not committed, and
    a digest of all of them. Others may edit a shared working tree during a run: compared at its start and end."""
    def git(*args) -> str:
        return subprocess.run(["git", "-C", str(root), *args], text=True, capture_output=True).stdout

    files = sorted(path for path in [root / "app.py", *(root / "ui").rglob("*"), *(root / "rnnviz").rglob("*")]
                   if path.is_file() and path.suffix in {".py", ".js", ".css", ".toml", ".json"})
    digest = hashlib.sha256(b"".join(path.read_bytes() for path in files)).hexdigest()[:12]
    uncommitted = [line[3:] for line in git("status", "--porcelain", "--", "app.py", "ui", "rnnviz").splitlines()]
    return {"commit": git("rev-parse", "--short", "HEAD").strip() or "unknown", "uncommitted": uncommitted,
            "digest": digest}


def _column(records: list[dict], field: str) -> list:
    return [record[field] for record in records]


def _pen(records: list[dict], field: str) -> list:
    return [record["pen"][field] for record in records]


def _ratio(numerator: dict, denominator: dict) -> float | None:
    return round(numerator["median"] / denominator["median"], 3) if numerator and denominator else None


def _ratios(out: dict, kind: str, other: str, fields) -> dict:
    """{name: median of `kind` / median of `other`} for each (name, field of the summary)."""
    return {name: _ratio(out[field].get(kind), out[field].get(other)) for name, field in fields}


def summary(samples: dict) -> dict:
    """Medians (stats) of one rate's samples, by page kind, and the ratios the targets read."""
    def by_kind(pick) -> dict:
        return {kind: stats(values) for kind, s in samples.items() if (values := [v for v in pick(s) if v is not None])}

    def strokes(s) -> list[dict]:  # every measured stroke: the first ones and the later ones
        return s["first_stroke"] + s["later_strokes"]

    def live(pick) -> dict:  # of the kinds that answer in the live view
        return {kind: value for kind, s in samples.items() if s["live_view"] and (value := pick(s)) is not None}

    def moves(s, field) -> list[float]:
        return [ms for stroke in strokes(s) for ms in stroke["pen"][field]]

    def answered(s) -> dict:  # strokes answered while the pen was down; and those whose answer then changed
        pens = [stroke["pen"] for stroke in strokes(s)]
        done = sum(p["answered_while_down"] for p in pens)
        return {"strokes": len(pens), "answered": done, "share": round(done / len(pens), 3),
                "answer_changed_after_mouse_up": sum(p["reading_at_up"] is not None
                                                     and p["reading_final"] != p["reading_at_up"] for p in pens),
                "blank_after_mouse_up": sum(p["blank_after_up"] for p in pens),
                "blank_ms": stats(blank) if (blank := [p["blank_ms"] for p in pens if p["blank_ms"] is not None])
                else None,
                "previous_answer_after_mouse_up": sum(p["previous_after_up"] for p in pens),
                "unreadable_at_the_end": sum(p["reading_final"] == "" for p in pens)}

    out = {
        "answered_while_pen_down": live(answered),
        "move_to_view_updated_ms": live(lambda s: stats(moves(s, "move_to_view_ms")) if moves(s, "move_to_view_ms")
                                        else None),
        "input_event_to_view_updated_ms": live(lambda s: stats(moves(s, "input_to_view_ms"))
                                               if moves(s, "input_to_view_ms") else None),
        "moves_per_stroke": by_kind(lambda s: _pen(strokes(s), "moves")),
        "view_updates_per_stroke": live(lambda s: stats(_pen(strokes(s), "view_changes_while_down"))),
        "stroke_ms_pen_down": by_kind(lambda s: _pen(strokes(s), "duration_ms")),
        "frames_per_s_pen_down": by_kind(lambda s: [1000 * p["frames"] / p["duration_ms"]
                                                    for p in (stroke["pen"] for stroke in strokes(s))
                                                    if p["duration_ms"] > 0]),
        "longest_frame_gap_ms_pen_down": by_kind(lambda s: _pen(strokes(s), "longest_frame_gap_ms")),
        "page_load_s": by_kind(lambda s: s["page_load_s"]),
        "page_settled_s": by_kind(lambda s: s["page_settled_s"]),
        "main_thread_ms_in_the_2s_after_load": by_kind(lambda s: s["after_load_main_thread_ms"]),
        "first_prediction_from_pen_down_ms": by_kind(lambda s: _column(s["first_stroke"], "pen_down_to_prediction_ms")),
        "first_prediction_from_mouse_up_ms": by_kind(lambda s: _column(s["first_stroke"], "prediction_ms")),
        "first_stroke_main_thread_ms": by_kind(lambda s: _column(s["first_stroke"], "main_thread_ms_stroke")),
        "later_stroke_main_thread_ms": by_kind(lambda s: _column(s["later_strokes"], "main_thread_ms_stroke")),
        "later_stroke_main_thread_ms_pen_down": by_kind(
            lambda s: _column(s["later_strokes"], "main_thread_ms_pen_down")),
        "later_stroke_main_thread_ms_after_mouse_up": by_kind(lambda s: _column(s["later_strokes"], "main_thread_ms")),
        "later_stroke_main_thread_ms_until_quiet": by_kind(
            lambda s: _column(s["later_strokes"], "main_thread_ms_until_quiet")),
        "later_stroke_prediction_from_mouse_up_ms": by_kind(lambda s: _column(s["later_strokes"], "prediction_ms")),
        "later_stroke_send_ms": by_kind(lambda s: _column(s["later_strokes"], "send_ms")),
        "later_stroke_last_frame_ms": by_kind(lambda s: _column(s["later_strokes"], "last_frame_ms")),
        "ws_frames_after_the_window": {kind: sum(_column(strokes(s), "ws_frames_after_window"))
                                       for kind, s in samples.items()},
        "strokes_with_traffic_after_the_window": {  # the rerun's answer still coming after the WINDOW_S
            kind: f"{sum(n > 0 for n in _column(strokes(s), 'ws_frames_after_window'))} of {len(strokes(s))}"
            for kind, s in samples.items()},
        "server_cpu_ms_per_stroke": by_kind(lambda s: _column(s["later_strokes"], "server_cpu_ms")),
        "ws_kb_per_stroke": by_kind(lambda s: [b / 1000 for b in _column(s["later_strokes"], "ws_bytes_received")]),
        "idle_busy_share": {kind: s["idle_busy_share"][0] for kind, s in samples.items()},
        "failed_page_loads": {kind: len(s["failed_loads"]) for kind, s in samples.items()},  # tried again
    }
    out["app_over_bare"] = _ratios(out, "app", "bare", (
        ("page_load", "page_load_s"), ("page_settled", "page_settled_s"),
        ("first_prediction_from_pen_down", "first_prediction_from_pen_down_ms"),
        ("first_prediction_from_mouse_up", "first_prediction_from_mouse_up_ms"),
        ("later_stroke_main_thread", "later_stroke_main_thread_ms"),
        ("later_stroke_main_thread_pen_down", "later_stroke_main_thread_ms_pen_down"),
        ("later_stroke_main_thread_after_mouse_up", "later_stroke_main_thread_ms_after_mouse_up"),
        ("stroke_ms_pen_down", "stroke_ms_pen_down")))
    if "floor" in samples:  # the live reader alone, against the bare page
        out["floor_over_bare"] = _ratios(out, "floor", "bare", (
            ("page_load", "page_load_s"), ("later_stroke_main_thread", "later_stroke_main_thread_ms"),
            ("later_stroke_main_thread_pen_down", "later_stroke_main_thread_ms_pen_down"),
            ("later_stroke_main_thread_after_mouse_up", "later_stroke_main_thread_ms_after_mouse_up"),
            ("server_cpu_per_stroke", "server_cpu_ms_per_stroke")))
    if "before" in samples:
        out["app_over_before"] = _ratios(out, "app", "before", (
            ("server_cpu_per_stroke", "server_cpu_ms_per_stroke"), ("ws_bytes_per_stroke", "ws_kb_per_stroke"),
            ("page_load", "page_load_s"), ("first_prediction_from_pen_down", "first_prediction_from_pen_down_ms")))
    out["play"] = {view: {"main_thread_ms_per_step": stats(_column(plays, "main_thread_ms_per_step")),
                          "busy_share": stats(_column(plays, "busy_share")),
                          "seconds": stats(_column(plays, "seconds")),
                          "websocket_frames": sum(_column(plays, "websocket_frames"))}
                   for view, plays in samples["app"]["play"].items() if plays}
    return out


PLAY_MS_PER_STEP = 38  # Play at 4x: no worse than Inspect's view before the live view (38.3 ms per step)
PLAY_BUSY_SHARE = 0.19  # and its share of the wall time (0.19)


def targets(summaries: dict[float, dict]) -> list[dict]:
    checks = []
    for rate, out in summaries.items():
        at, ratios = f"at {rate:g}x", out["app_over_bare"]
        answered = out["answered_while_pen_down"].get("app")
        if answered:
            checks.append(target(f"strokes whose answer showed while the pen was down {at}, share "
                                 f"({answered['answered']} of {answered['strokes']})", answered["share"], 1.0,
                                 higher_is_better=True))
        if rate > 1:
            moves = out["move_to_view_updated_ms"].get("app")
            if moves:
                checks.append(target(f"pointer move to the live view updated {at}, median ms (p95 {moves['p95']} ms, "
                                     f"{moves['n']} moves)", moves["median"], 50))
            later = out["later_stroke_main_thread_ms"]
            checks.append(target(f"main-thread time per later stroke {at} (pen down + {WINDOW_S:g} s after), "
                                 f"app / bare (medians {later['app']['median']} ms, {later['bare']['median']} ms)",
                                 ratios["later_stroke_main_thread"], 1.5))
            first = out["first_prediction_from_pen_down_ms"]
            checks.append(target(f"first prediction {at}, from pen-down, app / bare (medians {first['app']['median']}"
                                 f" ms, {first['bare']['median']} ms)", ratios["first_prediction_from_pen_down"], 1.2))
            load = out["page_load_s"]
            checks.append(target(f"page load to canvas ready {at}, app / bare (medians {load['app']['median']} s, "
                                 f"{load['bare']['median']} s)", ratios["page_load"], 1.2))
        cpu = out["server_cpu_ms_per_stroke"]["app"]
        checks.append(target(f"server CPU per stroke {at}, pause rerun included, ms (median; bare "
                             f"{out['server_cpu_ms_per_stroke']['bare']['median']} ms)", cpu["median"], 10))
        if out["play"] and rate > 1:  # the first view played (the others: for reference)
            view, play_ = next(iter(out["play"].items()))
            others = "; ".join(f"{other} {p['main_thread_ms_per_step']['median']} ms, {p['busy_share']['max']}"
                               for other, p in out["play"].items() if other != view)
            also = f"; in the same run {others}" if others else ""
            checks.append(target(f"{view} Play {at}: main-thread ms per step (median{also})",
                                 play_["main_thread_ms_per_step"]["median"], PLAY_MS_PER_STEP))
            checks.append(target(f"{view} Play {at}: share of wall time the main thread is busy (max)",
                                 play_["busy_share"]["max"], PLAY_BUSY_SHARE))
            checks.append(target(f"{view} Play {at}: websocket frames", play_["websocket_frames"], 1))
    return checks


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rates", type=float, nargs="+", default=[1, 4], help="CPU throttling rates (1 = none)")
    parser.add_argument("--loads", type=int, default=3, help="fresh pages timed loading, per kind and rate")
    parser.add_argument("--firsts", type=int, default=2, help="fresh pages timed on their first stroke")
    parser.add_argument("--strokes", type=int, default=6, help="later strokes measured, per kind and rate")
    parser.add_argument("--plays", type=int, default=2, help="Play runs of the view, per rate")
    parser.add_argument("--play-views", nargs="+", default=["live-view", "inspect-view"],
                        choices=["live-view", "inspect-view", "compare-view"],
                        help="the views played, in turn; the first one's is the target")
    parser.add_argument("--pen", default="paced", choices=["paced", "awaited"],
                        help="paced: a hand's pace, 60 points a second whatever the page does; awaited: "
                             "Playwright's mouse, each move waiting for the page")
    parser.add_argument("--before", type=Path, help="an older checkout of the app, measured beside it")
    parser.add_argument("--floor", action="store_true",
                        help="also measure bench/live_floor_page.py: the bare page plus the live reader alone")
    args = parser.parse_args()
    started, load_average = time.perf_counter(), [round(x, 2) for x in os.getloadavg()]
    tree = tree_state(ROOT)
    pages = max(args.loads, args.firsts, 1)
    digits = readable_digits(pendigits.load(pendigits.default_path()), pages + args.strokes + 1)
    kinds = [("bare", BARE_PAGE, ROOT), ("app", "app.py", ROOT)]
    if args.before:
        kinds.append(("before", "app.py", args.before.resolve()))
    if args.floor:
        kinds.append(("floor", FLOOR_PAGE, ROOT))
    with ExitStack() as stack:
        servers = [stack.enter_context(streamlit_server(name, script, cwd)) for name, script, cwd in kinds]
        browser = stack.enter_context(chromium_with_port(args.pen == "paced"))
        warm = {server.name: warm_up(browser, server, digits[-1]) for server in servers}
        print(f"warm-up (unthrottled, unmeasured): {warm}", flush=True)
        samples = {rate: measure_rate(browser, servers, rate, digits, args) for rate in args.rates}
    tree_at_end = tree_state(ROOT)
    if tree_at_end != tree:
        print(f"WARNING: the app's files changed during the run: {tree} -> {tree_at_end}", flush=True)
    summaries = {rate: summary(rate_samples) for rate, rate_samples in samples.items()}
    for rate, out in summaries.items():
        print(f"{rate:g}x: {out}")
    pages_measured = {"bare": "bench/bare_page.py", "app": "app.py (this working tree)", "app_tree": tree,
                      "app_tree_changed_during_the_run": tree_at_end != tree}
    if args.floor:
        pages_measured["floor"] = "bench/live_floor_page.py (the bare page plus the live reader)"
    if args.before:
        commit = subprocess.run(["git", "-C", str(args.before), "rev-parse", "--short", "HEAD"], text=True,
                                capture_output=True).stdout.strip()
        pages_measured["before"] = f"app.py of {args.before} (commit {commit or 'unknown'})"
    save("slow_device", {
        "pages": pages_measured,
        "settings": {"rates": args.rates, "pages_per_kind_and_rate": pages, "later_strokes": args.strokes,
                     "plays": args.plays, "play_views": args.play_views, "pen": args.pen,
                     "pen_hz": PEN_HZ if args.pen == "paced" else None, "window_s": WINDOW_S, "settle_ms": SETTLE_MS},
        **{f"at_{rate:g}x": out for rate, out in summaries.items()},
        "warm_up": warm,
        "load_average_at_start": load_average,
        "load_average_at_end": [round(x, 2) for x in os.getloadavg()],
        "run_minutes": round((time.perf_counter() - started) / 60, 1),
        "targets": targets(summaries),
        "samples": {f"{rate:g}x": rate_samples for rate, rate_samples in samples.items()},
    })


if __name__ == "__main__":
    main()
