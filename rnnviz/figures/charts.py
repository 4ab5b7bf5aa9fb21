"""Static charts: models side by side over every step, training curves; and a figure as a PNG."""

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from ..config import ROWS
from ..recurrence import Trace
from .palette import CLASS_COLORS, STATE_SCALE, class_line

PNG_WIDTH = 1200  # px, charts exported as PNG
LOSS_SMOOTHING = 0.9  # training loss: weight of the past in its moving average (per reported batch)
RAW_LOSS, SMOOTHED_LOSS = "loss per batch", "loss, moving average"  # the training figure's loss traces


def compare_figure(traces: dict[str, Trace]) -> go.Figure:
    """Side by side for each model: the probability of each digit after each step, and its hidden state."""
    names = list(traces)
    fig = make_subplots(rows=2, cols=len(names), row_heights=[1, 1.3], vertical_spacing=0.14,
                        subplot_titles=[f"{name}: probability per step" for name in names]
                        + [f"{name}: hidden state (units by activity)" for name in names])
    steps = np.arange(1, ROWS + 1)
    for col, name in enumerate(names, start=1):
        trace = traces[name]
        for digit in range(10):
            fig.add_trace(go.Scatter(x=steps, y=trace.probs[:, digit], mode="lines", name=str(digit),
                                     legendgroup=str(digit), showlegend=col == 1,
                                     line=class_line(digit, trace.prediction),
                                     hovertemplate=f"{name}, digit {digit}, step %{{x}}: %{{y:.1%}}<extra></extra>"),
                          1, col)
        order = np.argsort(-np.abs(trace.hidden).mean(axis=0), kind="stable")
        fig.add_trace(go.Heatmap(z=trace.hidden[:, order].T, x=steps, coloraxis="coloraxis",
                                 customdata=np.repeat(order[:, None], trace.steps, axis=1),
                                 hovertemplate="unit %{customdata}, step %{x}: %{z:.2f}<extra></extra>"), 2, col)
        fig.update_yaxes(title="probability" if col == 1 else None, range=[0, 1.02], tickformat=".0%", row=1, col=col)
        fig.update_yaxes(title="unit (sorted)" if col == 1 else None, autorange="reversed", row=2, col=col)
    fig.update_xaxes(title="step (row read)")
    fig.update_layout(height=760, margin=dict(t=80),
                      legend=dict(title="digit ", orientation="h", x=0, y=1.04, yanchor="bottom"),
                      coloraxis=dict(colorscale=STATE_SCALE, cmin=-1, cmax=1, cmid=0,
                                     colorbar=dict(title="h<br>-1..1", y=0.28, len=0.5, thickness=12)))
    return fig


def exponential_moving_average(values, smoothing: float = LOSS_SMOOTHING) -> np.ndarray:
    """The debiased exponential moving average of a sequence (as TensorBoard smooths its curves).

    m_t = smoothing * m_(t-1) + (1 - smoothing) * x_t from m_0 = 0, divided by 1 - smoothing^t so that
    the first points are not pulled towards 0. It runs across epochs: nothing restarts.
    """
    values = np.asarray(values, dtype=float)
    averages, mean = np.empty_like(values), 0.0
    for t, value in enumerate(values, start=1):
        mean = smoothing * mean + (1 - smoothing) * value
        averages[t - 1] = mean / (1 - smoothing**t)
    return averages


def training_figure(history: list) -> go.Figure:
    """Loss and accuracy against batches from a list of train.Progress.

    The loss of each reported batch is drawn faint; over it, its exponential moving average
    across the whole run. End-of-epoch reports repeat their epoch's last batch and are drawn once.
    """
    fig = make_subplots(rows=1, cols=2, subplot_titles=["Training loss", "Accuracy"])
    batches = [p for i, p in enumerate(history) if i == 0 or p.step != history[i - 1].step]
    batch = [p.step for p in batches]
    raw_loss = [p.loss if p.batch_loss is None else p.batch_loss for p in batches]
    fig.add_trace(go.Scatter(x=batch, y=raw_loss, mode="lines", name=RAW_LOSS, opacity=0.3,
                             line=dict(width=1, color=CLASS_COLORS[0])), 1, 1)
    fig.add_trace(go.Scatter(x=batch, y=exponential_moving_average(raw_loss), mode="lines", name=SMOOTHED_LOSS,
                             line=dict(width=2.5, color=CLASS_COLORS[0])), 1, 1)
    fig.add_trace(go.Scatter(x=batch, y=[p.train_accuracy for p in batches], mode="lines",
                             name="train (running mean per epoch)"), 1, 2)
    checks = [p for p in history if p.val_accuracy is not None]
    fig.add_trace(go.Scatter(x=[p.step for p in checks], y=[p.val_accuracy for p in checks], mode="markers+lines",
                             marker_size=9, name="validation (end of epoch)"), 1, 2)
    fig.update_xaxes(title="batch")
    fig.update_yaxes(title="cross-entropy", row=1, col=1)
    fig.update_yaxes(title="accuracy", range=[0, 1], tickformat=".0%", row=1, col=2)
    fig.update_layout(height=320, margin=dict(t=40, b=40))
    return fig


def to_png(figure: go.Figure) -> bytes:
    """The figure as a PNG, in plotly's own colours: under Streamlit, figures get a template whose
    placeholder colours only Streamlit's front end fills in."""
    return go.Figure(figure).update_layout(template="plotly_white").to_image(
        format="png", width=PNG_WIDTH, height=figure.layout.height)
