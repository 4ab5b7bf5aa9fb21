"""The sidebar: which model to look at, and adding a checkpoint (uploaded, or a file on the server
when the operator allows it)."""

import streamlit as st

from rnnviz import CheckpointError
from rnnviz.serving import store
from rnnviz.serving.server_config import server_config

from .cache import Loaded, load_entry, picker_label, shipped_models
from .state import Key
from .views import offline_page_html
from .visitor import visitor_id
from .widgets import LOG

UPLOAD_LIMIT_MB = 50  # the page's limit; .streamlit/config.toml's server.maxUploadSize is the server's


def problem(entry: store.Entry, error: Exception) -> str:
    """Why a checkpoint could not be used, in one line that names no server folder."""
    return str(error) if isinstance(error, CheckpointError) else f"{entry.path.name}: it cannot be read"


def loaded_models() -> tuple[dict[str, Loaded], list[str]]:
    """Every checkpoint this visitor can use, loaded, by path (shipped ones first, then the class's and
    theirs), and a message for each one that could not be read."""
    models, problems = {}, []
    for entry in store.list_checkpoints(visitor_id()):
        try:
            models[str(entry.path)] = load_entry(entry)
        except (CheckpointError, OSError) as error:
            problems.append(problem(entry, error))
    return models, problems


def model_picker() -> Loaded | None:
    """The model to inspect: shipped ones first, then the class's and this visitor's. None if none loads.
    Only the selected model is loaded; the others need only their (kept) labels."""
    labels, problems = {}, []
    entries = {str(entry.path): entry for entry in store.list_checkpoints(visitor_id())}
    for path, entry in entries.items():
        try:
            labels[path] = picker_label(entry)
        except (CheckpointError, OSError) as error:
            problems.append(problem(entry, error))
    if not labels:
        st.sidebar.error("No model found. Put checkpoints in models/ (see README) or add one below.")
        return None
    if st.session_state.get(Key.SELECT_NEXT) in labels:
        st.session_state[Key.MODEL] = st.session_state.pop(Key.SELECT_NEXT)
    if st.session_state.get(Key.MODEL) not in labels:  # e.g. pruned, or another visitor's
        st.session_state.pop(Key.MODEL, None)
    path = st.sidebar.selectbox("Model", list(labels), key=Key.MODEL, format_func=labels.get)
    for skipped in problems:
        st.sidebar.caption(f"Skipped {skipped}")
    offline_page_button()
    try:
        return load_entry(entries[path])
    except (CheckpointError, OSError) as error:  # removed or replaced since it was listed
        st.sidebar.caption(f"Skipped {problem(entries[path], error)}")
        return None


def offline_page() -> str:
    """This page as one HTML file that needs no server, with the shipped models (ui.views.offline_page_html)."""
    shipped = shipped_models()
    return offline_page_html({cell_type.upper(): shipped[cell_type].model for cell_type in store.SHIPPED
                              if cell_type in shipped})


def offline_page_button() -> None:
    """A download of this page, offline, with the shipped models (made when clicked); none without them."""
    if any(store.shipped_path(cell_type).exists() for cell_type in store.SHIPPED):
        st.sidebar.download_button(
            "This page, offline (HTML)", offline_page, file_name="rnnviz-offline.html", mime="text/html",
            key=Key.OFFLINE_PAGE, on_click="ignore", icon=":material/download:",
            help="One HTML file (under 1 MB) holding the shipped LSTM, GRU and RNN: draw a digit, watch every gate "
                 "follow the pen, and race the three, with no server and no network. For a class: put it on any web "
                 "host or a USB stick, or send it; it opens in any recent browser, on a laptop, a tablet or a phone.")


def _add(add) -> None:
    """Run `add` (which returns the new file and the names pruned) and keep the outcome to show;
    select the new model."""
    try:
        saved, pruned = add()
    except CheckpointError as error:
        st.session_state[Key.ADDED] = (False, f"Could not add this checkpoint. {error}")
        return
    except OSError as error:  # the store itself (a full disk): the log says what
        LOG.warning("could not store an added checkpoint: %s", error)
        st.session_state[Key.ADDED] = (False, "Could not add this checkpoint: the server could not store it.")
        return
    message = f"Added {saved.name}; it is now selected under Model. {store.pruned_message(pruned)}"
    st.session_state[Key.ADDED] = (True, message.strip())
    st.session_state[Key.MODEL] = str(saved)


def _add_upload() -> None:
    upload = st.session_state[Key.UPLOAD]
    if upload is not None:
        _add(lambda: store.add_checkpoint(upload.getvalue(), upload.name, visitor_id()))


def _add_from_disk() -> None:
    path = st.session_state[Key.CHECKPOINT_PATH].strip()
    if path:
        _add(lambda: store.add_checkpoint_file(path, visitor_id()))


def add_checkpoint_form() -> None:
    """Upload a checkpoint (or name one on the server, if allowed); it is checked, then copied to the
    visitor's own folder. Its form is made only while it is open (the page loads faster without it)."""
    limits = server_config()
    box = st.sidebar.expander("Add a checkpoint", key=Key.ADD_CHECKPOINT, on_change="rerun")
    if not box.open:  # made only when opened: a first page load needs none of it
        return
    with box:
        st.file_uploader("Upload a .safetensors checkpoint", type=["safetensors", "pt"], key=Key.UPLOAD,
                         on_change=_add_upload, max_upload_size=UPLOAD_LIMIT_MB)
        if limits.path_box_enabled(st.get_option("server.address")):
            st.text_input("…or type a path on the server and press Enter", key=Key.CHECKPOINT_PATH,
                          on_change=_add_from_disk, placeholder="/path/to/model.safetensors")
        if Key.ADDED in st.session_state:
            ok, message = st.session_state[Key.ADDED]
            (st.success if ok else st.error)(message)
        st.caption(f"Your trained and added models stay with this page's address (bookmark it to come back), "
                   f"for {limits.keep_days:.0f} days after your last visit; up to {limits.max_models} models or "
                   f"{limits.max_megabytes:.0f} MB, then the oldest go. Models of up to {limits.max_hidden} hidden "
                   "units." + (" Everyone in the class sees them." if limits.share_models else ""))
