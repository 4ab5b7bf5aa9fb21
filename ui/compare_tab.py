"""Compare: the same digit through the shipped RNN, GRU and LSTM."""

import streamlit as st

from rnnviz import CELL_TYPES, plots, registry, trace

from .cache import Loaded
from .state import Chart
from .widgets import NO_DIGIT, chart


def compare_tab(image, shipped: dict[str, Loaded]) -> None:
    """image: the current (28, 28) digit or None; shipped: cell type -> its shipped model."""
    if image is None:
        st.info(NO_DIGIT)
        return
    st.markdown("The same digit through the three shipped models. Which one makes up its mind first?")
    traces = {}
    for column, cell_type in zip(st.columns(len(CELL_TYPES)), CELL_TYPES, strict=True):
        if cell_type not in shipped:
            column.warning(f"{registry.shipped_path(cell_type).name} is missing")
            continue
        model = shipped[cell_type].model
        digit_trace = traces[cell_type.upper()] = trace(model, image)
        column.metric(cell_type.upper(), digit_trace.prediction, help=f"{cell_type.upper()}, {model.hidden_size} units")
        column.caption(f"{digit_trace.probs[-1].max():.0%} sure; held since row {digit_trace.settled_step}")
    if traces:
        chart(plots.compare_figure(traces), key=Chart.COMPARE)
