"""The sidebar: which model to look at, and adding a checkpoint (uploaded, or a file on the server)."""

import streamlit as st

from rnnviz import CheckpointError, registry

from .cache import Loaded, load_entry
from .state import Key

UPLOAD_LIMIT_MB = 50  # the page's limit; .streamlit/config.toml sets the server's


def loaded_models() -> tuple[dict[str, Loaded], list[str]]:
    """Every checkpoint the page can use, by path (shipped ones first, then trained or added ones),
    and a message for each one that could not be read."""
    models, problems = {}, []
    for entry in registry.list_checkpoints():
        try:
            models[str(entry.path)] = load_entry(entry)
        except (CheckpointError, OSError) as error:
            problems.append(str(error))
    return models, problems


def describe(models: dict[str, Loaded], path: str) -> str:
    """The picker's label of the model at `path`."""
    return registry.describe(models[path].model, models[path].entry)


def model_picker() -> Loaded | None:
    """The model to inspect: shipped ones first, then trained or added ones. None if none loads."""
    models, problems = loaded_models()
    if not models:
        st.sidebar.error("No model found. Put checkpoints in models/ (see README) or add one below.")
        return None
    path = st.sidebar.selectbox("Model", list(models), key=Key.MODEL,
                                format_func=lambda p: describe(models, p))
    for problem in problems:
        st.sidebar.caption(f"Skipped {problem}")
    return models[path]


def _add(add) -> None:
    """Run `add` (which returns the new file) and keep the outcome to show; select the new model."""
    try:
        saved = add()
    except CheckpointError as error:
        st.session_state[Key.ADDED] = (False, f"Could not add this checkpoint. {error}")
        return
    st.session_state[Key.ADDED] = (True, f"Added {saved.name}; it is now selected under Model.")
    st.session_state[Key.MODEL] = str(saved)


def _add_upload() -> None:
    upload = st.session_state[Key.UPLOAD]
    if upload is not None:
        _add(lambda: registry.add_checkpoint(upload.getvalue(), upload.name))


def _add_from_disk() -> None:
    path = st.session_state[Key.CHECKPOINT_PATH].strip()
    if path:
        _add(lambda: registry.add_checkpoint_file(path))


def add_checkpoint_form() -> None:
    """Upload a checkpoint or name one on disk; it is checked, then copied to the user folder."""
    with st.sidebar.expander("Add a checkpoint", expanded=Key.ADDED in st.session_state):
        st.file_uploader("Upload a .pt file", type=["pt"], key=Key.UPLOAD, on_change=_add_upload,
                         max_upload_size=UPLOAD_LIMIT_MB)
        st.text_input("…or type a path on the server and press Enter", key=Key.CHECKPOINT_PATH,
                      on_change=_add_from_disk, placeholder="/path/to/model.pt")
        if Key.ADDED in st.session_state:
            ok, message = st.session_state[Key.ADDED]
            (st.success if ok else st.error)(message)
        st.caption(f"Trained and added models are kept in {registry.user_dir()} (set RNNVIZ_MODELS to change).")
