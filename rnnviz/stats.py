"""Test-set statistics of a checkpoint: every measure over the 10,000 MNIST test digits, computed
once and kept in a file beside the checkpoint (rnnviz.files.KeptFile).

    python -m rnnviz.stats models/*.safetensors      # writes the shipped models' statistics (they ship with them)
    python -m rnnviz.stats my.safetensors --device cuda

The file is named by the sha256 of the checkpoint's bytes and of the test set, so a retrained
checkpoint or other images get their own. The statistics keep the images of the test digits their
views show, so that the app's Insight and Evaluate tabs work on shipped models with no MNIST on disk.
"""

import hashlib
from dataclasses import dataclass, fields
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from . import cli
from .checkpoint import load_model
from .config import NUM_CLASSES
from .evaluate import confusion_matrix, misclassified, predict
from .files import KeptFile, atomic_write
from .intervention import KEEP_GATE
from .measures import (
    GradientCurve,
    gate_saturation,
    row_occlusion,
    row_saliency,
    state_gradient_norms,
    unit_averages,
)
from .model import RowReader
from .recurrence import unroll

BATCH_SIZE = 500
TOP_K = 8  # test digits kept per unit: those that excite it most
VERSION = 3  # bump when TestSetStats changes: old files are then ignored
MNIST_TEST_KEY = "8c26786d"  # data_key() of the 10,000 MNIST test digits (tests check it)


@dataclass
class TestSetStats:
    """Test-set summaries of one model (numpy arrays, steps = 28)."""

    __test__ = False  # not a pytest test class, despite the name

    cell_type: str
    saliency: np.ndarray  # (steps,) mean row saliency
    occlusion: np.ndarray  # (steps,) mean change of p(predicted) when the row is blanked
    gradient_norms: np.ndarray  # (steps,) mean ||d loss / d h_t||
    cell_gradient_norms: np.ndarray  # (steps,) mean ||d loss / d c_t|| of an LSTM; (0,) for other cells
    units: dict[str, np.ndarray]  # unit_averages over the test set, each (hidden,)
    class_means: np.ndarray  # (10, steps, hidden) mean h_t over the test digits of each true class
    top_digits: np.ndarray  # (hidden, TOP_K) indices of the test digits with the highest max_t h_t
    predictions: np.ndarray  # (N,)
    labels: np.ndarray  # (N,)
    digit_index: np.ndarray  # (K,) sorted indices of the test digits the views show: top digits, misread ones
    digit_images: np.ndarray  # (K, 28, 28) uint8, their images (so the views need no MNIST on disk)

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

    def gradient_curves(self, model: str) -> list[GradientCurve]:
        """The test-set means of ||d loss / d h_t||, and of ||d loss / d c_t|| for an LSTM, named `model`."""
        curves = [GradientCurve(model, self.gradient_norms)]
        if len(self.cell_gradient_norms):
            curves.append(GradientCurve(model, self.cell_gradient_norms, "cell_state"))
        return curves

    def digit(self, index: int) -> np.ndarray | None:
        """Test digit `index` as a (28, 28) float32 image in [0, 1], if these statistics keep it."""
        found = np.searchsorted(self.digit_index, index)
        if found < len(self.digit_index) and self.digit_index[found] == index:
            return self.digit_images[found].astype(np.float32) / 255
        return None


def compute_test_set_stats(model: RowReader, images: torch.Tensor, labels: torch.Tensor,
                           batch_size: int = BATCH_SIZE, progress=None) -> TestSetStats:
    """Every summary over (images, labels), batch by batch on the model's device; progress(fraction done)
    after each batch."""
    n, steps, _ = images.shape
    per_image = {"saliency": [], "occlusion": [], "gradient_norms": [], "cell_gradient_norms": [], "peaks": [],
                 "predictions": []}
    units = {}  # name -> sum over images of the batch averages
    class_sums = images.new_zeros(NUM_CLASSES, steps, model.hidden_size)  # (10, steps, hidden)
    for start in range(0, n, batch_size):
        x = images[start : start + batch_size].to(model.device)
        y = labels[start : start + batch_size].to(model.device)
        per_image["saliency"].append(row_saliency(model, x).cpu())
        per_image["occlusion"].append(row_occlusion(model, x).cpu())
        per_image["gradient_norms"].append(state_gradient_norms(model, x, y).cpu())
        if model.cell_type == "lstm":  # its long-range path runs through c
            per_image["cell_gradient_norms"].append(state_gradient_norms(model, x, y, "cell_state").cpu())
        per_image["predictions"].append(predict(model, x))
        with torch.no_grad():
            states = {name: value.cpu() for name, value in unroll(model, x).items()}
        per_image["peaks"].append(states["hidden"].amax(1))  # (B, hidden)
        for name, value in unit_averages(states).items():
            units[name] = units.get(name, 0) + len(x) * value
        class_sums.index_add_(0, y.cpu(), states["hidden"])
        if progress:
            progress(min(start + batch_size, n) / n)
    per_image = {name: torch.cat(values).detach() for name, values in per_image.items() if values}
    class_counts = torch.bincount(labels, minlength=NUM_CLASSES).clamp(min=1)  # (10,)
    top_digits = per_image["peaks"].topk(min(TOP_K, n), dim=0).indices.T  # (hidden, TOP_K)
    shown = torch.cat([top_digits.flatten(), (per_image["predictions"] != labels).nonzero()[:, 0]]).unique()  # (K,)
    return TestSetStats(
        cell_type=model.cell_type,
        saliency=per_image["saliency"].mean(0).numpy(),
        occlusion=per_image["occlusion"].mean(0).numpy(),
        gradient_norms=per_image["gradient_norms"].mean(0).numpy(),
        cell_gradient_norms=per_image.get("cell_gradient_norms", torch.zeros(0, 0)).mean(0).numpy(),
        units={name: (total / n).numpy() for name, total in units.items()},
        class_means=(class_sums / class_counts[:, None, None]).numpy(),
        top_digits=top_digits.numpy(),
        predictions=per_image["predictions"].numpy(),
        labels=labels.numpy(),
        digit_index=shown.numpy(),
        digit_images=(images[shown] * 255).round().to(torch.uint8).numpy(),
    )


def unit_table(stats: TestSetStats) -> pd.DataFrame:
    """One row per hidden unit: the digit it prefers and how selectively, how memory-like it is, how active.

    selectivity = (mean h of the preferred digit - mean over the other digits) / std of h (all digits, steps).
    keep_gate = mean forget gate (LSTM) or update gate (GRU): near 1 keeps the old state; NaN for the RNN.
    """
    by_class = stats.class_means.mean(1)  # (10, hidden) time-averaged
    preferred = by_class.argmax(0)  # (hidden,)
    best = by_class.max(0)
    others = (by_class.sum(0) - best) / (NUM_CLASSES - 1)
    std = np.sqrt(np.maximum(stats.units["mean_square"] - stats.units["mean"] ** 2, 0)) + 1e-8
    gate = KEEP_GATE.get(stats.cell_type)
    return pd.DataFrame({
        "unit": np.arange(len(preferred)),
        "preferred_digit": preferred,
        "selectivity": (best - others) / std,
        "keep_gate": stats.units[gate] if gate else np.full(len(preferred), np.nan),
        "mean_abs": stats.units["mean_abs"],
    })


def data_key(images: torch.Tensor, labels: torch.Tensor) -> str:
    """A short fingerprint of a set of digits: the first 8 hex digits of the sha256 of images and labels."""
    digest = hashlib.sha256(np.ascontiguousarray(images.numpy()))
    digest.update(np.ascontiguousarray(labels.numpy()))
    return digest.hexdigest()[:8]


def saved_stats(checkpoint_path) -> TestSetStats | None:
    """The checkpoint's MNIST test-set statistics if they are on disk (no MNIST needed), else None."""
    return STATS.cached(checkpoint_path, MNIST_TEST_KEY)


def make_stats(checkpoint_path, images: torch.Tensor, labels: torch.Tensor, progress=None,
                   device="cpu") -> TestSetStats:
    """compute_test_set_stats for a checkpoint file, read from disk when kept there, else computed (on
    `device`) and kept."""

    def make() -> TestSetStats:
        model = load_model(checkpoint_path).to(device)
        return compute_test_set_stats(model, images, labels, progress=progress)

    return STATS.get(checkpoint_path, data_key(images, labels), make)


def save_stats(stats: TestSetStats, path: Path) -> None:
    """np.savez_compressed, atomically; dict fields become "field/key" entries."""
    arrays = {}
    for field in fields(stats):
        value = getattr(stats, field.name)
        if isinstance(value, dict):
            arrays.update({f"{field.name}/{key}": array for key, array in value.items()})
        else:
            arrays[field.name] = np.asarray(value)
    atomic_write(path, lambda file: np.savez_compressed(file, **arrays))


def load_stats(path: Path) -> TestSetStats:
    """A TestSetStats as save_stats wrote it."""
    values = {}
    with np.load(path, allow_pickle=False) as saved:
        for name in saved.files:
            field, _, key = name.partition("/")
            if key:
                values.setdefault(field, {})[key] = saved[name]
            else:
                values[field] = saved[name]
    values["cell_type"] = str(values["cell_type"])
    return TestSetStats(**values)


STATS = KeptFile("stats", VERSION, load_stats, save_stats)


def main(argv=None):
    from .data.mnist import load_mnist

    args = cli.parse(cli.parser("Compute and keep the MNIST test-set statistics of checkpoints."), argv)
    images, labels = load_mnist("test", args.data)
    for path in args.checkpoints:
        stats = make_stats(path, images, labels, device=args.device)
        print(f"{path}: {stats.cell_type}, test accuracy {stats.accuracy:.4f}")


if __name__ == "__main__":
    main()
