"""One palette: the browser's lookup tables are the colour scales the plotly figures use."""

import base64

import numpy as np
from plotly.colors import hex_to_rgb, unlabel_rgb

from rnnviz.figures import palette


def table(name: str) -> np.ndarray:
    return np.frombuffer(base64.b64decode(palette.browser_palette()[name]), dtype=np.uint8).reshape(256, 3)


def test_the_browser_paints_with_the_figures_colour_scales():
    assert tuple(table("state")[0]) == unlabel_rgb("rgb(5,48,97)")  # RdBu_r: -1 blue
    assert tuple(table("state")[255]) == unlabel_rgb("rgb(103,0,31)")  # +1 dark red
    assert abs(table("state")[128].astype(int) - 247).max() <= 1  # 0 nearly white
    assert tuple(table("gate")[0]) == hex_to_rgb("#440154") and tuple(table("gate")[255]) == hex_to_rgb("#fde725")
    grey = table("image").astype(int)
    assert np.ptp(grey, axis=1).max() <= 2 and grey[0, 0] == 0 and grey[-1, 0] >= 253  # grey, black to white
    assert palette.browser_palette()["highlight"] == palette.HIGHLIGHT


def test_lookup_tables_step_smoothly():
    for scale in (palette.STATE_SCALE, palette.GATE_SCALE, palette.IMAGE_SCALE):
        steps = np.abs(np.diff(palette.lookup_table(scale).astype(int), axis=0)).max()
        assert steps <= 6, scale  # 256 colours: no jumps between neighbours


def test_the_predicted_digits_line_is_bold_in_its_colour():
    assert palette.class_line(3, 3) == {"color": palette.CLASS_COLORS[3], "width": 3.5}
    assert palette.class_line(4, 3)["width"] < 3.5
