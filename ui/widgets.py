"""Pieces more than one tab uses: charts with a PNG download, trace downloads, getting MNIST."""

import streamlit as st

from rnnviz import export
from rnnviz.config import data_dir
from rnnviz.data.mnist import DOWNLOAD_BYTES, DatasetMissing, download_mnist
from rnnviz.figures.charts import to_png

from . import cache
from .state import Key

NO_DIGIT = "Draw a digit above (or pick one from the gallery) to see inside."


def chart(figure, key: str, **selection):
    """A plotly chart with a PNG download under it (the PNG is made only when the button is clicked)."""
    event = st.plotly_chart(figure, key=key, width="stretch", **selection)
    st.download_button("PNG", lambda: to_png(figure), file_name=f"{key}.png", mime="image/png",
                       key=f"{key}-png", on_click="ignore", icon=":material/download:", type="tertiary",
                       help="Download this chart as an image")
    return event


def trace_downloads(trace, replay) -> None:
    """Download buttons for the current trace, and for its replay (replay() makes the HTML); each file is
    made when its button is clicked."""
    name = f"rnnviz-{trace.cell_type}-trace"
    replay_column, csv_column, json_column, _ = st.columns([1.4, 1, 1, 1.6])
    replay_button(replay_column, replay, f"rnnviz-{trace.cell_type}-replay.html", Key.INSPECT_REPLAY)
    csv_column.download_button("Trace as CSV", lambda: export.trace_to_csv(trace), file_name=f"{name}.csv",
                               mime="text/csv", key=Key.TRACE_CSV, on_click="ignore", icon=":material/download:",
                               help="One line per step, quantity (hidden, gates, prob…), unit and value")
    json_column.download_button("Trace as JSON", lambda: export.trace_to_json(trace), file_name=f"{name}.json",
                                mime="application/json", key=Key.TRACE_JSON, on_click="ignore",
                                icon=":material/download:", help="Every array of the trace, and the prediction")


def offer_mnist_download(needed_for: str) -> None:
    """Say that `needed_for` needs MNIST, with a button that downloads it; offline instructions only if
    the download fails."""
    st.info(f"{needed_for} needs the MNIST digits, which are not in {data_dir()} yet.")
    if st.button(f"Download MNIST (about {DOWNLOAD_BYTES / 2**20:.0f} MB)", key=Key.DOWNLOAD_MNIST,
                 icon=":material/download:"):
        bar = st.progress(0.0, text="Downloading MNIST…")
        try:
            download_mnist(on_progress=lambda done: bar.progress(done, text=f"Downloading MNIST… {done:.0%}"))
        except DatasetMissing as error:  # its message says how to provide the files offline
            bar.empty()
            st.error(f"The download failed. {error}")
            return
        st.rerun()  # the whole page, now with MNIST


def selected_stats(selected, needed_for: str):
    """The test-set statistics of the selected model (a ui.cache.Loaded, or None); None, with a note
    or an offer to download MNIST, when there are none."""
    if selected is None:
        st.info("No model to measure: add one in the sidebar.")
        return None
    found = cache.test_set_stats(selected.entry)
    if found is None:
        offer_mnist_download(f"{needed_for} {selected.entry.name}")
    return found


def replay_button(where, replay, file_name: str, key: str) -> None:
    """A download of the view as one HTML file that plays offline (made when clicked)."""
    where.download_button("This replay (HTML)", replay, file_name=file_name, mime="text/html", key=key,
                          on_click="ignore", icon=":material/download:",
                          help="One file that plays this view in any browser, offline: for a slide or a course page")
