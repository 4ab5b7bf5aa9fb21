"""Compare: the same digit through 2 to 4 models side by side, stepped together in the browser, with
what each still remembers, and "what if" changes to the recurrence applied to all of them at once."""

from pathlib import Path

import streamlit as st

from rnnviz import CELL_TYPES
from rnnviz.browser_data import Racer, compare
from rnnviz.config import ROWS
from rnnviz.figures.charts import compare_figure
from rnnviz.figures.measure_charts import memory_curve_figure
from rnnviz.intervention import Intervention
from rnnviz.recurrence import trace
from rnnviz.serving import store

from . import cache
from .cache import Loaded
from .link import NO_LINK_YET, link_data
from .state import KEEP_GATE_CHOICES, Chart, Key, Tab
from .views import replay_html, send_weights, show
from .widgets import chart, not_measured_yet, replay_button

HOW_TO_READ = (
    "One panel per model, all at the same row: drag the **slider** or press **▶ Play** (it runs in your browser). "
    "In each panel: the digit with the row being read boxed; **what it still remembers**, the rows read so far "
    "decoded from what the cell carries to the next row (h, and c for the LSTM) by a read-out fitted on 20,000 "
    "MNIST digits; the class probabilities after this row; **h** (and the LSTM's **c**) so far, one line per unit "
    "(top = most telling), blue -1, white 0, red +1, the same scale for every model; the gates of all units at "
    "this row as small squares, 0 dark to 1 yellow."
)


def short_name(loaded: Loaded) -> str:
    """A panel's name: the cell type for a shipped model, else the checkpoint's name."""
    cell_type = loaded.model.cell_type.upper()
    return cell_type if loaded.entry.shipped else f"{loaded.entry.name} ({cell_type})"


def _chosen_models(models: dict[str, Loaded]) -> list[str]:
    """The multiselect of models to compare (2 to 4): by default the shipped RNN, GRU and LSTM."""
    shipped = {cell_type: str(store.shipped_path(cell_type)) for cell_type in CELL_TYPES}
    for cell_type, path in shipped.items():
        if path not in models:
            st.warning(f"The shipped {cell_type.upper()} ({store.shipped_path(cell_type).name}) is missing.")
    kept = st.session_state.get(Key.COMPARED)
    if kept is not None and (gone := [path for path in kept if path not in models]):
        st.warning("No longer available (checkpoint missing): " + ", ".join(Path(path).name for path in gone))
        st.session_state[Key.COMPARED] = [path for path in kept if path in models]
    return st.multiselect("Models to compare (2 to 4): shipped, trained in the Train tab, or added in the sidebar",
                          list(models), default=[path for path in shipped.values() if path in models],
                          max_selections=4, key=Key.COMPARED, format_func=lambda path: short_name(models[path]))


def _what_if(hidden_sizes: list[int]) -> Intervention:
    """The controls of the what-if, applied to every compared model at once."""
    with st.expander("What if… (change the recurrence while it reads)", expanded=True):
        gate_column, units_column, rows_column = st.columns(3)
        gate = gate_column.radio("Forget gate (LSTM) and update gate (GRU)", list(KEEP_GATE_CHOICES),
                                 key=Key.KEEP_GATE, help="Clamp the gate that decides how much of the old "
                                 "state each unit keeps, at every row. The plain RNN has no such gate.")
        silenced = units_column.multiselect("Silence units (state set to 0 after every row)",
                                            list(range(max(hidden_sizes))), key=Key.SILENCED)
        blank = rows_column.toggle("Blank a band of rows", key=Key.BLANK)
        rows = rows_column.slider("Rows blanked", 1, ROWS, (1, ROWS // 2), key=Key.BLANK_ROWS, disabled=not blank)
    return Intervention(keep_gate=KEEP_GATE_CHOICES[gate], silenced=tuple(silenced),
                        blank_rows=rows if blank else None)


def compare_tab(image, models: dict[str, Loaded]) -> None:
    """image: the current (28, 28) digit or None; models: every loaded model by checkpoint path."""
    chosen = [models[path] for path in _chosen_models(models)]
    if len(chosen) < 2:
        st.info("Pick at least two models to compare.")
        return
    racers = [Racer(short_name(loaded), loaded.model, cache.saved_memory(loaded.entry)) for loaded in chosen]
    st.markdown("The same digit through every model, row by row, read in your browser as you draw. Which one makes "
                "up its mind first, and which still remembers the top of the digit at the end?")
    what_if = _what_if([loaded.model.hidden_size for loaded in chosen])
    send_weights([racer.model for racer in racers], key=Key.COMPARE_WEIGHTS)
    view = compare(racers, image, what_if)
    link = link_data(Tab.COMPARE, chosen, image, what_if) if image is not None else {"note": NO_LINK_YET}
    show("compare", view, key=Key.COMPARE_VIEW, link=link)
    st.caption(HOW_TO_READ)
    if image is not None:
        names = ", ".join(racer.name for racer in racers)
        replay_button(st, lambda: replay_html(view, f"rnnviz: {names} race", [racer.model for racer in racers], image),
                      "rnnviz-compare-replay.html", Key.COMPARE_REPLAY)
        if st.toggle("All steps at once, as a chart (with PNG download)", key=Key.COMPARE_CHART):
            traces = {racer.name: trace(racer.model, image, what_if) for racer in racers}
            chart(compare_figure(traces), key=Chart.COMPARE)  # 0.2 s to build: only when asked for
    curves = {racer.name: racer.decoders.lag_r2 for racer in racers if racer.decoders is not None}
    if curves:
        chart(memory_curve_figure(curves), key=Chart.MEMORY_CURVES)
        st.caption("How well the rows a model has read can be read back from its state, by how long ago it read "
                   "them (R² pooled over the 10,000 MNIST test digits; 1 = perfect, 0 = no better than the "
                   "average digit). Rows read long ago are the top rows, which carry less ink.")
    unmeasured = [loaded for loaded, racer in zip(chosen, racers, strict=True) if racer.decoders is None]
    if unmeasured:  # one at a time: the workers measure them in turn
        not_measured_yet(unmeasured[0].entry, "What it still remembers needs the memory read-out of")
