"""The live reading beside the digit: the selected model reads it in the visitor's browser (the pen's drawing
as it moves, or the digit chosen here), with the server's verdict on whether to trust its answer."""

import numpy as np
import streamlit as st

from rnnviz import browser_data
from rnnviz.reading import Reading

from .cache import Loaded
from .state import UNSURE, Key, Source
from .views import send_weights, show


def live_reading(selected: Loaded, models: list, image: np.ndarray | None) -> None:
    """The weights of `models` (every loaded one, sent once), then the live view of `selected` reading the
    pen (when the visitor draws) or `image`."""
    send_weights(models, key=Key.WEIGHTS)
    drawing = st.session_state.get(Key.SOURCE, Source.DRAW) == Source.DRAW
    data = browser_data.live(selected.entry.name, selected.model, image=None if drawing else image,
                             canvas=Key.CANVAS if drawing else None)
    show("live", data, key=Key.LIVE_VIEW, step=st.session_state.get(Key.STEP))  # the step a link or lesson asks


def unsure_note(reading: Reading) -> None:
    """The server's verdict on the answer, when it is not sure (none when the model has no index to judge by)."""
    if reading.verdict is not None and not reading.verdict.sure:
        st.warning(f"**{UNSURE}:** {reading.verdict.reason}. Draw one digit, large and clear, and it will read it "
                   f"better. **Inspect** shows the training digits it finds alike.", icon=":material/help:")
