"""The charts of what the models do, from rnnviz.measures, rnnviz.stats and rnnviz.memory results: Insight's,
Evaluate's confusion matrix and Compare's memory curve. Pure functions from numpy arrays to figures. Steps are
shown 1-based (step t reads image row t, 1 = top).
"""

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from ..config import ROWS
from ..measures import GradientCurve
from .palette import COUNT_SCALE, MODEL_COLORS, STATE_SCALE


def _steps(values: np.ndarray) -> np.ndarray:
    return np.arange(1, len(values) + 1)


def row_importance_figure(saliency: dict[str, np.ndarray], occlusion: dict[str, np.ndarray],
                          title: str = "Which rows does the decision use? (test-set means)") -> go.Figure:
    """Side by side, one line per model: row saliency (left) and occlusion effect (right).

    saliency, occlusion: model name -> (steps,) values, e.g. test-set means or one drawing's.
    """
    fig = make_subplots(1, 2, subplot_titles=(
        "Saliency: ‖∂ log p(predicted) / ∂ row‖",
        "Occlusion: change of p(predicted) when the row is blanked",
    ))
    for column, curves in enumerate((saliency, occlusion), start=1):
        for name, values in curves.items():
            fig.add_trace(go.Scatter(
                x=_steps(values), y=values, mode="lines+markers", name=name.upper(), legendgroup=name,
                showlegend=column == 1, line=dict(color=MODEL_COLORS.get(name)), marker=dict(size=4),
                hovertemplate=f"{name.upper()}, row %{{x}}: %{{y:.3g}}<extra></extra>",
            ), 1, column)
        fig.update_xaxes(title="image row (time step)", range=[0.5, ROWS + 0.5], row=1, col=column)
    fig.update_yaxes(title="gradient norm", rangemode="tozero", row=1, col=1)
    fig.update_yaxes(title="Δ p(predicted)", zeroline=True, row=1, col=2)
    fig.update_layout(title=title, hovermode="x unified")
    return fig


def gradient_flow_figure(curves: list[GradientCurve],
                         title: str = "Gradient flow back through time (test-set means)") -> go.Figure:
    """‖∂ loss / ∂ h_t‖ on a log scale, read from t = 28 back to t = 1 as the gradient travels:
    a falling line is a vanishing gradient. Curves at an LSTM's c_t are drawn dotted in its colour."""
    fig = go.Figure()
    for curve in curves:
        at_cell = curve.state == "cell_state"
        name = f"{curve.model.upper()} c" if at_cell else curve.model.upper()
        fig.add_trace(go.Scatter(
            x=_steps(curve.values), y=curve.values, mode="lines+markers", name=name,
            line=dict(color=MODEL_COLORS.get(curve.model), dash="dot" if at_cell else None), marker=dict(size=4),
            hovertemplate=f"{name}, t = %{{x}}: %{{y:.2e}}<extra></extra>",
        ))
    fig.update_xaxes(title="time step t (backpropagation runs right to left from t = 28)", range=[ROWS + 0.5, 0.5])
    dotted = any(curve.state == "cell_state" for curve in curves)
    fig.update_yaxes(title="‖∂ loss / ∂ h_t‖ (dotted: ∂ c_t)" if dotted else "‖∂ loss / ∂ h_t‖", type="log",
                     exponentformat="power")
    fig.update_layout(title=title)
    return fig


def saturation_figure(saturation: dict[str, tuple[np.ndarray, np.ndarray]]) -> go.Figure:
    """One scatter per sigmoid gate, one point per unit: x = fraction of time left-saturated (< 0.1),
    y = fraction right-saturated (> 0.9). The unit index is each point's customdata (for click selection).
    """
    gates = list(saturation)
    fig = make_subplots(1, len(gates), subplot_titles=[f"{gate} gate" for gate in gates],
                        shared_yaxes=True, horizontal_spacing=0.05)
    for column, gate in enumerate(gates, start=1):
        left, right = (np.asarray(values) for values in saturation[gate])
        fig.add_trace(go.Scatter(  # left + right <= 1: no unit lies beyond this line
            x=[0, 1], y=[1, 0], mode="lines", line=dict(color="lightgray", dash="dot"),
            hoverinfo="skip", showlegend=False,
        ), 1, column)
        fig.add_trace(go.Scatter(
            x=left, y=right, mode="markers", customdata=np.arange(len(left)), name=gate, showlegend=False,
            marker=dict(size=7, opacity=0.7, color=1 - left - right, colorscale="Viridis", cmin=0, cmax=1),
            hovertemplate=f"{gate}, unit %{{customdata}}<br>left-saturated %{{x:.0%}}<br>"
                          "right-saturated %{y:.0%}<extra></extra>",
        ), 1, column)
        fig.update_xaxes(title="fraction < 0.1 (closed)", range=[-0.03, 1.03], row=1, col=column)
    fig.update_yaxes(title="fraction > 0.9 (open)", range=[-0.03, 1.03], row=1, col=1)
    fig.update_layout(title="Gate saturation over the test set (colour: fraction of time in between)")
    return fig


def class_means_figure(class_means: np.ndarray, unit: int) -> go.Figure:
    """Heatmap digit class x step of one unit's mean activation h_t. class_means: (10, steps, hidden)."""
    values = class_means[:, :, unit]  # (10, steps)
    limit = max(float(np.abs(values).max()), 1e-6)
    fig = go.Figure(go.Heatmap(
        z=values, x=_steps(values[0]), y=np.arange(len(values)), colorscale=STATE_SCALE, zmid=0,
        zmin=-limit, zmax=limit, colorbar=dict(title="mean h"),
        hovertemplate="digit %{y}, step %{x}: %{z:.3f}<extra></extra>",
    ))
    fig.update_xaxes(title="time step (row read)")
    fig.update_yaxes(title="true digit", dtick=1, autorange="reversed")
    fig.update_layout(title=f"Unit {unit}: mean activation for each digit, step by step")
    return fig


def confusion_figure(confusion: np.ndarray) -> go.Figure:
    """Heatmap of the (10, 10) confusion counts, rows = true digit, columns = predicted digit.

    The colour is logarithmic so that the few mistakes stand out next to the large diagonal.
    """
    digits = np.arange(len(confusion))
    ticks = np.array([0, 1, 10, 100, 1000, 10000])
    fig = go.Figure(go.Heatmap(
        z=np.log10(1 + confusion), x=digits, y=digits, colorscale=COUNT_SCALE, zmin=0, text=confusion,
        texttemplate="%{text}", hovertemplate="true %{y}, predicted %{x}: %{text} images<extra></extra>",
        colorbar=dict(title="images", tickvals=np.log10(1 + ticks), ticktext=[str(t) for t in ticks]),
    ))
    fig.update_xaxes(title="predicted digit", dtick=1)
    fig.update_yaxes(title="true digit", dtick=1, autorange="reversed")
    accuracy = np.trace(confusion) / max(confusion.sum(), 1)
    fig.update_layout(title=f"Confusion matrix ({confusion.sum()} test digits, accuracy {accuracy:.2%})")
    return fig


def memory_curve_figure(curves: dict[str, np.ndarray]) -> go.Figure:
    """R² of a row decoded from the state, against how many steps ago it was read (test-set memory curve).

    curves: model name -> (steps,) R² at lag 0..27 (memory.MemoryDecoders.lag_r2).
    """
    fig = go.Figure()
    for name, values in curves.items():
        fig.add_trace(go.Scatter(
            x=np.arange(len(values)), y=values, mode="lines+markers", name=name,
            line=dict(color=MODEL_COLORS.get(name.lower())), marker=dict(size=4),
            hovertemplate=f"{name}, row read %{{x}} steps ago: R² %{{y:.2f}}<extra></extra>",
        ))
    fig.update_xaxes(title="steps since the row was read (t − k)")
    fig.update_yaxes(title="R² of row k decoded at step t", range=[0, 1])
    fig.update_layout(title="What it still remembers: rows decoded from the state (10,000 test digits)",
                      hovermode="x unified")
    return fig
