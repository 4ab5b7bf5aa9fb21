"""Compare's animated view in the browser: one Play step with the models side by side, and how soon a
what-if or a change of the model set shows.

    RNNVIZ_DATA=../shared/mnist python -m bench.compare_play [--models 3]

Serves app.py on loopback and drives Debian's Chromium (tools/browser.py): draws a pen digit, opens
Compare, presses the view's Play and reads the main thread's busy time (DevTools TaskDuration) over
the 27 steps (bench.slow_device does the same for Inspect's view, on a slowed CPU too). Then clamps the forget gate, and
adds a model, timing from the click to the view drawn with the new data.
Targets: < 50 ms main-thread time per Play step with three models, no websocket traffic during Play;
a what-if or a new model set shown < 1 s after the click.
"""

import argparse
import time

from bench.report import save, stats, target
from rnnviz.data import pendigits
from tools.browser import (
    COMPARE_PANELS,
    COMPARE_VIEW,
    chromium,
    draw_strokes,
    open_app,
    open_tab,
    pen_strokes,
    readable_digits,
    streamlit_server,
    websocket_frames,
)
from ui.compare_tab import KEEP_GATE_CHOICES
from ui.state import Tab

QUIET = "() => performance.now() - window.rnnviz.received.at(-1) > 1500"
WATCH_LONG_FRAMES = """() => {
  window.longFrames = [];
  new PerformanceObserver(list => window.longFrames.push(...list.getEntries().map(e => e.duration)))
    .observe({type: 'long-animation-frame'});
}"""
# JS: watch the view's panels; record when their text next changes (a new run's data drawn).
WATCH_VIEW = f"""() => {{
  window.viewChanged = null;
  const before = JSON.stringify(({COMPARE_PANELS})());
  const start = performance.now();
  const check = () => {{
    if (JSON.stringify(({COMPARE_PANELS})()) !== before) window.viewChanged = performance.now() - start;
    else requestAnimationFrame(check);
  }};
  requestAnimationFrame(check);
}}"""


def play(page) -> dict:
    """Press the view's Play at row 1 and measure main-thread time over the steps to row 28."""
    cdp = page.context.new_cdp_session(page)
    cdp.send("Performance.enable")
    page.evaluate(WATCH_LONG_FRAMES)

    def busy() -> float:
        return next(m["value"] for m in cdp.send("Performance.getMetrics")["metrics"] if m["name"] == "TaskDuration")

    slider = page.locator(f"{COMPARE_VIEW} input.step")
    slider.focus()
    page.keyboard.press("Home")  # row 1: Play then runs through rows 2..28
    page.wait_for_timeout(500)
    frames, before, start = websocket_frames(page), busy(), time.perf_counter()
    page.locator(f"{COMPARE_VIEW} button.play").click()
    page.wait_for_function(f"() => ({COMPARE_PANELS})().every(p => p.step === 28)", timeout=60_000, polling=500)
    steps = 27
    return {"main_thread_ms_per_step": round((busy() - before) * 1000 / steps, 2),
            "seconds": round(time.perf_counter() - start, 2),
            "frames_over_50ms": page.evaluate("window.longFrames"),
            "websocket_frames": {k: websocket_frames(page)[k] - frames[k] for k in frames}}


def time_change(page, act) -> float:
    """Seconds from `act()` (a click) to the view drawn with the new run's data."""
    page.evaluate(WATCH_VIEW)
    start = time.perf_counter()
    act()
    page.wait_for_function("() => window.viewChanged !== null", timeout=30_000, polling="raf")
    return time.perf_counter() - start


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3, help="Play runs and what-if changes to time")
    args = parser.parse_args()
    [(index, record)] = readable_digits(pendigits.load(pendigits.default_path()), 1)

    with streamlit_server() as url, chromium() as browser:
        page = open_app(browser, url)
        draw_strokes(page, pen_strokes(record, index))
        open_tab(page, Tab.COMPARE)
        page.wait_for_function(f"() => ({COMPARE_PANELS})().length === 3", timeout=60_000)
        page.wait_for_function(QUIET, timeout=30_000)
        plays = [play(page) for _ in range(args.repeats)]
        changes = []
        choices = list(KEEP_GATE_CHOICES)
        for _ in range(args.repeats):
            for choice in (choices[1], choices[2], choices[0]):
                changes.append(time_change(page, lambda c=choice: page.get_by_text(c).click()))
                page.wait_for_function(QUIET, timeout=30_000)
        model_set = []
        box = page.locator(".st-key-compared input")
        for _ in range(args.repeats):  # take the last model (LSTM) out with Backspace, put it back
            model_set.append(time_change(page, lambda: (box.click(), page.keyboard.press("Backspace"))))
            page.keyboard.press("Escape")
            page.wait_for_function(QUIET, timeout=30_000)
            model_set.append(time_change(page, lambda: (box.click(), page.keyboard.type("LSTM"),
                                                        page.keyboard.press("Enter"))))
            page.keyboard.press("Escape")
            page.wait_for_function(QUIET, timeout=30_000)

    per_step = [p["main_thread_ms_per_step"] for p in plays]
    print(f"play: {plays}")
    print(f"what-if shown after (s): {[round(c, 2) for c in changes]}; model set: {[round(c, 2) for c in model_set]}")
    targets = [
        target("ms main-thread time per play step, 3 models", max(per_step), 50),
        target("websocket frames during play", sum(sum(p["websocket_frames"].values()) for p in plays), 1),
        target("s, click on a what-if to the view redrawn (max)", max(changes), 1),
        target("s, change of the model set to the view redrawn (max)", max(model_set), 1),
    ]
    save("compare_play", {"play": plays, "what_if_seconds": stats(changes), "model_set_seconds": stats(model_set),
                          "targets": targets})


if __name__ == "__main__":
    main()
