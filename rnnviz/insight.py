"""What a trained RowReader does with the rows it reads, measured on many digits.

    row_saliency, row_occlusion        which rows the decision used
    hidden_gradient_norms              how far back in time the loss still reaches (vanishing gradients)
    unit_averages, gate_saturation     per-unit activity and gate saturation (Karpathy, Johnson & Fei-Fei
                                       2015, "Visualizing and Understanding Recurrent Networks")
    confusion_matrix, misclassified    evaluation
    test_set_stats, unit_table         all of it over the test set, computed once per checkpoint and cached
    trace_to_csv, trace_to_json        export of one image's trace

Per-image results are tensors (N, steps); steps are 0-based here (step t reads image row t).
"""

import csv
import hashlib
import io
import json
import os
import tempfile
from dataclasses import asdict, dataclass, fields
from pathlib import Path

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F
from torch.autograd.graph import GradientEdge

from .checkpoint import load_model
from .evaluate import predict
from .model import NUM_CLASSES, RowReader
from .trace import Trace, unroll

SIGMOID_GATES = ("input", "forget", "output", "reset", "update")  # the gates that open (1) and close (0)
MEMORY_GATE = {"lstm": "forget", "gru": "update"}  # near 1 = keep the old state
LOW, HIGH = 0.1, 0.9  # a sigmoid gate value below LOW is left-saturated, above HIGH right-saturated
BATCH_SIZE = 500
TOP_K = 8  # test digits kept per unit: those that excite it most
STATS_VERSION = 1  # bump when TestSetStats changes: old cache files are then ignored
STATS_CACHE = Path.home() / ".cache" / "rnnviz" / "stats"


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
    return (hidden, states["cell"][index, step - 1][None]) if "cell" in states else hidden


# ----------------------------------------------------------------------------- gradient flow in time


@torch.enable_grad()  # works inside a caller's no_grad() too
def hidden_gradient_norms(model: RowReader, images: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """||d loss / d h_t|| for every step t, loss = cross-entropy of the final prediction: (N, 28).

    The gradient is the total one, through every later step. It is taken at the per-step tensors that
    unroll() stacks into states["hidden"] (one autograd edge each), not at the stacked copy, whose
    gradient would only see the read-out. (For the LSTM, c_t is held fixed: the path h_t -> h_(t+1).)
    """
    states = unroll(model, images.detach().requires_grad_(True))  # input grad on: a graph even for frozen weights
    stacked = states["hidden"]  # (N, steps, hidden)
    per_step = [GradientEdge(node, output) for node, output in stacked.grad_fn.next_functions]  # h_0 .. h_27
    loss = F.cross_entropy(states["logits"][:, -1], labels, reduction="sum")  # sum: per-image gradients
    grads = torch.autograd.grad(loss, per_step)  # steps x (N, hidden)
    return torch.stack(grads, 1).norm(dim=2)


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


# ----------------------------------------------------------------------------- evaluation


def confusion_matrix(predictions: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """(10, 10) counts: row = true digit, column = predicted digit."""
    pairs = np.asarray(labels) * NUM_CLASSES + np.asarray(predictions)
    return np.bincount(pairs, minlength=NUM_CLASSES**2).reshape(NUM_CLASSES, NUM_CLASSES)


def misclassified(predictions: np.ndarray, labels: np.ndarray) -> pd.DataFrame:
    """One row per wrongly classified image: its index, true and predicted digit."""
    wrong = np.flatnonzero(predictions != labels)
    return pd.DataFrame({"image": wrong, "true": labels[wrong], "predicted": predictions[wrong]})


# ----------------------------------------------------------------------------- test-set statistics


@dataclass
class TestSetStats:
    """Test-set summaries of one model (numpy arrays, steps = 28)."""

    __test__ = False  # not a pytest test class, despite the name

    cell: str
    saliency: np.ndarray  # (steps,) mean row saliency
    occlusion: np.ndarray  # (steps,) mean change of p(predicted) when the row is blanked
    gradient_norms: np.ndarray  # (steps,) mean ||d loss / d h_t||
    units: dict[str, np.ndarray]  # unit_averages over the test set, each (hidden,)
    class_means: np.ndarray  # (10, steps, hidden) mean h_t over the test digits of each true class
    top_digits: np.ndarray  # (hidden, TOP_K) indices of the test digits with the highest max_t h_t
    predictions: np.ndarray  # (N,)
    labels: np.ndarray  # (N,)

    @property
    def accuracy(self) -> float:
        return float((self.predictions == self.labels).mean())

    @property
    def confusion(self) -> np.ndarray:
        return confusion_matrix(self.predictions, self.labels)

    @property
    def misclassified(self) -> pd.DataFrame:
        return misclassified(self.predictions, self.labels)

    @property
    def saturation(self) -> dict[str, tuple[np.ndarray, np.ndarray]]:
        return gate_saturation(self.units)


def compute_test_set_stats(model: RowReader, images: torch.Tensor, labels: torch.Tensor,
                           batch_size: int = BATCH_SIZE, progress=None) -> TestSetStats:
    """Every summary over (images, labels), batch by batch; progress(fraction done) after each batch."""
    n, steps, _ = images.shape
    per_image = {"saliency": [], "occlusion": [], "gradient_norms": [], "peaks": [], "predictions": []}
    units = {}  # name -> sum over images of the batch averages
    class_sums = images.new_zeros(NUM_CLASSES, steps, model.hidden_size)  # (10, steps, hidden)
    for start in range(0, n, batch_size):
        x, y = images[start : start + batch_size], labels[start : start + batch_size]
        per_image["saliency"].append(row_saliency(model, x))
        per_image["occlusion"].append(row_occlusion(model, x))
        per_image["gradient_norms"].append(hidden_gradient_norms(model, x, y))
        per_image["predictions"].append(predict(model, x))
        with torch.no_grad():
            states = unroll(model, x)
        per_image["peaks"].append(states["hidden"].amax(1))  # (B, hidden)
        for name, value in unit_averages(states).items():
            units[name] = units.get(name, 0) + len(x) * value
        class_sums.index_add_(0, y, states["hidden"])
        if progress:
            progress(min(start + batch_size, n) / n)
    per_image = {name: torch.cat(values).detach() for name, values in per_image.items()}
    class_counts = torch.bincount(labels, minlength=NUM_CLASSES).clamp(min=1)  # (10,)
    return TestSetStats(
        cell=model.cell,
        saliency=per_image["saliency"].mean(0).numpy(),
        occlusion=per_image["occlusion"].mean(0).numpy(),
        gradient_norms=per_image["gradient_norms"].mean(0).numpy(),
        units={name: (total / n).numpy() for name, total in units.items()},
        class_means=(class_sums / class_counts[:, None, None]).numpy(),
        top_digits=per_image["peaks"].topk(min(TOP_K, n), dim=0).indices.T.numpy(),
        predictions=per_image["predictions"].numpy(),
        labels=labels.numpy(),
    )


def unit_table(stats: TestSetStats) -> pd.DataFrame:
    """One row per hidden unit: the digit it prefers and how selectively, how memory-like it is, how active.

    selectivity = (mean h of the preferred digit - mean over the other digits) / std of h (all digits, steps).
    memory = mean forget gate (LSTM) or update gate (GRU): near 1 keeps the old state; NaN for the RNN.
    """
    by_class = stats.class_means.mean(1)  # (10, hidden) time-averaged
    preferred = by_class.argmax(0)  # (hidden,)
    best = by_class.max(0)
    others = (by_class.sum(0) - best) / (NUM_CLASSES - 1)
    std = np.sqrt(np.maximum(stats.units["mean_square"] - stats.units["mean"] ** 2, 0)) + 1e-8
    gate = MEMORY_GATE.get(stats.cell)
    return pd.DataFrame({
        "unit": np.arange(len(preferred)),
        "preferred_digit": preferred,
        "selectivity": (best - others) / std,
        "memory": stats.units[gate] if gate else np.full(len(preferred), np.nan),
        "mean_abs": stats.units["mean_abs"],
    })


def test_set_stats(checkpoint_path, images: torch.Tensor, labels: torch.Tensor, progress=None) -> TestSetStats:
    """compute_test_set_stats for a checkpoint file, cached on disk (computed the first time only).

    The cache file sits next to the checkpoint (or in ~/.cache/rnnviz/stats when that folder is not
    writable), named by the sha256 of the checkpoint's bytes and of the images and labels, so a
    retrained checkpoint or other images get their own file.
    """
    checkpoint_path = Path(checkpoint_path)
    checkpoint_bytes = checkpoint_path.read_bytes()
    path = _stats_path(checkpoint_path, checkpoint_bytes, images, labels)
    if path.exists():
        return _load_stats(path)
    model = load_model(io.BytesIO(checkpoint_bytes))
    stats = compute_test_set_stats(model, images, labels, progress=progress)
    _save_stats(stats, path)
    return stats


def _stats_path(checkpoint_path: Path, checkpoint_bytes: bytes, images, labels) -> Path:
    model_key = hashlib.sha256(checkpoint_bytes).hexdigest()[:16]
    data_hash = hashlib.sha256(np.ascontiguousarray(images.numpy()))
    data_hash.update(np.ascontiguousarray(labels.numpy()))
    folder = checkpoint_path.parent if os.access(checkpoint_path.parent, os.W_OK) else STATS_CACHE
    return folder / f"{checkpoint_path.name}.{model_key}-{data_hash.hexdigest()[:8]}.v{STATS_VERSION}.stats.npz"


def _save_stats(stats: TestSetStats, path: Path) -> None:
    """np.savez, atomically (temp file + os.replace); dict fields become "field/key" entries."""
    arrays = {}
    for field in fields(stats):
        value = getattr(stats, field.name)
        if isinstance(value, dict):
            arrays.update({f"{field.name}/{key}": array for key, array in value.items()})
        else:
            arrays[field.name] = np.asarray(value)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            np.savez(f, **arrays)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _load_stats(path: Path) -> TestSetStats:
    values = {}
    with np.load(path, allow_pickle=False) as saved:
        for name in saved.files:
            field, _, key = name.partition("/")
            if key:
                values.setdefault(field, {})[key] = saved[name]
            else:
                values[field] = saved[name]
    values["cell"] = str(values["cell"])
    return TestSetStats(**values)


# ----------------------------------------------------------------------------- export


def _trace_quantities(trace: Trace) -> dict[str, np.ndarray]:
    """name -> (steps, units) array: hidden, cell (LSTM), each gate, and prob (units = digit classes)."""
    cell = {"cell": trace.cell} if trace.cell is not None else {}
    return {"hidden": trace.hidden, **cell, **trace.gates, "prob": trace.probs}


def trace_to_csv(trace: Trace) -> str:
    """Long format, one value per line: step (1 = top row), quantity, unit, value."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["step", "quantity", "unit", "value"])
    for quantity, values in _trace_quantities(trace).items():
        for step, unit in np.ndindex(values.shape):
            writer.writerow([step + 1, quantity, unit, float(values[step, unit])])  # floats print exactly (repr)
    return out.getvalue()


def trace_to_json(trace: Trace) -> str:
    """All fields of the Trace (arrays as nested lists) plus its prediction."""
    return json.dumps({**asdict(trace), "prediction": trace.prediction}, default=np.ndarray.tolist)
