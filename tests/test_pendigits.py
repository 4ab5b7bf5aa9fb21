"""Pen strokes as the app's canvas draws them: placed anywhere they fit, painted white on black with
round caps, and redrawn in the European styles MNIST lacks."""

import json

import numpy as np
import pytest

from rnnviz.config import CANVAS_SIDE
from rnnviz.data import pendigits

SEVEN = {"label": 7, "strokes": [[[0.1, 0.0], [0.7, 0.0], [0.3, 1.0]]]}  # screen coordinates, y down
ZERO = {"label": 0, "strokes": [[[0.3 + 0.3 * np.sin(a), 0.5 - 0.5 * np.cos(a)] for a in np.linspace(0, 6.3, 30)]]}
ONE = {"label": 1, "strokes": [[[0.5, 0.0], [0.5, 1.0]]]}


@pytest.mark.parametrize("brush, height", [(6, 0.3), (18, 0.65), (40, 0.95)])
def test_a_digit_is_placed_on_the_canvas_as_tall_as_asked_or_as_fits(brush, height):
    rng = np.random.default_rng(0)
    for _ in range(20):
        points = np.concatenate(pendigits.place(SEVEN["strokes"], height, brush, rng))
        assert points.min() >= brush / 2 and points.max() <= CANVAS_SIDE - brush / 2  # the brush stays on it
        assert np.ptp(points[:, 1]) == pytest.approx(min(height * CANVAS_SIDE, CANVAS_SIDE - brush - 2))  # or fits


def test_strokes_are_painted_white_on_black_with_round_caps():
    canvas = pendigits.render([np.array([[50.0, 50.0], [50.0, 200.0]])], stroke_width=20)
    assert canvas.shape == (CANVAS_SIDE, CANVAS_SIDE, 4) and canvas.dtype == np.uint8 and (canvas[..., 3] == 255).all()
    grey = canvas[..., 0]
    assert grey[125, 50] == 255 and grey[125, 70] == 0  # on the stroke, beside it
    assert grey[42, 50] > 200 and grey[42, 58] < 60  # the cap is round: above the end, but not at its corner
    dot = pendigits.render([np.array([[100.0, 100.0]])], stroke_width=10)[..., 0]
    assert dot[100, 100] == 255 and dot.astype(bool).sum() < 120  # a tap is a dot the brush's size


def test_european_styles_add_one_stroke_to_zeros_and_ones_only():
    for record in (ZERO, ONE):
        styled = pendigits.european_style(record)
        assert styled["label"] == record["label"] and len(styled["strokes"]) == len(record["strokes"]) + 1
    slash = np.array(pendigits.european_style(ZERO)["strokes"][-1])
    assert slash[0, 1] > slash[1, 1] and slash[0, 0] < slash[1, 0]  # from the bottom left up to the top right
    assert pendigits.european_style(SEVEN) is None


def test_a_file_of_pen_digits_is_read(tmp_path):
    path = tmp_path / "digits.jsonl"
    path.write_text("".join(json.dumps(record) + "\n" for record in (SEVEN, ONE)) + "\n")
    assert [record["label"] for record in pendigits.load(path)] == [7, 1]
