"""Pieces more than one tab uses: a guard for each part of the page, charts with a PNG download, trace
downloads, getting MNIST."""

import logging
import secrets

import streamlit as st
from streamlit.errors import FragmentHandledException

from rnnviz import export
from rnnviz.config import data_dir
from rnnviz.data.mnist import DOWNLOAD_BYTES, DatasetMissing, download_mnist
from rnnviz.figures.charts import to_png
from rnnviz.serving.jobs import JobState, read_status

from . import cache
from .state import Key
from .visitor import visitor_id

NO_DIGIT = "Draw a digit above (or pick one from the gallery) to see inside."
LOG = logging.getLogger("rnnviz")


def details_shown() -> bool:
    """Whether the operator has asked for error details in the page (client.showErrorDetails)."""
    return st.get_option("client.showErrorDetails") == "full"


def guarded(show):
    """Run one part of the page (a tab, the sidebar) and return what it returns. An unexpected error there
    shows one line and a reference, its traceback goes to the server's log under that reference, and the
    rest of the page goes on (this returns None). Unless the operator asked for error details in the page
    (client.showErrorDetails "full", Streamlit's default, as when developing): then the error is
    Streamlit's to show."""
    try:
        return show()
    except FragmentHandledException:
        raise
    except Exception:
        if details_shown():
            raise
        reference = secrets.token_hex(4)
        LOG.exception("error %s in the page", reference)
        st.error(f"Something went wrong here (reference {reference}). The rest of the page works; the "
                 "server's log has the details under that reference.", icon=":material/error:")


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
    LOG.info("MNIST is not in %s", data_dir())  # the operator's log says where; the page does not
    st.info(f"{needed_for} needs the MNIST digits, which are not in the server's data folder yet.")
    if st.button(f"Download MNIST (about {DOWNLOAD_BYTES / 2**20:.0f} MB)", key=Key.DOWNLOAD_MNIST,
                 icon=":material/download:"):
        bar = st.progress(0.0, text="Downloading MNIST…")
        try:
            download_mnist(on_progress=lambda done: bar.progress(done, text=f"Downloading MNIST… {done:.0%}"))
        except DatasetMissing as error:  # the log says why, and where the files go to be found offline
            bar.empty()
            LOG.warning("MNIST download failed: %s", error)
            st.error("The download failed (the server may be offline). The server's operator can put the four "
                     "MNIST files in its data folder instead (README: RNNVIZ_DATA).")
            return
        st.rerun()  # the whole page, now with MNIST


def not_measured_yet(entry, needed_for: str) -> None:
    """What the page says while a checkpoint lacks its measures (test-set statistics, memory decoders,
    neighbour index): a worker measuring it, with its progress (the page reruns when it is done); why it
    could not; or, with no MNIST on disk, an offer to download it."""
    job = cache.measuring(entry, visitor_id())
    if job is None:
        offer_mnist_download(f"{needed_for} {entry.name}")
    elif job.state == JobState.FAILED:
        st.error(f"{entry.name} could not be measured: {job.error}")
    else:
        @st.fragment(run_every=1.0)
        def progress():
            now = read_status(job.visitor, job.id) or job
            if not now.live:
                st.rerun()  # the whole page, with the new measures
            st.progress(now.fraction_done, text=f"{needed_for} {entry.name}: first a worker measures it on MNIST's "
                        f"10,000 test digits (only once, about a minute): {now.fraction_done:.0%}")

        progress()


def selected_stats(selected, needed_for: str):
    """The test-set statistics of the selected model (a ui.cache.Loaded, or None); None, with a note on
    their making, when there are none yet."""
    if selected is None:
        st.info("No model to measure: add one in the sidebar.")
        return None
    found = cache.saved_stats(selected.entry)
    if found is None:
        not_measured_yet(selected.entry, needed_for)
    return found


def replay_button(where, replay, file_name: str, key: str) -> None:
    """A download of the view as one HTML file that plays offline (made when clicked)."""
    where.download_button("This replay (HTML)", replay, file_name=file_name, mime="text/html", key=key,
                          on_click="ignore", icon=":material/download:",
                          help="One file that plays this view in any browser, offline: for a slide or a course page")
