"""Insight: what the networks learned. Rows that matter, gradient flow in time, units and gates.

The drawing's views are measured on the spot; the test-set views read each model's statistics
(ui.cache.saved_stats: shipped with the shipped models, else computed once from MNIST).
"""

import math

import numpy as np
import streamlit as st

from rnnviz import measures, stats
from rnnviz.config import TOP_HALF
from rnnviz.figures import measure_charts
from rnnviz.figures.images import enlarged

from . import cache
from .state import Chart, InsightView, Key, Tab
from .widgets import chart, not_measured_yet, selected_stats

SORTS = {"selectivity": "selectivity", "keep_gate": "keeps its state (mean forget/update gate)",
         "mean_abs": "activity (mean |h|)"}
TOP_DIGIT_ZOOM = 3

ROWS_INTRO = (
    "Which rows of the image did the answer depend on? **Saliency** (left): how strongly the log-probability "
    "of the predicted digit reacts to a small change of the row's pixels. **Occlusion** (right): how much "
    "that probability changes when the row is blanked; below zero, the row supported the answer."
)
GRADIENT_INTRO = (
    "Training pushes the loss gradient back through time, from the last step to the first. These curves "
    "show how much of it arrives at each hidden state h_t (log scale): a line that falls from right to left "
    "is a **vanishing gradient**, so the early rows barely get to shape what the network learns."
)
UNITS_INTRO = (
    "Each hidden unit is one number the network carries from row to row. Pick a unit (in the gate "
    "scatter, the table or the box) to see which digits excite it and when."
)
SATURATION_INTRO = (
    "One point per unit and gate: how often the gate is nearly shut (< 0.1, right) or wide open (> 0.9, up) "
    "over all steps of all test digits. Points near the top left act like a switch that stays open, e.g. "
    "a forget gate that keeps its memory. **Click a point** to open that unit below."
)


def _shipped_stats(shipped: dict) -> dict[str, stats.TestSetStats] | None:
    """cell type -> test-set statistics of each shipped model (they ship with them); None, saying why, if
    one has lost them."""
    found = {cell_type: cache.saved_stats(loaded.entry) for cell_type, loaded in shipped.items()}
    missing = [shipped[cell_type].entry for cell_type, kept in found.items() if kept is None]
    if missing:
        not_measured_yet(missing[0], "The test-set view needs the statistics of")
        return None
    return found


def _shares(curves: dict) -> str:
    """'RNN 46%, GRU 53%': how much of each curve lies in the top half of the image."""
    return ", ".join(f"{name.upper()} {measures.top_half_share(values):.0%}" for name, values in curves.items())


def rows_view(image, shipped: dict) -> None:
    st.markdown(ROWS_INTRO)
    models = {cell_type: loaded.model for cell_type, loaded in shipped.items()}
    if image is None:
        st.info("Draw a digit (or pick one) to see these curves for it.")
    else:
        chart(measure_charts.row_importance_figure(
            measures.per_model(measures.row_saliency, models, image),
            measures.per_model(measures.row_occlusion, models, image),
            title="Which rows does each model use for this digit?"), key=Chart.ROWS_DRAWING)
    if test_set := _shipped_stats(shipped):
        saliency = {cell_type: s.saliency for cell_type, s in test_set.items()}
        occlusion = {cell_type: s.occlusion for cell_type, s in test_set.items()}
        chart(measure_charts.row_importance_figure(saliency, occlusion), key=Chart.ROWS_TEST_SET)
        st.caption(f"A plain RNN has no gates to protect what it read early; an LSTM or GRU can keep it. Share "
                   f"of the saliency in the top half (rows 1-{TOP_HALF}): {_shares(saliency)}; of the occlusion "
                   f"effect: {_shares(occlusion)}.")


def gradient_view(image, shipped: dict) -> None:
    st.markdown(GRADIENT_INTRO)
    models = {cell_type: loaded.model for cell_type, loaded in shipped.items()}
    drawing_column, test_column = st.columns(2)
    with drawing_column:
        if image is None:
            st.info("Draw a digit (or pick one) to see the gradient for it.")
        else:
            chart(measure_charts.gradient_flow_figure(measures.drawing_gradient_curves(models, image),
                                               title="Gradient flow back through time (this digit)"),
                  key=Chart.GRADIENTS_DRAWING)
            st.caption("A drawing has no true label: the loss here takes each model's own prediction as the label. "
                       "Dotted: ‖∂ loss / ∂ c_t‖, the LSTM's cell state, the path its memory runs along (∂ h_t "
                       "holds c_t fixed).")
    with test_column:
        if test_set := _shipped_stats(shipped):
            curves = [curve for cell_type, s in test_set.items() for curve in s.gradient_curves(cell_type)]
            chart(measure_charts.gradient_flow_figure(curves), key=Chart.GRADIENTS_TEST_SET)
            st.caption("How much of the gradient at step 28 reaches step 1: "
                       + ", ".join(f"{curve.model.upper()}{' c' if curve.state == 'cell_state' else ''} "
                                   f"{measures.gradient_reach(curve.values):.2g}×" for curve in curves)
                       + ". Dotted: the LSTM's ‖∂ loss / ∂ c_t‖.")


def units_view(selected, has_digit: bool) -> None:
    """The units of the selected model (a ui.cache.Loaded, or None)."""
    test_set = selected_stats(selected, "Measuring the units of")
    if test_set is None:
        return
    table = stats.unit_table(test_set)
    st.markdown(UNITS_INTRO)
    if test_set.saturation:
        st.markdown(SATURATION_INTRO)
        chart(measure_charts.saturation_figure(test_set.saturation), key=Key.SATURATION,
              on_select=_pick_unit_from_chart, selection_mode="points")
    else:
        st.caption("The plain RNN has no gates; pick the LSTM or GRU under Model (sidebar) to see how its gates "
                   "open and close.")
    unit = st.selectbox("Unit", range(len(table)), key=Key.INSIGHT_UNIT, format_func=lambda u: f"unit {u}")
    unit_view(test_set, table.iloc[unit], has_digit)
    unit_table(table)


def _pick_unit_from_chart() -> None:
    points = [p for p in st.session_state[Key.SATURATION].selection.points if "customdata" in p]
    if points:
        st.session_state[Key.INSIGHT_UNIT] = int(np.ravel(points[0]["customdata"])[0])


def _follow_unit(unit: int) -> None:
    """Follow `unit` in the Inspect tab."""
    st.session_state.update({Key.UNIT: unit, Key.TAB: Tab.INSPECT})


def unit_view(test_set: stats.TestSetStats, row, has_digit: bool) -> None:
    """One unit: its mean activation per digit and step, the test digits that excite it most."""
    unit = int(row.unit)
    keeps = f", keeps its state {row.keep_gate:.2f}" if not math.isnan(row.keep_gate) else ""
    st.markdown(f"**Unit {unit}** prefers **{int(row.preferred_digit)}s** (selectivity {row.selectivity:.2f}{keeps}, "
                f"activity {row.mean_abs:.2f}).")
    heatmap_column, digits_column = st.columns([1.5, 1])
    with heatmap_column:
        chart(measure_charts.class_means_figure(test_set.class_means, unit), key=Chart.CLASS_MEANS)
    with digits_column:
        st.markdown("The test digits that excite it most (highest h at any step):")
        top = test_set.top_digits[unit]
        st.image([enlarged(test_set.digit(i), TOP_DIGIT_ZOOM) for i in top],
                 caption=[f"{test_set.labels[i]} (#{i})" for i in top], clamp=True)
        st.button(f"Follow unit {unit} in Inspect", key=Key.FOLLOW_UNIT, on_click=_follow_unit, args=(unit,),
                  disabled=not has_digit, help="Step through the current digit with this unit highlighted"
                  + ("" if has_digit else " (draw or pick a digit first)"))


def unit_table(table) -> None:
    """All units, sortable; choosing a row opens that unit above."""
    shown = [name for name in table if not table[name].isna().all()]  # the RNN has no gate that keeps its state
    sorts = {key: label for key, label in SORTS.items() if key in shown}
    by = st.radio("Sort units by", list(sorts), format_func=sorts.get, horizontal=True, key=Key.UNIT_SORT)
    ordered = table.sort_values(by, ascending=False).reset_index(drop=True)
    st.dataframe(ordered, key=Key.UNIT_TABLE, hide_index=True, column_order=shown, selection_mode="single-row",
                 on_select=lambda: _pick_unit_from_table(ordered), column_config={
                     "preferred_digit": st.column_config.NumberColumn("preferred digit"),
                     "selectivity": st.column_config.NumberColumn(format="%.2f"),
                     "keep_gate": st.column_config.NumberColumn(SORTS["keep_gate"], format="%.2f"),
                     "mean_abs": st.column_config.NumberColumn(SORTS["mean_abs"], format="%.2f"),
                 })
    st.caption("Selectivity: how much more the unit fires for its preferred digit than for the others (in "
               "standard deviations). Keeps its state: the mean forget (LSTM) or update (GRU) gate, near 1 = "
               "keeps its state. Click a column header to sort, a row to open the unit.")


def _pick_unit_from_table(ordered) -> None:
    rows = st.session_state[Key.UNIT_TABLE].selection.rows
    if rows:
        st.session_state[Key.INSIGHT_UNIT] = int(ordered.unit.iloc[rows[0]])


def insight_tab(image, shipped: dict, selected) -> None:
    """image: the current (28, 28) digit or None; shipped: cell type -> Loaded; selected: the picked Loaded."""
    views = {
        InsightView.ROWS: lambda: rows_view(image, shipped),
        InsightView.GRADIENTS: lambda: gradient_view(image, shipped),
        InsightView.UNITS: lambda: units_view(selected, image is not None),
    }
    for tab, show in zip(st.tabs(list(views), key=Key.INSIGHT_VIEW, on_change="rerun"), views.values(), strict=True):
        if tab.open:
            with tab:
                show()
