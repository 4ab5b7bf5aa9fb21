"""The Insight and Evaluate figures, built from real statistics."""

import numpy as np
import plotly.graph_objects as go

from rnnviz import CELL_TYPES, stats
from rnnviz.figures import measure_charts
from rnnviz.figures.palette import MODEL_COLORS
from rnnviz.measures import GradientCurve
from tests.conftest import random_model


def test_figures(digits):
    images, labels = digits[0][:60], digits[1][:60]
    found = {cell_type: stats.compute_test_set_stats(random_model(cell_type, hidden=6), images, labels)
             for cell_type in CELL_TYPES}
    rows = measure_charts.row_importance_figure({c: s.saliency for c, s in found.items()},
                                               {c: s.occlusion for c, s in found.items()})
    flow = measure_charts.gradient_flow_figure([curve for c, s in found.items() for curve in s.gradient_curves(c)])
    saturation = measure_charts.saturation_figure(found["lstm"].saturation)
    heatmap = measure_charts.class_means_figure(found["gru"].class_means, unit=2)
    confusion = measure_charts.confusion_figure(found["rnn"].confusion)
    for figure in (rows, flow, saturation, heatmap, confusion):
        assert isinstance(figure, go.Figure) and figure.layout.title.text
    assert len(rows.data) == 6 and len(flow.data) == 4  # h of each, and the LSTM's c
    assert flow.layout.yaxis.type == "log"
    points = [scatter for scatter in saturation.data if scatter.customdata is not None]
    assert len(points) == 3 and all(list(p.customdata) == list(range(6)) for p in points)
    assert heatmap.data[0].z.shape == (10, 28)
    assert np.asarray(confusion.data[0].text).sum() == 60


def test_memory_curves_and_the_cell_gradient_line():
    curves = {"RNN": np.linspace(0.9, 0.1, 28), "mine (LSTM)": np.linspace(0.9, 0.5, 28)}
    figure = measure_charts.memory_curve_figure(curves)
    assert [d.name for d in figure.data] == ["RNN", "mine (LSTM)"]
    assert list(figure.data[0].x) == list(range(28)) and figure.data[0].line.color == MODEL_COLORS["rnn"]
    flow = measure_charts.gradient_flow_figure([GradientCurve("lstm", np.ones(28)),
                                         GradientCurve("lstm", np.full(28, 2.0), "cell_state")])
    assert [(d.name, d.line.dash, d.line.color) for d in flow.data] == [
        ("LSTM", None, MODEL_COLORS["lstm"]), ("LSTM c", "dot", MODEL_COLORS["lstm"])]
    assert "c_t" in flow.layout.yaxis.title.text
