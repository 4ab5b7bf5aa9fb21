"""The drawing canvas: the user's digit as the (28, 28) image the network reads.

streamlit-drawable-canvas 0.13 loses strokes in two ways, and this module works around both:

- Its toolbar (undo, redo, reset, ...) waits, invisible, over the top right of the canvas (about
  140 x 30 px) and moves above it only once the mouse has rested on the canvas: a stroke begun there
  at once lands on the toolbar, not on the canvas (and a tap near the corner can hit the hidden reset
  button and wipe the drawing). No parameter moves it, and it lives in the component's shadow root,
  out of reach of the page's CSS. So a JavaScript-only component (Streamlit's way to run code in the page) gives
  that shadow root one more stylesheet: the toolbar stands, always visible, in a strip of its own
  above the canvas.
- Clearing from Python (a new `initial_drawing`) reaches the browser only after a rerun, and then
  wipes whatever was drawn in the meantime. The toolbar's reset clears the canvas in the browser at
  the click, so a stroke begun right after it is kept. Clear is that button (the bin), next to undo.
"""

import hashlib

import numpy as np
import streamlit as st
from streamlit_drawable_canvas import st_canvas

from rnnviz import CanvasError, EmptyCanvasError, preprocess_canvas
from rnnviz.config import CANVAS_SIDE, DEFAULT_BRUSH, MAX_BRUSH, MIN_BRUSH
from rnnviz.figures.palette import VIEW_COLOURS
from rnnviz.preprocess import decode_drawing, drawing_url

from .state import Key

# Restyles the canvas component's own elements (class names from its index-style.css). The toolbar
# leaves its absolute, hover-revealed place for the normal flow, first in a column, so it sits above
# the canvas and the component grows to make room (nothing overlaps the widget above either). Its
# "Update the app" button is useless when the live view sends the drawing at each pause
# (rnnviz/web/pen.js), and its "Edit" toggle would turn a stroke into a drag: hidden, leaving undo, redo
# and reset.
TOOLBAR_CSS = """
.dc-root { display: flex; flex-direction: column; }
.dc-toolbar, .dc-root:hover > .dc-toolbar {
  position: static; order: -1; align-self: flex-end; padding: 0 0 0.25rem; opacity: 1; transition: none;
}
.dc-toolbar-separator, .dc-icon-button[title="Edit"], .dc-icon-button[title^="Update the app"] { display: none; }
"""

# Adopts TOOLBAR_CSS into the shadow root of the canvas whose element Streamlit marks with the class
# st-key-<its key>. The canvas may mount after this runs (its script is larger), so look again on
# each animation frame until it is there; a stylesheet adopted by the shadow root stays with it.
TOOLBAR_JS = """
const sheet = new CSSStyleSheet();
export default function ({ data }) {
  sheet.replaceSync(data.css);
  const host = `.st-key-${CSS.escape(data.canvas)} [data-testid="stBidiComponentIsolated"]`;
  let frame;
  const adopt = () => {
    const root = document.querySelector(host)?.shadowRoot;
    if (!root) {
      frame = requestAnimationFrame(adopt);
    } else if (!root.adoptedStyleSheets.includes(sheet)) {
      root.adoptedStyleSheets = [...root.adoptedStyleSheets, sheet];
    }
  };
  adopt();
  return () => cancelAnimationFrame(frame);
}
"""

INK, PAPER = VIEW_COLOURS["ink"], VIEW_COLOURS["drawing-paper"]  # white on black, as MNIST
toolbar_above = st.components.v2.component("rnnviz.canvas_toolbar_above", js=TOOLBAR_JS)


def drawing_canvas() -> None:
    """The canvas the visitor draws on, and its brush width (in the sidebar). The live view beside it reads the
    pen, and sends the drawing at each pause: drawn_digit reads that."""
    brush = st.sidebar.slider("Brush width", MIN_BRUSH, MAX_BRUSH, DEFAULT_BRUSH, key=Key.BRUSH,
                              help="The pen's width on the canvas, px")  # out of the way of the first screen
    with st.container(gap=None):  # the toolbar mover has no height: no gap for it either
        # initial_drawing stays the same: a new one would reset the canvas a rerun later (see above).
        try:
            st_canvas(stroke_width=brush, stroke_color=INK, background_color=PAPER, width=CANVAS_SIDE,
                      height=CANVAS_SIDE, drawing_mode="freedraw", update_streamlit=False, key=Key.CANVAS)
        except (AttributeError, KeyError, TypeError, ValueError):  # a state no canvas sends (the canvas is up)
            pass  # drawing_url finds it malformed, and drawing_problem says so
        toolbar_above(data={"canvas": Key.CANVAS, "css": TOOLBAR_CSS}, width="content", height="content")


def drawn_digit() -> np.ndarray | None:
    """The drawing the live view last sent (at a pause), as a (28, 28) float32 image in [0, 1], read here with
    rnnviz.preprocess; None while there is none (the live view says what to do) or it cannot be read
    (drawing_problem says why)."""
    digit = _sent_drawing()
    return None if digit is None or isinstance(digit, CanvasError) else digit


def drawing_problem() -> str | None:
    """Why the drawing last sent cannot be read, in a line, when only a broken or forged client would send it
    (an empty canvas, as right after the toolbar's reset, or none yet, is no problem: the live view says what
    to do)."""
    digit = _sent_drawing()
    if isinstance(digit, CanvasError) and not isinstance(digit, EmptyCanvasError):
        return f"This drawing cannot be read: {digit}. Draw again, or clear the canvas."
    return None


def _sent_drawing() -> np.ndarray | CanvasError | None:
    url = drawing_url(st.session_state.get(Key.LIVE_VIEW))  # only decode_drawing decodes it
    return None if url is None else read_drawing(url)


def read_drawing(url) -> np.ndarray | CanvasError:
    """The drawing at `url` as the (28, 28) image the network reads, or why it cannot be read. Decoded once
    per drawing: the outcome is kept in the visitor under the drawing's hash, for the reruns that follow."""
    # Every value that is not a string is refused alike, so they share one key.
    drawing = hashlib.sha256(url.encode("utf-8", "surrogatepass")).digest() if isinstance(url, str) else None
    kept = st.session_state.get(Key.DRAWN)
    if kept is not None and kept[0] == drawing:
        return kept[1]
    try:
        digit = preprocess_canvas(decode_drawing(url))
    except CanvasError as error:  # kept without its traceback, which would hold the decoded drawing
        digit = type(error)(str(error))
    st.session_state[Key.DRAWN] = (drawing, digit)
    return digit
