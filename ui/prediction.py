"""The answer beside the drawing: the prediction, whether to trust it, the 28 x 28 image the network
read, and its class probabilities."""

import streamlit as st

from rnnviz import browser_data
from rnnviz.reading import Reading

from .state import SEEN_CAPTION, UNSURE, Key
from .views import show


def prediction_summary(reading: Reading) -> None:
    """The answer and its verdict (none when the model has no index to judge by), what it read and its class
    probabilities."""
    digit_trace, verdict = reading.trace, reading.verdict
    st.metric("Prediction", digit_trace.prediction, help="The digit with the highest probability after all 28 rows")
    st.caption(f"Probability {digit_trace.probs[-1].max():.0%} after the last row; it has held this answer since "
               f"row {digit_trace.settled_step}.")
    if verdict is not None and not verdict.sure:
        st.warning(f"**{UNSURE}:** {verdict.reason}. Draw one digit, large and clear, and it will read it "
                   f"better. **Inspect** shows the training digits it finds alike.", icon=":material/help:")
    labels = {"seen": SEEN_CAPTION, "title": "Class probabilities after all 28 rows"}
    show("answer", {**browser_data.answer(digit_trace), **labels}, key=Key.ANSWER_VIEW)
