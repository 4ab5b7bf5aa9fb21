"""Remake docs/screenshots/ from the running app, as a visitor sees it: real pen digits drawn with the
mouse (and by touch on a phone) in headless Chromium, on the shipped models.

    python docs/make_screenshots.py      # from the repository root; Insight and Train need RNNVIZ_DATA

Look at every picture before committing it.
"""

import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from rnnviz.data import pendigits  # noqa: E402
from tools.browser import (  # noqa: E402
    CANVAS,
    COMPARE_PANELS,
    RECORDER,
    SETTLED,
    chromium,
    draw_strokes,
    open_app,
    open_tab,
    pen_strokes,
    streamlit_server,
    touch_stroke,
    wait_until_quiet,
)
from ui.state import Key, Tab  # noqa: E402

HERE = Path(__file__).resolve().parent / "screenshots"
WIDE = {"width": 1400, "height": 1500}
PHONE = {"width": 390, "height": 844}


def pen_digit(label: int) -> tuple[int, dict]:
    """The first dev.jsonl digit with this label: (index, record)."""
    records = pendigits.load(pendigits.default_path())
    return next((i, r) for i, r in enumerate(records) if r["label"] == label)


def wide(browser, url: str) -> None:
    page = open_app(browser, url, 120_000)
    page.set_viewport_size(WIDE)
    index, record = pen_digit(7)
    draw_strokes(page, pen_strokes(record, index))
    wait_until_quiet(page)
    page.screenshot(path=HERE / "inspect.png")
    open_tab(page, Tab.COMPARE, timeout_ms=120_000)
    page.wait_for_function(f"() => ({COMPARE_PANELS})().length === 3", timeout=120_000)
    page.locator(f".st-key-{Key.COMPARE_VIEW} input.step").focus()
    for _ in range(12):  # row 16 of 28
        page.keyboard.press("ArrowLeft")
    page.locator(f".st-key-{Key.COMPARE_VIEW}").evaluate("view => view.scrollIntoView()")
    page.wait_for_timeout(500)
    page.screenshot(path=HERE / "compare.png")
    for tab, name in ((Tab.INSIGHT, "insight.png"), (Tab.TRAIN, "train.png")):
        open_tab(page, tab, timeout_ms=300_000)
        wait_until_quiet(page, quiet_ms=3000, timeout_ms=300_000)
        page.get_by_role("tabpanel").first.scroll_into_view_if_needed()
        page.screenshot(path=HERE / name)
    page.context.close()


def phone(browser, url: str) -> None:
    context = browser.new_context(viewport=PHONE, has_touch=True, is_mobile=True, device_scale_factor=2)
    page = context.new_page()
    page.add_init_script(RECORDER)
    page.goto(url)
    page.locator(CANVAS).wait_for(state="visible", timeout=120_000)
    page.wait_for_selector('[data-test-script-state="notRunning"]', timeout=120_000)
    index, record = pen_digit(2)
    for stroke in pen_strokes(record, index):
        touch_stroke(page, stroke)
        page.wait_for_timeout(500)
    page.wait_for_function(SETTLED, arg=[0, 1500], timeout=120_000)  # touch has no mouse-up to wait from
    page.screenshot(path=HERE / "phone.png")
    context.close()


def lesson(browser, url: str) -> None:
    """The guided lesson at its fourth step: the forget gate clamped, above Compare's race."""
    page = open_app(browser, url, 120_000)
    page.get_by_role("button", name="Take the guided lesson").click()
    for _ in range(3):
        page.locator(f".st-key-{Key.LESSON}").get_by_role("button", name="Next →").click()
        wait_until_quiet(page, messages=0, quiet_ms=1500, timeout_ms=120_000)
    page.wait_for_function(f"() => ({COMPARE_PANELS})().some(p => p.final.includes('was'))", timeout=120_000)
    page.locator(f".st-key-{Key.LESSON}").evaluate("panel => panel.scrollIntoView()")
    page.wait_for_timeout(500)
    page.screenshot(path=HERE / "lesson.png")
    page.context.close()


def main() -> None:
    with streamlit_server(timeout=180) as url, chromium() as browser:
        wide(browser, url)
        lesson(browser, url)
        phone(browser, url)
    print(json.dumps(sorted(path.name for path in HERE.glob("*.png"))))


if __name__ == "__main__":
    main()
