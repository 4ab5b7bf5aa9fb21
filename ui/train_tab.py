"""Train: a new model, trained by a worker process from a named recipe (the CLI's), with live progress.

Jobs queue on the server (rnnviz.serving.local_queue). Watching costs the server little: once a second the
page reads the job's small status file and updates one progress bar; the curves are drawn only when
an epoch ends (a full run of the page) or the job ends.
"""

from pathlib import Path

import streamlit as st

from rnnviz import CELL_TYPES
from rnnviz.data.mnist import TRAIN_SIZE, has_mnist
from rnnviz.figures.charts import training_figure
from rnnviz.recipes import APP_RECIPE, RECIPES, Settings, help_of, recipe_settings
from rnnviz.serving import store
from rnnviz.serving.admission import Refused
from rnnviz.serving.job_queue import JobQueue, QueueFull
from rnnviz.serving.jobs import SAVED, JobState, JobStatus, estimated_seconds, read_curve
from rnnviz.serving.server_config import server_config

from .cache import training_queue
from .state import Chart, Key
from .visitor import client_address, visitor_id
from .widgets import chart, offer_mnist_download

# The form's choices; each includes every recipe's value.
HIDDEN_SIZES = (16, 32, 64, 100, 128, 256)
IMAGE_COUNTS = (2000, 5000, 10000, 20000, 0)  # 0 = all
LEARNING_RATES = (3e-4, 5e-4, 1e-3, 2e-3, 5e-3, 1e-2)
BATCH_SIZES = (32, 50, 64, 128, 256)
MAX_EPOCHS = max(recipe.settings.epochs for recipe in RECIPES.values())
STOPPED_BECAUSE = {"asked": " (stopped early)", "time": " (stopped at the server's time limit)"}
FORM_SETTINGS = {  # the settings the form shows -> their widget's key; the recipe gives the others
    "cell_type": Key.TRAIN_CELL, "hidden": Key.TRAIN_HIDDEN, "epochs": Key.TRAIN_EPOCHS,
    "limit": Key.TRAIN_IMAGES, "lr": Key.TRAIN_LR, "batch_size": Key.TRAIN_BATCH,
}


def _load_recipe() -> None:
    """Fill the form with the chosen recipe's settings."""
    settings = RECIPES[st.session_state[Key.RECIPE]].settings
    st.session_state.update({key: getattr(settings, name) for name, key in FORM_SETTINGS.items()})


def _form(start_disabled: bool) -> bool:
    """The settings the recipe leaves to the visitor; whether they pressed Start."""
    limits = server_config()
    with st.form("train-settings"):
        left, middle, right = st.columns(3)
        left.selectbox("Cell", CELL_TYPES, format_func=str.upper, key=Key.TRAIN_CELL, help=help_of("cell_type"))
        left.select_slider("Hidden units", [n for n in HIDDEN_SIZES if n <= limits.max_hidden], key=Key.TRAIN_HIDDEN,
                           help=help_of("hidden"))
        middle.number_input("Epochs", 1, MAX_EPOCHS, key=Key.TRAIN_EPOCHS, help=help_of("epochs"))
        middle.select_slider("Training images", IMAGE_COUNTS, key=Key.TRAIN_IMAGES, help=help_of("limit"),
                             format_func=lambda n: f"{n:,}" if n else f"all {TRAIN_SIZE - Settings().val_size:,}")
        right.select_slider("Learning rate", LEARNING_RATES, key=Key.TRAIN_LR, help=help_of("lr"))
        right.select_slider("Batch size", BATCH_SIZES, key=Key.TRAIN_BATCH, help=help_of("batch_size"))
        return st.form_submit_button("Start training", disabled=start_disabled, key=Key.START_TRAINING)


def _chosen(recipe: str) -> Settings:
    """The recipe with the form's settings."""
    return recipe_settings(recipe, **{name: st.session_state[key] for name, key in FORM_SETTINGS.items()})


def train_tab() -> None:
    st.markdown("Train a new model on MNIST on the server; it joins your models in the picker when done.")
    if not has_mnist():
        offer_mnist_download("Training")
    if Key.RECIPE not in st.session_state:
        st.session_state[Key.RECIPE] = APP_RECIPE
        _load_recipe()
    recipe = st.selectbox("Recipe", list(RECIPES), key=Key.RECIPE, on_change=_load_recipe,
                          help="The same named recipes as `python -m rnnviz.train --recipe NAME`")
    st.caption(f"**{recipe}**: {RECIPES[recipe].description}.")
    visitor, queue = visitor_id(), training_queue()
    status = queue.latest(visitor)
    start = _form(start_disabled=bool(status and status.live))
    minutes = estimated_seconds(_chosen(recipe), queue.rate) / 60
    st.caption(f"These settings train for about {minutes:.0f} min here. Each visitor may have one training at a "
               f"time, of at most {server_config().job_minutes:.0f} min: a longer one is refused when you start "
               "it, and one that runs over stops there, keeping what it learned.")
    if start:
        try:
            queue.submit(_chosen(recipe), visitor, client_address())
        except (QueueFull, Refused) as error:
            st.error(str(error))
        status = queue.latest(visitor)
    if status:
        training_progress(visitor, status)


def _waiting(seconds: float) -> str:
    return "within a minute" if seconds < 60 else f"in about {seconds / 60:.0f} min"


def training_progress(visitor: str, status: JobStatus) -> None:
    """The job's curves as of its last epoch end, and a once-a-second line of progress while it is live."""
    queue = training_queue()
    curve = read_curve(visitor, status.id)
    if curve:
        chart(training_figure(curve), key=Chart.TRAINING)
    shown = (status.id, status.state, status.epochs_done)

    @st.fragment(run_every=1.0 if status.live else None)
    def progress():
        now = queue.latest(visitor) or status
        if (now.id, now.state, now.epochs_done) != shown:  # an epoch or the job ended: the whole page
            if now.state in SAVED:
                st.session_state[Key.SELECT_NEXT] = now.out  # the picker selects it
            st.rerun()
        job_progress(queue, visitor, now)

    progress()


def job_progress(queue: JobQueue, visitor: str, status: JobStatus) -> None:
    """One job's state in a line or two, and what can be done about it."""
    latest, epochs = status.progress, status.settings.epochs
    if status.note:  # what the queue did meanwhile (a worker lost, the queue out of reach)
        st.caption(status.note)
    if status.state == JobState.QUEUED:
        place = queue.place(status)
        st.progress(0.0, text=f"Waiting for a free worker: number {place.position if place else '?'} in the "
                              f"queue, starting {_waiting(place.starts_in if place else 0)}.")
    elif status.state == JobState.RUNNING and latest:
        note = " measuring test accuracy…" if latest.step == latest.total_steps else ""
        st.progress(latest.step / latest.total_steps,
                    text=f"epoch {latest.epoch}/{epochs}, batch {latest.step}/{latest.total_steps}: "
                         f"loss {latest.loss:.3f}, train accuracy {latest.train_accuracy:.1%}{note}")
    elif status.state == JobState.RUNNING:
        st.info("Starting: loading MNIST…")
    if status.live:
        st.button("Stop early" if status.state == JobState.RUNNING else "Leave the queue", key=Key.STOP_TRAINING,
                  on_click=queue.stop, args=(visitor, status.id), help="A started model is still saved")
    elif status.state == JobState.FAILED:
        st.error(f"Training failed. {status.error}")
    elif status.state == JobState.INTERRUPTED:
        st.warning(f"Training was interrupted after {status.epochs_done} of {epochs} epochs (the server "
                   "restarted or its trainer stopped). Resume continues from the last finished epoch.")
        left, right = st.columns(2)
        left.button("Resume", key=Key.RESUME_TRAINING, on_click=queue.resume, args=(visitor, status.id))
        right.button("Discard", key=Key.STOP_TRAINING, on_click=queue.stop, args=(visitor, status.id))
    elif status.state == JobState.CANCELLED:
        st.info("Training cancelled.")
    else:
        early = STOPPED_BECAUSE.get(status.stop_reason, "")
        name = store.Entry(Path(status.out), shipped=False).name
        st.success(f"Saved {name}{early}: test accuracy {status.summary.test_accuracy:.1%}. It is now "
                   f"among your models in the picker. {store.pruned_message(status.pruned)}".strip())
