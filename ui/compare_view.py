"""Compare's animated view: a small Streamlit component (Components v2, inline HTML/CSS/JS, no build
step) that draws every compared model at one step on canvases; one slider and one Play drive them
all in the browser, with no server round trip per step. Its data is rnnviz.compare.race's view,
with the colours of rnnviz.figures.palette.
"""

from pathlib import Path

import streamlit as st

from rnnviz.figures.palette import browser_palette

HERE = Path(__file__).parent
_component = st.components.v2.component(
    "rnnviz.compare_view",
    html='<div class="race"></div>',
    css=(HERE / "compare_view.css").read_text(),
    js=(HERE / "compare_view.js").read_text(),
)


def compare_view(view: dict, key: str) -> None:
    """Mount the view with its data (sent once per run; the browser steps through it by itself)."""
    _component(data={**view, "palette": browser_palette()}, key=key)
