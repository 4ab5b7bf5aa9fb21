"""What one stroke costs the machine: CPU time of the server, of Chromium and of the script driving it.

    RNNVIZ_DATA=../shared/mnist python -m bench.stroke_cost [--digits 6] [--tab Inspect]

One server, one browser context, on an otherwise idle machine. It draws pen digits stroke by stroke
(clearing the canvas before each digit), waits for each prediction and then a second for the page
to settle, and divides each side's CPU time by the strokes. The page's first digit (its first chart,
the server's first use of its caches) is measured apart, as `first_digit`. It explains
bench.classroom: there the simulated students' browsers share the server's 2 cores, which a real
class's devices do not.
`--tab` opens another tab first (Train: no step figure to draw).
"""

import argparse
import os
import time
from pathlib import Path

from bench.classroom import cpu_seconds, process_tree
from bench.report import save, stats
from rnnviz.data import pendigits
from tools import browser as drive
from ui.state import Tab

SETTLE_S = 1.0  # after each prediction: the rest of the page (figures, images) is drawn and counted


def cpu_by_side() -> dict[str, float]:
    """CPU seconds so far of the Streamlit server, of Chromium, and of this script with Playwright's driver."""
    sides = {"server": [], "chromium": [], "driver": []}
    for pid in process_tree(os.getpid()):
        try:
            command = Path(f"/proc/{pid}/cmdline").read_bytes()
        except OSError:
            continue
        side = "server" if b"streamlit" in command else "chromium" if b"chromium" in command else "driver"
        sides[side].append(pid)
    return {side: cpu_seconds(pids) for side, pids in sides.items()}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--digits", type=int, default=6, help="digits drawn and measured (after one to warm up)")
    parser.add_argument("--tab", default=Tab.INSPECT, choices=list(Tab))
    args = parser.parse_args()
    digits = drive.readable_digits(pendigits.load(pendigits.default_path()), args.digits + 1)
    with drive.streamlit_server() as url, drive.chromium() as browser:
        page = drive.open_app(browser, url)
        if args.tab != Tab.INSPECT:
            drive.open_tab(page, args.tab)
        time.sleep(2 * SETTLE_S)  # the page has loaded
        waits, strokes, before = [], 0, cpu_by_side()
        for number, (index, record) in enumerate(digits):
            if number == 1:  # the first digit warms up the page (its first chart) and the server's caches
                warm = cpu_by_side()
                first = {"strokes": strokes, "mouse_up_to_prediction_ms": [round(wait) for wait in waits],
                         "cpu_ms": {side: round(1000 * (warm[side] - before[side])) for side in warm}}
                before, waits, strokes = warm, [], 0
            drive.clear_canvas(page)
            for stroke in drive.pen_strokes(record, index):
                drive.draw_stroke(page, stroke)
                waits.append(drive.wait_for_reading(page)["ms"])
                strokes += 1
                time.sleep(SETTLE_S)
        after = cpu_by_side()
    per_stroke = {side: round(1000 * (after[side] - before[side]) / strokes) for side in after}
    print(f"{strokes} strokes, CPU ms per stroke: {per_stroke}; the page's first digit: {first}")
    save("stroke_cost" + ("" if args.tab == Tab.INSPECT else f"_{args.tab.lower()}"),
         {"tab": args.tab, "strokes": strokes, "cpu_ms_per_stroke": per_stroke,
          "mouse_up_to_prediction_ms": stats(waits), "first_digit": first})


if __name__ == "__main__":
    main()
