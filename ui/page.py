"""The page's own stylesheet (page.css): a compact head, so that the canvas and the live reading with its
gates fit on the first screen. The views reflow by themselves (rnnviz/web/*.css)."""

from pathlib import Path

import streamlit as st


def compact_layout() -> None:
    """Add page.css to the page (style only: it takes no room)."""
    st.html(Path(__file__).with_name("page.css"))
