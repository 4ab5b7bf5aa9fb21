"""One palette: the browser's lookup tables are the colour scales the plotly figures use, and every colour
the browser views name comes from it."""

import base64
import re
from pathlib import Path

import numpy as np
from plotly.colors import hex_to_rgb, unlabel_rgb

from rnnviz.figures import palette

VIEWS = Path(__file__).resolve().parents[1] / "rnnviz" / "web"  # the browser views' code
COLOUR_LITERAL = re.compile(r"(?<![\w&])#[0-9a-fA-F]{3,8}\b|rgba?\(\s*\d")  # #hex, rgb(...) / rgba(...) of numbers


def table(name: str) -> np.ndarray:
    return np.frombuffer(base64.b64decode(palette.browser_palette()[name]), dtype=np.uint8).reshape(256, 3)


def test_the_browser_paints_with_the_figures_colour_scales():
    assert tuple(table("state")[0]) == unlabel_rgb("rgb(5,48,97)")  # RdBu_r: -1 blue
    assert tuple(table("state")[255]) == unlabel_rgb("rgb(103,0,31)")  # +1 dark red
    assert abs(table("state")[128].astype(int) - 247).max() <= 1  # 0 nearly white
    assert tuple(table("gate")[0]) == hex_to_rgb("#440154") and tuple(table("gate")[255]) == hex_to_rgb("#fde725")
    grey = table("image").astype(int)
    assert np.ptp(grey, axis=1).max() <= 2 and grey[0, 0] == 0 and grey[-1, 0] >= 253  # grey, black to white
    assert palette.browser_palette()["colours"]["highlight"] == palette.HIGHLIGHT


def test_lookup_tables_step_smoothly():
    for scale in (palette.STATE_SCALE, palette.GATE_SCALE, palette.IMAGE_SCALE):
        steps = np.abs(np.diff(palette.lookup_table(scale).astype(int), axis=0)).max()
        assert steps <= 6, scale  # 256 colours: no jumps between neighbours


def test_the_predicted_digits_line_is_bold_in_its_colour():
    assert palette.class_line(3, 3) == {"color": palette.CLASS_COLORS[3], "width": 3.5}
    assert palette.class_line(4, 3)["width"] < 3.5


def view_code() -> dict[str, str]:
    """The browser views' CSS and JavaScript, by file name."""
    files = sorted(VIEWS.glob("*.css")) + sorted(VIEWS.glob("*.js"))
    assert files
    return {path.name: path.read_text() for path in files}


def test_the_views_code_names_no_colour_of_its_own():
    found = [f"{name}:{number}: {line.strip()}" for name, text in view_code().items()
             for number, line in enumerate(text.splitlines(), 1) if COLOUR_LITERAL.search(line)]
    assert not found, found


def test_every_colour_the_views_name_is_in_the_palette():
    code = view_code()
    named = {role for text in code.values() for role in re.findall(r"var\(--rnnviz-([\w-]+)\)", text)}
    for text in code.values():  # the canvases' colours: paletteColours(node, 'role', ...)
        for roles in re.findall(r"paletteColours\(\w+((?:, '[\w-]+')+)\)", text):
            named |= set(re.findall(r"'([\w-]+)'", roles))
    assert {"veil", "shade", "axis", "unread", "highlight", "caption"} <= named  # the search finds both kinds
    assert named <= set(palette.browser_palette()["colours"]), named - set(palette.VIEW_COLOURS)
    assert set(palette.VIEW_COLOURS) <= named, "a colour no view uses"
