"""Plot builders on real traces: shipped models digit_trace real MNIST test digits."""

import json

import numpy as np
import plotly.graph_objects as go
import pytest

from rnnviz import CELL_TYPES, measures, plots, trace
from rnnviz.train import Progress

PANEL_COUNT = {"lstm": 6, "gru": 4, "rnn": 1}


@pytest.fixture(scope="module")
def traces(shipped_models, mnist_test):
    """One trace per shipped model of MNIST test digit 0 (a 7)."""
    images, _ = mnist_test
    return {cell_type: trace(model, images[0].numpy()) for cell_type, model in shipped_models.items()}


def heatmaps(fig):
    return [d for d in fig.data if d.type == "heatmap" and d.showscale is not False]


@pytest.mark.parametrize("cell_type", CELL_TYPES)
def test_step_figure_has_one_frame_per_row(cell_type, traces, shipped_models):
    digit_trace = traces[cell_type]
    order = measures.unit_order(shipped_models[cell_type], digit_trace, "contribution")
    fig = plots.step_figure(digit_trace, order, unit=int(order[0]))

    assert [f.name for f in fig.frames] == [str(s) for s in range(1, 29)]
    slider = fig.layout.sliders[0]
    assert [list(s.args[0]) for s in slider.steps] == [[str(s)] for s in range(1, 29)]
    assert slider.active == 27  # starts on the last step, where the prediction is made
    assert [b.label for b in fig.layout.updatemenus[0].buttons] == ["▶ Play", "❚❚ Pause"]

    maps = heatmaps(fig)
    assert len(maps) == PANEL_COUNT[cell_type]
    hidden_map = maps[-1]  # the hidden state is always the last panel
    assert np.asarray(hidden_map.z).shape == (shipped_models[cell_type].hidden_size, 28)
    np.testing.assert_allclose(np.asarray(hidden_map.z)[0], digit_trace.hidden[:, order[0]], rtol=1e-6)


def test_frames_move_the_row_highlight_and_the_bars(traces):
    digit_trace = traces["lstm"]
    fig = plots.step_figure(digit_trace, np.arange(digit_trace.hidden.shape[1]), unit=3)
    for step in (1, 14, 28):
        frame = fig.frames[step - 1]
        assert not frame.data  # shapes only: plotly moves them without redrawing the figure
        row_box = frame.layout.shapes[0]
        assert (row_box.y0, row_box.y1) == (step - 0.5, step + 0.5)
        bars = [s for s in frame.layout.shapes if s.layer == "between"]
        assert [(s.x0 + s.x1) / 2 for s in bars] == pytest.approx(range(10))
        np.testing.assert_allclose([s.y1 for s in bars], digit_trace.probs[step - 1], rtol=1e-6)
        veils = [s for s in frame.layout.shapes if s.type == "rect" and s.fillcolor == plots.FUTURE_MASK]
        assert len(veils) == 6 and all(v.x0 == step + 0.5 for v in veils)
    assert fig.layout.shapes == fig.frames[-1].layout.shapes  # the figure opens on the last step
    animations = [fig.layout.updatemenus[0].buttons[0].args[1], *(s.args[1] for s in fig.layout.sliders[0].steps)]
    assert all(a["frame"]["redraw"] is False for a in animations)


@pytest.mark.parametrize("narrow", [False, True])
def test_step_figure_is_what_plotly_would_validate(traces, narrow):
    """step_figure skips plotly's validation of what it adds per drawing (for speed): validated, the
    figure must come out the same, frames included."""
    for digit_trace in traces.values():
        fig = plots.step_figure(digit_trace, np.arange(digit_trace.hidden.shape[1]), unit=5, narrow=narrow)
        spec = json.loads(fig.to_json())
        validated = go.Figure(data=spec["data"], layout=spec["layout"], frames=spec["frames"])
        assert json.loads(validated.to_json()) == spec


def test_colour_bars_name_the_panels_they_serve(traces):
    fig = plots.step_figure(traces["lstm"], np.arange(100), unit=0)
    titles = [fig.layout[name].colorbar.title.text for name in ("coloraxis", "coloraxis2", "coloraxis3")]
    assert titles == ["i, f, o<br>0..1", "g, h<br>-1..1", "c<br>memory"]
    gru = plots.step_figure(traces["gru"], np.arange(100), unit=0)
    assert [gru.layout[n].colorbar.title.text for n in ("coloraxis", "coloraxis2")] == ["r, z<br>0..1", "n, h<br>-1..1"]


def test_hovering_the_unit_shows_each_update_written_out(traces):
    digit_trace = traces["gru"]
    fig = plots.step_figure(digit_trace, np.arange(digit_trace.hidden.shape[1]), unit=7)
    hidden_line = next(d for d in fig.data if d.name == "h (hidden)")
    assert list(hidden_line.customdata) == [plots.unit_update(digit_trace, 7, step) for step in range(1, 29)]
    assert "%{customdata}" in hidden_line.hovertemplate


def test_unit_update_writes_the_lstm_equation_with_the_trace_numbers(traces):
    digit_trace, unit, step = traces["lstm"], 5, 10
    text = plots.unit_update(digit_trace, unit, step)
    gates = {name: values[step - 1, unit] for name, values in digit_trace.gates.items()}
    for value in (gates["forget"], digit_trace.cell[step - 2, unit], gates["input"], gates["candidate"]):
        assert plots._num(value) in text
    assert text.count(f"{digit_trace.cell[step - 1, unit]:.2f}") >= 1
    assert text.endswith(f"= {digit_trace.hidden[step - 1, unit]:.2f}")
    # and the written-out numbers really give the result (up to the 2-decimal rounding)
    assert np.isclose(gates["forget"] * digit_trace.cell[step - 2, unit] + gates["input"] * gates["candidate"],
                      digit_trace.cell[step - 1, unit], atol=1e-5)


def test_unit_update_gru_and_rnn(traces):
    gru = plots.unit_update(traces["gru"], 0, 1)
    assert "(1 − z)·n + z·h" in gru and "0.00 =" in gru  # h_0 is zero
    rnn = plots.unit_update(traces["rnn"], 0, 28)
    assert rnn.startswith("h<sub>28</sub> = tanh(") and rnn.endswith(f"{traces['rnn'].hidden[-1, 0]:.2f}")


def test_compare_figure(traces):
    named = {cell_type.upper(): traces[cell_type] for cell_type in CELL_TYPES}
    fig = plots.compare_figure(named)
    assert len(heatmaps(fig)) == 3
    lines = [d for d in fig.data if d.type == "scatter"]
    assert len(lines) == 30 and sum(bool(d.showlegend) for d in lines) == 10
    np.testing.assert_allclose(lines[10 + 7].y, named["GRU"].probs[:, 7], rtol=1e-6)


def test_training_figure_smooths_the_loss_across_epochs():
    # Two epochs; each epoch's running mean restarts, the per-batch losses fall steadily across both.
    history = [Progress(1 + (step > 4), step, 8, loss=9.0, train_accuracy=0.1 * step, batch_loss=2.0 - 0.2 * step)
               for step in range(1, 9)]
    history.insert(4, Progress(1, 4, 8, loss=9.0, train_accuracy=0.4, val_accuracy=0.5, batch_loss=1.2))
    fig = plots.training_figure(history)
    raw, smoothed, _, val = fig.data
    assert (raw.name, smoothed.name) == (plots.RAW_LOSS, plots.SMOOTHED_LOSS)
    assert list(raw.x) == list(smoothed.x) == list(range(1, 9))  # the end-of-epoch report is drawn once
    np.testing.assert_allclose(raw.y, [2.0 - 0.2 * step for step in range(1, 9)])  # the batches' own losses
    np.testing.assert_allclose(smoothed.y, plots.exponential_moving_average(raw.y))
    assert np.all(np.diff(smoothed.y) < 0)  # no jump back up where the second epoch starts
    assert raw.opacity < 1 and smoothed.opacity is None  # raw values faint behind the average
    assert list(val.y) == [0.5]


def test_exponential_moving_average():
    values = np.random.default_rng(0).normal(size=200)
    smoothing = 0.9
    expected = [np.average(values[: t + 1][::-1], weights=smoothing ** np.arange(t + 1)) for t in range(200)]
    np.testing.assert_allclose(plots.exponential_moving_average(values, smoothing), expected)
    np.testing.assert_allclose(plots.exponential_moving_average([3.0] * 5), 3.0)  # debiased: no pull towards 0
    assert plots.exponential_moving_average([1.0, 5.0], smoothing=0.0).tolist() == [1.0, 5.0]


def test_probability_bars(traces):
    probs = traces["lstm"].probs[-1]
    fig = plots.probability_bars(probs, "at the end")
    np.testing.assert_allclose(fig.data[0].y, probs)


def test_step_figure_for_a_narrow_screen(traces):
    """One column of panels, the slider the plot's full width, the toolbar at the side, short titles."""
    fig = plots.step_figure(traces["lstm"], np.arange(100), unit=0, narrow=True)
    wide = plots.step_figure(traces["lstm"], np.arange(100), unit=0)
    domains = {tuple(axis.domain) for name, axis in fig.layout.to_plotly_json().items() if name.startswith("xaxis")
               for axis in [fig.layout[name]]}
    assert domains == {(0.0, 1.0)}
    assert fig.layout.sliders[0].pad.l == 0 and wide.layout.sliders[0].pad.l == 150
    assert fig.layout.modebar.orientation == "v"
    assert "Forget gate f" in [a.text for a in fig.layout.annotations]
    assert len(fig.frames) == len(wide.frames) == 28
    assert [f.layout.shapes for f in fig.frames] == [f.layout.shapes for f in wide.frames]  # same axes, other places


def test_strip_puts_enlarged_images_side_by_side(mnist_test):
    images = mnist_test[0][:3].numpy()
    picture = plots.strip(images, times=2, gap=4)
    assert picture.shape == (56, 3 * 56 + 2 * 4)
    for position, image in enumerate(images):
        np.testing.assert_array_equal(picture[:, position * 60 : position * 60 + 56], plots.enlarged(image, 2))
    assert (picture[:, 56:60] == 0.5).all()  # the gaps are grey, neither ink nor background
