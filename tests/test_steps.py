"""Inspect's step figure, on real traces: one frame per row, frames that only move shapes, the unit's
update written out with its numbers, and a layout for a phone."""

import json

import numpy as np
import plotly.graph_objects as go
import pytest

from rnnviz import CELL_TYPES, measures
from rnnviz.figures import steps
from rnnviz.figures.palette import FUTURE_MASK

PANEL_COUNT = {"lstm": 6, "gru": 4, "rnn": 1}


def heatmaps(fig):
    return [d for d in fig.data if d.type == "heatmap" and d.showscale is not False]


@pytest.mark.parametrize("cell_type", CELL_TYPES)
def test_step_figure_has_one_frame_per_row(cell_type, shipped_traces, shipped_models):
    digit_trace = shipped_traces[cell_type]
    order = measures.unit_order(shipped_models[cell_type], digit_trace, "contribution")
    fig = steps.step_figure(digit_trace, order, unit=int(order[0]))

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


def test_frames_move_the_row_highlight_and_the_bars(shipped_traces):
    digit_trace = shipped_traces["lstm"]
    fig = steps.step_figure(digit_trace, np.arange(digit_trace.hidden.shape[1]), unit=3)
    for step in (1, 14, 28):
        frame = fig.frames[step - 1]
        assert not frame.data  # shapes only: plotly moves them without redrawing the figure
        row_box = frame.layout.shapes[0]
        assert (row_box.y0, row_box.y1) == (step - 0.5, step + 0.5)
        bars = [s for s in frame.layout.shapes if s.layer == "between"]
        assert [(s.x0 + s.x1) / 2 for s in bars] == pytest.approx(range(10))
        np.testing.assert_allclose([s.y1 for s in bars], digit_trace.probs[step - 1], rtol=1e-6)
        veils = [s for s in frame.layout.shapes if s.type == "rect" and s.fillcolor == FUTURE_MASK]
        assert len(veils) == 6 and all(v.x0 == step + 0.5 for v in veils)
    assert fig.layout.shapes == fig.frames[-1].layout.shapes  # the figure opens on the last step
    animations = [fig.layout.updatemenus[0].buttons[0].args[1], *(s.args[1] for s in fig.layout.sliders[0].steps)]
    assert all(a["frame"]["redraw"] is False for a in animations)


@pytest.mark.parametrize("narrow", [False, True])
def test_step_figure_is_what_plotly_would_validate(shipped_traces, narrow):
    """step_figure skips plotly's validation of what it adds per drawing (for speed): validated, the
    figure must come out the same, frames included."""
    for digit_trace in shipped_traces.values():
        fig = steps.step_figure(digit_trace, np.arange(digit_trace.hidden.shape[1]), unit=5, narrow=narrow)
        spec = json.loads(fig.to_json())
        validated = go.Figure(data=spec["data"], layout=spec["layout"], frames=spec["frames"])
        assert json.loads(validated.to_json()) == spec


def test_colour_bars_name_the_panels_they_serve(shipped_traces):
    fig = steps.step_figure(shipped_traces["lstm"], np.arange(100), unit=0)
    titles = [fig.layout[name].colorbar.title.text for name in ("coloraxis", "coloraxis2", "coloraxis3")]
    assert titles == ["i, f, o<br>0..1", "g, h<br>-1..1", "c<br>±range"]
    gru = steps.step_figure(shipped_traces["gru"], np.arange(100), unit=0)
    assert [gru.layout[n].colorbar.title.text for n in ("coloraxis", "coloraxis2")] == ["r, z<br>0..1", "n, h<br>-1..1"]


def test_hovering_the_unit_shows_each_update_written_out(shipped_traces):
    digit_trace = shipped_traces["gru"]
    fig = steps.step_figure(digit_trace, np.arange(digit_trace.hidden.shape[1]), unit=7)
    hidden_line = next(d for d in fig.data if d.name == "h (hidden)")
    assert list(hidden_line.customdata) == [steps.unit_update(digit_trace, 7, step) for step in range(1, 29)]
    assert "%{customdata}" in hidden_line.hovertemplate


def test_unit_update_writes_the_lstm_equation_with_the_trace_numbers(shipped_traces):
    digit_trace, unit, step = shipped_traces["lstm"], 5, 10
    text = steps.unit_update(digit_trace, unit, step)
    gates = {name: values[step - 1, unit] for name, values in digit_trace.gates.items()}
    for value in (gates["forget"], digit_trace.cell_state[step - 2, unit], gates["input"], gates["candidate"]):
        assert steps._num(value) in text
    assert text.count(f"{digit_trace.cell_state[step - 1, unit]:.2f}") >= 1
    assert text.endswith(f"= {digit_trace.hidden[step - 1, unit]:.2f}")
    # and the written-out numbers really give the result (up to the 2-decimal rounding)
    assert np.isclose(gates["forget"] * digit_trace.cell_state[step - 2, unit] + gates["input"] * gates["candidate"],
                      digit_trace.cell_state[step - 1, unit], atol=1e-5)


def test_unit_update_gru_and_rnn(shipped_traces):
    gru = steps.unit_update(shipped_traces["gru"], 0, 1)
    assert "(1 − z)·n + z·h" in gru and "0.00 =" in gru  # h_0 is zero
    rnn = steps.unit_update(shipped_traces["rnn"], 0, 28)
    assert rnn.startswith("h<sub>28</sub> = tanh(") and rnn.endswith(f"{shipped_traces['rnn'].hidden[-1, 0]:.2f}")


def test_step_figure_for_a_narrow_screen(shipped_traces):
    """One column of panels, the slider the plot's full width, the toolbar at the side, short titles."""
    fig = steps.step_figure(shipped_traces["lstm"], np.arange(100), unit=0, narrow=True)
    wide = steps.step_figure(shipped_traces["lstm"], np.arange(100), unit=0)
    domains = {tuple(axis.domain) for name, axis in fig.layout.to_plotly_json().items() if name.startswith("xaxis")
               for axis in [fig.layout[name]]}
    assert domains == {(0.0, 1.0)}
    assert fig.layout.sliders[0].pad.l == 0 and wide.layout.sliders[0].pad.l == 150
    assert fig.layout.modebar.orientation == "v"
    assert "Forget gate f" in [a.text for a in fig.layout.annotations]
    assert len(fig.frames) == len(wide.frames) == 28
    assert [f.layout.shapes for f in fig.frames] == [f.layout.shapes for f in wide.frames]  # same axes, other places
