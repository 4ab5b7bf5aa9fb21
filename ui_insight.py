"""The app's Insight and Evaluate tabs, and its downloads (traces as CSV/JSON, charts as PNG).

Layout only: the measurements are rnnviz.insight, the figures rnnviz.insight_plots. Test-set
statistics take 10-30 s per model the first time (with a progress bar); insight.test_set_stats
then keeps them in a file next to the checkpoint, and this module in memory for every session.
"""

import math

import numpy as np
import plotly.graph_objects as go
import streamlit as st
import torch

from rnnviz import insight, insight_plots, registry
from rnnviz.data import FILES, data_dir, has_mnist, load_mnist

PNG_WIDTH = 1200  # px, charts downloaded as PNG
TOP_HALF = 14  # rows 1-14: the captions say how much of each curve lies there
WRONG_PER_PAGE, WRONG_COLUMNS = 24, 8  # misclassified digits: a page is 3 rows of 8
SORTS = {"selectivity": "selectivity", "memory": "memory (mean forget/update gate)", "mean_abs": "activity (mean |h|)"}

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


# ---- shared helpers ----

def chart(figure, key: str, **selection):
    """A plotly chart with a PNG download under it (the PNG is made only when the button is clicked)."""
    event = st.plotly_chart(figure, key=key, width="stretch", **selection)
    st.download_button("PNG", lambda: png(figure), file_name=f"{key}.png", mime="image/png", key=f"{key}-png",
                       on_click="ignore", icon=":material/download:", type="tertiary",
                       help="Download this chart as an image")
    return event


def png(figure) -> bytes:
    """The figure as a PNG, in plotly's own colours: under Streamlit, figures get a template whose
    placeholder colours only Streamlit's front end fills in."""
    return go.Figure(figure).update_layout(template="plotly_white").to_image(
        format="png", width=PNG_WIDTH, height=figure.layout.height)


def trace_downloads(reading):
    """Download buttons for the current trace (made when clicked)."""
    name = f"rnnviz-{reading.cell_type}-trace"
    csv_column, json_column, _ = st.columns([1, 1, 3])
    csv_column.download_button("Trace as CSV", lambda: insight.trace_to_csv(reading), file_name=f"{name}.csv",
                               mime="text/csv", key="trace-csv", on_click="ignore", icon=":material/download:",
                               help="One line per step, quantity (hidden, gates, prob…), unit and value")
    json_column.download_button("Trace as JSON", lambda: insight.trace_to_json(reading), file_name=f"{name}.json",
                                mime="application/json", key="trace-json", on_click="ignore",
                                icon=":material/download:", help="Every array of the trace, and the prediction")


def enlarged(image: np.ndarray, times: int) -> np.ndarray:
    """A (28, 28) image scaled up by whole pixels, so that it stays crisp."""
    return np.kron(image, np.ones((times, times)))


def missing_mnist():
    st.info(f"This view measures the models on the 10,000 MNIST test digits, which are not in {data_dir()}. "
            f"Put the four MNIST files ({', '.join(FILES)}) in a folder and start the app with "
            "RNNVIZ_DATA=that/folder. The views of your own drawing work without it.")


@st.cache_resource
def mnist_test(folder: str):
    """The MNIST test images (N, 28, 28) and labels (N,), read once per server."""
    return load_mnist("test", folder, download=False)


@st.cache_resource
def remembered_stats() -> dict:
    """Test-set statistics computed or read so far, by (checkpoint, modified, MNIST folder); for all sessions."""
    return {}


def load_stats(paths: list) -> list | None:
    """The test-set statistics of each checkpoint; None (with a note on getting MNIST) when MNIST is missing."""
    if not has_mnist():
        missing_mnist()
        return None
    folder, remembered = str(data_dir()), remembered_stats()
    keys = [(str(path), path.stat().st_mtime, folder) for path in paths]
    for path, key in zip(paths, keys, strict=True):
        if key not in remembered:
            remembered[key] = compute_stats(path, folder)
    return [remembered[key] for key in keys]


def shipped_stats(shipped: dict) -> dict | None:
    """cell -> test-set statistics of each shipped model (None when MNIST is missing)."""
    stats = load_stats([path for path, _ in shipped.values()])
    return dict(zip(shipped, stats, strict=True)) if stats else None


def selected_stats(entry):
    """Test-set statistics of the selected model; None (with a note why) without a model or MNIST."""
    if entry is None:
        st.info("No model to measure: add one in the sidebar.")
        return None
    found = load_stats([entry.path])
    return found[0] if found else None


def compute_stats(path, folder: str):
    """insight.test_set_stats (read from its file, or computed the first time) with a progress bar."""
    bar = st.progress(0.0)

    def progress(done: float):
        bar.progress(done, text=f"Reading the 10,000 test digits with {path.name} (only the first time): {done:.0%}")

    stats = insight.test_set_stats(path, *mnist_test(folder), progress=progress)
    bar.empty()
    return stats


def open_in_inspect(test_index: int):
    """Make MNIST test digit `test_index` the page's input and open the Inspect tab."""
    st.session_state.update({"source": "Test set", "test-digit": int(test_index), "tab": "Inspect"})


def follow_unit(unit: int):
    """Follow `unit` in the Inspect tab."""
    st.session_state.update({"unit": unit, "tab": "Inspect"})


def shares(curves: dict) -> str:
    """'RNN 46%, GRU 53%' : how much of each curve lies in the top half of the image."""
    return ", ".join(f"{name.upper()} {values[:TOP_HALF].sum() / values.sum():.0%}" for name, values in curves.items())


# ---- Insight ----

def per_model(measure, shipped: dict, image: np.ndarray) -> dict:
    """cell -> measure(model, image as a batch of one)[0] for each shipped model: (steps,) arrays."""
    images = torch.from_numpy(image)[None]
    return {cell: measure(model, images)[0].detach().numpy() for cell, (_, model) in shipped.items()}


def own_prediction_gradients(model, images):
    """‖dL/dh_t‖ with each image's predicted digit as its label (a drawing has no true label)."""
    with torch.no_grad():
        predicted = model(images).argmax(1)
    return insight.hidden_gradient_norms(model, images, predicted)


def rows_view(image, shipped: dict):
    st.markdown(ROWS_INTRO)
    if image is None:
        st.info("Draw a digit (or pick one) to see these curves for it.")
    else:
        chart(insight_plots.row_importance_figure(
            per_model(insight.row_saliency, shipped, image), per_model(insight.row_occlusion, shipped, image),
            title="Which rows does each model use for this digit?"), key="rows-drawing")
    stats = shipped_stats(shipped)
    if stats:
        saliency = {cell: s.saliency for cell, s in stats.items()}
        occlusion = {cell: s.occlusion for cell, s in stats.items()}
        chart(insight_plots.row_importance_figure(saliency, occlusion), key="rows-test-set")
        st.caption(f"A plain RNN has no gates to protect what it read early; an LSTM or GRU can keep it. Share "
                   f"of the saliency in the top half (rows 1-{TOP_HALF}): {shares(saliency)}; of the occlusion "
                   f"effect: {shares(occlusion)}.")


def gradient_view(image, shipped: dict):
    st.markdown(GRADIENT_INTRO)
    drawing_column, test_column = st.columns(2)
    with drawing_column:
        if image is None:
            st.info("Draw a digit (or pick one) to see the gradient for it.")
        else:
            chart(insight_plots.gradient_flow_figure(per_model(own_prediction_gradients, shipped, image),
                                                     title="Gradient flow back through time (this digit)"),
                  key="gradients-drawing")
            st.caption("A drawing has no true label: the loss here takes each model's own prediction as the label.")
    with test_column:
        stats = shipped_stats(shipped)
        if stats:
            norms = {cell: s.gradient_norms for cell, s in stats.items()}
            chart(insight_plots.gradient_flow_figure(norms), key="gradients-test-set")
            st.caption("How much of the gradient at step 28 reaches step 1: "
                       + ", ".join(f"{cell.upper()} {n[0] / n[-1]:.2g}×" for cell, n in norms.items()) + ".")


def units_view(entry, has_digit: bool):
    stats = selected_stats(entry)
    if stats is None:
        return
    table = insight.unit_table(stats)
    st.markdown(UNITS_INTRO)
    if stats.saturation:
        st.markdown(SATURATION_INTRO)
        chart(insight_plots.saturation_figure(stats.saturation), key="saturation",
              on_select=pick_unit_from_chart, selection_mode="points")
    else:
        st.caption("The plain RNN has no gates; pick the LSTM or GRU under Model (sidebar) to see how its gates "
                   "open and close.")
    unit = st.selectbox("Unit", range(len(table)), key="insight-unit", format_func=lambda u: f"unit {u}")
    unit_view(stats, table.iloc[unit], has_digit)
    unit_table(table)


def pick_unit_from_chart():
    points = [p for p in st.session_state["saturation"].selection.points if "customdata" in p]
    if points:
        st.session_state["insight-unit"] = int(np.ravel(points[0]["customdata"])[0])


def unit_view(stats, row, has_digit: bool):
    """One unit: its mean activation per digit and step, the test digits that excite it most."""
    unit = int(row.unit)
    memory = f", memory {row.memory:.2f}" if not math.isnan(row.memory) else ""
    st.markdown(f"**Unit {unit}** prefers **{int(row.preferred_digit)}s** (selectivity {row.selectivity:.2f}{memory}, "
                f"activity {row.mean_abs:.2f}).")
    heatmap_column, digits_column = st.columns([1.5, 1])
    with heatmap_column:
        chart(insight_plots.class_means_figure(stats.class_means, unit), key="class-means")
    with digits_column:
        st.markdown("The test digits that excite it most (highest h at any step):")
        images, labels = mnist_test(str(data_dir()))
        top = stats.top_digits[unit]
        st.image([enlarged(images[i].numpy(), 3) for i in top], caption=[f"{labels[i]} (#{i})" for i in top],
                 clamp=True)
        st.button(f"Follow unit {unit} in Inspect", key="follow-unit", on_click=follow_unit, args=(unit,),
                  disabled=not has_digit, help="Step through the current digit with this unit highlighted"
                  + ("" if has_digit else " (draw or pick a digit first)"))


def unit_table(table):
    """All units, sortable; choosing a row opens that unit above."""
    shown = [name for name in table if not table[name].isna().all()]  # the RNN has no memory gate
    sorts = {key: label for key, label in SORTS.items() if key in shown}
    by = st.radio("Sort units by", list(sorts), format_func=sorts.get, horizontal=True, key="unit-sort")
    ordered = table.sort_values(by, ascending=False).reset_index(drop=True)
    st.dataframe(ordered, key="unit-table", hide_index=True, column_order=shown, selection_mode="single-row",
                 on_select=lambda: pick_unit_from_table(ordered), column_config={
                     "preferred_digit": st.column_config.NumberColumn("preferred digit"),
                     "selectivity": st.column_config.NumberColumn(format="%.2f"),
                     "memory": st.column_config.NumberColumn(SORTS["memory"], format="%.2f"),
                     "mean_abs": st.column_config.NumberColumn(SORTS["mean_abs"], format="%.2f"),
                 })
    st.caption("Selectivity: how much more the unit fires for its preferred digit than for the others (in "
               "standard deviations). Memory: the mean forget (LSTM) or update (GRU) gate, near 1 = keeps its "
               "state. Click a column header to sort, a row to open the unit.")


def pick_unit_from_table(ordered):
    rows = st.session_state["unit-table"].selection.rows
    if rows:
        st.session_state["insight-unit"] = int(ordered.unit.iloc[rows[0]])


def insight_tab(image, shipped: dict, entry):
    """What the networks learned: rows that matter, gradient flow, the roles of units and gates.

    image: the current (28, 28) input or None; shipped: cell -> (path, model); entry: the selected checkpoint.
    """
    views = {
        "Rows that matter": lambda: rows_view(image, shipped),
        "Gradient flow": lambda: gradient_view(image, shipped),
        "Units and gates": lambda: units_view(entry, image is not None),
    }
    for tab, show in zip(st.tabs(list(views), key="insight-view", on_change="rerun"), views.values(), strict=True):
        if tab.open:
            with tab:
                show()


# ---- Evaluate ----

def evaluate_tab(entry, model):
    """Accuracy, confusion matrix and the misclassified test digits of the selected model."""
    stats = selected_stats(entry)
    if stats is None:
        return
    summary_column, confusion_column = st.columns([1, 2])
    summary_column.metric("Test accuracy", f"{stats.accuracy:.2%}", help="On the 10,000 MNIST test digits")
    total, right = len(stats.labels), len(stats.labels) - len(stats.misclassified)
    summary_column.markdown(f"**{registry.describe(model, entry)}** reads {right:,} of the {total:,} MNIST test "
                            "digits correctly. The matrix counts every answer: the diagonal is right, everything "
                            "else a mistake.")
    with confusion_column:
        chart(insight_plots.confusion_figure(stats.confusion), key="confusion")
    misclassified_gallery(stats.misclassified)


def misclassified_gallery(wrong):
    """The misclassified test digits, a page at a time; a click opens one in Inspect."""
    st.subheader("The digits it gets wrong")
    true_column, read_column, page_column = st.columns(3)
    true = true_column.selectbox("True digit", ["any", *range(10)], key="wrong-true")
    read = read_column.selectbox("Read as", ["any", *range(10)], key="wrong-read")
    if true != "any":
        wrong = wrong[wrong.true == true]
    if read != "any":
        wrong = wrong[wrong.predicted == read]
    pages = max(1, math.ceil(len(wrong) / WRONG_PER_PAGE))
    page = page_column.number_input("Page", 1, pages, key="wrong-page")
    if wrong.empty:
        st.info("None.")
        return
    st.caption(f"{len(wrong)} digits, page {page} of {pages}. Click one to step through it in Inspect.")
    images, _ = mnist_test(str(data_dir()))
    shown = wrong.iloc[(page - 1) * WRONG_PER_PAGE : page * WRONG_PER_PAGE]
    for start in range(0, len(shown), WRONG_COLUMNS):
        row = shown.iloc[start : start + WRONG_COLUMNS]
        for column, digit in zip(st.columns(WRONG_COLUMNS), row.itertuples(), strict=False):  # the last row: fewer
            column.image(enlarged(images[digit.image].numpy(), 3), clamp=True)
            column.button(f"{digit.true} read as {digit.predicted}", key=f"wrong-{digit.image}",
                          on_click=open_in_inspect, args=(digit.image,), help=f"MNIST test #{digit.image}")
