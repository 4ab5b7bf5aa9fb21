"""Exact per-step internals of a RowReader, recomputed from its own weights.

torch's fused nn.LSTM/nn.GRU/nn.RNN return only the hidden states; here the same equations
are written out step by step so that every gate is visible (PyTorch's gate order and formulas):

    LSTM  i, f, g, o = sigmoid, sigmoid, tanh, sigmoid of (W_i x_t + b_i + W_h h_(t-1) + b_h)
          c_t = f * c_(t-1) + i * g          h_t = o * tanh(c_t)
    GRU   r, z = sigmoid(W_ir x_t + b_ir + W_hr h_(t-1) + b_hr), sigmoid(... z ...)
          n = tanh(W_in x_t + b_in + r * (W_hn h_(t-1) + b_hn))
          h_t = (1 - z) * n + z * h_(t-1)
    RNN   h_t = tanh(W_i x_t + b_i + W_h h_(t-1) + b_h)
"""

from dataclasses import dataclass

import numpy as np
import torch

from .config import COLS, ROWS
from .intervention import Intervention
from .model import RowReader

GATE_NAMES = {
    "rnn": (),
    "gru": ("reset", "update", "candidate"),
    "lstm": ("input", "forget", "candidate", "output"),
}


def unroll(model: RowReader, images: torch.Tensor, intervention: Intervention | None = None) -> dict[str, torch.Tensor]:
    """Run the model step by step and keep everything.

    images (N, 28, 28) in [0, 1]. Returns tensors of shape (N, steps, hidden) for "hidden",
    "cell_state" (LSTM only) and each gate name, plus "logits" (N, steps, 10): the read-out applied to
    every h_t. Differentiable, so gradients with respect to the input or any h_t can be taken.
    intervention: a what-if applied inside every step (gates and states are kept as they were used).
    """
    change = intervention if intervention is not None and intervention.active else None
    if change:
        images = change.images(images)
    rnn = model.rnn
    x = model.normalize(images)  # (N, steps, 28)
    n, steps, _ = x.shape
    w_hh, b_hh = rnn.weight_hh_l0, rnn.bias_hh_l0
    x_proj = x @ rnn.weight_ih_l0.T + rnn.bias_ih_l0  # (N, steps, gates * hidden)
    hidden = x.new_zeros(n, model.hidden_size)  # h_0
    cell_state = x.new_zeros(n, model.hidden_size)  # c_0 (LSTM)
    states = {name: [] for name in ("hidden", "cell_state", *GATE_NAMES[model.cell_type])}  # per step, (N, hidden) each
    for step in range(steps):
        h_proj = hidden @ w_hh.T + b_hh  # (N, gates * hidden)
        if model.cell_type == "lstm":
            i, f, g, o = (x_proj[:, step] + h_proj).chunk(4, dim=1)
            input_gate, forget_gate = i.sigmoid(), f.sigmoid()
            candidate, output_gate = g.tanh(), o.sigmoid()
            if change:
                forget_gate = change.gate("lstm", "forget", forget_gate)
            cell_state = forget_gate * cell_state + input_gate * candidate
            if change:
                cell_state = change.state(cell_state)
            hidden = output_gate * cell_state.tanh()
            gates = (input_gate, forget_gate, candidate, output_gate)
            states["cell_state"].append(cell_state)
        elif model.cell_type == "gru":
            xr, xz, xn = x_proj[:, step].chunk(3, dim=1)
            hr, hz, hn = h_proj.chunk(3, dim=1)
            reset_gate, update_gate = (xr + hr).sigmoid(), (xz + hz).sigmoid()
            if change:
                update_gate = change.gate("gru", "update", update_gate)
            candidate = (xn + reset_gate * hn).tanh()
            hidden = (1 - update_gate) * candidate + update_gate * hidden
            gates = (reset_gate, update_gate, candidate)
        else:
            hidden = (x_proj[:, step] + h_proj).tanh()
            gates = ()
        if change:
            hidden = change.state(hidden)
        states["hidden"].append(hidden)
        for name, value in zip(GATE_NAMES[model.cell_type], gates, strict=True):
            states[name].append(value)
    out = {name: torch.stack(values, dim=1) for name, values in states.items() if values}
    out["logits"] = model.readout(out["hidden"])  # (N, steps, 10)
    return out


@dataclass
class Trace:
    """Everything one image did inside the network, one row per time step (numpy arrays)."""

    cell_type: str
    image: np.ndarray  # (28, 28) the input as read (blanked rows blank), row t is read at step t
    hidden: np.ndarray  # (steps, hidden)
    cell_state: np.ndarray | None  # (steps, hidden), the LSTM's c; None for GRU/RNN
    gates: dict[str, np.ndarray]  # name -> (steps, hidden)
    probs: np.ndarray  # (steps, 10) softmax of the read-out of h_t

    @property
    def prediction(self) -> int:
        return int(self.probs[-1].argmax())

    @property
    def steps(self) -> int:
        return self.hidden.shape[0]

    @property
    def settled_step(self) -> int:
        """The step (1-based) from which the network's best guess is its final prediction."""
        changed = np.flatnonzero(self.probs.argmax(axis=1) != self.prediction)  # steps with another guess
        return int(changed[-1]) + 2 if changed.size else 1


def trace(model: RowReader, image, intervention: Intervention | None = None) -> Trace:
    """Trace one (28, 28) image in [0, 1] (numpy array or tensor) through the model, on the model's device
    (with a what-if)."""
    images = torch.as_tensor(np.asarray(image, dtype=np.float32))
    if images.shape != (ROWS, COLS):
        raise ValueError(f"trace expects one ({ROWS}, {COLS}) image, got shape {tuple(images.shape)}")
    with torch.inference_mode():
        out = {k: v[0].cpu().numpy() for k, v in unroll(model, images[None].to(model.device), intervention).items()}
    return Trace(
        cell_type=model.cell_type,
        image=(intervention.images(images[None])[0] if intervention else images).numpy(),  # as read
        hidden=out["hidden"],
        cell_state=out.get("cell_state"),
        gates={name: out[name] for name in GATE_NAMES[model.cell_type]},
        probs=torch.softmax(torch.from_numpy(out["logits"]), dim=-1).numpy(),
    )
