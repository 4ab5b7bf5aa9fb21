"""Ten people drawing at once on one server, then the same while one of them trains a model.

    RNNVIZ_DATA=../shared/mnist python -m bench.many_users [--sessions 10] [--rounds 2]

One server on loopback, one Chromium with a browser context (a session) per user. In each
round every session clears its canvas and draws a pen digit; stroke by stroke, all sessions
release the mouse within about a second of each other, then each waits for its prediction.
Phase 2 repeats this while session 0 trains a model in the Train tab (the app's defaults, but
all 55,000 images for 10 epochs, so that it trains throughout).
Targets: every drawing read right; p95 mouse-up to prediction < 2 s in both phases.
"""

import argparse
import time

from bench.report import save, stats, target
from rnnviz.data import pendigits
from tools.browser import (
    chromium,
    clear_canvas,
    draw_stroke,
    live_reading,
    open_app,
    open_tab,
    pen_strokes,
    readable_digits,
    streamlit_server,
    wait_for_reading,
)
from ui.state import Tab


def draw_together(pages, digits) -> tuple[list[float], int]:
    """Every page draws its digit at the same time; returns, per stroke, when the answer last changed (ms after
    the mouse-up: negative while the pen was still down) and how many were right."""
    for page in pages:
        clear_canvas(page)
    strokes = [pen_strokes(record, index) for index, record in digits]
    waits, right = [], 0
    for k in range(max(map(len, strokes))):
        drawing = [(page, s[k]) for page, s in zip(pages, strokes, strict=True) if k < len(s)]
        for page, stroke in drawing:
            draw_stroke(page, stroke)
        for page, _ in drawing:
            waits.append(wait_for_reading(page, timeout_ms=60_000))
    for page, (_, record) in zip(pages, digits, strict=True):
        right += live_reading(page) == str(record["label"])
    return [w["ms"] for w in waits], right


def phase(pages, digits, rounds: int) -> dict:
    started, waits, right = time.perf_counter(), [], 0
    for r in range(rounds):
        ms, ok = draw_together(pages, digits[r * len(pages): (r + 1) * len(pages)])
        waits += ms
        right += ok
    return {"mouse_up_to_prediction_ms": stats(waits), "drawings": rounds * len(pages), "read_right": right,
            "seconds": round(time.perf_counter() - started, 1)}


def training(page) -> bool:
    """Whether the Train tab of this page shows a run in progress."""
    return page.locator(".st-key-stop-training").count() > 0


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=2, help="digits each session draws per phase")
    args = parser.parse_args()
    digits = readable_digits(pendigits.load(pendigits.default_path()), 2 * args.rounds * args.sessions)

    with streamlit_server() as url, chromium() as browser:
        pages = [open_app(browser, url) for _ in range(args.sessions)]
        together = phase(pages, digits, args.rounds)
        print(f"{args.sessions} sessions drawing: {together}")

        trainer, others = pages[0], pages[1:]
        open_tab(trainer, Tab.TRAIN)
        trainer.locator(".st-key-train-images").get_by_role("slider").press("End")  # all 55,000 images
        trainer.locator(".st-key-train-epochs input").fill("10")  # long enough to outlast the phase
        trainer.locator(".st-key-start-training").get_by_role("button").click()
        trainer.locator(".st-key-stop-training").wait_for(timeout=30_000)
        busy = phase(others, digits[args.rounds * args.sessions:], args.rounds)
        busy["training_throughout"] = training(trainer)
        print(f"{len(others)} sessions drawing while one trains: {busy}")

    targets = [
        target("drawings read wrong, all drawing", together["drawings"] - together["read_right"], 1),
        target("p95 ms, all drawing", together["mouse_up_to_prediction_ms"]["p95"], 2000),
        target("drawings read wrong, one training", busy["drawings"] - busy["read_right"], 1),
        target("p95 ms, one training", busy["mouse_up_to_prediction_ms"]["p95"], 2000),
    ]
    save("many_users", {"sessions": args.sessions, "all_drawing": together, "one_training": busy,
                        "targets": targets})


if __name__ == "__main__":
    main()
