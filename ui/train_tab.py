"""Train: a new model, trained in the background from a named recipe (the CLI's), with live progress."""

import streamlit as st

from rnnviz import CELL_TYPES, plots, registry
from rnnviz.data import has_mnist
from rnnviz.recipes import APP_RECIPE, RECIPES, help_of, recipe_settings
from rnnviz.training_job import TrainingJob

from .state import Chart, Key
from .widgets import chart, offer_mnist_download

# The form's choices; each includes every recipe's value.
HIDDEN_SIZES = (16, 32, 64, 100, 128, 256)
IMAGE_COUNTS = (2000, 5000, 10000, 20000, 0)  # 0 = all
LEARNING_RATES = (3e-4, 5e-4, 1e-3, 2e-3, 5e-3, 1e-2)
BATCH_SIZES = (32, 50, 64, 128, 256)
MAX_EPOCHS = 30
FORM_SETTINGS = {  # the settings the form shows -> their widget's key; the recipe gives the others
    "cell_type": Key.TRAIN_CELL, "hidden": Key.TRAIN_HIDDEN, "epochs": Key.TRAIN_EPOCHS,
    "limit": Key.TRAIN_IMAGES, "lr": Key.TRAIN_LR, "batch_size": Key.TRAIN_BATCH,
}


def _load_recipe() -> None:
    """Fill the form with the chosen recipe's settings."""
    settings = RECIPES[st.session_state[Key.RECIPE]].settings
    st.session_state.update({key: getattr(settings, name) for name, key in FORM_SETTINGS.items()})


def train_tab() -> None:
    st.markdown("Train a new model on MNIST in the background; it joins the model picker when done.")
    if not has_mnist():
        offer_mnist_download("Training")
    if Key.RECIPE not in st.session_state:
        st.session_state[Key.RECIPE] = APP_RECIPE
        _load_recipe()
    recipe = st.selectbox("Recipe", list(RECIPES), key=Key.RECIPE, on_change=_load_recipe,
                          help="The same named recipes as `python -m rnnviz.train --recipe NAME`")
    st.caption(f"**{recipe}**: {RECIPES[recipe].description}.")
    job = st.session_state.get(Key.JOB)
    with st.form("train-settings"):
        left, middle, right = st.columns(3)
        left.selectbox("Cell", CELL_TYPES, format_func=str.upper, key=Key.TRAIN_CELL, help=help_of("cell_type"))
        left.select_slider("Hidden units", HIDDEN_SIZES, key=Key.TRAIN_HIDDEN, help=help_of("hidden"))
        middle.number_input("Epochs", 1, MAX_EPOCHS, key=Key.TRAIN_EPOCHS, help=help_of("epochs"))
        middle.select_slider("Training images", IMAGE_COUNTS, key=Key.TRAIN_IMAGES, help=help_of("limit"),
                             format_func=lambda n: f"{n:,}" if n else "all 55,000")
        right.select_slider("Learning rate", LEARNING_RATES, key=Key.TRAIN_LR, help=help_of("lr"))
        right.select_slider("Batch size", BATCH_SIZES, key=Key.TRAIN_BATCH, help=help_of("batch_size"))
        start = st.form_submit_button("Start training", disabled=bool(job and job.running), key=Key.START_TRAINING)
    if start:
        settings = recipe_settings(recipe, **{name: st.session_state[key] for name, key in FORM_SETTINGS.items()})
        out = registry.new_checkpoint_path(f"{settings.cell_type}-h{settings.hidden}")
        job = st.session_state[Key.JOB] = TrainingJob(settings, out)
    if job:
        training_progress(job)


def training_progress(job: TrainingJob) -> None:
    polling = job.running

    @st.fragment(run_every=1.0 if polling else None)
    def progress():
        latest = job.latest
        if latest:
            note = "measuring test accuracy…" if job.running and latest.step == latest.total_steps else ""
            st.progress(latest.step / latest.total_steps,
                        text=f"epoch {latest.epoch}, batch {latest.step}/{latest.total_steps}: loss "
                             f"{latest.loss:.3f}, train accuracy {latest.train_accuracy:.1%} {note}")
            chart(plots.training_figure(job.history), key=Chart.TRAINING)
        if job.running:
            st.button("Stop early", key=Key.STOP_TRAINING, on_click=job.stop, help="The model so far is still saved")
            if not latest:
                st.info("Loading MNIST…")
        elif job.state == "failed":
            st.error(f"Training failed. {job.error}")
        else:
            early = " (stopped early)" if job.state == "stopped" else ""
            st.success(f"Saved {job.out.name}{early}: test accuracy {job.summary['test_accuracy']:.1%}. "
                       "It is now selected in the model picker.")
        if polling and not job.running:
            if job.state != "failed":
                st.session_state[Key.MODEL] = str(job.out)  # select the new model
            st.rerun()  # the whole page, so that the new checkpoint appears in the picker

    progress()
