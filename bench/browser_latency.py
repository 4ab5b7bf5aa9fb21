"""What a user waits for in the browser: page load, mouse-up to prediction, and stepping.

    RNNVIZ_DATA=../shared/mnist python -m bench.browser_latency [--digits 12] [--loads 5]

Serves app.py on loopback and drives Debian's Chromium (tests/browser.py). Times are taken in
the page (performance.now) from each stroke's mouse-up to the Prediction metric sent by the run
it starts appearing on the page; also recorded: until the canvas sends the drawing (its debounce
and PNG encoding).
Targets: median mouse-up to prediction < 700 ms; one step of Play < 50 ms main-thread time with
no websocket traffic; page load to a canvas ready to draw on < 5 s.
"""

import argparse
import time

import numpy as np

from bench.report import save, stats, target
from rnnviz.data import pendigits
from tests.browser import (
    SHOWN_STEP_TEXT,
    STEP_FIGURE,
    chromium,
    clear_canvas,
    draw_strokes,
    open_app,
    pen_strokes,
    readable_digits,
    streamlit_server,
    wait_until_quiet,
    websocket_frames,
)

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
    """Draw each digit after Clear: wait_for_prediction's answer for every stroke, and how many digits were right."""
    right, strokes = 0, []
    for index, record in digits:
        clear_canvas(page)
        answers = draw_strokes(page, pen_strokes(record, index))
        right += answers[-1]["prediction"] == str(record["label"])
        strokes += answers
    return strokes, right


def play(page) -> dict:
    """Press Play on the step figure (once the page is quiet) and measure the 28 steps."""
    wait_until_quiet(page)
    cdp = page.context.new_cdp_session(page)
    cdp.send("Performance.enable")
    page.evaluate(WATCH_LONG_FRAMES)

    def busy() -> float:
        return next(m["value"] for m in cdp.send("Performance.getMetrics")["metrics"] if m["name"] == "TaskDuration")

    frames, before, start = websocket_frames(page), busy(), time.perf_counter()
    page.locator(STEP_FIGURE).locator(".updatemenu-button", has_text="Play").click()
    page.wait_for_function(f"() => {SHOWN_STEP_TEXT} === 'Step 28 of 28'", timeout=60_000,
                           polling=500)  # the default polls at every frame, which is main-thread time too
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
        strokes, right = mouse_up_to_prediction(page, digits)
        stepping = play(page)

    split = {name: stats([s[name] for s in strokes]) for name in ("ms", "send_ms")}
    print(f"page load: first {loads[0]:.2f} s, then median {np.median(loads[1:]):.2f} s")
    print(f"mouse-up to prediction (ms): {split['ms']}; the canvas sends the drawing after "
          f"{split['send_ms']['median']} ms; {right}/{len(digits)} digits read right")
    print(f"play: {stepping}")
    targets = [
        target("median ms, mouse-up to prediction", split["ms"]["median"], 700),
        target("ms main-thread time per play step", stepping["main_thread_ms_per_step"], 50),
        target("websocket frames during play", sum(stepping["websocket_frames"].values()), 1),
        target("s, first page load", loads[0], 5),
        target("s, median later page load", float(np.median(loads[1:])), 5),
    ]
    save("browser_latency", {
        "page_load_seconds": {"first": round(loads[0], 2), "later": stats(loads[1:])},
        "mouse_up_to_prediction_ms": split["ms"],
        "mouse_up_to_canvas_message_ms": split["send_ms"],
        "digits": {"drawn": len(digits), "read_right": right, "strokes": len(strokes)},
        "play": stepping,
        "targets": targets,
    })


if __name__ == "__main__":
    main()
