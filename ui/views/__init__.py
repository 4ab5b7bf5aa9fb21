"""The views drawn in the browser: the live reading beside the canvas, Inspect's step view, Compare's race
and the training digits alike.

They are one Streamlit component (Components v2) whose code is in rnnviz/web/, served by Streamlit from
there as files (pyproject.toml declares it): ES modules that import each other, no build step. One
component, so that the views share one page-wide reading (rnnviz/web/reading.js): the models' weights are
mounted once (`send_weights`), and the browser reads each digit itself, as the pen moves, with no message
to the server. The same code and a view's data make a replay: one HTML file that plays offline in any
browser.
"""

import functools
import html
import json
import re
from pathlib import Path

import streamlit as st

import rnnviz
from rnnviz import browser_data
from rnnviz.figures.palette import VIEW_COLOURS, browser_palette

from ..state import Key

WEB = Path(rnnviz.__file__).parent / "web"  # the components' asset_dir in pyproject.toml
IMPORT = re.compile(r"^import \{[^}]*\} from '\./([\w.]+)';\n|^@import url\('([\w.]+)'\);.*\n", re.MULTILINE)


@functools.cache  # made at the first mount, inside a running app: Streamlit then knows the component's files
def _component():
    return st.components.v2.component("rnnviz.views", html='<div class="view"></div>', css="views.css", js="views.js")


def send_weights(models: list, key: str) -> None:
    """The models' weights (rnnviz.browser_data.weights) for every view of the page. The same models make
    the same bytes, which the page then keeps: they travel once."""
    _component()(data=browser_data.weights(models), key=key, width="stretch", height="content")


def show(view: str, data: dict, key: str, link: dict | None = None) -> None:
    """Mount a view with its data (sent once per run; the browser draws every step), the palette it paints
    with, what its "Copy a link" button needs (ui/link.py), and the step a link or the lesson asked for
    (Key.STEP: the view opens there, and takes it)."""
    extra = {"link": link, "step": st.session_state.pop(Key.STEP, None)} if link else {}
    _component()(data={**data, "palette": browser_palette(), **extra}, key=key,
                 on_drawing_change=lambda: None)  # the live view sends the drawing at each pause


def inlined(name: str, done: set[str] | None = None) -> str:
    """A file of rnnviz/web/ with what it imports (JavaScript modules, CSS) put before it, each once, and the
    import and export words taken out: one script, or one style sheet, that needs no server."""
    done = set() if done is None else done
    code, parts = (WEB / name).read_text(), []
    for module, sheet in IMPORT.findall(code):
        if (module or sheet) not in done:
            done.add(module or sheet)
            parts.append(inlined(module or sheet, done))
    return "\n".join([*parts, re.sub(r"^export (default )?", "", IMPORT.sub("", code), flags=re.MULTILINE)])


def _shortened(code: str) -> str:
    """Code without its comments (CSS's /* */, JavaScript's whole-line //) and indentation."""
    lines = (line.strip() for line in re.sub(r"/\*.*?\*/", "", code, flags=re.DOTALL).splitlines())
    return "\n".join(line for line in lines if line and not line.startswith("//"))


def replay_html(view: str, data: dict, title: str) -> str:
    """One self-contained HTML file: the view's code with this data inlined. It plays offline, in any
    browser, with no server."""
    css, js = (_shortened(inlined(f"{view}.{kind}")) for kind in ("css", "js"))
    payload = json.dumps({**data, "palette": browser_palette()}).replace("</", "<\\/")  # no "</script>" inside
    mount = re.search(r"^export default function (\w+)", (WEB / f"{view}.js").read_text(), re.MULTILINE)[1]
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
