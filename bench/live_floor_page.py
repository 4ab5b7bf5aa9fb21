"""The floor of the live reader on Streamlit: the bare page (a title and the same canvas, which here never
reruns the page) plus the app's own live reading beside it (the selected model's weights, the live view that
reads the pen in the browser) and, at each pause, a rerun of one small fragment: the server's answer, in one
line. No sidebar (no model picker, no brush slider), no canvas toolbar mover, no input choice, no lesson, no
tabs. What the live reader costs by itself, against the bare page and the app.

    streamlit run bench/live_floor_page.py     # served by `bench.slow_device --floor`; not a benchmark itself
"""

import sys
from pathlib import Path

import streamlit as st
from streamlit_drawable_canvas import st_canvas

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the app's ui package, as app.py finds it

from ui import cache  # noqa: E402
from ui.canvas import drawn_digit  # noqa: E402
from ui.live_reading import live_reading, server_reading  # noqa: E402
from ui.state import Fragment, Key  # noqa: E402


@st.fragment(key=Fragment.VERDICT)  # the live view reruns this at each pause, as it does the app's verdict
def servers_answer(selected) -> None:
    reading = server_reading(selected, drawn_digit())
    st.caption(f"The server reads: {reading.trace.probs[-1].argmax() if reading else '–'}")


st.title("A bare page and the live reader")
selected = cache.shipped_models()["lstm"]
canvas_column, reading_column = st.columns([1, 1.45])
with canvas_column:
    st_canvas(stroke_width=18, stroke_color="#ffffff", background_color="#000000", width=280, height=280,
              drawing_mode="freedraw", update_streamlit=False, key=Key.CANVAS)  # bench/bare_page.py's canvas
with reading_column:
    live_reading(selected, [selected.model], drawn_digit)
servers_answer(selected)
