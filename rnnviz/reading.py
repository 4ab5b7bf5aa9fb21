"""What the page says about one digit: how the network read it, and whether to trust its answer.

"Not sure" comes from two signals, each with a threshold per model set on held-out MNIST test digits
(rnnviz/neighbours.py, `compute_index`), so that each calls 2% of those clean digits unsure:
- the answer's probability is low (the network hesitates between digits);
- the final hidden state is far from those of the training digits of the answer's class (the
  drawing is unlike anything it was trained on: a scribble, two digits, a letter). The read-out
  can still be confident there; measured on generated non-digits, distance catches about twice as
  many as probability does (models/README.md).
"""

from dataclasses import dataclass

import numpy as np
import torch

from .model import RowReader
from .neighbours import NeighbourIndex
from .recurrence import Trace, trace


@dataclass(frozen=True)
class Verdict:
    """Whether the prediction can be trusted, and why not."""

    sure: bool
    probability: float  # the answer's probability
    distance: float  # mean distance from the final state to the 8 nearest training digits of the answer's class
    reason: str  # for the page; "" when sure


@dataclass(frozen=True)
class Reading:
    """One digit read by one model: every step inside it, and the verdict on its answer (None when the
    model has no neighbour index to judge by)."""

    trace: Trace
    verdict: Verdict | None


def judge(final_state: np.ndarray, probs: np.ndarray, index: NeighbourIndex) -> Verdict:
    """The verdict on one drawing: its final hidden state (hidden,) and probabilities (10,)."""
    answer = int(probs.argmax())
    probability = float(probs[answer])
    distance = float(index.distance(final_state[None], np.array([answer]))[0])
    runner_up = int(np.argsort(probs)[-2])
    reasons = []
    if distance > index.distance_ceiling:
        reasons.append(f"this drawing looks unlike the training {answer}s (and may not be one digit)")
    if probability < index.probability_floor:
        reasons.append(f"it hesitates between {answer} and {runner_up}")
    return Verdict(not reasons, probability, distance, " and ".join(reasons))


def verdict_on(model: RowReader, image, index: NeighbourIndex) -> Verdict:
    """The verdict alone on a (28, 28) image in [0, 1], from the model's fused forward pass: a few calls into
    PyTorch where a trace makes hundreds (one per gate and step), which matters on a server answering many
    visitors at once. The same final state as read_digit's trace, to float32 rounding."""
    with torch.inference_mode():
        images = torch.as_tensor(np.asarray(image, dtype=np.float32))[None].to(model.device)  # (1, 28, 28)
        final_state = model.final_hidden(images)  # (1, hidden)
        probs = torch.softmax(model.readout(final_state), dim=-1)  # (1, 10)
    return judge(final_state[0].cpu().numpy(), probs[0].cpu().numpy(), index)


def read_digit(model: RowReader, image, index: NeighbourIndex | None) -> Reading:
    """Trace a (28, 28) image in [0, 1] through `model` and judge the answer by `index` (if any)."""
    digit_trace = trace(model, image)
    verdict = None if index is None else judge(digit_trace.hidden[-1], digit_trace.probs[-1], index)
    return Reading(digit_trace, verdict)
