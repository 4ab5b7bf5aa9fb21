"""Inspect's step figure: one model reading one digit, every gate and state, one animation frame per
time step. Plotly's own slider and Play/Pause buttons move between the frames in the browser, with no
round trip to the server. A frame holds nothing but layout shapes (the row on the input, the veil
over the steps not read yet, marker lines and the "at step t" probability bars), so plotly moves them
without redrawing the figure's panels at every step.
"""

import copy
import functools
from dataclasses import dataclass

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from ..compare import cell_state_range
from ..config import COLS, ROWS
from ..recurrence import Trace
from .palette import CLASS_COLORS, FUTURE_MASK, GATE_SCALE, HIGHLIGHT, IMAGE_SCALE, STATE_SCALE, class_line

ROW_PX, GAP_PX, TOP_PX, BOTTOM_PX = 260, 85, 185, 50  # step figure: subplot row, gap, title + controls, x title
NARROW_ROW_PX, NARROW_GAP_PX, NARROW_TOP_PX = 220, 80, 230  # the same, one column for a phone
UNIT_PANEL = 3  # step figure panels: the image, the bars, the probabilities, the chosen unit, then heatmaps

# The panels of each cell type: (what, symbol, title, colour axis); "what" is a gate name, "cell_state" or
# "hidden"; the colour axis is "gate" (0..1), "state" (-1..1) or "cell_state" (its range set per trace).
PANELS = {
    "lstm": (
        ("input", "i", "Input gate i: how much of g to write", "gate"),
        ("forget", "f", "Forget gate f: how much memory to keep", "gate"),
        ("candidate", "g", "Candidate g: what could be written", "state"),
        ("output", "o", "Output gate o: how much memory to show", "gate"),
        ("cell_state", "c", "Cell state c: the memory", "cell_state"),
        ("hidden", "h", "Hidden state h: what the read-out sees", "state"),
    ),
    "gru": (
        ("reset", "r", "Reset gate r: how much old state the candidate uses", "gate"),
        ("update", "z", "Update gate z: how much old state to keep", "gate"),
        ("candidate", "n", "Candidate n: the proposed new state", "state"),
        ("hidden", "h", "Hidden state h: what the read-out sees", "state"),
    ),
    "rnn": (("hidden", "h", "Hidden state h: what the read-out sees", "state"),),
}
def panel_values(trace: Trace, what: str) -> np.ndarray:
    """(steps, hidden) values of one panel."""
    return {"hidden": trace.hidden, "cell_state": trace.cell_state}.get(what, trace.gates.get(what))


def _num(value: float) -> str:
    """A number as an operand: negative ones in brackets."""
    return f"({value:.2f})" if value < 0 else f"{value:.2f}"


def unit_update(trace: Trace, unit: int, step: int) -> str:
    """One unit's update at one step (1-based), written out with its numbers (plotly HTML)."""
    t = step - 1
    h = trace.hidden[t, unit]
    h_prev = trace.hidden[t - 1, unit] if t else 0.0
    g = {name: values[t, unit] for name, values in trace.gates.items()}
    sub = lambda s: f"<sub>{s}</sub>"  # noqa: E731
    if trace.cell_type == "lstm":
        c, c_prev = trace.cell_state[t, unit], trace.cell_state[t - 1, unit] if t else 0.0
        return (
            f"c{sub(step)} = f·c{sub(step - 1)} + i·g = {_num(g['forget'])}·{_num(c_prev)} + "
            f"{_num(g['input'])}·{_num(g['candidate'])} = {c:.2f}     "
            f"h{sub(step)} = o·tanh(c{sub(step)}) = {_num(g['output'])}·tanh({c:.2f}) = {h:.2f}"
        )
    if trace.cell_type == "gru":
        z = g["update"]
        return (
            f"h{sub(step)} = (1 − z)·n + z·h{sub(step - 1)} = (1 − {_num(z)})·{_num(g['candidate'])} + "
            f"{_num(z)}·{_num(h_prev)} = {h:.2f}     (reset r = {_num(g['reset'])} scaled h{sub(step - 1)} inside n)"
        )
    pre_activation = np.arctanh(np.clip(h, -0.999999, 0.999999))
    return f"h{sub(step)} = tanh(W·x{sub(step)} + U·h{sub(step - 1)} + b) = tanh({pre_activation:.2f}) = {h:.2f}"


def _marker(xref: str, yref: str, step: int) -> dict:
    """A vertical line at `step` across a whole subplot."""
    return dict(type="line", xref=xref, yref=f"{yref} domain", x0=step, x1=step, y0=0, y1=1,
                line=dict(color=HIGHLIGHT, width=2))


def _future(xref: str, yref: str, step: int) -> dict:
    """A veil over the steps after `step` (not read yet)."""
    return dict(type="rect", xref=xref, yref=f"{yref} domain", x0=step + 0.5, x1=ROWS + 0.5, y0=0, y1=1,
                fillcolor=FUTURE_MASK, line=dict(width=0), layer="above")


def _bars(xref: str, yref: str, probs: np.ndarray) -> list[dict]:
    """The class probabilities (10,) as bars, drawn as shapes so that a frame can move them cheaply."""
    return [dict(type="rect", xref=xref, yref=yref, x0=digit - 0.4, x1=digit + 0.4, y0=0, y1=float(p),
                 fillcolor=CLASS_COLORS[digit], line=dict(width=0), layer="between") for digit, p in enumerate(probs)]


@dataclass(frozen=True)
class StepGrid:
    """The part of a step figure that depends only on the cell type and the width: panels, axes,
    colour bars, title and controls. Made once (step_grid) and validated by plotly then."""

    layout: dict  # plotly layout, as a dict
    refs: tuple[tuple[str, str], ...]  # (xref, yref) of each panel: image, bars, probabilities, unit, heatmaps
    colour_axes: dict[str, str]  # kind of value ("gate", "state", "cell_state") -> its colour axis ("coloraxis2")


def _titles(panels, narrow: bool) -> list[str]:
    """The panels' titles, short ones on a phone."""
    if narrow:
        return ["What the network sees", "Class probabilities (◆ at the end)", "Probability per step",
                "Unit over time", *(title.split(":")[0] for _, _, title, _ in panels)]
    return ["What the network sees (row being read in orange)", "Class probabilities: bars at this step, ◆ at the end",
            "Probability of each digit after each step (colours as above)",
            "Unit over time",  # the chosen unit's number is put in per figure
            *(title for _, _, title, _ in panels)]


def _label_axes(axes: list, refs: tuple, bottom: list[bool]) -> None:
    """Titles and ranges of every panel's axes: image, bars, probabilities, unit, then the heatmaps
    (`bottom`: whether a panel is in the last row, which names the steps)."""
    image_x = refs[0][0]
    every = [(dict(title="column (pixel)", constrain="domain"),
              dict(autorange="reversed", scaleanchor=image_x, title="row (= step)")),
             (dict(title="digit", tickmode="linear", range=[-0.5, 9.5]),
              dict(title="probability", range=[0, 1.02], tickformat=".0%")),
             (dict(title="step (row read)", range=[0.5, ROWS + 0.5]),
              dict(title="probability", range=[0, 1.02], tickformat=".0%")),
             (dict(title="step (row read)", range=[0.5, ROWS + 0.5]), dict(title="value"))]
    every += [(dict(title="step (row read)" if last else None), dict(title="unit (sorted)", autorange="reversed"))
              for last in bottom[UNIT_PANEL + 1:]]
    for axis, (x, y) in zip(axes, every, strict=True):
        axis.xaxis.update(x)
        axis.yaxis.update(y)


def _colour_axes(fig: go.Figure, panels, axes: list) -> dict[str, str]:
    """One colour axis per kind of value, its bar beside the first panel that uses it, titled with its
    panels' symbols; returns kind -> colour axis name."""
    scales = {"gate": dict(colorscale=GATE_SCALE, cmin=0, cmax=1), "state": dict(colorscale=STATE_SCALE, cmin=-1,
              cmax=1), "cell_state": dict(colorscale=STATE_SCALE, cmin=-1, cmax=1)}  # c's range: set per trace
    ranges = {"gate": "0..1", "state": "-1..1", "cell_state": "±range"}
    colour_axes = {}
    for kind in [kind for kind in scales if any(panel[3] == kind for panel in panels)]:
        name = "coloraxis" if not colour_axes else f"coloraxis{len(colour_axes) + 1}"
        colour_axes[kind] = name
        first = next(i for i, panel in enumerate(panels) if panel[3] == kind)
        domain = axes[UNIT_PANEL + 1 + first].yaxis.domain
        symbols = ", ".join(symbol for _, symbol, _, panel_kind in panels if panel_kind == kind)
        fig.layout[name] = dict(**scales[kind], colorbar=dict(title=f"{symbols}<br>{ranges[kind]}",
                                y=sum(domain) / 2, len=domain[1] - domain[0], x=1.01, thickness=12))
    return colour_axes


def _controls(plot_px: float, unit_top: float, narrow: bool) -> dict:
    """The title, the legend, ▶ Play / ❚❚ Pause and the step slider, as layout settings."""
    steps = [str(step) for step in range(1, ROWS + 1)]
    animate = dict(mode="immediate", frame=dict(duration=0, redraw=False), transition=dict(duration=0))
    title = dict(text="Press ▶ Play or drag the slider to watch the network read the rows", x=0, xref="paper",
                 y=1, yref="container", yanchor="top", pad=dict(t=12), font_size=18)
    legend = dict(title="unit values", x=1.01, y=unit_top, yanchor="top")
    buttons_y, slider_y, slider_left = 1 + 50 / plot_px, 1 + 50 / plot_px, 150
    if narrow:  # the title in two short lines, the slider under the buttons, the legend over the unit's panel
        title = dict(text="▶ Play or drag the slider:<br>watch it read the rows", x=0, xref="paper", y=1,
                     yref="container", yanchor="top", pad=dict(t=16), font_size=15)
        legend = dict(title="", orientation="h", x=0, y=unit_top + 40 / plot_px, yanchor="bottom")
        buttons_y, slider_y, slider_left = 1 + 140 / plot_px, 1 + 40 / plot_px, 0
    play = dict(label="▶ Play", method="animate", args=[steps, {**animate, "frame": dict(duration=350, redraw=False)}])
    pause = dict(label="❚❚ Pause", method="animate", args=[[None], animate])
    return dict(
        title=title, legend=legend,
        updatemenus=[dict(type="buttons", direction="left", x=0, y=buttons_y, xanchor="left", yanchor="bottom",
                          buttons=[play, pause])],
        sliders=[dict(active=ROWS - 1, x=0, y=slider_y, len=1, yanchor="bottom", pad=dict(t=0, b=0, l=slider_left),
                      currentvalue=dict(prefix="Step ", suffix=f" of {ROWS}", font_size=16, offset=6), ticklen=3,
                      steps=[dict(label=step, method="animate", args=[[step], animate]) for step in steps])],
    )


@functools.cache
def step_grid(cell_type: str, narrow: bool) -> StepGrid:
    """The panels of `cell_type`'s step figure, in two columns (one if narrow), with their controls."""
    panels = PANELS[cell_type]
    cols = 1 if narrow else 2
    row_px, gap_px, top_px = (NARROW_ROW_PX, NARROW_GAP_PX, NARROW_TOP_PX) if narrow else (ROW_PX, GAP_PX, TOP_PX)
    count = UNIT_PANEL + 1 + len(panels)  # image, bars, probability lines, unit lines, then the heatmaps
    rows = -(-count // cols)
    specs = [[{} if r * cols + c < count else None for c in range(cols)] for r in range(rows)]
    plot_px = rows * row_px + (rows - 1) * gap_px
    fig = make_subplots(rows=rows, cols=cols, specs=specs, subplot_titles=_titles(panels, narrow),
                        horizontal_spacing=0.1, vertical_spacing=gap_px / plot_px)
    places = [(index // cols + 1, index % cols + 1) for index in range(count)]  # (row, col) of each panel
    axes = [fig.get_subplot(row, col) for row, col in places]
    refs = tuple((a.xaxis.plotly_name.replace("axis", ""), a.yaxis.plotly_name.replace("axis", "")) for a in axes)
    _label_axes(axes, refs, [row == rows for row, _ in places])
    colour_axes = _colour_axes(fig, panels, axes)
    if narrow:
        fig.update_annotations(font_size=13)  # the panel titles
    fig.update_layout(
        **_controls(plot_px, axes[UNIT_PANEL].yaxis.domain[1], narrow),
        height=plot_px + top_px + BOTTOM_PX,
        margin=dict(t=top_px, b=BOTTOM_PX, r=60, l=50) if narrow else dict(t=top_px, b=BOTTOM_PX, r=90),
        modebar=dict(orientation="v") if narrow else {},  # at the side: it covered the title
    )
    layout = fig.to_dict()["layout"]
    del layout["template"]  # plotly adds its default to every figure
    return StepGrid(layout, refs, colour_axes)


def _traces(trace: Trace, grid: StepGrid, order: np.ndarray, unit: int, updates: list[str]) -> list[dict]:
    """The step figure's traces, as plotly dicts placed on the grid's panels."""
    image_ref, bars_ref, probs_ref, unit_ref, *heatmap_refs = grid.refs
    panels = PANELS[trace.cell_type]
    steps = np.arange(1, trace.steps + 1)  # (steps,) 1-based

    def at(ref: tuple[str, str], **trace_spec) -> dict:
        return dict(xaxis=ref[0], yaxis=ref[1], **trace_spec)

    return [
        # The input image, rows top to bottom as read.
        at(image_ref, type="heatmap", z=trace.image, x=np.arange(1, COLS + 1), y=steps, colorscale=IMAGE_SCALE, zmin=0,
           zmax=1, showscale=False, hovertemplate="row %{y}, column %{x}: %{z:.2f}<extra></extra>"),
        # Class probabilities: bars at the current step (shapes, see _shapes_at), diamonds at the end.
        at(bars_ref, type="scatter", x=np.arange(10), y=trace.probs[-1], mode="markers",
           marker=dict(symbol="diamond", size=10, color="black"), showlegend=False,
           hovertemplate="digit %{x}: %{y:.1%}<extra>at the end</extra>"),
        # Probability of every class after each step.
        *(at(probs_ref, type="scatter", x=steps, y=trace.probs[:, digit], mode="lines", name=str(digit),
             showlegend=False, line=class_line(digit, trace.prediction),
             hovertemplate=f"digit {digit}, step %{{x}}: %{{y:.1%}}<extra></extra>") for digit in range(10)),
        # The chosen unit: each of its values over time; hovering shows that step's update written out.
        *(at(unit_ref, type="scatter", x=steps, y=panel_values(trace, what)[:, unit], mode="lines+markers",
             marker=dict(size=4), name=f"{symbol} ({what})", customdata=updates,
             hovertemplate=f"{symbol}, step %{{x}}: %{{y:.2f}}<br>%{{customdata}}<extra></extra>")
          for what, symbol, _, _ in panels),
        # Heatmaps: units (sorted) x steps.
        *(at(ref, type="heatmap", z=panel_values(trace, what)[:, order].T,  # (hidden, steps), in display order
             x=steps, customdata=np.repeat(order[:, None], trace.steps, axis=1), coloraxis=grid.colour_axes[kind],
             hovertemplate="unit %{customdata}, step %{x}: %{z:.2f}<extra></extra>")
          for ref, (what, _, _, kind) in zip(heatmap_refs, panels, strict=True)),
    ]


def _shapes_at(trace: Trace, grid: StepGrid, step: int) -> list[dict]:
    """What moves from step to step: the row box, the bars, the marker lines and the veils."""
    image_ref, bars_ref, probs_ref, unit_ref, *heatmap_refs = grid.refs
    row = dict(type="rect", xref=image_ref[0], yref=image_ref[1], x0=0.5, x1=COLS + 0.5, y0=step - 0.5,
               y1=step + 0.5, line=dict(color=HIGHLIGHT, width=2), fillcolor="rgba(255, 127, 14, 0.25)")
    return [row, *_bars(*bars_ref, trace.probs[step - 1]), *(_marker(*ref, step) for ref in (probs_ref, unit_ref)),
            *(_future(*ref, step) for ref in heatmap_refs)]


def step_figure(trace: Trace, order: np.ndarray, unit: int, narrow: bool = False) -> go.Figure:
    """Everything inside the network, one animation frame per step (row read).

    order (hidden,): the units from top to bottom of each heatmap. unit: the unit whose values
    are drawn as lines, each step's update written out in their hover. narrow: one panel per row,
    short titles, the slider on a line of its own, the toolbar at the side (a phone's width).

    The panels and controls come from step_grid, validated once; what this drawing adds (its
    traces, shapes and frames, made here from numbers) is not validated again: validating took
    most of the server's time per drawing (tests/test_steps.py checks that plotly would accept it).
    """
    grid = step_grid(trace.cell_type, narrow)
    updates = [unit_update(trace, unit, step) for step in range(1, trace.steps + 1)]
    layout = copy.deepcopy(grid.layout)
    layout["annotations"][UNIT_PANEL]["text"] = f"Unit {unit} over time"  # panel titles are in panel order
    if "cell_state" in grid.colour_axes:
        scale = cell_state_range([trace.cell_state])
        layout[grid.colour_axes["cell_state"]].update(cmin=-scale, cmax=scale)
    if not narrow:
        layout["title"]["subtitle"] = dict(text=f"Unit {unit} at step {trace.steps}: {updates[-1]}"
                                           "   (hover its line for every step)", font=dict(size=13))
    layout["shapes"] = _shapes_at(trace, grid, trace.steps)
    # Frames change only shapes, so they need no redraw (redraw=False): plotly then moves the shapes
    # alone. Texts cannot change that way, hence the slider's own "Step t of 28" readout.
    fig = go.Figure(dict(data=_traces(trace, grid, order, unit, updates), layout=layout), _validate=False)
    fig._frame_objs = tuple(go.Frame(name=str(step), layout=dict(shapes=_shapes_at(trace, grid, step)),
                                     _validate=False)  # (the frames' own constructor would validate them)
                            for step in range(1, trace.steps + 1))
    return fig
