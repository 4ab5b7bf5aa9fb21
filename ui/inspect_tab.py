"""Inspect: one model reading one digit, every gate and state at every step."""

import streamlit as st

from rnnviz import browser_data, neighbours

from . import cache
from .link import NO_LINK_YET, link_data
from .live_reading import digit_or_none, server_reading
from .state import Fragment, Key, Tab
from .views import replay_html, show
from .widgets import NO_DIGIT, not_measured_yet, trace_downloads

EXPLAIN = {
    "lstm": "An **LSTM** keeps a memory, the cell state **c**. At each row the **forget gate f** decides how "
            "much memory to keep, the **input gate i** how much of the **candidate g** to write, and the "
            "**output gate o** how much of the memory to show as the hidden state **h**.",
    "gru": "A **GRU** has no separate memory. Its **update gate z** mixes the old state with a **candidate n**; "
           "the **reset gate r** decides how much of the old state the candidate may look at.",
    "rnn": "A plain **RNN** squashes the new row and its previous state through tanh at every step. "
           "With no gates to protect it, what it read early fades quickly.",
}
HOW_TO_READ = (
    "Each heatmap has one line per unit (sorted as you choose above it, top = most telling) and one column per "
    "step. "
    "Gates run from 0 (closed, dark) to 1 (open, yellow); states from -1 (blue) through 0 (white) to +1 (red). "
    "Steps not read yet are veiled. Drag the slider or press **▶ Play**: it runs in your browser. Hover (or tap) "
    "a heatmap to see that unit's update at that step written out with its numbers; click a unit to follow it. "
    "*Contribution* = the read-out weight for the predicted digit x the final h. The prediction is the "
    "read-out of **h** after the last row."
)


def alike_digits(entry, trace) -> None:
    """The training digits whose final state is nearest to the drawing's, for the answer and the runner-up."""
    st.subheader("Which training digits it finds alike")
    index = cache.saved_index(entry)
    if index is None:
        not_measured_yet(entry, "Finding the training digits alike for")
        return
    caption = (f"The network decides from its state after the last row. These are the MNIST training digits "
               f"(of {len(index.labels):,} indexed) whose last state is nearest to this drawing's, for its answer "
               f"and for the runner-up: the digits it thinks this one looks like, nearest first, each with the "
               f"distance between the two states.")
    candidates = neighbours.alike(index, trace.hidden[-1], trace.probs[-1])
    show("alike", {**browser_data.alike(candidates), "caption": caption}, key=Key.ALIKE_VIEW)


@st.fragment(key=Fragment.LINKED_VIEW)
def linked_view(selected, view: dict, digit_now) -> None:
    """The step view (its data, `view`, is the model's: the browser reads the digit), with its link to the digit
    read now (digit_now()): a drawing sent at a pause reruns this at once."""
    image = digit_or_none(digit_now)
    link = link_data(Tab.INSPECT, [selected], image) if image is not None else {"note": NO_LINK_YET}
    show("inspect", view, key=Key.INSPECT_VIEW, link=link)


def inspect_tab(selected, digit_now) -> None:
    """selected: the picked ui.cache.Loaded (or None); digit_now(): the digit the server was last sent (or None).
    The view reads the page's digit in the browser, as the pen moves; the downloads and the training digits
    alike are of the server's reading."""
    if selected is None:
        st.info(NO_DIGIT)
        return
    model = selected.model
    st.markdown(EXPLAIN[model.cell_type])
    view = browser_data.inspect(selected.entry.name, model, st.session_state.get(Key.UNIT),
                                st.session_state.get(Key.ORDER))
    linked_view(selected, view, digit_now)
    with st.container(key=Key.SERVER_VIEWS):  # on the page from the start (an empty container is not)
        st.caption(HOW_TO_READ)
        reading = server_reading(selected, digit_or_none(digit_now))
        if reading is None:
            return
        trace = reading.trace
        trace_downloads(trace, lambda: replay_html(view, f"rnnviz: {model.cell_type.upper()} reading a digit",
                                                   [model], trace.image))
        alike_digits(selected.entry, trace)
