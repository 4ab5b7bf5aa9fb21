"""The MNIST training digits a model finds most alike to a drawing: nearest in its final hidden state,
the state its read-out turns into the prediction. A drawn European 1 read as 7 sits among the
training set's 7s that look like it.

    python -m rnnviz.neighbours models/*.safetensors      # writes the shipped models' index (they ship with it)

The index holds the final states of PER_CLASS training digits of each class (the first ones in
MNIST's order) and their images, so it needs no MNIST on disk once made. It is kept beside the
checkpoint like its statistics (rnnviz.files.KeptFile).
"""

from dataclasses import dataclass, fields
from pathlib import Path

import numpy as np
import torch

from . import cli
from .checkpoint import load_model
from .config import NUM_CLASSES
from .files import KeptFile, atomic_write
from .model import RowReader
from .stats import data_key

PER_CLASS = 300  # training digits indexed per class
NEAREST = 8  # neighbours shown per class
VERSION = 1  # bump when NeighbourIndex changes: old files are then ignored
MNIST_TRAIN_KEY = "e637b632"  # data_key() of the indexed MNIST training digits (tests check it)
CALIBRATION = 5000  # the first MNIST test digits set the unsure thresholds (the other 5,000 check them)
FALSE_ALARMS = 0.02  # share of those clean digits each threshold calls unsure


@dataclass
class NeighbourIndex:
    """Final hidden states of some training digits, with their labels and images."""

    states: np.ndarray  # (N, hidden) float32
    labels: np.ndarray  # (N,)
    train_index: np.ndarray  # (N,) positions in the MNIST training set
    images: np.ndarray  # (N, 28, 28) uint8
    # The unsure signal's thresholds for this model (rnnviz/reading.py), set on held-out MNIST test digits.
    probability_floor: float = 0.0  # a top probability below this is unsure
    distance_ceiling: float = np.inf  # a final state farther than this from its class's nearest digits is unsure

    def distance(self, states: np.ndarray, digits: np.ndarray, k: int = NEAREST) -> np.ndarray:
        """Mean distance from each state (N, hidden) to the k nearest indexed digits labelled `digits` (N,)."""
        result = np.empty(len(states))
        for digit in np.unique(digits):
            rows = digits == digit
            of_digit = self.states[self.labels == digit]  # (per class, hidden)
            gaps = np.linalg.norm(states[rows][:, None] - of_digit[None], axis=2)  # (n, per class)
            result[rows] = np.sort(gaps, axis=1)[:, :k].mean(1)
        return result

    def nearest(self, state: np.ndarray, digit: int, k: int = NEAREST) -> tuple[np.ndarray, np.ndarray]:
        """The k indexed digits labelled `digit` nearest to `state` (hidden,): positions in this index
        (nearest first) and their Euclidean distances."""
        of_digit = np.flatnonzero(self.labels == digit)
        distances = np.linalg.norm(self.states[of_digit] - state, axis=1)  # (per class,)
        order = np.argsort(distances)[:k]
        return of_digit[order], distances[order]


@dataclass
class Alike:
    """One candidate answer and the indexed training digits of that class nearest to the drawing."""

    digit: int
    probability: float
    images: np.ndarray  # (k, 28, 28) float32 in [0, 1], nearest first
    distances: np.ndarray  # (k,)
    train_index: np.ndarray  # (k,) positions in the MNIST training set


def alike(index: NeighbourIndex, final_state: np.ndarray, probs: np.ndarray, answers: int = 2,
          k: int = NEAREST) -> list[Alike]:
    """For the `answers` most probable digits (probs (10,)), the k training digits of each whose final
    state is nearest to `final_state` (hidden,): the prediction and the runner-up by default."""
    found = []
    for digit in np.argsort(probs)[::-1][:answers]:
        positions, distances = index.nearest(final_state, int(digit), k)
        found.append(Alike(int(digit), float(probs[digit]), index.images[positions].astype(np.float32) / 255,
                           distances, index.train_index[positions]))
    return found


def indexed_digits(labels: torch.Tensor) -> torch.Tensor:
    """Positions of the first PER_CLASS training digits of each class, in order."""
    return torch.cat([(labels == digit).nonzero()[:PER_CLASS, 0] for digit in range(NUM_CLASSES)]).sort().values


@torch.no_grad()
def final_states(model: RowReader, images: torch.Tensor, batch_size: int = 1000) -> torch.Tensor:
    """h after the last row (what the read-out sees) for images (N, 28, 28): (N, hidden)."""
    model.eval()
    return torch.cat([model.rnn(model.normalize(images[i : i + batch_size]))[0][:, -1]
                      for i in range(0, len(images), batch_size)])


def compute_index(model: RowReader, train_images: torch.Tensor, train_labels: torch.Tensor,
                  held_out: torch.Tensor) -> NeighbourIndex:
    """The index of `model` over the MNIST training set (N, 28, 28), (N,), with the unsure signal's
    thresholds set so that FALSE_ALARMS of the `held_out` digits (M, 28, 28), e.g. MNIST test digits,
    pass each of them."""
    chosen = indexed_digits(train_labels)
    images = train_images[chosen]
    index = NeighbourIndex(states=final_states(model, images).numpy(), labels=train_labels[chosen].numpy(),
                           train_index=chosen.numpy(), images=(images * 255).round().to(torch.uint8).numpy())
    return set_thresholds(index, model, held_out)


def set_thresholds(index: NeighbourIndex, model: RowReader, held_out: torch.Tensor,
                   false_alarms: float = FALSE_ALARMS) -> NeighbourIndex:
    """The index with the unsure signal's two thresholds set so that each calls `false_alarms` of the
    `held_out` digits (M, 28, 28), e.g. MNIST test digits, unsure."""
    states = final_states(model, held_out)  # (M, hidden)
    with torch.no_grad():
        probs = model.readout(states).softmax(1).numpy()  # (M, 10)
    distances = index.distance(states.numpy(), probs.argmax(1))
    index.probability_floor = float(np.quantile(probs.max(1), false_alarms))
    index.distance_ceiling = float(np.quantile(distances, 1 - false_alarms))
    return index


def saved_index(checkpoint_path) -> NeighbourIndex | None:
    """The checkpoint's index if it is on disk (no MNIST needed), else None."""
    return INDEX.cached(checkpoint_path, MNIST_TRAIN_KEY)


def make_index(checkpoint_path, train_images: torch.Tensor, train_labels: torch.Tensor,
                    test_images: torch.Tensor) -> NeighbourIndex:
    """The checkpoint's index: read from disk when kept there, else computed (a few seconds) and kept.
    The MNIST training set (N, 28, 28), (N,) gives its digits, the test images its thresholds."""

    def make() -> NeighbourIndex:
        chosen = indexed_digits(train_labels)
        if data_key(train_images[chosen], train_labels[chosen]) != MNIST_TRAIN_KEY:
            raise ValueError("these are not the MNIST training digits the index is made of")
        model = load_model(checkpoint_path)
        return compute_index(model, train_images, train_labels, test_images[:CALIBRATION])

    return INDEX.get(checkpoint_path, MNIST_TRAIN_KEY, make)


def save_index(index: NeighbourIndex, path: Path) -> None:
    """np.savez_compressed, atomically; states as float16 (a quarter of the size, distances to 1e-3)."""
    arrays = {field.name: np.asarray(getattr(index, field.name)) for field in fields(index)}
    arrays["states"] = arrays["states"].astype(np.float16)
    atomic_write(path, lambda file: np.savez_compressed(file, **arrays))


def load_index(path: Path) -> NeighbourIndex:
    """A NeighbourIndex as save_index wrote it (states back to float32)."""
    with np.load(path, allow_pickle=False) as saved:
        values = {name: saved[name] for name in saved.files}
    values["states"] = values["states"].astype(np.float32)
    values["probability_floor"], values["distance_ceiling"] = (float(values[name]) for name in
                                                               ("probability_floor", "distance_ceiling"))
    return NeighbourIndex(**values)


INDEX = KeptFile("neighbours", VERSION, load_index, save_index)


def main(argv=None):
    from .data.mnist import load_mnist

    args = cli.parse(cli.parser("Make and keep the nearest-training-digit index of checkpoints.", device=False), argv)
    images, labels = load_mnist("train", args.data)
    test_images, _ = load_mnist("test", args.data)
    for path in args.checkpoints:
        index = make_index(path, images, labels, test_images)
        print(f"{path}: {len(index.labels)} training digits indexed, unsure below p {index.probability_floor:.3f} "
              f"or beyond distance {index.distance_ceiling:.2f}")


if __name__ == "__main__":
    main()
