"""A small gallery of real MNIST test digits that ships with the app (works offline).

    python -m rnnviz.data.gallery       # writes models/gallery.npz

Holds a few digits of each class, picked at random (seeded), plus some that the shipped LSTM
gets wrong: those are the interesting ones to step through.
"""

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..config import MODELS_DIR

PATH = MODELS_DIR / "gallery.npz"


@dataclass
class Gallery:
    images: np.ndarray  # (N, 28, 28) float32 in [0, 1]
    labels: np.ndarray  # (N,) true digit
    test_index: np.ndarray  # (N,) position in the MNIST test set
    lstm_prediction: np.ndarray  # (N,) what the shipped LSTM said when the gallery was made

    def __len__(self) -> int:
        return len(self.labels)

    def caption(self, i: int) -> str:
        guess = self.lstm_prediction[i]
        wrong = f" (the shipped LSTM reads {guess})" if guess != self.labels[i] else ""
        return f"a {self.labels[i]}, MNIST test #{self.test_index[i]}{wrong}"


def load(path=PATH) -> Gallery:
    """The gallery file as a Gallery (images back to [0, 1])."""
    with np.load(path) as data:
        return Gallery(
            images=data["images"].astype(np.float32) / 255.0,
            labels=data["labels"],
            test_index=data["test_index"],
            lstm_prediction=data["lstm_prediction"],
        )


def pick(labels: np.ndarray, predictions: np.ndarray, per_class: int, wrong: int, seed: int = 0) -> np.ndarray:
    """Indices: `per_class` correctly classified digits of each class, then up to `wrong` misclassified."""
    rng = np.random.default_rng(seed)
    right = [rng.permutation(np.flatnonzero((labels == c) & (predictions == c)))[:per_class] for c in range(10)]
    mistakes = rng.permutation(np.flatnonzero(labels != predictions))[:wrong]
    return np.concatenate([*right, mistakes])


def main(argv=None):
    from .. import cli
    from ..checkpoint import load_model
    from ..evaluate import predict
    from .mnist import load_mnist

    made = cli.parser("Write the app's gallery of MNIST test digits.", checkpoints=False, device=False)
    made.add_argument("--per-class", type=int, default=4, help="correctly read digits of each class")
    made.add_argument("--wrong", type=int, default=8, help="how many digits the shipped LSTM gets wrong")
    made.add_argument("--out", type=Path, default=PATH, help="the gallery file to write")
    made.add_argument("--model", type=Path, default=MODELS_DIR / "lstm.safetensors",
                      help="the model whose misreadings it shows")
    args = cli.parse(made, argv)
    images, labels = load_mnist("test", args.data)
    predictions = predict(load_model(args.model), images).numpy()
    index = pick(labels.numpy(), predictions, args.per_class, args.wrong)
    np.savez_compressed(
        args.out,
        images=(images[index].numpy() * 255).round().astype(np.uint8),
        labels=labels.numpy()[index],
        test_index=index,
        lstm_prediction=predictions[index],
    )
    misread = (labels.numpy()[index] != predictions[index]).sum()
    print(f"{len(index)} digits ({misread} misread by the LSTM) -> {args.out}")


if __name__ == "__main__":
    main()
