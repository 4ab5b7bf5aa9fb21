"""A replica lost in the middle of a class (deploy/serve.sh: 2 replicas behind Debian's nginx): the page it served
reconnects through the balancer to the other replica and shows the same view, the drawing, the models, the
what-if, the tab and the step, and the lost replica is started again and takes its visitors back."""

import pytest

from tools.browser import (
    COMPARE_PANELS,
    COMPARE_VIEW,
    chromium,
    compare_panels,
    draw_strokes,
    drawing_now,
    live_reading,
    open_app,
    open_tab,
    pen_strokes,
    readable_digits,
)
from tools.deployment import deploy
from ui.state import KEEP_GATE_CHOICES, Tab

pytestmark = [pytest.mark.browser, pytest.mark.slow]

BACK = 60_000  # ms: a hang guard, not a speed target (bench.lecture_hall times the return)
# JS: whether the page has been run anew since it had received `before` frames (a run is dozens of them), nothing
# has come for `quiet` ms and the script is idle (Streamlit's own state marker).
RUN_ANEW = """([before, quiet]) => {
  const received = window.rnnviz.received;
  return received.length > before + 10 && performance.now() - received.at(-1) > quiet
    && document.querySelector('[data-test-script-state]')?.dataset.testScriptState === 'notRunning';
}"""


def set_up_a_view(page, record, index) -> dict:
    """Draw the digit, open Compare with two models, clamp the forget gate and move the step to row 9."""
    draw_strokes(page, pen_strokes(record, index))
    open_tab(page, Tab.COMPARE)
    page.get_by_role("button", name="Remove RNN").click()
    page.wait_for_function(f"() => ({COMPARE_PANELS})().length === 2", timeout=BACK)
    forget = next(choice for choice, value in KEEP_GATE_CHOICES.items() if value == 0.0)
    page.get_by_text(forget).click()
    page.wait_for_function(f"() => ({COMPARE_PANELS})().some(p => p.final.includes('was'))", timeout=BACK)
    slider = page.locator(f"{COMPARE_VIEW} input.step")
    slider.focus()
    page.keyboard.press("Home")
    for _ in range(8):
        page.keyboard.press("ArrowRight")
    return {"panels": compare_panels(page), "reading": live_reading(page), "drawing": drawing_now(page)}


def test_a_page_whose_replica_is_killed_comes_back_on_the_other_with_the_same_view(pen_records, tmp_path):
    (index, record), = readable_digits(pen_records, 1)
    with deploy(replicas=2, models=tmp_path / "models") as deployment, chromium() as browser:
        page = open_app(browser, deployment.url, viewport={"width": 1366, "height": 768})
        before = set_up_a_view(page, record, index)
        assert [p["step"] for p in before["panels"]] == [9, 9]
        held = deployment.sessions()
        home = next(number for number, count in held.items() if count == 1)
        other = 3 - home
        assert held == {home: 1, other: 0}

        received = page.evaluate("window.rnnviz.received.length")
        killed = deployment.kill_replica(home)
        page.wait_for_function(RUN_ANEW, arg=[received, 1000], timeout=BACK)  # the other replica ran it anew
        assert deployment.sessions()[other] == 1
        assert page.get_by_role("tab", name=Tab.COMPARE, selected=True).count() == 1
        after = {"panels": compare_panels(page), "reading": live_reading(page), "drawing": drawing_now(page)}
        assert after["panels"] == before["panels"] and after["reading"] == before["reading"]
        assert (after["drawing"] == before["drawing"]).all()

        keep = next(choice for choice, value in KEEP_GATE_CHOICES.items() if value is None)
        page.get_by_text(keep, exact=True).click()  # the other replica holds the drawing and models: it answers
        page.wait_for_function(f"() => ({COMPARE_PANELS})().every(p => !p.final.includes('was'))", timeout=BACK)
        panels = compare_panels(page)
        assert [(p["model"], p["step"], p["final"]) for p in panels] == [
            ("GRU", 9, f"final {record['label']}"), ("LSTM", 9, f"final {record['label']}")]

        deployment.wait_replica_up(home, not_pid=killed)  # serve.sh started it again; its visitors come back
        cookies = page.context.cookies()
        assert [c["name"] for c in cookies if c["name"] == "rnnviz_replica"] == ["rnnviz_replica"]
        for _ in range(10):  # the balancer tries it again once its failure is 5 s old
            again = open_app(browser, deployment.url, storage_state={"cookies": cookies, "origins": []})
            if deployment.sessions()[home] == 1:
                break
            again.context.close()
            page.wait_for_timeout(2000)
        assert deployment.sessions() == {home: 1, other: 1}
