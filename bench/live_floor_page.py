"""The floor of the live reader on Streamlit: the bare page (a title and the same canvas) plus the app's own
live reading beside it (the selected model's weights, the live view that reads the pen in the browser) and, at
each pause, a rerun of one small fragment: the server's answer, in one line. No sidebar model picker, no input
choice, no lesson, no tabs. What the live reader costs by itself, against the bare page and the app.

    streamlit run bench/live_floor_page.py     # served by `bench.slow_device --floor`; not a benchmark itself
"""

import sys
from pathlib import Path

import streamlit as st

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the app's ui package, as app.py finds it

from ui import cache  # noqa: E402
from ui.canvas import drawing_canvas, drawn_digit  # noqa: E402
from ui.live_reading import live_reading, server_reading  # noqa: E402
from ui.state import Fragment  # noqa: E402


@st.fragment(key=Fragment.VERDICT)  # the live view reruns this at each pause, as it does the app's verdict
def servers_answer(selected) -> None:
    reading = server_reading(selected, drawn_digit())
    st.caption(f"The server reads: {reading.trace.probs[-1].argmax() if reading else '–'}")


st.title("A bare page and the live reader")
selected = cache.shipped_models()["lstm"]
canvas_column, reading_column = st.columns([1, 1.45])
with canvas_column:
    drawing_canvas()
with reading_column:
    live_reading(selected, [selected.model], drawn_digit)
servers_answer(selected)
