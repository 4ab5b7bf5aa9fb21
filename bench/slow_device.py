"""What a cheap tablet makes of the page: page load, the first prediction, main-thread time per stroke and
Inspect's Play, at full CPU speed and with the CPU slowed 4x (DevTools), against a bare Streamlit page (a
title, the same canvas, a metric: bench/bare_page.py) measured side by side in the same run; with --before,
also an older checkout's server CPU and websocket bytes per stroke.

    RNNVIZ_DATA=../shared/mnist python -m bench.slow_device [--rates 1 4] [--loads 3] [--firsts 2]
        [--strokes 6] [--plays 2] [--play-view inspect-view|compare-view] [--before /tmp/old-main]

Each page kind (bare, app, and before with --before) has its own Streamlit server on loopback, warmed up by
one unmeasured page that draws a digit. Then, for each rate, every measured page is a fresh browser context
whose DevTools session sets the CPU throttling rate before it navigates (the load is throttled too) and
reads the main thread's busy time (Performance.getMetrics, TaskDuration). Page kinds alternate, page by page
and stroke by stroke, so that the machine's noise hits them alike.
- Page load: from navigating to the canvas ready to draw on (visible, its drawing surface in place:
  a stroke drawn now is kept and read), the target's measure; and to the page settled (also no script
  running, as tools/browser.py open_app waits before it draws).
- First prediction: on each fresh page, 2 s after its load, the first stroke of a real pen digit: mouse-up
  to the Prediction shown (timed in the page, tools/browser.py's recorder). max(--loads, --firsts) pages are
  opened per kind and rate; each gives one load and one first stroke.
- Later strokes: the last page of each kind goes on drawing pen digits stroke by stroke (Clear between
  digits), --strokes of them: main-thread time in the 4 s after each mouse-up (no polling inside that
  window), mouse-up to prediction, the server's CPU time (its process tree) and the bytes the page received
  over the websocket from the mouse-up until 1 s quiet. As checks on the 4 s window: main-thread time until
  quiet and frames after the window; on the load: main-thread time in the 2 s after it; on the page: the
  share of 2 quiet seconds its main thread is busy; and whether the page drew a new Prediction (if the value
  did not change, its arrival is timed).
- Play (the app only): on the view `.st-key-<--play-view>` (its root has data-step, a button.play and an
  input.step slider, maybe in an open shadow root), the slider set to 1 with Home, then Play clicked (from
  script, to keep Playwright's own checks out of the count) until data-step is 28: main-thread time per
  step (over 27 steps), the share of the wall time the main thread was busy, and websocket frames (must
  be 0). `--play-view compare-view` opens the Compare tab first. The --before checkout is not played.
Headless Chromium renders in software here, so absolute times are a worst case: read the ratios.
"""

import argparse
import os
import subprocess
import time
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from playwright.sync_api import Error as PlaywrightError

from bench.classroom import cpu_seconds, process_tree
from bench.report import save, stats, target
from rnnviz.data import pendigits
from tools.browser import (
    CANVAS,
    PREDICTION_AFTER_MOUSE_UP,
    QUIET_AFTER_MOUSE_UP,
    RECORDER,
    chromium,
    clear_canvas,
    draw_stroke,
    open_tab,
    pen_strokes,
    readable_digits,
    serve,
    websocket_frames,
)

ROOT = Path(__file__).resolve().parents[1]
BARE_PAGE = Path(__file__).resolve().parent / "bare_page.py"
VIEWPORT = {"width": 1400, "height": 1000}  # as tools/browser.py open_app
TIMEOUT_MS = 120_000  # a throttled page on a busy machine is slow: generous, never the measure
POLL_MS = 100  # waits poll the page this often (Playwright's default polls at every frame: main-thread time)
SETTLE_MS = 2000  # after a load, before the first stroke: a person looks before drawing
WINDOW_S = 4.0  # main-thread time is counted this long after each mouse-up
QUIET_MS = 1000  # a stroke's traffic has ended when nothing came for this long
PLAY_STEPS = 27  # Play from step 1 to 28

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
# Received since the last mouse-up: bytes and frames (and the 3 largest), the frames after the main-thread window, and
# whether the page drew a new Prediction (if not, the value did not change and its arrival was timed).
RECEIVED_AFTER_MOUSE_UP = """windowMs => {
  const {mouseups, sent, shown, bytes} = window.rnnviz;
  const up = mouseups.at(-1);
  const send = sent.find(t => t > up);
  const after = bytes.filter(([t]) => t > up);
  return {bytes: after.reduce((sum, [, n]) => sum + n, 0), frames: after.length,
          frames_after_window: after.filter(([t]) => t > up + windowMs).length,
          largest: after.map(([, n]) => n).sort((a, b) => b - a).slice(0, 3),
          drawn: send !== undefined && shown.some(s => s.t > send)};
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

    def busy(self) -> float:
        """Seconds the page's main thread has been busy so far (DevTools TaskDuration)."""
        metrics = self.cdp.send("Performance.getMetrics")["metrics"]
        return next(m["value"] for m in metrics if m["name"] == "TaskDuration")

    def close(self) -> None:
        self.page.context.close()


def open_session(browser, server: Server, rate: float) -> Session:
    """A fresh context, throttled before it navigates; timed from navigating to a canvas ready to draw on."""
    context = browser.new_context(viewport=VIEWPORT)
    page = context.new_page()
    page.add_init_script(RECORDER + BYTES_RECORDER)
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
    return Session(server, page, cdp, ready, time.perf_counter() - start)


def measure_stroke(session: Session, stroke) -> dict:
    """Draw one stroke; main-thread time in the WINDOW_S after its mouse-up, mouse-up to prediction, the
    server's CPU time and the websocket bytes received until the page is quiet."""
    page = session.page
    draw_stroke(page, stroke, release=False)
    cpu, at_up, start = session.server.cpu_seconds(), session.busy(), time.perf_counter()
    page.mouse.up()
    page.wait_for_timeout(max(0.0, WINDOW_S - (time.perf_counter() - start)) * 1000)  # no polling in the window
    busy, window = session.busy() - at_up, time.perf_counter() - start
    answer = page.wait_for_function(PREDICTION_AFTER_MOUSE_UP, timeout=TIMEOUT_MS, polling=POLL_MS).json_value()
    page.wait_for_function(QUIET_AFTER_MOUSE_UP, arg=[1, QUIET_MS], timeout=TIMEOUT_MS, polling=POLL_MS)
    received = page.evaluate(RECEIVED_AFTER_MOUSE_UP, WINDOW_S * 1000)
    until_quiet = session.busy() - at_up  # past the window too, with the waits' polling: a check on the window
    return {"prediction_ms": round(answer["ms"]), "send_ms": round(answer["send_ms"]),
            "prediction_drawn": received["drawn"], "main_thread_ms": round(busy * 1000, 1),
            "window_s": round(window, 2), "main_thread_ms_until_quiet": round(until_quiet * 1000, 1),
            "server_cpu_ms": round((session.server.cpu_seconds() - cpu) * 1000),
            "ws_bytes_received": received["bytes"], "ws_frames_received": received["frames"],
            "ws_frames_after_window": received["frames_after_window"], "ws_largest_frames": received["largest"],
            "prediction": answer["prediction"]}


def fresh_page(browser, server: Server, rate: float, digit, keep: bool = False) -> tuple[dict, Session | None]:
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

def warm_up(browser, server: Server, digit) -> dict:
    """One unmeasured page, unthrottled, that draws a whole digit: the server's first run and caches."""
    session = open_session(browser, server, 1)
    index, record = digit
    strokes = [measure_stroke(session, stroke) for stroke in pen_strokes(record, index)]
    session.close()
    return {"load_s": round(session.load_s, 2), "prediction_ms": [s["prediction_ms"] for s in strokes]}


def measure_rate(browser, servers: list[Server], rate: float, digits, args) -> dict:
    """Every page kind at one throttling rate: {kind: {page_load_s, first_stroke, later_strokes, play}}."""
    pages = max(args.loads, args.firsts, 1)
    samples = {s.name: {"page_load_s": [], "page_settled_s": [], "after_load_main_thread_ms": [], "first_stroke": [],
                        "later_strokes": [],
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
            print(f"  {rate:g}x {server.name}: load {sample['load_s']:.2f} s (settled {sample['settled_s']:.2f} s), "
                  f"first prediction {sample['first']['prediction_ms']} ms", flush=True)
    for clear, stroke in stroke_plan(digits[pages:], digits[pages - 1], args.strokes):
        for server in servers:  # and stroke by stroke
            if clear:
                clear_canvas(kept[server.name].page)
            samples[server.name]["later_strokes"].append(measure_stroke(kept[server.name], stroke))
    for name, session in kept.items():  # a quiet page's own main-thread use (animations, timers)
        samples[name]["idle_busy_share"].append(idle_share(session))
        if name != "app":
            session.close()
    app = kept["app"]
    if args.play_view == "compare-view":
        open_tab(app.page, "Compare", timeout_ms=TIMEOUT_MS)
    samples["app"]["play"] = [play(app, args.play_view) for _ in range(args.plays)]
    app.close()
    return samples


# ---- results ----

def _column(records: list[dict], field: str) -> list[float]:
    return [record[field] for record in records]


def _ratio(numerator: dict, denominator: dict) -> float | None:
    return round(numerator["median"] / denominator["median"], 3) if numerator and denominator else None


def summary(samples: dict, play_view: str) -> dict:
    """Medians (stats) of one rate's samples, by page kind, and the ratios the targets read."""
    def by_kind(pick) -> dict:
        return {kind: stats(values) for kind, s in samples.items() if (values := pick(s))}

    out = {
        "page_load_s": by_kind(lambda s: s["page_load_s"]),
        "page_settled_s": by_kind(lambda s: s["page_settled_s"]),
        "main_thread_ms_in_the_2s_after_load": by_kind(lambda s: s["after_load_main_thread_ms"]),
        "first_prediction_ms": by_kind(lambda s: _column(s["first_stroke"], "prediction_ms")),
        "first_stroke_main_thread_ms": by_kind(lambda s: _column(s["first_stroke"], "main_thread_ms")),
        "later_stroke_main_thread_ms": by_kind(lambda s: _column(s["later_strokes"], "main_thread_ms")),
        "later_stroke_main_thread_ms_until_quiet": by_kind(
            lambda s: _column(s["later_strokes"], "main_thread_ms_until_quiet")),
        "later_stroke_prediction_ms": by_kind(lambda s: _column(s["later_strokes"], "prediction_ms")),
        "server_cpu_ms_per_stroke": by_kind(lambda s: _column(s["later_strokes"], "server_cpu_ms")),
        "ws_kb_per_stroke": by_kind(lambda s: [b / 1000 for b in _column(s["later_strokes"], "ws_bytes_received")]),
        "idle_busy_share": {kind: s["idle_busy_share"][0] for kind, s in samples.items()},
        "failed_page_loads": {kind: len(s["failed_loads"]) for kind, s in samples.items()},  # tried again
    }
    out["app_over_bare"] = {name: _ratio(out[field].get("app"), out[field].get("bare")) for name, field in (
        ("page_load", "page_load_s"), ("page_settled", "page_settled_s"), ("first_prediction", "first_prediction_ms"),
        ("later_stroke_main_thread", "later_stroke_main_thread_ms"))}
    if "before" in samples:
        out["app_over_before"] = {name: _ratio(out[field].get("app"), out[field].get("before")) for name, field in (
            ("server_cpu_per_stroke", "server_cpu_ms_per_stroke"), ("ws_bytes_per_stroke", "ws_kb_per_stroke"),
            ("page_load", "page_load_s"), ("first_prediction", "first_prediction_ms"))}
    plays = samples["app"]["play"]
    if plays:
        out["play"] = {"view": play_view, "main_thread_ms_per_step": stats(_column(plays, "main_thread_ms_per_step")),
                       "busy_share": stats(_column(plays, "busy_share")),
                       "seconds": stats(_column(plays, "seconds")),
                       "websocket_frames": sum(_column(plays, "websocket_frames"))}
    return out


def targets(summaries: dict[float, dict]) -> list[dict]:
    checks = []
    for rate, out in summaries.items():
        at, ratios = f"at {rate:g}x", out["app_over_bare"]
        checks.append(target(f"page load {at}, app / bare (medians {out['page_load_s']['app']['median']} s, "
                             f"{out['page_load_s']['bare']['median']} s)", ratios["page_load"], 1.2))
        if rate > 1:
            first, later = out["first_prediction_ms"], out["later_stroke_main_thread_ms"]
            checks.append(target(f"first prediction {at}, app / bare (medians {first['app']['median']} ms, "
                                 f"{first['bare']['median']} ms)", ratios["first_prediction"], 2))
            checks.append(target(f"main-thread time per later stroke {at}, app / bare (medians "
                                 f"{later['app']['median']} ms, {later['bare']['median']} ms)",
                                 ratios["later_stroke_main_thread"], 2.5))
        if play_ := out.get("play"):
            checks.append(target(f"{play_['view']} Play {at}: main-thread ms per step (median)",
                                 play_["main_thread_ms_per_step"]["median"], 10 * rate))
            checks.append(target(f"{play_['view']} Play {at}: share of wall time the main thread is busy (max)",
                                 play_["busy_share"]["max"], 0.3))
            checks.append(target(f"{play_['view']} Play {at}: websocket frames", play_["websocket_frames"], 1))
        if "app_over_before" in out:
            cpu = out["server_cpu_ms_per_stroke"]
            checks.append(target(f"server CPU per stroke {at}, app / before (medians {cpu['app']['median']} ms, "
                                 f"{cpu['before']['median']} ms)", out["app_over_before"]["server_cpu_per_stroke"],
                                 0.6))
    return checks


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rates", type=float, nargs="+", default=[1, 4], help="CPU throttling rates (1 = none)")
    parser.add_argument("--loads", type=int, default=3, help="fresh pages timed loading, per kind and rate")
    parser.add_argument("--firsts", type=int, default=2, help="fresh pages timed on their first stroke")
    parser.add_argument("--strokes", type=int, default=6, help="later strokes measured, per kind and rate")
    parser.add_argument("--plays", type=int, default=2, help="Play runs of the view, per rate")
    parser.add_argument("--play-view", default="inspect-view", choices=["inspect-view", "compare-view"])
    parser.add_argument("--before", type=Path, help="an older checkout of the app, measured beside it")
    args = parser.parse_args()
    started, load_average = time.perf_counter(), [round(x, 2) for x in os.getloadavg()]
    pages = max(args.loads, args.firsts, 1)
    digits = readable_digits(pendigits.load(pendigits.default_path()), pages + args.strokes + 1)
    kinds = [("bare", BARE_PAGE, ROOT), ("app", "app.py", ROOT)]
    if args.before:
        kinds.append(("before", "app.py", args.before.resolve()))
    with ExitStack() as stack:
        servers = [stack.enter_context(streamlit_server(name, script, cwd)) for name, script, cwd in kinds]
        browser = stack.enter_context(chromium())
        warm = {server.name: warm_up(browser, server, digits[-1]) for server in servers}
        print(f"warm-up (unthrottled, unmeasured): {warm}", flush=True)
        samples = {rate: measure_rate(browser, servers, rate, digits, args) for rate in args.rates}
    summaries = {rate: summary(rate_samples, args.play_view) for rate, rate_samples in samples.items()}
    for rate, out in summaries.items():
        print(f"{rate:g}x: {out}")
    pages_measured = {"bare": "bench/bare_page.py", "app": "app.py (this working tree)"}
    if args.before:
        commit = subprocess.run(["git", "-C", str(args.before), "rev-parse", "--short", "HEAD"], text=True,
                                capture_output=True).stdout.strip()
        pages_measured["before"] = f"app.py of {args.before} (commit {commit or 'unknown'})"
    save("slow_device", {
        "pages": pages_measured,
        "settings": {"rates": args.rates, "pages_per_kind_and_rate": pages, "later_strokes": args.strokes,
                     "plays": args.plays, "window_s": WINDOW_S, "settle_ms": SETTLE_MS},
        **{f"at_{rate:g}x": out for rate, out in summaries.items()},
        "warm_up": warm,
        "load_average_at_start": load_average,
        "run_minutes": round((time.perf_counter() - started) / 60, 1),
        "targets": targets(summaries),
        "samples": {f"{rate:g}x": rate_samples for rate, rate_samples in samples.items()},
    })


if __name__ == "__main__":
    main()
