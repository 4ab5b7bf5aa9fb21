"""Visitors with no browser (tools/stream_page.py, what bench/lecture_hall.py runs by the hundred): two pages
drawing real pen digits at once on one served app, over Streamlit's own websocket, each answered with what the
server read of that very drawing; a drawing that is not a PNG is refused in one line."""

import asyncio
import json
from urllib.parse import parse_qs

import numpy as np
import pytest

from rnnviz import preprocess_canvas
from rnnviz.preprocess import PNG_URL, decode_drawing
from tools.browser import serve
from tools.stream_page import StreamPage, pen_drawing, png_url
from ui.address import decode_digit
from ui.state import Key, Param

pytestmark = pytest.mark.slow

DRAWINGS_EACH = 3


@pytest.fixture(scope="module")
def served():
    with serve() as server:
        yield server


def linked_digit(answer) -> np.ndarray:
    """The digit in the link of the Inspect view the answer carries: what the server read."""
    view = answer.component_data(Key.INSPECT_VIEW)
    assert view is not None, "the answer holds no Inspect view"
    assert "query" in view["link"], view["link"]  # a note instead: the server has no drawing
    return decode_digit(parse_qs(view["link"]["query"])[Param.DIGIT][0])


async def visitor(url: str, drawings: list[str]) -> list:
    """A page that opens, draws each drawing in turn and leaves: its first run's answer, then each drawing's."""
    page, first = await StreamPage.open(url, timeout=120)
    page.timeout = 30  # a drawing is answered in well under a second
    assert "visitor=" in page.query  # the address the server gave this visitor, kept for every later run
    answers = [await page.draw(drawing) for drawing in drawings]
    await page.close()
    return [first, *answers]


def test_two_visitors_drawing_at_once_are_each_answered_with_their_own_drawing(served, pen_records):
    rng = np.random.default_rng(0)
    drawings = [[png_url(pen_drawing(pen_records[5 * v + d], rng)) for d in range(DRAWINGS_EACH)] for v in range(2)]

    async def both():
        return await asyncio.gather(*(visitor(served.url, own) for own in drawings))

    for own, (first, *answers) in zip(drawings, asyncio.run(both()), strict=True):
        assert first.component_data(Key.LIVE_VIEW) is not None  # the first run is the page itself
        assert len(answers) == DRAWINGS_EACH
        for drawing, answer in zip(own, answers, strict=True):
            expected = preprocess_canvas(decode_drawing(drawing))
            assert np.abs(linked_digit(answer) - expected).max() <= 1 / 255
            assert not answer.alerts()


def test_a_drawing_that_is_not_a_png_is_refused_in_one_line(served):
    async def forged():
        page, _ = await StreamPage.open(served.url, timeout=120)
        answer = await page.draw(PNG_URL + "AAAA")
        await page.close()
        return answer

    alerts = asyncio.run(forged()).alerts()
    assert len(alerts) == 1, alerts
    assert alerts[0].startswith("This drawing cannot be read")
    assert len(alerts[0]) < 200 and "\n" not in alerts[0]


@pytest.mark.parametrize("state", [{"drawing": [1, 2]}, {"drawing": {"data": PNG_URL + "AAAA", "in_sight": "yes"}},
                                   {"drawing": {"data": 5, "in_sight": {"deep": [1]}}}, [1, 2]],
                         ids=["drawing a list", "in_sight a string", "in_sight a dict", "state a list"])
def test_a_forged_live_view_state_gets_at_most_one_line_and_no_error(served, state):
    """What the live view says at a pause (its drawing, and whether the views of it are in sight) is the
    visitor's to forge: the server answers with one short line at most, never a traceback."""
    async def forged():
        page, _ = await StreamPage.open(served.url, timeout=120)
        answer = await page.rerun({Key.LIVE_VIEW: ("json_value", json.dumps(state))})
        await page.close()
        return answer

    answer = asyncio.run(forged())
    assert not [element for element in answer.elements() if element.DESCRIPTOR.name == "Exception"]
    assert len(answer.alerts()) <= 1 and all(len(alert) < 200 for alert in answer.alerts()), answer.alerts()
