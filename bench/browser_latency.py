"""What a user waits for in the browser: page load, mouse-up to prediction, and stepping.

    RNNVIZ_DATA=../shared/mnist python -m bench.browser_latency [--digits 12] [--loads 5]

Serves app.py on loopback and drives Debian's Chromium (tests/browser.py). Times are taken in
the page (performance.now) from the mouse-up to the end of the run it starts, whose prediction
is then on the page; each is split into: until the canvas sends the drawing (its debounce and
PNG encoding), until the server reports the run started, and the run (script, transfer, render).
Targets: median mouse-up to prediction < 700 ms; one step of Play < 50 ms main-thread time with
no websocket traffic; page load to a canvas ready to draw on < 5 s.
"""

import argparse
import time

import numpy as np

from bench.report import save, stats, target
from rnnviz import pendigits
from tests.browser import (
    STEP_FIGURE,
    chromium,
    clear_canvas,
    draw_strokes,
    open_app,
    pen_strokes,
    readable_digits,
    streamlit_server,
    websocket_frames,
)

# Per mouse-up: when the drawing was sent, when the run started, when it ended (page times, ms).
PHASES = """() => {
  const {mouseups, sent, states} = window.rnnviz;
  return mouseups.map(up => {
    const send = sent.find(t => t > up);
    const start = states.find(s => s.t > up && s.state === 'running');
    const end = start && states.find(s => s.t > start.t && s.state === 'notRunning');
    return end && {send: send - up, start: start.t - up, end: end.t - up};
  }).filter(Boolean);
}"""

WATCH_LONG_FRAMES = """() => {
  window.longFrames = [];
  new PerformanceObserver(list => window.longFrames.push(...list.getEntries().map(e => e.duration)))
    .observe({type: 'long-animation-frame'});
}"""


def page_loads(browser, url: str, count: int) -> list[float]:
    """Seconds from opening the URL in a fresh session to a canvas ready to draw on."""
    seconds = []
    for _ in range(count):
        start = time.perf_counter()
        page = open_app(browser, url)
        seconds.append(time.perf_counter() - start)
        page.context.close()
    return seconds


def mouse_up_to_prediction(page, digits) -> tuple[list[dict], int]:
    """Draw each digit (after Clear); returns the phases of every stroke and how many were read right."""
    right, phases = 0, []
    for index, record in digits:
        clear_canvas(page)
        first = len(page.evaluate("window.rnnviz.mouseups"))
        right += draw_strokes(page, pen_strokes(record, index))[-1]["prediction"] == str(record["label"])
        phases += page.evaluate(PHASES)[first:]
    return phases, right


def play(page) -> dict:
    """Press Play on the step figure and measure the 28 steps."""
    cdp = page.context.new_cdp_session(page)
    cdp.send("Performance.enable")
    page.evaluate(WATCH_LONG_FRAMES)

    def busy() -> float:
        return next(m["value"] for m in cdp.send("Performance.getMetrics")["metrics"] if m["name"] == "TaskDuration")

    frames, before, start = websocket_frames(page), busy(), time.perf_counter()
    page.locator(STEP_FIGURE).locator(".updatemenu-button", has_text="Play").click()
    page.wait_for_function(f"() => document.querySelector('{STEP_FIGURE} .gtitle').textContent"
                           ".startsWith('Step 28 of 28')", timeout=60_000)
    return {"main_thread_ms_per_step": round((busy() - before) * 1000 / 28, 2),
            "seconds": round(time.perf_counter() - start, 2),
            "frames_over_50ms": page.evaluate("window.longFrames"),
            "websocket_frames": {k: websocket_frames(page)[k] - frames[k] for k in frames}}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--digits", type=int, default=12, help="pen digits to draw")
    parser.add_argument("--loads", type=int, default=5, help="page loads to time (the first is cold)")
    args = parser.parse_args()
    digits = readable_digits(pendigits.load(pendigits.default_path()), args.digits)

    with streamlit_server() as url, chromium() as browser:
        loads = page_loads(browser, url, args.loads)
        page = open_app(browser, url)
        phases, right = mouse_up_to_prediction(page, digits)
        stepping = play(page)

    split = {name: stats([p[name] for p in phases]) for name in ("send", "start", "end")}
    print(f"page load: first {loads[0]:.2f} s, then median {np.median(loads[1:]):.2f} s")
    print(f"mouse-up to prediction (ms): {split['end']}; canvas sends after {split['send']['median']} ms, "
          f"run starts after {split['start']['median']} ms; {right}/{len(digits)} digits read right")
    print(f"play: {stepping}")
    targets = [
        target("median ms, mouse-up to prediction", split["end"]["median"], 700),
        target("ms main-thread time per play step", stepping["main_thread_ms_per_step"], 50),
        target("websocket frames during play", sum(stepping["websocket_frames"].values()), 1),
        target("s, first page load", loads[0], 5),
        target("s, median later page load", float(np.median(loads[1:])), 5),
    ]
    save("browser_latency", {
        "page_load_seconds": {"first": round(loads[0], 2), "later": stats(loads[1:])},
        "mouse_up_to_prediction_ms": split["end"],
        "phases_ms": {"canvas sends drawing": split["send"], "server starts run": split["start"]},
        "digits": {"drawn": len(digits), "read_right": right, "strokes": len(phases)},
        "play": stepping,
        "targets": targets,
    })


if __name__ == "__main__":
    main()
