"""The page's own stylesheet (page.css): on a phone, a smaller head, so that the canvas and the
prediction fit on the first screen. The views reflow by themselves (rnnviz/web/*.css)."""

from pathlib import Path

import streamlit as st


def compact_on_phones() -> None:
    """Add page.css to the page (style only: it takes no room)."""
    st.html(Path(__file__).with_name("page.css"))
