"""The shipped models read MNIST's test digits and real pen drawings as well as the model card says.

The floors sit just under what the shipped checkpoints measure (models/README.md): a checkpoint's
accuracy on fixed digits is the same on every run, so what a floor allows for is only the rounding
of another machine's arithmetic (a digit or two of 10,000: 0.02 points) and, for the pen digits, of
the canvas replay (a few of 12,000 drawings). A retrained model must meet them to be shipped."""

import numpy as np
import pytest

from rnnviz import CELL_TYPES
from rnnviz.evaluate import HEIGHTS, STROKE_WIDTHS, accuracy, european_accuracy, pen_digit_accuracy

MNIST_FLOORS = {"lstm": 0.9935, "gru": 0.9928, "rnn": 0.9804}  # measured 99.40%, 99.33%, 98.09%
PEN_FLOORS = {"lstm": (0.9872, 0.9775), "gru": (0.9875, 0.9815), "rnn": (0.9716, 0.9565)}  # (mean, worst) of 12
EUROPEAN_FLOOR = 0.965  # slashed 0s and flagged 1s: measured 97.0% (LSTM, GRU) on 200 drawings


@pytest.mark.slow
@pytest.mark.parametrize("cell_type", CELL_TYPES)
def test_mnist_test_accuracy(cell_type, shipped_models, mnist_test):
    model = shipped_models[cell_type]
    assert model.cell_type == cell_type and model.hidden_size == 100
    measured = accuracy(model, *mnist_test)
    assert measured >= MNIST_FLOORS[cell_type]
    assert measured == pytest.approx(model.info["test_accuracy"], abs=1e-6)  # the card tells the truth


@pytest.mark.slow
def test_pen_digits_at_every_width_and_size(shipped_models, pen_records):
    for cell_type, scores in pen_digit_accuracy(shipped_models, pen_records).items():
        assert set(scores) == {(w, h) for w in STROKE_WIDTHS for h in HEIGHTS}
        mean, worst = PEN_FLOORS[cell_type]
        assert np.mean(list(scores.values())) >= mean and min(scores.values()) >= worst, f"{cell_type}: {scores}"


@pytest.mark.slow
def test_european_styles(shipped_models, pen_records):
    """Slashed 0s and flagged 1s (absent from MNIST) are read; an unaugmented LSTM gets 81%."""
    models = {cell_type: shipped_models[cell_type] for cell_type in ("lstm", "gru")}
    for cell_type, score in european_accuracy(models, pen_records).items():
        assert score >= EUROPEAN_FLOOR, cell_type
