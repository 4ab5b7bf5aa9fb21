"""What a trained RowReader does with the rows it reads: measures on one digit or many.

    row_saliency, row_occlusion        which rows the decision used
    top_half_share                     how much of such a curve lies in the top half of the image
    state_gradient_norms               how far back in time the loss still reaches (vanishing gradients),
                                       at h_t, or at the LSTM's cell state c_t
    own_prediction_gradients, own_cell_gradients   the same for a drawing, which has no true label
    gradient_reach                     ||dL/dh_1|| / ||dL/dh_28||
    unit_averages, gate_saturation     per-unit activity and gate saturation (Karpathy, Johnson & Fei-Fei
                                       2015, "Visualizing and Understanding Recurrent Networks")
    unit_order                         the units of one trace, the most telling first

Per-image results are tensors (N, steps); steps are 0-based here (step t reads image row t).
"""

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch.autograd.graph import GradientEdge

from .config import TOP_HALF
from .model import RowReader
from .recurrence import Trace, unroll

SIGMOID_GATES = ("input", "forget", "output", "reset", "update")  # the gates that open (1) and close (0)
LOW, HIGH = 0.1, 0.9  # a sigmoid gate value below LOW is left-saturated, above HIGH right-saturated
ORDERINGS = {  # how unit_order can sort units: name -> what it means
    "contribution": "contribution to the prediction",
    "activity": "activity (mean |h|)",
    "index": "unit number",
}


# ----------------------------------------------------------------------------- which rows mattered


@torch.enable_grad()  # works inside a caller's no_grad() too
def row_saliency(model: RowReader, images: torch.Tensor) -> torch.Tensor:
    """||d log p(predicted class) / d row t|| (norm over the row's 28 pixels): images (N, 28, 28) -> (N, 28)."""
    images = images.detach().requires_grad_(True)
    log_probs = model(images).log_softmax(1)  # (N, 10)
    predicted_log_prob = log_probs.max(1).values.sum()  # images are independent: sum, then one backward
    (grad,) = torch.autograd.grad(predicted_log_prob, images)  # (N, 28, 28)
    return grad.norm(dim=2)


@torch.no_grad()
def row_occlusion(model: RowReader, images: torch.Tensor, band: int = 1) -> torch.Tensor:
    """Change in the final probability of the predicted class when rows [t, t + band) are blanked (set to 0).

    images (N, 28, 28) in [0, 1] -> (N, 28); negative where the rows supported the decision.
    Blanking leaves the steps before t as they were, so each occluded run resumes from the clean state
    after step t - 1; a band that is already blank changes nothing and is not run at all.
    """
    n, steps, _ = images.shape
    clean = unroll(model, images)
    probs = clean["logits"][:, -1].softmax(1)  # (N, 10)
    predicted = probs.argmax(1, keepdim=True)  # (N, 1)
    clean_prob = probs.gather(1, predicted)[:, 0]  # (N,)
    change = images.new_zeros(n, steps)
    for step in range(steps):
        inked = images[:, step : step + band].flatten(1).any(1).nonzero()[:, 0]  # images with ink in the band
        if len(inked) == 0:
            continue
        rest = images[inked, step:].clone()  # (n_inked, steps - step, 28)
        rest[:, :band] = 0
        hidden, _ = model.rnn(model.normalize(rest), _state_before(clean, step, inked))  # (n_inked, rest, hidden)
        prob = model.readout(hidden[:, -1]).softmax(1).gather(1, predicted[inked])[:, 0]  # (n_inked,)
        change[inked, step] = prob - clean_prob[inked]
    return change


def _state_before(states: dict, step: int, index: torch.Tensor):
    """The recurrent state after step - 1 of the images `index`, as nn.RNN/GRU/LSTM take it (None = zeros)."""
    if step == 0:
        return None
    hidden = states["hidden"][index, step - 1][None]  # (1, n, hidden)
    return (hidden, states["cell_state"][index, step - 1][None]) if "cell_state" in states else hidden


def top_half_share(curve: np.ndarray) -> float:
    """The share of a per-row curve (steps,) that lies in the top half of the image (rows 1-14)."""
    return float(curve[:TOP_HALF].sum() / curve.sum())


# ----------------------------------------------------------------------------- gradient flow in time


@torch.enable_grad()  # works inside a caller's no_grad() too
def state_gradient_norms(model: RowReader, images: torch.Tensor, labels: torch.Tensor,
                          state: str = "hidden") -> torch.Tensor:
    """||d loss / d h_t|| for every step t, loss = cross-entropy of the final prediction: (N, 28).

    The gradient is the total one, through every later step. It is taken at the per-step tensors that
    unroll() stacks into states["hidden"] (one autograd edge each), not at the stacked copy, whose
    gradient would only see the read-out. (For the LSTM, c_t is held fixed: the path h_t -> h_(t+1).)
    state="cell_state": ||d loss / d c_t|| of the LSTM instead, h_t free: the long-range path through its c.
    """
    states = unroll(model, images.detach().requires_grad_(True))  # input grad on: a graph even for frozen weights
    stacked = states[state]  # (N, steps, hidden)
    per_step = [GradientEdge(node, output) for node, output in stacked.grad_fn.next_functions]  # h_0 .. h_27
    loss = F.cross_entropy(states["logits"][:, -1], labels, reduction="sum")  # sum: per-image gradients
    grads = torch.autograd.grad(loss, per_step)  # steps x (N, hidden)
    return torch.stack(grads, 1).norm(dim=2)


def own_prediction_gradients(model: RowReader, images: torch.Tensor, state: str = "hidden") -> torch.Tensor:
    """state_gradient_norms with each image's predicted digit as its label (a drawing has no true one): (N, 28)."""
    with torch.no_grad():
        predicted = model(images).argmax(1)
    return state_gradient_norms(model, images, predicted, state)


def own_cell_gradients(model: RowReader, images: torch.Tensor) -> torch.Tensor:
    """||d loss / d c_t|| of an LSTM, with each image's predicted digit as its label: (N, 28)."""
    return own_prediction_gradients(model, images, "cell_state")


@dataclass(frozen=True)
class GradientCurve:
    """How much of the loss's gradient reaches one model's state at each step: one line of Insight's
    gradient-flow figure."""

    model: str  # a cell type ("lstm"), or a model's name
    values: np.ndarray  # (steps,) ||d loss / d state_t||
    state: str = "hidden"  # "hidden": at h_t; "cell_state": at the LSTM's c_t


def drawing_gradient_curves(models: dict[str, RowReader], image) -> list[GradientCurve]:
    """For one drawing (28, 28), with each model's own prediction as the label: every model's curve at h_t,
    and each LSTM's at c_t too (its long-range path runs through c)."""
    curves = [GradientCurve(name, values) for name, values in per_model(own_prediction_gradients, models,
                                                                         image).items()]
    lstms = {name: model for name, model in models.items() if model.cell_type == "lstm"}
    return curves + [GradientCurve(name, values, "cell_state")
                     for name, values in per_model(own_cell_gradients, lstms, image).items()]


def gradient_reach(gradient_norms) -> float:
    """||dL/dh_1|| / ||dL/dh_28|| of a (steps,) curve: how much of the gradient at the end reaches step 1."""
    return float(gradient_norms[0] / gradient_norms[-1])


# ----------------------------------------------------------------------------- what the units do


def unit_averages(states: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Per-unit averages over all images and steps of an unroll() result, each (hidden,).

    "mean", "mean_abs", "mean_square" of h_t; and for each sigmoid gate g: "g" its mean, "g_left" and
    "g_right" the fractions of its values that are left- (< 0.1) and right-saturated (> 0.9).
    """
    hidden = states["hidden"]  # (N, steps, hidden)
    averages = {"mean": hidden.mean((0, 1)), "mean_abs": hidden.abs().mean((0, 1)),
                "mean_square": hidden.square().mean((0, 1))}
    for gate in SIGMOID_GATES:
        if gate in states:
            values = states[gate]  # (N, steps, hidden)
            averages[gate] = values.mean((0, 1))
            averages[f"{gate}_left"] = (values < LOW).float().mean((0, 1))
            averages[f"{gate}_right"] = (values > HIGH).float().mean((0, 1))
    return averages


def gate_saturation(averages: dict) -> dict[str, tuple]:
    """gate -> (left-saturated fraction (hidden,), right-saturated fraction (hidden,)), from unit_averages."""
    return {gate: (averages[f"{gate}_left"], averages[f"{gate}_right"]) for gate in SIGMOID_GATES if gate in averages}


def unit_order(model: RowReader, trace: Trace, by: str) -> np.ndarray:
    """Unit indices (hidden,) of `trace` through `model`, the most telling first (by: one of ORDERINGS).

    "contribution": the read-out weight for the predicted class times the final hidden state, i.e. how
    much each unit pushes the final logit of the prediction up; "activity": mean |h| over steps.
    """
    if by == "contribution":
        readout_weight = model.readout.weight.detach().numpy()  # (10, hidden)
        score = readout_weight[trace.prediction] * trace.hidden[-1]  # (hidden,)
    elif by == "activity":
        score = np.abs(trace.hidden).mean(axis=0)  # (hidden,)
    else:
        score = np.zeros(trace.hidden.shape[1])
    return np.argsort(-score, kind="stable")


def per_model(measure, models: dict[str, RowReader], image) -> dict[str, np.ndarray]:
    """name -> measure(model, image as a batch of one)[0] for each model: (steps,) arrays.

    measure: one of this module's per-image functions of (model, images), e.g. row_saliency.
    """
    images = torch.as_tensor(image, dtype=torch.float32)[None]  # (1, 28, 28)
    return {name: measure(model, images)[0].detach().numpy() for name, model in models.items()}
