"""Evaluate: test accuracy, the confusion matrix and the misread test digits of the selected model."""

import math

import streamlit as st

from rnnviz.figures.images import enlarged
from rnnviz.figures.measure_charts import confusion_figure
from rnnviz.serving import store

from .state import Chart, Key, Source, Tab, wrong_digit_key
from .widgets import chart, selected_stats

WRONG_PER_PAGE, WRONG_COLUMNS = 24, 8  # misread digits: a page is 3 rows of 8
DIGIT_ZOOM = 3


def evaluate_tab(selected) -> None:
    """selected: the picked ui.cache.Loaded, or None."""
    test_set = selected_stats(selected, "Evaluating")
    if test_set is None:
        return
    summary_column, confusion_column = st.columns([1, 2])
    summary_column.metric("Test accuracy", f"{test_set.accuracy:.2%}", help="On the 10,000 MNIST test digits")
    total, right = len(test_set.labels), len(test_set.labels) - len(test_set.misclassified)
    summary_column.markdown(f"**{store.describe(selected.model, selected.entry)}** reads {right:,} of the "
                            f"{total:,} MNIST test digits correctly. The matrix counts every answer: the diagonal "
                            "is right, everything else a mistake.")
    with confusion_column:
        chart(confusion_figure(test_set.confusion), key=Chart.CONFUSION)
    misread_gallery(test_set)


def _open_in_inspect(test_index: int) -> None:
    """Make MNIST test digit `test_index` the page's input and open the Inspect tab: the whole page reruns (the
    tabs alone would, as a fragment), with the digit's input above."""
    st.session_state.update({Key.SOURCE: Source.TEST_SET, Key.TEST_DIGIT: int(test_index), Key.TAB: Tab.INSPECT})
    st.rerun()


def misread_gallery(test_set) -> None:
    """The misread test digits, a page at a time; a click opens one in Inspect."""
    st.subheader("The digits it gets wrong")
    wrong = test_set.misclassified
    true_column, read_column, page_column = st.columns(3)
    true = true_column.selectbox("True digit", ["any", *range(10)], key=Key.WRONG_TRUE)
    read = read_column.selectbox("Read as", ["any", *range(10)], key=Key.WRONG_READ)
    if true != "any":
        wrong = wrong[wrong.true == true]
    if read != "any":
        wrong = wrong[wrong.predicted == read]
    pages = max(1, math.ceil(len(wrong) / WRONG_PER_PAGE))
    page = page_column.number_input("Page", 1, pages, key=Key.WRONG_PAGE)
    if wrong.empty:
        st.info("None.")
        return
    st.caption(f"{len(wrong)} digits, page {page} of {pages}. Click one to step through it in Inspect.")
    shown = wrong.iloc[(page - 1) * WRONG_PER_PAGE : page * WRONG_PER_PAGE]
    for start in range(0, len(shown), WRONG_COLUMNS):
        row = shown.iloc[start : start + WRONG_COLUMNS]
        for column, digit in zip(st.columns(WRONG_COLUMNS), row.itertuples(), strict=False):  # the last row: fewer
            column.image(enlarged(test_set.digit(digit.image), DIGIT_ZOOM), clamp=True)
            column.button(f"{digit.true} read as {digit.predicted}", key=wrong_digit_key(digit.image),
                          on_click=_open_in_inspect, args=(digit.image,), help=f"MNIST test #{digit.image}")
