"""Every colour the figures and the browser views use, in one place. The views (rnnviz/web/) receive
theirs from browser_palette() with their data, instead of copying them."""

import base64
import functools

import numpy as np
from plotly.colors import qualitative, sample_colorscale, unlabel_rgb

GATE_SCALE = "Viridis"  # gates are in [0, 1]
STATE_SCALE = "RdBu_r"  # tanh-range values: blue < 0 < red, white at 0
IMAGE_SCALE = [[0.0, "rgb(0, 0, 0)"], [1.0, "rgb(255, 255, 255)"]]  # pixels: black 0 to white 1, byte v grey v
COUNT_SCALE = "Blues"  # counts (the confusion matrix)
CLASS_COLORS = qualitative.Plotly  # 10 colours, one per digit
MODEL_COLORS = {"rnn": "#d62728", "gru": "#2ca02c", "lstm": "#1f77b4"}  # one colour per cell type, every figure
HIGHLIGHT = "#ff7f0e"  # the current step / row
VEIL = "rgba(255, 255, 255, 0.82)"  # over a heatmap's steps not read yet

# The browser views' colours by role. Each view sets them on its root as CSS custom properties
# (--rnnviz-<role>), which its CSS and its canvases read.
VIEW_COLOURS = {
    "text": "#31333f",  # the text where the page's theme is absent (the replays), the bars' final marks
    "caption": "#666",  # captions, axis labels, quieter text
    "highlight": HIGHLIGHT,
    "highlight-tint": "#fff3e8",  # behind the chosen order of the units
    "paper": "#fff",  # buttons, charts, the controls where the page's theme is absent
    "border": "#ccc",  # buttons
    "panel-border": "#e3e3e8",  # Compare's model panels
    "note": "#a33",  # a what-if in force
    "changed": "#c00",  # an answer the what-if changed
    "well": "#f0f2f6",  # behind a probability bar
    "bar": "#9aa0b0",  # a probability bar (the answer's: highlight)
    "tip": "rgba(30, 30, 40, 0.92)",  # the tooltip
    "tip-text": "#fff",
    "axis": "#d0d0d8",
    "zero-line": "#e9e9ee",
    "veil": VEIL,
    "shade": "rgba(14, 17, 23, 0.6)",  # over the digit's rows not read yet
    "unread": "#3c3c3c",  # what Compare's memory shows of the rows not read yet
    "ink": "#ffffff",  # a drawing's strokes: white on black, as MNIST's digits (the canvas, the offline sketch)
    "drawing-paper": "#000000",  # under them
}


def class_line(digit: int, prediction: int) -> dict:
    """The line of one digit's probability; the predicted digit's is bold."""
    return dict(color=CLASS_COLORS[digit], width=3.5 if digit == prediction else 1.5)


def lookup_table(scale) -> np.ndarray:
    """A colour scale as 256 RGB colours (256, 3) uint8: byte v is the colour at v / 255."""
    colours = sample_colorscale(scale, np.linspace(0, 1, 256), colortype="rgb")
    return np.array([unlabel_rgb(colour) for colour in colours]).round().astype(np.uint8)


@functools.cache  # sent with every view, every run: made once (the same dict each time; read it, never change it)
def browser_palette() -> dict:
    """What a browser view paints with: lookup tables (base64 of 256 RGB bytes each) for states,
    gates and pixels, one colour per digit, and its colours by role (VIEW_COLOURS)."""
    tables = {"state": STATE_SCALE, "gate": GATE_SCALE, "image": IMAGE_SCALE}
    return {**{name: base64.b64encode(lookup_table(scale).tobytes()).decode() for name, scale in tables.items()},
            "classes": list(CLASS_COLORS), "colours": VIEW_COLOURS}
