"""The answer beside the drawing: the prediction, whether to trust it, the 28 x 28 image the network
read, and its class probabilities."""

import streamlit as st

from rnnviz.figures.images import enlarged
from rnnviz.reading import Reading

from .state import SEEN_CAPTION, SEEN_ZOOM, UNSURE, Key
from .views import show


def prediction_summary(reading: Reading) -> None:
    """The answer and its verdict (none when the model has no index to judge by), and what it read."""
    digit_trace, verdict = reading.trace, reading.verdict
    said, saw = st.columns([3, 1], wrap=False)  # side by side on a phone too
    said.metric("Prediction", digit_trace.prediction, help="The digit with the highest probability after all 28 rows")
    said.caption(f"Probability {digit_trace.probs[-1].max():.0%} after the last row; it has held this answer since "
                 f"row {digit_trace.settled_step}.")
    saw.image(enlarged(digit_trace.image, SEEN_ZOOM), clamp=True, caption=SEEN_CAPTION,
              output_format="PNG")  # whole pixels, no JPEG blur
    if verdict is not None and not verdict.sure:
        st.warning(f"**{UNSURE}:** {verdict.reason}. Draw one digit, large and clear, and it will read it "
                   f"better. **Inspect** shows the training digits it finds alike.", icon=":material/help:")
    show("probabilities", {"probs": [round(float(p), 4) for p in digit_trace.probs[-1]],
                           "title": "Class probabilities after all 28 rows"}, key=Key.FINAL_PROBABILITIES)
