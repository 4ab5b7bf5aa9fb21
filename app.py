"""rnnviz: watch a recurrent network read your handwriting, one row of pixels at a time.

    streamlit run app.py

The page: a sidebar to pick (or add) a model, the drawing canvas or a gallery digit with the
prediction next to it, and tabs: Inspect (gates and states at every step), Compare (RNN vs GRU
vs LSTM), Insight and Evaluate (what the networks learned, on the drawing and the MNIST test set;
in ui_insight.py), Train (a new model in the background). All computing lives in the rnnviz package.
"""

import streamlit as st
import torch
from streamlit_drawable_canvas import st_canvas

from rnnviz import (
    CELLS,
    CanvasError,
    CheckpointError,
    EmptyCanvasError,
    gallery,
    load_model,
    plots,
    preprocess_canvas,
    registry,
)
from rnnviz import trace as trace_image
from rnnviz.data import data_dir, has_mnist
from rnnviz.train import Settings
from rnnviz.training_job import TrainingJob
from ui_insight import chart, enlarged, evaluate_tab, insight_tab, missing_mnist, mnist_test, trace_downloads

CANVAS_KEY = "canvas"
CANVAS_SIDE = 280  # px; the network sees it as 28 x 28
UPLOAD_LIMIT_MB = 50
NO_DIGIT = "Draw a digit above (or pick one from the gallery) to see inside."

EXPLAIN = {
    "lstm": "An **LSTM** keeps a memory, the cell state **c**. At each row the **forget gate f** decides how "
            "much memory to keep, the **input gate i** how much of the **candidate g** to write, and the "
            "**output gate o** how much of the memory to show as the hidden state **h**.",
    "gru": "A **GRU** has no separate memory. Its **update gate z** mixes the old state with a **candidate n**; "
           "the **reset gate r** decides how much of the old state the candidate may look at.",
    "rnn": "A plain **RNN** squashes the new row and its previous state through tanh at every step. "
           "With no gates to protect it, what it read early fades quickly.",
}
INTRO = (
    "**How it works.** The network gets the image one row of 28 pixels at a time, top to bottom. After each "
    "row it updates its hidden state; after the last row a read-out turns that state into a probability for "
    "each digit.\n\nDraw a digit on the left (or pick a real one from the gallery), then step through the rows "
    "in **Inspect**, race the three kinds of network in **Compare**, see what they learned in **Insight** and "
    "**Evaluate**, or train your own in **Train**."
)
HOW_TO_READ = (
    "Each heatmap has one line per unit (sorted, top = most telling) and one column per step. "
    "Gates run from 0 (closed, dark) to 1 (open, yellow); states from -1 (blue) through 0 (white) to +1 (red). "
    "Steps not read yet are veiled. Drag the **Step** slider or press **▶ Play**. Hover the chosen unit's line "
    "to see its update at that step written out with its numbers. The prediction is the read-out of **h** "
    "after the last row."
)

torch.set_num_threads(1)  # two cores: one for training, one for everyone's pages


@st.cache_resource(max_entries=32)
def load_checkpoint(path: str, modified: float):
    """A model loaded once per server (and again if its file changes: `modified`)."""
    return load_model(path)


@st.cache_resource
def load_gallery() -> gallery.Gallery:
    return gallery.load()


def load_entry(entry: registry.Entry):
    return load_checkpoint(str(entry.path), entry.path.stat().st_mtime)


# ---- sidebar: which model ----

def model_picker():
    """The model to inspect, (Entry, model): shipped ones first, then trained or added ones. (None, None)
    if none loads."""
    models, problems = {}, []
    for entry in registry.list_checkpoints():
        try:
            models[str(entry.path)] = (entry, load_entry(entry))
        except (CheckpointError, OSError) as error:
            problems.append(str(error))
    if not models:
        st.sidebar.error("No model found. Put checkpoints in models/ (see README) or add one below.")
        return None, None
    path = st.sidebar.selectbox("Model", list(models), key="model",
                                format_func=lambda p: registry.describe(models[p][1], models[p][0]))
    for problem in problems:
        st.sidebar.caption(f"Skipped {problem}")
    return models[path]


def add_checkpoint(add) -> None:
    """Run `add` (which returns the new file) and keep the outcome to show; select the new model."""
    try:
        saved = add()
    except CheckpointError as error:
        st.session_state.added = (False, f"Could not add this checkpoint. {error}")
        return
    st.session_state.added = (True, f"Added {saved.name}; it is now selected under Model.")
    st.session_state.model = str(saved)


def add_upload():
    upload = st.session_state.upload
    if upload is not None:
        add_checkpoint(lambda: registry.add_checkpoint(upload.getvalue(), upload.name))


def add_from_disk():
    path = st.session_state["checkpoint-path"].strip()
    if path:
        add_checkpoint(lambda: registry.add_checkpoint_file(path))


def add_checkpoint_form():
    """Upload a checkpoint or name one on disk; it is checked, then copied to the user folder."""
    with st.sidebar.expander("Add a checkpoint", expanded="added" in st.session_state):
        st.file_uploader("Upload a .pt file", type=["pt"], key="upload", on_change=add_upload,
                         max_upload_size=UPLOAD_LIMIT_MB)
        st.text_input("…or type a path on the server and press Enter", key="checkpoint-path",
                      on_change=add_from_disk, placeholder="/path/to/model.pt")
        if "added" in st.session_state:
            ok, message = st.session_state.added
            (st.success if ok else st.error)(message)
        st.caption(f"Trained and added models are kept in {registry.user_dir()} (set RNNVIZ_MODELS to change).")


# ---- the digit: drawn or from the gallery ----

def clear_canvas():
    st.session_state.clears = st.session_state.get("clears", 0) + 1
    st.session_state.pop(CANVAS_KEY, None)


def drawn_digit():
    """The canvas drawing as a (28, 28) image, or None (with a hint) while there is none."""
    brush = st.slider("Brush width", 6, 40, 18, key="brush")
    drawing = st_canvas(
        stroke_width=brush, stroke_color="#ffffff", background_color="#000000", width=CANVAS_SIDE,
        height=CANVAS_SIDE, drawing_mode="freedraw", return_image_data=True, key=CANVAS_KEY,
        initial_drawing={"objects": [], "clears": st.session_state.get("clears", 0)},
    )
    st.button("Clear", key="clear", on_click=clear_canvas, help="Start again (the toolbar above also has undo)")
    try:
        pixels = drawing.image_data  # decodes the PNG the browser sent (on every access)
    except (OSError, ValueError) as error:  # not a PNG: only a broken or forged client sends that
        st.error(f"This drawing cannot be read: {error}.")
        return None
    if pixels is None:
        st.info("Draw a digit (0-9) on the black square: white ink, one digit, as large as you like.")
        return None
    try:
        return preprocess_canvas(pixels)
    except EmptyCanvasError as error:
        st.info(f"{str(error).capitalize()}.")
    except CanvasError as error:
        st.error(f"This drawing cannot be read: {error}.")
    return None


def gallery_digit():
    """A real MNIST test digit from the bundled gallery."""
    examples = load_gallery()
    i = st.selectbox("Example", range(len(examples)), format_func=examples.caption, key="example")
    st.image(enlarged(examples.images[i], 10), width=CANVAS_SIDE, clamp=True)  # 28 -> 280 px
    return examples.images[i]


def test_set_digit():
    """Any of the 10,000 MNIST test digits, by number (Evaluate opens misread ones here)."""
    if not has_mnist():
        missing_mnist()
        return None
    images, labels = mnist_test(str(data_dir()))
    i = st.number_input("MNIST test digit #", 0, len(images) - 1, key="test-digit")
    st.image(enlarged(images[i].numpy(), 10), width=CANVAS_SIDE, clamp=True, caption=f"labelled {labels[i]}")
    return images[i].numpy()


def digit_input():
    sources = {"Draw": drawn_digit, "Gallery": gallery_digit, "Test set": test_set_digit}
    source = st.radio("Input", list(sources), horizontal=True, key="source",
                      help="Draw your own digit, or pick a real one: from the bundled gallery, or any of the "
                           "MNIST test set")
    return sources[source]()


def prediction_summary(reading):
    st.metric("Prediction", reading.prediction, help="The digit with the highest probability after all 28 rows")
    sure, settled = reading.probs[-1].max(), plots.settled_step(reading)
    st.caption(f"{sure:.0%} sure after the last row; it has held this answer since row {settled}.")
    chart(plots.probability_bars(reading.probs[-1], "Class probabilities after all 28 rows"), key="final-probabilities")


# ---- tabs ----

def inspect_tab(model, reading):
    if reading is None:
        st.info(NO_DIGIT)
        return
    st.markdown(EXPLAIN[model.cell])
    left, right = st.columns(2)
    by = left.radio("Order units by", list(plots.ORDERINGS), format_func=plots.ORDERINGS.get, horizontal=True,
                    key="order", help="Contribution = readout weight for the predicted digit x final h")
    order = plots.unit_order(reading, model.readout.weight.detach().numpy(), by)  # (hidden,)
    unit = right.selectbox("Unit to follow", [int(u) for u in order], key="unit",
                           format_func=lambda u: f"unit {u}")
    chart(plots.step_figure(reading, order, unit), key="step-figure")
    st.caption(HOW_TO_READ)
    trace_downloads(reading)


def shipped_models() -> dict:
    """cell -> (checkpoint path, model) of the shipped checkpoints that exist."""
    paths = {cell: registry.shipped_path(cell) for cell in CELLS}
    return {cell: (path, load_entry(registry.Entry(path, shipped=True))) for cell, path in paths.items()
            if path.exists()}


def compare_tab(image, shipped: dict):
    if image is None:
        st.info(NO_DIGIT)
        return
    st.markdown("The same digit through the three shipped models. Which one makes up its mind first?")
    readings = {}
    for column, cell in zip(st.columns(len(CELLS)), CELLS, strict=True):
        if cell not in shipped:
            column.warning(f"{registry.shipped_path(cell).name} is missing")
            continue
        model = shipped[cell][1]
        reading = readings[cell.upper()] = trace_image(model, image)
        column.metric(cell.upper(), reading.prediction, help=f"{cell.upper()}, {model.hidden_size} units")
        column.caption(f"{reading.probs[-1].max():.0%} sure; held since row {plots.settled_step(reading)}")
    if readings:
        chart(plots.compare_figure(readings), key="compare-figure")


def train_tab():
    st.markdown("Train a new model on MNIST in the background; it joins the model picker when done. "
                "The defaults take about a minute on two CPU cores and reach around 90% test accuracy.")
    if not has_mnist():
        st.warning(f"MNIST is not in {data_dir()}. Training will try to download it; offline, put the four "
                   "MNIST .gz files in a folder and start the app with RNNVIZ_DATA=that/folder.")
    job = st.session_state.get("job")
    with st.form("train-settings"):
        left, middle, right = st.columns(3)
        cell = left.selectbox("Cell", CELLS, index=1, format_func=str.upper, key="train-cell")
        hidden = left.select_slider("Hidden units", [16, 32, 64, 100, 128, 256], value=64, key="train-hidden")
        epochs = middle.number_input("Epochs", 1, 30, 2, key="train-epochs")
        limit = middle.select_slider("Training images", [2000, 5000, 10000, 20000, 55000], value=20000,
                                     key="train-images", help="A subset of the 55,000 MNIST training images")
        lr = right.select_slider("Learning rate", [5e-4, 1e-3, 2e-3, 5e-3, 1e-2], value=5e-3, key="train-lr")
        batch_size = right.select_slider("Batch size", [32, 64, 128, 256], value=64, key="train-batch")
        start = st.form_submit_button("Start training", disabled=bool(job and job.running), key="start-training")
    if start:
        settings = Settings(cell=cell, hidden=hidden, epochs=int(epochs), lr=lr, batch_size=batch_size, limit=limit)
        job = st.session_state.job = TrainingJob(settings, registry.new_checkpoint_path(f"{cell}-h{hidden}"))
    if job:
        training_progress(job)


def training_progress(job: TrainingJob):
    polling = job.running

    @st.fragment(run_every=1.0 if polling else None)
    def progress():
        latest = job.latest
        if latest:
            note = "measuring test accuracy…" if job.running and latest.step == latest.total_steps else ""
            st.progress(latest.step / latest.total_steps,
                        text=f"epoch {latest.epoch}, batch {latest.step}/{latest.total_steps}: loss "
                             f"{latest.loss:.3f}, train accuracy {latest.train_accuracy:.1%} {note}")
            chart(plots.training_figure(job.history), key="training-curves")
        if job.running:
            st.button("Stop early", key="stop-training", on_click=job.stop, help="The model so far is still saved")
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
                st.session_state.model = str(job.out)  # select the new model
            st.rerun()  # the whole page, so that the new checkpoint appears in the picker

    progress()


# ---- the page ----

def main():
    st.set_page_config(page_title="rnnviz: how a recurrent network reads", page_icon="✍️", layout="wide")
    st.title("✍️ Watch a network read your handwriting")
    st.caption("The network reads a 28 x 28 image one row of 28 pixels per step, top to bottom, and only then "
               "names the digit. Draw one and see what happens inside, step by step.")
    entry, model = model_picker()
    add_checkpoint_form()
    shipped = shipped_models()

    digit_column, result_column = st.columns([1, 1.3])
    with digit_column:
        image = digit_input()  # (28, 28) in [0, 1], or None
    reading = trace_image(model, image) if model is not None and image is not None else None
    with result_column:
        if reading is None:
            st.markdown(INTRO)
        else:
            prediction_summary(reading)

    tabs = {
        "Inspect": lambda: inspect_tab(model, reading),
        "Compare": lambda: compare_tab(image, shipped),
        "Insight": lambda: insight_tab(image, shipped, entry),
        "Evaluate": lambda: evaluate_tab(entry, model),
        "Train": train_tab,
    }
    for tab, show in zip(st.tabs(list(tabs), key="tab", on_change="rerun"), tabs.values(), strict=True):
        if tab.open:
            with tab:
                show()


main()
