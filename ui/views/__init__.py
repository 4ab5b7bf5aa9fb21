"""The views drawn in the browser: the live reading beside the canvas, Inspect's step view, Compare's race
and the training digits alike.

They are one Streamlit component (Components v2) whose code is in rnnviz/web/, served by Streamlit from
there as files (pyproject.toml declares it): ES modules that import each other, no build step. One
component, so that the views share one page-wide reading (rnnviz/web/reading.js): the models' weights are
mounted once (`send_weights`), and the browser reads each digit itself, as the pen moves, with no message
to the server. The same code and a view's data make a replay: one HTML file that plays offline in any
browser; with a drawing surface (rnnviz/web/sketch.js), they make the page itself, offline (`offline_page_html`).
"""

import base64
import functools
import html
import json
import re
from pathlib import Path

import numpy as np
import streamlit as st

import rnnviz
from rnnviz import RowReader, browser_data
from rnnviz.config import CANVAS_SIDE, DEFAULT_BRUSH, MAX_BRUSH, MIN_BRUSH
from rnnviz.figures.palette import VIEW_COLOURS, browser_palette
from rnnviz.intervention import Intervention

from ..state import KEEP_GATE_CHOICES, Key

WEB = Path(rnnviz.__file__).parent / "web"  # the components' asset_dir in pyproject.toml
IMPORT = re.compile(r"^import [^;]* from '\./([\w.]+)';\n|^@import url\('([\w.]+)'\);.*\n", re.MULTILINE)
DECLARED = re.compile(r"^(?:export )?(?:default )?(?:function|const|let|class) (\w+)", re.MULTILINE)
# The offline page's what-if: the keep gate as the app offers it (KEEP_GATE_CHOICES), and these bands of rows blanked
BLANK_BANDS = {"none": None, "1-7": (1, 7), "8-14": (8, 14), "15-21": (15, 21), "22-28": (22, 28),
               "1-14 (the top half)": (1, 14), "15-28 (the bottom half)": (15, 28)}
OFFLINE_TITLE = "rnnviz: watch a recurrent network read your handwriting"


@functools.cache  # made at the first mount, inside a running app: Streamlit then knows the component's files
def _component():
    return st.components.v2.component("rnnviz.views", html='<div class="view"></div>', css="views.css", js="views.js")


@functools.lru_cache(maxsize=8)  # the same loaded models, run after run: made once (a few ms each time)
def _weights(models: tuple) -> bytes:
    return browser_data.weights(list(models))


def send_weights(models: list, key: str) -> None:
    """The models' weights (rnnviz.browser_data.weights) for every view of the page. The same models make
    the same bytes, which the page then keeps: they travel once."""
    _component()(data=_weights(tuple(models)), key=key, width="stretch", height="content")


def show(view: str, data: dict, key: str, link: dict | None = None, step: int | None = None,
         on_drawing=lambda: None) -> None:
    """Mount a view with its data (sent once per run; the browser draws every step), the palette it paints
    with, and the step it opens at (`step`, once). A view with a "Copy a link" button gets what it needs
    (`link`, ui/link.py) and takes the step a link or the lesson asked for (Key.STEP). on_drawing: called when
    the view sends a drawing (the live view does, at each pause)."""
    extra = {"link": link, "step": st.session_state.pop(Key.STEP, None)} if link else {"step": step}
    _component()(data={**data, "palette": browser_palette(), **extra}, key=key, on_drawing_change=on_drawing)


def inlined(name: str, done: set[str] | None = None) -> str:
    """A file of rnnviz/web/ with what it imports (JavaScript modules, CSS) put before it, each once, and the
    import and export words taken out: one script, or one style sheet, that needs no server. The modules'
    top-level names share one scope, so each is declared once across them (checked), and a default import
    uses the name its module's default function has."""
    done = set() if done is None else done
    code, parts = (WEB / name).read_text(), []
    for module, sheet in IMPORT.findall(code):
        if (module or sheet) not in done:
            done.add(module or sheet)
            parts.append(inlined(module or sheet, done))
    joined = "\n".join([*parts, re.sub(r"^export (default )?", "", IMPORT.sub("", code), flags=re.MULTILINE)])
    declared = DECLARED.findall(joined)
    if len(declared) != len(set(declared)):
        raise ValueError(f"declared twice in rnnviz/web: {sorted({d for d in declared if declared.count(d) > 1})}")
    return joined


def _shortened(code: str) -> str:
    """Code without its comments (CSS's /* */, JavaScript's whole-line //) and indentation."""
    lines = (line.strip() for line in re.sub(r"/\*.*?\*/", "", code, flags=re.DOTALL).splitlines())
    return "\n".join(line for line in lines if line and not line.startswith("//"))


def _in_script(value) -> str:
    """A JSON value to write inside a <script>: no "</script>" in it."""
    return json.dumps(value).replace("</", "<\\/")


def _base64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def _standalone_html(title: str, entry: str, body: str, script: str) -> str:
    """One HTML file that needs no server and no network: rnnviz/web/`entry`'s style sheet and code with all they
    import, inlined (shortened); the title, `body`, then `script`, run after the code."""
    css, js = (_shortened(inlined(f"{entry}.{kind}")) for kind in ("css", "js"))
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{html.escape(title)}</title>
<style>body {{ margin: 16px; }} h1 {{ font: 600 18px sans-serif; }}
.credit {{ font: 12px sans-serif; color: {VIEW_COLOURS["caption"]}; }} {css}</style></head>
<body><h1>{html.escape(title)}</h1>{body}
<script type="module">
{js}
{script}
</script></body></html>
"""


def replay_html(data: dict, title: str, models: list, image: np.ndarray) -> str:
    """One self-contained HTML file: the page's browser code, the models' weights and the (28, 28) digit
    inlined, showing the view that `data` describes. The browser reads the digit itself, as on the page:
    it plays offline, in any browser, with no server."""
    digit = _base64(np.asarray(image, dtype="<f4").tobytes())
    return _standalone_html(title, "views", """<div class="view"></div>
<p class="credit">Drawn by rnnviz: ▶ Play or drag the slider; it runs with no server.</p>""", f"""\
addWeights(bytes("{_base64(browser_data.weights(models))}"));
setDigit({{image: new Float32Array(bytes("{digit}").buffer), error: null, empty: false}});
mountView({{data: {_in_script({**data, "palette": browser_palette()})}, parentElement: document.body}});""")


def offline_page_html(models: dict[str, RowReader]) -> str:
    """This page, offline: one HTML file that needs no server and no network (a web host, a USB stick, opened
    from disk). A visitor draws a digit with a mouse or a finger; `models` (name -> model, their weights inside
    as float32) read it as the pen moves: the live view of the one chosen, every gate, ▶ Play and the slider;
    then their race, under a what-if chosen in the page (the keep gate clamped, a band of rows blanked)."""
    racers = [browser_data.Racer(name, model, None) for name, model in models.items()]
    races = [[browser_data.compare(racers, None, Intervention(keep_gate=gate, blank_rows=rows))
              for rows in BLANK_BANDS.values()] for gate in KEEP_GATE_CHOICES.values()]
    page = {"lives": [browser_data.live(name, model) for name, model in models.items()], "races": races,
            "keepGate": list(KEEP_GATE_CHOICES), "blankRows": list(BLANK_BANDS), "palette": browser_palette(),
            "brush": {"side": CANVAS_SIDE, "width": DEFAULT_BRUSH, "min": MIN_BRUSH, "max": MAX_BRUSH}}
    return _standalone_html(OFFLINE_TITLE, "offline", """
<p class="intro">Draw a digit in the black square, with a mouse or a finger: the network reads it one row of pixels
at a time, as you draw. ▶ Play or drag the slider to watch it read, row by row.</p><main class="offline"></main>
<p class="credit">Made by rnnviz. Everything runs in this page, with no server and no network.</p>""", f"""\
addWeights(bytes("{_base64(browser_data.weights(list(models.values())))}"));
offlinePage(document.querySelector('main.offline'), {_in_script(page)});""")
