"""The guided lesson: a few steps, each a few sentences beside the live view it sets up. The steps are
data (lesson.toml): a teacher changes or adds one there, not here."""

import tomllib
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qsl

import streamlit as st

from .address import SharedView
from .link import apply, read_query
from .state import InsightView, Key, Tab

LESSON = Path(__file__).with_name("lesson.toml")
TITLE = "How an RNN and an LSTM read the same digit differently"


@dataclass(frozen=True)
class LessonStep:
    title: str
    view: SharedView  # what the step sets up
    text: str
    facts: tuple[tuple[str, str], ...]  # (a number the text states, what it measures): tests/test_lesson.py
    insight: InsightView | None = None  # the Insight view to open


def load_lesson(path: Path = LESSON) -> list[LessonStep]:
    """The lesson's steps. Raises ValueError, naming the step, for a view the page cannot set up."""
    steps = []
    for number, step in enumerate(tomllib.loads(path.read_text())["step"], 1):
        view, ignored = read_query(dict(parse_qsl(step["view"], keep_blank_values=True)))
        if ignored:
            raise ValueError(f"lesson step {number} ({step['title']}): " + "; ".join(ignored))
        steps.append(LessonStep(step["title"], view, step["text"].strip(), tuple(map(tuple, step.get("facts", ()))),
                                InsightView(step["insight"]) if "insight" in step else None))
    return steps


@st.cache_resource
def lesson() -> list[LessonStep]:
    return load_lesson()


def go_to(number: int | None) -> None:
    """Show lesson step `number` (from 0) and set its view up; None leaves the lesson. The whole page reruns,
    also from a step's buttons in a tab (a fragment): a step sets up the digit and the panel beside it too."""
    if number is None:
        st.session_state.pop(Key.LESSON_STEP, None)
    else:
        step = lesson()[number]
        st.session_state[Key.LESSON_STEP] = number
        apply(step.view)
        if step.insight is not None:
            st.session_state[Key.INSIGHT_VIEW] = step.insight
    st.rerun()


def lesson_entry() -> None:
    """On the first screen: the way into the lesson, or, during it, where its text is."""
    number = st.session_state.get(Key.LESSON_STEP)
    if number is None:
        st.button(f"Take the guided lesson ({len(lesson())} steps)", key=Key.LESSON_START, on_click=go_to,
                  args=(0,), type="tertiary", icon=":material/school:", help=TITLE)
    else:
        where = "beside the canvas" if _tab_of(lesson()[number]) == Tab.INSPECT else "above the view, in its tab"
        st.caption(f":material/school: Lesson, step {number + 1} of {len(lesson())}: its text is {where}.")


def _tab_of(step) -> Tab:
    """The tab a step opens (a view's tab is written in lower case)."""
    return Tab(step.view.tab.capitalize())


def lesson_panel(place: Tab) -> None:
    """The current step's text and the way on, back or out, where what it talks about is: a step of Inspect
    beside the canvas, under the live reading (place Tab.INSPECT); any other above its tab's view (nothing
    outside the lesson, or in another place)."""
    number = st.session_state.get(Key.LESSON_STEP)
    if number is None or _tab_of(lesson()[number]) != place:
        return
    steps = lesson()
    step = steps[number]
    with st.container(border=True, key=Key.LESSON):
        st.markdown(f"**Lesson, step {number + 1} of {len(steps)}: {step.title}**")
        st.markdown(step.text)
        back, forward, leave = st.columns(3)
        back.button("← Back", key=Key.LESSON_BACK, on_click=go_to, args=(number - 1,), disabled=number == 0,
                    width="stretch")
        forward.button("Next →", key=Key.LESSON_NEXT, on_click=go_to, args=(number + 1,),
                       disabled=number == len(steps) - 1, type="primary", width="stretch")
        leave.button("Leave the lesson", key=Key.LESSON_LEAVE, on_click=go_to, args=(None,), width="stretch")
