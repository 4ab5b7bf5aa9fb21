"""The live reading beside the digit: the selected model reads it in the visitor's browser (the pen's drawing
as it moves, or the digit chosen here), with the server's verdict on whether to trust its answer.

A drawing sent at a pause reruns only what the server says of it, never the canvas nor the live view, which
already show it: the verdict and Inspect's view (its link carries the digit) at once, and the tabs' other views
of it (Key.SERVER_VIEWS: the digits alike, the downloads, Compare, Insight) only while one is in sight. The live
view says whether one is; when one comes into sight later, it sends the drawing again, to make them then.
"""

import hashlib
from collections.abc import Callable, Mapping

import numpy as np
import streamlit as st
from streamlit.errors import StreamlitAPIException

from rnnviz import browser_data
from rnnviz.reading import Reading, Verdict, read_digit, verdict_on

from . import cache
from .cache import Loaded
from .canvas import drawing_problem
from .digit import drawing_chosen
from .state import UNSURE, Fragment, Key
from .views import send_weights, show
from .widgets import guarded


def _rerun_what_depends_on_the_drawing() -> None:
    state = st.session_state.get(Key.LIVE_VIEW)
    drawing = state.get("drawing") if isinstance(state, Mapping) else None
    if isinstance(drawing, Mapping) and drawing.get("in_sight") is True:
        st.rerun([Fragment.VERDICT, Fragment.DIGIT_VIEWS])
    try:
        st.rerun([Fragment.VERDICT, Fragment.LINKED_VIEW])
    except StreamlitAPIException:  # Inspect's view is not on the page (another tab is open)
        st.rerun(Fragment.VERDICT)


def _kept(where: str, selected: Loaded, image: np.ndarray, make: Callable):
    """make(), made once per model and digit and kept in the visitor's session under `where` (only the latest: a
    visitor's drawings never fill the cache every session shares)."""
    key = str(selected.entry.path), hashlib.sha256(np.ascontiguousarray(image, dtype=np.float32)).hexdigest()
    kept = st.session_state.get(where)
    if kept is None or kept[0] != key:
        kept = st.session_state[where] = (key, make())
    return kept[1]


def server_reading(selected: Loaded | None, image: np.ndarray | None) -> Reading | None:
    """The server's own reading of `image` (28, 28) by the selected model: its trace, and the verdict on its
    answer; None without either. Kept in the visitor's session."""
    if selected is None or image is None:
        return None
    return _kept(Key.READING, selected, image,
                 lambda: read_digit(selected.model, image, cache.saved_index(selected.entry)))


def server_verdict(selected: Loaded | None, image: np.ndarray | None) -> Verdict | None:
    """The server's verdict on the answer to `image` (28, 28) by the selected model, all a pause needs, made
    without a trace (rnnviz.reading.verdict_on); None without a model, a digit or the model's neighbour index.
    Kept in the visitor's session."""
    if selected is None or image is None:
        return None

    def judged() -> Verdict | None:
        index = cache.saved_index(selected.entry)
        return None if index is None else verdict_on(selected.model, image, index)

    return _kept(Key.KEPT_VERDICT, selected, image, judged)


def live_reading(selected: Loaded, models: list, digit_now: Callable[[], np.ndarray | None]) -> None:
    """The weights of `models` (every loaded one, sent once), then the live view of `selected` reading the
    pen (when the visitor draws: the page reads it) or the digit chosen (digit_now())."""
    send_weights(models, key=Key.WEIGHTS)
    drawing = drawing_chosen()
    data = browser_data.live(selected.entry.name, selected.model, image=None if drawing else digit_now(),
                             canvas=Key.CANVAS if drawing else None)
    data["server_views"] = Key.SERVER_VIEWS  # the containers the page watches (see above)
    show("live", data, key=Key.LIVE_VIEW, step=st.session_state.get(Key.STEP),  # the step a link or lesson asks
         on_drawing=_rerun_what_depends_on_the_drawing)


@st.fragment(key=Fragment.VERDICT)
def verdict(selected: Loaded | None, digit_now: Callable[[], np.ndarray | None]) -> None:
    """What the server says of the digit read now, beside the live reading: why a drawing cannot be read, or
    that its answer is not to be trusted. An error in reading the digit is said here, once (guarded)."""
    def say() -> None:
        if drawing_chosen() and (problem := drawing_problem()):
            st.error(problem)
        unsure_note(server_verdict(selected, digit_now()))
    guarded(say)


def digit_or_none(digit_now: Callable[[], np.ndarray | None]) -> np.ndarray | None:
    """digit_now(), for the views of the digit: None where reading it fails (the verdict says why)."""
    try:
        return digit_now()
    except Exception:  # said once, beside the live reading (verdict)
        return None


def unsure_note(verdict: Verdict | None) -> None:
    """The server's verdict on the answer, when it is not sure (none when the model has no index to judge by)."""
    if verdict is not None and not verdict.sure:
        st.warning(f"**{UNSURE}:** {verdict.reason}. Draw one digit, large and clear, and it will read it "
                   f"better. **Inspect** shows the training digits it finds alike.", icon=":material/help:")
