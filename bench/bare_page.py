"""A bare Streamlit page, the floor that bench.slow_device compares the app against: a title, the app's
canvas and, once the canvas has ink, a Prediction metric (a trivial function of the ink, no model).

    streamlit run bench/bare_page.py     # served by bench.slow_device; not a benchmark itself

It has what tools/browser.py looks for (the canvas under `.st-key-canvas`, its toolbar's bin, the
st.metric labelled "Prediction"), so the same helpers drive it and the app.
"""

import streamlit as st
from streamlit_drawable_canvas import st_canvas

st.title("A bare page")
drawing = st_canvas(stroke_width=18, stroke_color="#ffffff", background_color="#000000", width=280, height=280,
                    drawing_mode="freedraw", return_image_data=True, key="canvas")
if drawing.image_data is not None:
    ink = drawing.image_data[..., :3].max(axis=2) > 127  # white on black: ink is in the RGB channels
    if ink.any():
        st.metric("Prediction", int(ink.sum()) % 10)  # changes from stroke to stroke, as a prediction may
