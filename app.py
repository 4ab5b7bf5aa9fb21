"""rnnviz: watch a recurrent network read your handwriting, one row of pixels at a time.

    streamlit run app.py

This file only assembles the page: the sidebar picks a model, the digit (drawn, from the gallery
or the MNIST test set) sits beside the live reading (read in the browser as the pen moves), and the tabs
(ui/*_tab.py) look inside. A drawing sent at a pause reruns only what the server says of it: the verdict
beside the live reading, Inspect's view (its link), and the tabs while their views of it are in sight
(ui/live_reading.py).
"""

from contextlib import nullcontext

import streamlit as st
import torch

from ui import cache
from ui.compare_tab import compare_tab
from ui.digit import digit_input
from ui.evaluate_tab import evaluate_tab
from ui.insight_tab import insight_tab
from ui.inspect_tab import inspect_tab
from ui.lesson import lesson_entry, lesson_panel
from ui.link import open_link
from ui.live_reading import digit_or_none, live_reading, verdict
from ui.page import compact_layout
from ui.sidebar import add_checkpoint_form, loaded_models, model_picker
from ui.state import Fragment, Key, Tab
from ui.train_tab import train_tab
from ui.widgets import guarded

INTRO = (
    "**How it works.** The network gets the image one row of 28 pixels at a time, top to bottom. After each "
    "row it updates its hidden state; after the last row a read-out turns that state into a probability for "
    "each digit.\n\nDraw a digit on the left (or pick a real one from the gallery), then step through the rows "
    "in **Inspect**, race the three kinds of network in **Compare**, see what they learned in **Insight** and "
    "**Evaluate**, or train your own in **Train**."
)

torch.set_num_threads(1)  # two cores: one for training, one for everyone's pages


def main() -> None:
    st.set_page_config(page_title="rnnviz: how a recurrent network reads", page_icon="✍️", layout="wide")
    compact_layout()
    with st.container(key=Key.PAGE_HEAD):
        st.title("✍️ Watch a network read your handwriting")
        st.caption("The network reads a 28 x 28 image one row of 28 pixels per step, top to bottom, and only "
                   "then names the digit. Draw one: it reads in your browser as your pen moves.")
        lesson_entry()
    open_link()  # a page opened from a link is set up before its widgets
    selected = model_picker()  # a ui.cache.Loaded, or None
    guarded(add_checkpoint_form)
    shipped = cache.shipped_models()

    digit_column, reading_column = st.columns([1, 1.45])  # the canvas (280 px) fits even on a tablet
    with digit_column:
        entries = [loaded.entry for loaded in ([selected] if selected else []) + list(shipped.values())]
        digit_now = guarded(lambda: digit_input(entries)) or (lambda: None)  # () -> (28, 28) in [0, 1], or None
    with reading_column:
        if selected is not None:
            models = [selected.model] + [loaded.model for loaded in shipped.values() if loaded is not selected]
            guarded(lambda: live_reading(selected, models, digit_now))
        verdict(selected, digit_now)
        lesson_panel(Tab.INSPECT)  # a lesson's step about the reading stands beside it
    how_it_works = st.expander("How it works", key=Key.HOW_IT_WORKS, on_change="rerun")
    if how_it_works.open:  # its text is sent only when opened
        how_it_works.markdown(INTRO)
    digit_views(selected, shipped, digit_now)


@st.fragment(key=Fragment.DIGIT_VIEWS)
def digit_views(selected, shipped: dict, digit_now) -> None:
    """The tabs, of the digit read now (digit_now(): a drawing as it was last sent). Compare and Insight are
    views of it, all through; Inspect marks its own."""
    tabs = {
        Tab.INSPECT: lambda: inspect_tab(selected, digit_now),
        Tab.COMPARE: lambda: compare_tab(digit_or_none(digit_now), loaded_models()[0]),
        Tab.INSIGHT: lambda: insight_tab(digit_or_none(digit_now), shipped, selected),
        Tab.EVALUATE: lambda: evaluate_tab(selected),
        Tab.TRAIN: train_tab,
    }
    of_the_digit = {Tab.COMPARE, Tab.INSIGHT}
    for (name, show), tab in zip(tabs.items(), st.tabs(list(tabs), key=Key.TAB, on_change="rerun"), strict=True):
        if tab.open:
            with tab:
                if name != Tab.INSPECT:
                    lesson_panel(name)  # a lesson's step stands above the view it sets up
                with st.container(key=Key.SERVER_VIEWS) if name in of_the_digit else nullcontext():
                    guarded(show)


main()
