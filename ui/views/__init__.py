"""The views drawn in the browser: Inspect's step view, Compare's race, the answer beside the prediction
and the training digits alike.

Each is a Streamlit component (Components v2: inline HTML, CSS and JavaScript, no build step) that gets
its data once per server run and then draws every step itself, on canvases, with no message to the
server. One drawing library (draw.js: colour tables, heatmaps, line charts, bars, the stepper) comes
first in each view's code. The same code and a view's data make a replay: one HTML file that plays
offline in any browser.
"""

import html
import json
import re
from pathlib import Path

import streamlit as st

from rnnviz.figures.palette import VIEW_COLOURS, browser_palette

from ..state import Key

HERE = Path(__file__).parent
VIEWS = ("inspect", "compare", "answer", "alike")


def _shortened(code: str) -> str:
    """Code without its comments (CSS's /* */, JavaScript's whole-line //) and indentation: it travels
    with every run of the page."""
    lines = (line.strip() for line in re.sub(r"/\*.*?\*/", "", code, flags=re.DOTALL).splitlines())
    return "\n".join(line for line in lines if line and not line.startswith("//"))


def _code(view: str) -> tuple[str, str]:
    """A view's CSS (the shared rules, then its own) and JavaScript (the library, then its own)."""
    css = (HERE / "views.css").read_text() + (HERE / f"{view}.css").read_text()
    return _shortened(css), _shortened((HERE / "draw.js").read_text() + "\n" + (HERE / f"{view}.js").read_text())


def _component(view: str):
    css, js = _code(view)
    return st.components.v2.component(f"rnnviz.{view}_view", html='<div class="view"></div>', css=css, js=js)


_COMPONENTS = {view: _component(view) for view in VIEWS}


def show(view: str, data: dict, key: str, link: dict | None = None) -> None:
    """Mount a view with its data (sent once per run; the browser draws every step), the palette it paints
    with, what its "Copy a link" button needs (ui/link.py), and the step a link or the lesson asked for
    (Key.STEP: the view opens there, and takes it)."""
    extra = {"link": link, "step": st.session_state.pop(Key.STEP, None)} if link else {}
    _COMPONENTS[view](data={**data, "palette": browser_palette(), **extra}, key=key)


def replay_html(view: str, data: dict, title: str) -> str:
    """One self-contained HTML file: the view's code with this data inlined. It plays offline, in any
    browser, with no server."""
    css, js = _code(view)
    payload = json.dumps({**data, "palette": browser_palette()}).replace("</", "<\\/")  # no "</script>" inside
    mount = js.split("export default function ")[1].split("(")[0]  # the view's mounting function
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{html.escape(title)}</title>
<style>body {{ margin: 16px; }} h1 {{ font: 600 18px sans-serif; }}
.credit {{ font: 12px sans-serif; color: {VIEW_COLOURS["caption"]}; }} {css}</style></head>
<body><h1>{html.escape(title)}</h1><div class="view"></div>
<p class="credit">Drawn by rnnviz: ▶ Play or drag the slider; it runs with no server.</p>
<script type="module">
{js}
{mount}({{data: {payload}, parentElement: document.body}});
</script></body></html>
"""
