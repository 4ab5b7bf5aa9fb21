"""Is the page on a narrow screen (a phone, a tablet upright)? A tiny component (Components v2, inline JS) tells the
server once, when the window is narrower than NARROW_PX, so that figures Plotly cannot reflow (Inspect's
step figure) can be laid out in one column. Wide windows never send anything: no extra run for them.
What CSS can reflow by itself is in page.css.
"""

from pathlib import Path

import streamlit as st

from .state import Key

NARROW_PX = 900  # below this (phones, tablets upright) Inspect's two-column figure overlaps its titles

_JS = f"""
export default function ({{setStateValue}}) {{
  let sent = null;
  const report = () => {{
    const narrow = window.innerWidth < {NARROW_PX};
    if (narrow !== sent && (narrow || sent !== null)) setStateValue('narrow', narrow);
    sent = narrow;
  }};
  report();
  let timer;
  const resized = () => {{ clearTimeout(timer); timer = setTimeout(report, 300); }};
  window.addEventListener('resize', resized);
  return () => window.removeEventListener('resize', resized);
}}
"""
_component = st.components.v2.component("rnnviz.viewport", js=_JS)


def is_narrow() -> bool:
    """True once the browser has said its window is narrower than NARROW_PX."""
    result = _component(key=Key.VIEWPORT, default={"narrow": False}, on_narrow_change=lambda: None, height=0)
    return bool(result.narrow)


def compact_on_phones() -> None:
    """The page's stylesheet (page.css): on a phone, a smaller head, so the canvas and the prediction fit."""
    st.html(Path(__file__).with_name("page.css"))  # style only: takes no room on the page
