"""Every piece of the page's state in one table: session-state keys, and the labels that link tabs.

Streamlit keeps a widget's value in st.session_state under the widget's key. Any module (or test)
that reads or sets a value, or links to a tab or input source, names it from here, never as a
literal string (after tensorflow/playground's state.ts).
"""

from enum import StrEnum


class Tab(StrEnum):
    """The page's tabs, in order."""

    INSPECT = "Inspect"
    COMPARE = "Compare"
    INSIGHT = "Insight"
    EVALUATE = "Evaluate"
    TRAIN = "Train"


class Source(StrEnum):
    """Where the digit comes from."""

    DRAW = "Draw"
    GALLERY = "Gallery"
    TEST_SET = "Test set"
    LINK = "From the link"  # offered once a link brought a digit


class InsightView(StrEnum):
    """The Insight tab's views, in order."""

    ROWS = "Rows that matter"
    GRADIENTS = "Gradient flow"
    UNITS = "Units and gates"


class Chart(StrEnum):
    """Chart keys: the chart's element (its PNG download is keyed "<chart>-png")."""

    COMPARE = "compare-figure"
    MEMORY_CURVES = "memory-curves"
    ROWS_DRAWING = "rows-drawing"
    ROWS_TEST_SET = "rows-test-set"
    GRADIENTS_DRAWING = "gradients-drawing"
    GRADIENTS_TEST_SET = "gradients-test-set"
    CLASS_MEANS = "class-means"
    CONFUSION = "confusion"
    TRAINING = "training-curves"


class Fragment(StrEnum):
    """Parts of the page that rerun alone (st.fragment keys)."""

    # A drawing sent at a pause reruns the verdict and the Inspect view (small), and the tabs only while their
    # server views of it are in sight (ui/live_reading.py)
    VERDICT = "verdict"  # what the server says of the digit read now, beside the live reading
    LINKED_VIEW = "linked-view"  # Inspect's view, whose link carries the digit read now
    DIGIT_VIEWS = "digit-views"  # the tabs: what the server makes of the digit read now


class Param(StrEnum):
    """The page address's query parameters."""

    VISITOR = "visitor"  # the visitor's id: a reload keeps their models
    # a view, as a link carries it (ui/address.py reads each value)
    TAB, MODELS, DIGIT, EXAMPLE, STEP = "tab", "models", "digit", "example", "step"
    UNIT, ORDER, GATE, SILENCED, BLANK = "unit", "order", "gate", "silenced", "blank"




class Key(StrEnum):
    """Session-state keys: widgets (their value lives under their key) and values the page keeps."""

    # the page
    TAB = "tab"  # tabs: the open Tab
    PAGE_HEAD = "page-head"  # container: the title and its caption (compact on a phone, ui/page.css)
    VISITOR = "visitor"  # value: this visitor's id (rnnviz.serving.store: their own model folder)
    WEIGHTS = "weights"  # view: the loaded models' weights, sent once for every view of the page
    LIVE_VIEW = "live-view"  # view: the live reading beside the canvas; its state holds the drawing sent at a pause
    SERVER_VIEWS = "server-views"  # containers: a tab's views the server makes of the digit (the page watches them)
    READING = "reading"  # value: (model path and digit's hash, the server's Reading of the digit read now)
    KEPT_VERDICT = "kept-verdict"  # value: (the same, the server's Verdict alone on that digit's answer, or None)
    LINK_NOTE = "link-note"  # value: what of the link the page was opened from was ignored ("" when nothing)
    # the guided lesson (ui/lesson.py)
    LESSON_STEP = "lesson-step"  # value: the step shown (from 0), absent outside the lesson
    LESSON_START = "lesson-start"  # button: start the lesson
    LESSON = "lesson"  # container: the step's text and its buttons
    LESSON_BACK = "lesson-back"
    LESSON_NEXT = "lesson-next"
    LESSON_LEAVE = "lesson-leave"
    # sidebar: which model
    MODEL = "model"  # selectbox: path of the selected checkpoint
    OFFLINE_PAGE = "offline-page"  # download: this page with the shipped models, one HTML file needing no server
    SELECT_NEXT = "select-next"  # value: a checkpoint to select in the next run (a training just saved it)
    UPLOAD = "upload"  # file uploader: a checkpoint to add
    CHECKPOINT_PATH = "checkpoint-path"  # text input: a checkpoint on the server to add
    ADDED = "added"  # value: (ok, message) of the last attempt to add a checkpoint
    ADD_CHECKPOINT = "add-checkpoint"  # expander: "Add a checkpoint" open (its form is made only then)
    HOW_IT_WORKS = "how-it-works"  # expander: "How it works" open (its text is sent only then)
    # the digit
    SOURCE = "source"  # radio: the digit's Source
    CANVAS = "canvas"  # the drawing canvas component
    DRAWN = "drawn"  # value: (hash of the canvas's drawing, the digit read from it or why it cannot be read)
    BRUSH = "brush"  # slider: brush width, px
    EXAMPLE = "example"  # selectbox: index of the gallery digit
    TEST_DIGIT = "test-digit"  # number input: index of the MNIST test digit
    DOWNLOAD_MNIST = "download-mnist"  # button: fetch the MNIST files
    LINK_DIGIT = "link-digit"  # value: the (28, 28) digit a link brought
    # both views
    STEP = "step"  # value: the step a link or the lesson opens the views at; taken by the next view shown
    # Inspect
    UNIT = "unit"  # the unit Inspect's view follows when it opens (Insight sets it); the page may then change it
    ORDER = "order"  # how Inspect's view orders the units when it opens (a link sets it); the page may change it
    INSPECT_VIEW = "inspect-view"  # view: the step view, drawn in the browser
    INSPECT_REPLAY = "inspect-replay"  # download: the step view as one HTML file
    ALIKE_VIEW = "alike-view"  # view: the training digits alike, drawn in the browser
    # Compare
    COMPARED = "compared"  # multiselect: paths of the models compared
    KEEP_GATE = "keep-gate"  # radio: the forget (LSTM) / update (GRU) gate as trained, or clamped
    SILENCED = "silenced"  # multiselect: units silenced in every compared model
    BLANK = "blank"  # toggle: blank a band of rows
    BLANK_ROWS = "blank-rows"  # range slider: (first, last) rows blanked
    COMPARE_VIEW = "compare-view"  # view: the race, drawn in the browser
    COMPARE_WEIGHTS = "compare-weights"  # view: the compared models' weights (those not sent beside the canvas)
    COMPARE_REPLAY = "compare-replay"  # download: the race as one HTML file
    COMPARE_CHART = "compare-chart"  # toggle: also show Compare's static chart of all steps
    # Insight
    INSIGHT_VIEW = "insight-view"  # tabs: the open InsightView
    INSIGHT_UNIT = "insight-unit"  # selectbox: the unit shown under "Units and gates"
    SATURATION = "saturation"  # chart: the gate scatter (a click picks a unit: its selection lives here)
    UNIT_SORT = "unit-sort"  # radio: the unit table's order
    UNIT_TABLE = "unit-table"  # dataframe: all units (a click picks one)
    FOLLOW_UNIT = "follow-unit"  # button: follow the unit in Inspect
    # Evaluate
    WRONG_TRUE = "wrong-true"  # selectbox: filter the misread digits by their true digit
    WRONG_READ = "wrong-read"  # selectbox: ... and by what they were read as
    WRONG_PAGE = "wrong-page"  # number input: page of misread digits
    # Train
    RECIPE = "train-recipe"  # selectbox: the named recipe the form starts from
    TRAIN_CELL = "train-cell"
    TRAIN_HIDDEN = "train-hidden"
    TRAIN_EPOCHS = "train-epochs"
    TRAIN_IMAGES = "train-images"
    TRAIN_LR = "train-lr"
    TRAIN_BATCH = "train-batch"
    START_TRAINING = "start-training"  # form submit button
    STOP_TRAINING = "stop-training"  # button: stop, leave the queue, or discard an interrupted job
    RESUME_TRAINING = "resume-training"  # button: continue an interrupted job
    # downloads
    TRACE_CSV = "trace-csv"
    TRACE_JSON = "trace-json"


KEEP_GATE_CHOICES = {"as trained": None, "clamped to 0: forget at every row": 0.0,  # Key.KEEP_GATE's labels
                     "clamped to 1: keep everything": 1.0}
UNSURE = "Not sure"  # what the page says next to a prediction it should not be trusted on


def wrong_digit_key(test_index: int) -> str:
    """The key of the button that opens misread MNIST test digit `test_index` in Inspect."""
    return f"wrong-{test_index}"
