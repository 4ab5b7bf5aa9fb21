"""Measure models: MNIST test accuracy, the confusion matrix and misread digits, and accuracy on
real pen drawings replayed on a canvas.

    python -m rnnviz.evaluate models/*.pt --pen-digits ../shared/pen-digits/dev.jsonl [--device cuda]
"""

import itertools

import numpy as np
import pandas as pd
import torch

from . import cli
from .config import NUM_CLASSES
from .data import pendigits
from .preprocess import preprocess_canvas

# The drawing conditions the shipped models are held to (on the app's canvas).
STROKE_WIDTHS = (12, 18, 24, 30)  # brush width, px
HEIGHTS = (0.4, 0.65, 0.9)  # digit height, fraction of the canvas


@torch.inference_mode()
def predict(model, images: torch.Tensor, batch_size: int = 2000) -> torch.Tensor:
    """Class predictions (N,) on the CPU for images (N, 28, 28) in [0, 1], computed on the model's device."""
    model.eval()
    return torch.cat([model(images[i : i + batch_size].to(model.device)).argmax(1).cpu()
                      for i in range(0, len(images), batch_size)])


def accuracy(model, images: torch.Tensor, labels: torch.Tensor) -> float:
    """The share of images (N, 28, 28) the model reads as their labels (N,); leaves its mode as it was."""
    was_training = model.training
    result = (predict(model, images) == labels.cpu()).float().mean().item()
    model.train(was_training)
    return result


def confusion_matrix(predictions: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """(10, 10) counts: row = true digit, column = predicted digit."""
    pairs = np.asarray(labels) * NUM_CLASSES + np.asarray(predictions)
    return np.bincount(pairs, minlength=NUM_CLASSES**2).reshape(NUM_CLASSES, NUM_CLASSES)


def misclassified(predictions: np.ndarray, labels: np.ndarray) -> pd.DataFrame:
    """One row per wrongly classified image: its index, true and predicted digit."""
    wrong = np.flatnonzero(predictions != labels)
    return pd.DataFrame({"image": wrong, "true": labels[wrong], "predicted": predictions[wrong]})


def pen_digit_images(records, stroke_width: float, height: float, seed: int = 0) -> torch.Tensor:
    """Replay pen digits as canvas drawings (random position) and preprocess them: (N, 28, 28)."""
    rng = np.random.default_rng(seed)
    images = [
        preprocess_canvas(pendigits.render(pendigits.place(r["strokes"], height, stroke_width, rng), stroke_width))
        for r in records
    ]
    return torch.from_numpy(np.stack(images))


def pen_digit_accuracy(models: dict, records, widths=STROKE_WIDTHS, heights=HEIGHTS, seed: int = 0) -> dict:
    """{name: {(width, height): accuracy}} for each model on each drawing condition."""
    labels = torch.tensor([r["label"] for r in records])
    results = {name: {} for name in models}
    for width, height in itertools.product(widths, heights):
        images = pen_digit_images(records, width, height, seed)
        for name, model in models.items():
            results[name][(width, height)] = (predict(model, images) == labels).float().mean().item()
    return results


def european_accuracy(models: dict, records, seed: int = 0) -> dict:
    """{name: accuracy} on the 0s and 1s of `records` redrawn with a slash / a long flag."""
    styled = [r for r in map(pendigits.european_style, records) if r is not None]
    labels = torch.tensor([r["label"] for r in styled])
    images = pen_digit_images(styled, stroke_width=18, height=0.65, seed=seed)
    return {name: (predict(model, images) == labels).float().mean().item() for name, model in models.items()}


def main(argv=None):
    from .checkpoint import load_model
    from .data.mnist import load_mnist

    made = cli.parser("Evaluate rnnviz checkpoints: MNIST test accuracy, and real pen digits replayed on the canvas.")
    made.add_argument("--pen-digits", help="a .jsonl of pen digits to replay as canvas drawings")
    args = cli.parse(made, argv)
    models = {path: load_model(path).to(args.device) for path in args.checkpoints}
    test_x, test_y = load_mnist("test", args.data)
    records = pendigits.load(args.pen_digits) if args.pen_digits else None
    pen = pen_digit_accuracy(models, records) if records else None
    european = european_accuracy(models, records) if records else None
    for path, model in models.items():
        line = f"{path}: {model.cell_type} hidden {model.hidden_size}  MNIST test {accuracy(model, test_x, test_y):.4f}"
        if pen:
            scores = pen[path]
            line += f"  pen digits mean {np.mean(list(scores.values())):.4f} min {min(scores.values()):.4f}"
            line += f"  slashed 0s / flagged 1s {european[path]:.4f}"
        print(line)
        if pen:
            for (width, height), score in scores.items():
                print(f"    width {width:2d} px  height {height:.0%}: {score:.4f}")


if __name__ == "__main__":
    main()
