"""The drawing canvas, and the 28x28 image the network reads from it."""

import numpy as np
import streamlit as st
from streamlit_drawable_canvas import st_canvas  # only importable under a running Streamlit script

from rnnviz import CanvasError, EmptyCanvasError, preprocess_canvas
from rnnviz.config import CANVAS_SIDE

from .state import Key


def _clear() -> None:
    st.session_state[Key.CLEARS] = st.session_state.get(Key.CLEARS, 0) + 1
    st.session_state.pop(Key.CANVAS, None)


def drawn_digit() -> np.ndarray | None:
    """The canvas drawing as a (28, 28) image, or None (with a hint) while there is none."""
    brush = st.slider("Brush width", 6, 40, 18, key=Key.BRUSH)
    drawing = st_canvas(
        stroke_width=brush, stroke_color="#ffffff", background_color="#000000", width=CANVAS_SIDE,
        height=CANVAS_SIDE, drawing_mode="freedraw", return_image_data=True, key=Key.CANVAS,
        initial_drawing={"objects": [], "clears": st.session_state.get(Key.CLEARS, 0)},
    )
    st.button("Clear", key=Key.CLEAR, on_click=_clear, help="Start again (the toolbar above also has undo)")
    try:
        pixels = drawing.image_data  # decodes the PNG the browser sent (on every access)
    except (OSError, ValueError) as error:  # not a PNG: only a broken or forged client sends that
        st.error(f"This drawing cannot be read: {error}.")
        return None
    if pixels is None:
        st.info("Draw a digit (0-9) on the black square: white ink, one digit, as large as you like.")
        return None
    try:
        return preprocess_canvas(pixels)
    except EmptyCanvasError as error:
        st.info(f"{str(error).capitalize()}.")
    except CanvasError as error:
        st.error(f"This drawing cannot be read: {error}.")
    return None
