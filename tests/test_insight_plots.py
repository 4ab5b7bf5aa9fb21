"""The Insight and Evaluate figures, built from real statistics."""

import numpy as np
import plotly.graph_objects as go

from rnnviz import CELL_TYPES, insight_plots, stats
from tests.conftest import random_model


def test_figures(digits):
    images, labels = digits[0][:60], digits[1][:60]
    found = {cell_type: stats.compute_test_set_stats(random_model(cell_type, hidden=6), images, labels)
             for cell_type in CELL_TYPES}
    rows = insight_plots.row_importance_figure({c: s.saliency for c, s in found.items()},
                                               {c: s.occlusion for c, s in found.items()})
    flow = insight_plots.gradient_flow_figure({c: s.gradient_norms for c, s in found.items()})
    saturation = insight_plots.saturation_figure(found["lstm"].saturation)
    heatmap = insight_plots.class_means_figure(found["gru"].class_means, unit=2)
    confusion = insight_plots.confusion_figure(found["rnn"].confusion)
    for figure in (rows, flow, saturation, heatmap, confusion):
        assert isinstance(figure, go.Figure) and figure.layout.title.text
    assert len(rows.data) == 6 and len(flow.data) == 3
    assert flow.layout.yaxis.type == "log"
    points = [scatter for scatter in saturation.data if scatter.customdata is not None]
    assert len(points) == 3 and all(list(p.customdata) == list(range(6)) for p in points)
    assert heatmap.data[0].z.shape == (10, 28)
    assert np.asarray(confusion.data[0].text).sum() == 60


def test_memory_curves_and_the_cell_gradient_line():
    curves = {"RNN": np.linspace(0.9, 0.1, 28), "mine (LSTM)": np.linspace(0.9, 0.5, 28)}
    figure = insight_plots.memory_curve_figure(curves)
    assert [d.name for d in figure.data] == ["RNN", "mine (LSTM)"]
    assert list(figure.data[0].x) == list(range(28)) and figure.data[0].line.color == insight_plots.MODEL_COLORS["rnn"]
    flow = insight_plots.gradient_flow_figure({"lstm": np.ones(28), "lstm c": np.full(28, 2.0)})
    assert [(d.name, d.line.dash, d.line.color) for d in flow.data] == [
        ("LSTM", None, insight_plots.MODEL_COLORS["lstm"]), ("LSTM c", "dot", insight_plots.MODEL_COLORS["lstm"])]
    assert "c_t" in flow.layout.yaxis.title.text
