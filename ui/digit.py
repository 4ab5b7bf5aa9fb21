"""The digit the networks read: drawn on the canvas, from the bundled gallery, an MNIST test digit, or the
one a link brought."""

from collections.abc import Callable

import numpy as np
import streamlit as st

from rnnviz.config import CANVAS_SIDE, COLS
from rnnviz.data.mnist import TEST_SIZE
from rnnviz.figures.images import enlarged
from rnnviz.serving import store

from . import cache
from .canvas import drawing_canvas, drawn_digit
from .state import Key, Source
from .widgets import offer_mnist_download

ZOOM = CANVAS_SIDE // COLS  # a 28 px digit is shown as large as the canvas


def gallery_digit() -> np.ndarray:
    """A real MNIST test digit from the bundled gallery."""
    examples = cache.load_gallery()
    i = st.selectbox("Example", range(len(examples)), format_func=examples.caption, key=Key.EXAMPLE)
    st.image(enlarged(examples.images[i], ZOOM), width=CANVAS_SIDE, clamp=True)
    return examples.images[i]


def test_set_digit(entries: list[store.Entry]) -> np.ndarray | None:
    """Any of the 10,000 MNIST test digits, by number (Evaluate opens misread ones here)."""
    index = st.number_input("MNIST test digit #", 0, TEST_SIZE - 1, key=Key.TEST_DIGIT)
    found = cache.test_digit(int(index), entries)
    if found is None:
        offer_mnist_download("This test digit")
        return None
    image, label = found
    st.image(enlarged(image.numpy(), ZOOM), width=CANVAS_SIDE, clamp=True, caption=f"labelled {label}")
    return image.numpy()


def linked_digit() -> np.ndarray:
    """The digit a link brought."""
    image = st.session_state[Key.LINK_DIGIT]
    st.image(enlarged(image, ZOOM), width=CANVAS_SIDE, clamp=True, caption="The digit from the link")
    return image


def drawing_chosen() -> bool:
    """Whether the networks read the pen's drawing (else a digit picked here)."""
    return st.session_state.get(Key.SOURCE, Source.DRAW) == Source.DRAW


def digit_input(entries: list[store.Entry]) -> Callable[[], np.ndarray | None]:
    """The input choice and the chosen digit. Returns digit_now(): the digit the networks read now, (28, 28) in
    [0, 1], or None while there is none. For a drawing that is the one last sent, which may be newer than this
    run (a new drawing reruns only what depends on it). entries: checkpoints whose statistics may keep a test
    digit's image when MNIST is not on disk."""
    sources = {Source.DRAW: drawing_canvas, Source.GALLERY: gallery_digit,
               Source.TEST_SET: lambda: test_set_digit(entries)}
    if Key.LINK_DIGIT in st.session_state:
        sources[Source.LINK] = linked_digit
    source = st.radio("Input", list(sources), horizontal=True, key=Key.SOURCE, label_visibility="collapsed",
                      help="Draw your own digit, or pick a real one: from the bundled gallery, or any of the "
                           "MNIST test set")
    image = sources[source]()
    return drawn_digit if source == Source.DRAW else lambda: image
