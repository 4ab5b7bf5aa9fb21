"""What a model still remembers of the rows it has read: decoders from its state to the image.

    python -m rnnviz.memory models/*.safetensors  # fits and keeps the shipped models' decoders (they ship with them)

For every step t, a ridge regression (closed form) maps everything the cell carries to the next step
(h_t; for the LSTM h_t and c_t) to the rows read so far, rows 1..t. The decoders are fitted on the
frozen states of the first FIT_IMAGES MNIST training images and evaluated on the 10,000 test digits:
the memory curve is the R² of a row decoded `lag` steps after it was read (pooled over the rows,
their pixels and the digits, against each row's mean image).

Decoders and curves are kept beside the checkpoint like its statistics (rnnviz.files.KeptFile), so a
shipped model's memory works with no MNIST on disk.
"""

import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from . import cli
from .checkpoint import load_model
from .config import COLS, ROWS
from .files import KeptFile, atomic_write
from .intervention import Intervention
from .model import RowReader
from .recurrence import Trace, unroll

FIT_IMAGES = 20_000  # MNIST training images the decoders are fitted on (of 60,000: enough for 201 inputs)
RIDGE = 10.0  # the ridge penalty on the state weights (the bias is not penalised)
BATCH_SIZE = 2_000
VERSION = 1  # bump when MemoryDecoders changes: old files are then ignored
FIT_KEY = f"mnist{FIT_IMAGES // 1000}k"  # what the kept decoders were fitted on


@dataclass
class MemoryDecoders:
    """A model's memory read-outs and how well they work on the test set (numpy arrays, steps = 28)."""

    cell_type: str
    weights: list[np.ndarray]  # per step t (0-based): (features + 1, (t + 1) * 28) from [state_t, 1] to rows 1..t+1
    error: np.ndarray  # (steps, steps) [t, k]: test-set squared error of row k decoded after step t; NaN for k > t
    variance: np.ndarray  # (steps,) test-set sum of squares of row k about its mean

    @property
    def lag_r2(self) -> np.ndarray:
        """(steps,) the memory curve: R² pooled over every row read `lag` = t - k steps ago, lag 0..27."""
        steps, inked = len(self.variance), self.variance > 1e-6  # rows that are always blank tell nothing
        curve = np.full(steps, np.nan)
        for lag in range(steps):
            rows = inked[: steps - lag]  # row k is read at step k and decoded lag steps later
            if rows.any():
                curve[lag] = 1 - np.diagonal(self.error, -lag)[rows].sum() / self.variance[: steps - lag][rows].sum()
        return curve

    def reconstruct(self, trace: Trace) -> np.ndarray:
        """(steps, 28, 28): at step t (0-based) the rows 1..t+1 decoded from the trace's state, in [0, 1];
        the rows not read yet are NaN."""
        features = carried(trace.hidden, trace.cell_state)  # (steps, features + 1)
        out = np.full((trace.steps, ROWS, COLS), np.nan, dtype=np.float32)
        for step, weights in enumerate(self.weights):
            out[step, : step + 1] = np.clip(features[step] @ weights, 0, 1).reshape(step + 1, COLS)
        return out


def carried(hidden, cell_state=None):
    """What the cell carries to the next step, with a 1 for the bias: (..., steps, hidden [+ hidden] + 1)."""
    parts = [hidden] if cell_state is None else [hidden, cell_state]
    ones = np.ones_like(hidden[..., :1]) if isinstance(hidden, np.ndarray) else torch.ones_like(hidden[..., :1])
    return np.concatenate([*parts, ones], -1) if isinstance(hidden, np.ndarray) else torch.cat([*parts, ones], -1)


@torch.no_grad()
def _states(model: RowReader, images: torch.Tensor, intervention: Intervention | None = None) -> torch.Tensor:
    """carried() of every image at every step: (N, steps, features + 1), batch by batch."""
    batches = []
    for start in range(0, len(images), BATCH_SIZE):
        states = unroll(model, images[start : start + BATCH_SIZE], intervention)
        batches.append(carried(states["hidden"], states.get("cell_state")))
    return torch.cat(batches)


def fit_decoders(model: RowReader, images: torch.Tensor, ridge: float = RIDGE) -> list[np.ndarray]:
    """Ridge regression per step, closed form: W_t = (X_t'X_t + ridge I)^-1 X_t'Y_t, on images (N, 28, 28)."""
    features = _states(model, images)  # (N, steps, F + 1)
    targets = images.flatten(1)  # (N, 784)
    penalty = torch.eye(features.shape[-1], dtype=torch.float64) * ridge
    penalty[-1, -1] = 0  # the bias
    weights = []
    for step in range(features.shape[1]):
        x = features[:, step]  # (N, F + 1)
        gram = (x.T @ x).double() + penalty
        cross = (x.T @ targets[:, : (step + 1) * COLS]).double()  # (F + 1, (t + 1) * 28)
        weights.append(torch.linalg.solve(gram, cross).float().numpy())
    return weights


def decoding_error(model: RowReader, weights: list[np.ndarray], images: torch.Tensor) -> tuple[np.ndarray, np.ndarray]:
    """The decoders on images (N, 28, 28): squared error [t, k] of row k decoded after step t (NaN for k > t),
    summed over digits and pixels, and each row's sum of squares about its mean (steps,)."""
    features = _states(model, images)  # (N, steps, F + 1)
    variance = (images - images.mean(0)).square().sum((0, 2)).double()  # (28,) per row
    steps = features.shape[1]
    error = np.full((steps, steps), np.nan)
    for step in range(steps):
        decoded = (features[:, step] @ torch.from_numpy(weights[step])).view(-1, step + 1, COLS)  # (N, t + 1, 28)
        error[step, : step + 1] = (decoded - images[:, : step + 1]).square().sum((0, 2)).double().numpy()
    return error, variance.numpy()


def compute_memory(model: RowReader, train_images: torch.Tensor, test_images: torch.Tensor) -> MemoryDecoders:
    """Fit on the first FIT_IMAGES training images, evaluate on the test images."""
    weights = fit_decoders(model, train_images[:FIT_IMAGES])
    return MemoryDecoders(model.cell_type, weights, *decoding_error(model, weights, test_images))


def saved_memory(checkpoint_path) -> MemoryDecoders | None:
    """The checkpoint's decoders if they are on disk (no MNIST needed), else None."""
    return MEMORY.cached(checkpoint_path, FIT_KEY)


def make_memory(checkpoint_path, train_images: torch.Tensor, test_images: torch.Tensor) -> MemoryDecoders:
    """compute_memory for a checkpoint file: read from disk when kept there, else computed and kept."""

    def make() -> MemoryDecoders:
        model = load_model(checkpoint_path)
        return compute_memory(model, train_images, test_images)

    return MEMORY.get(checkpoint_path, FIT_KEY, make)


def save_memory(memory: MemoryDecoders, path: Path) -> None:
    """Weights as float16 (a shipped LSTM's decoders take 3.8 MB so), atomically."""
    arrays = {f"weights/{step:02d}": w.astype(np.float16) for step, w in enumerate(memory.weights)}
    atomic_write(path, lambda file: np.savez_compressed(file, cell_type=memory.cell_type, error=memory.error,
                                                              variance=memory.variance, **arrays))


def load_memory(path: Path) -> MemoryDecoders:
    """MemoryDecoders as save_memory wrote them (weights back to float32)."""
    with np.load(path, allow_pickle=False) as saved:
        names = sorted(name for name in saved.files if name.startswith("weights/"))
        return MemoryDecoders(str(saved["cell_type"]), [saved[name].astype(np.float32) for name in names],
                              saved["error"], saved["variance"])


MEMORY = KeptFile("memory", VERSION, load_memory, save_memory)


def main(argv=None):
    from .data.mnist import load_mnist

    args = cli.parse(cli.parser("Fit and keep the memory decoders of checkpoints (needs MNIST).", device=False), argv)
    torch.set_num_threads(1)
    train_images, _ = load_mnist("train", args.data)
    test_images, _ = load_mnist("test", args.data)
    for path in args.checkpoints:
        start = time.perf_counter()
        memory = make_memory(path, train_images, test_images)
        curve = memory.lag_r2
        print(f"{path}: {memory.cell_type}, {time.perf_counter() - start:.1f} s; R² of the row read "
              + ", ".join(f"{lag} steps ago {curve[lag]:.2f}" for lag in (0, 1, 3, 7, 14, 27)))


if __name__ == "__main__":
    main()
