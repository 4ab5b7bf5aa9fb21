"""The static charts: models side by side over every step, and training curves smoothed across epochs."""

import numpy as np

from rnnviz import CELL_TYPES
from rnnviz.figures import charts
from rnnviz.train import Progress


def test_compare_figure(shipped_traces):
    named = {cell_type.upper(): shipped_traces[cell_type] for cell_type in CELL_TYPES}
    fig = charts.compare_figure(named)
    assert len([d for d in fig.data if d.type == "heatmap"]) == 3
    lines = [d for d in fig.data if d.type == "scatter"]
    assert len(lines) == 30 and sum(bool(d.showlegend) for d in lines) == 10
    np.testing.assert_allclose(lines[10 + 7].y, named["GRU"].probs[:, 7], rtol=1e-6)


def test_training_figure_smooths_the_loss_across_epochs():
    # Two epochs; each epoch's running mean restarts, the per-batch losses fall steadily across both.
    history = [Progress(1 + (step > 4), step, 8, loss=9.0, train_accuracy=0.1 * step, batch_loss=2.0 - 0.2 * step)
               for step in range(1, 9)]
    history.insert(4, Progress(1, 4, 8, loss=9.0, train_accuracy=0.4, val_accuracy=0.5, batch_loss=1.2))
    fig = charts.training_figure(history)
    raw, smoothed, _, val = fig.data
    assert (raw.name, smoothed.name) == (charts.RAW_LOSS, charts.SMOOTHED_LOSS)
    assert list(raw.x) == list(smoothed.x) == list(range(1, 9))  # the end-of-epoch report is drawn once
    np.testing.assert_allclose(raw.y, [2.0 - 0.2 * step for step in range(1, 9)])  # the batches' own losses
    np.testing.assert_allclose(smoothed.y, charts.exponential_moving_average(raw.y))
    assert np.all(np.diff(smoothed.y) < 0)  # no jump back up where the second epoch starts
    assert raw.opacity < 1 and smoothed.opacity is None  # raw values faint behind the average
    assert list(val.y) == [0.5]


def test_exponential_moving_average():
    values = np.random.default_rng(0).normal(size=200)
    smoothing = 0.9
    expected = [np.average(values[: t + 1][::-1], weights=smoothing ** np.arange(t + 1)) for t in range(200)]
    np.testing.assert_allclose(charts.exponential_moving_average(values, smoothing), expected)
    np.testing.assert_allclose(charts.exponential_moving_average([3.0] * 5), 3.0)  # debiased: no pull towards 0
    assert charts.exponential_moving_average([1.0, 5.0], smoothing=0.0).tolist() == [1.0, 5.0]
