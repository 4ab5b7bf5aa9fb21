"""Every colour the figures and the browser views use, in one place. The views (ui/*.js) receive
their colour tables from browser_palette() with their data, instead of copying them."""

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
FUTURE_MASK = "rgba(255, 255, 255, 0.85)"  # covers the steps not read yet


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
    gates and pixels, the highlight colour, and one colour per digit."""
    tables = {"state": STATE_SCALE, "gate": GATE_SCALE, "image": IMAGE_SCALE}
    return {**{name: base64.b64encode(lookup_table(scale).tobytes()).decode() for name, scale in tables.items()},
            "highlight": HIGHLIGHT, "classes": list(CLASS_COLORS)}
