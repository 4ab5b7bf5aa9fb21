"""Generated drawings that are not one digit, in the pen digits' format."""

import numpy as np
import pytest

from rnnviz.data import nondigits


@pytest.mark.parametrize("kind", nondigits.KINDS)
def test_each_kind_comes_in_the_pen_digit_format(kind, pen_records):
    drawings = nondigits.generate(kind, 20, pen_records, np.random.default_rng(0))
    assert len(drawings) == 20
    for strokes in drawings:
        points = np.concatenate(strokes)
        assert points.shape[1] == 2 and points.min() >= -1e-9 and points.max() <= 1 + 1e-9
        assert np.ptp(points, axis=0).max() == pytest.approx(1.0) or kind == "speck or dash"


def test_two_digits_sit_side_by_side(pen_records):
    rng = np.random.default_rng(1)
    strokes = nondigits.side_by_side(pen_records[0], pen_records[1], rng)
    first = len(pen_records[0]["strokes"])
    left, right = np.concatenate(strokes[:first]), np.concatenate(strokes[first:])
    assert left[:, 0].max() < right[:, 0].min()  # a gap between them
    assert np.ptp(np.concatenate(strokes)[:, 0]) == pytest.approx(1.0)  # wider than tall


def test_an_unknown_kind_is_refused(pen_records):
    with pytest.raises(ValueError, match="the kinds are"):
        nondigits.generate("doodle", 1, pen_records, np.random.default_rng(0))
