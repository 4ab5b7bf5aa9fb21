"""Measure models: MNIST test accuracy, the confusion matrix and misread digits, and accuracy on
real pen drawings replayed on a canvas.

    python -m rnnviz.evaluate models/*.safetensors --pen-digits ../shared/pen-digits/dev.jsonl [--device cuda]
    python -m rnnviz.evaluate models/*.safetensors --pen-digits more-writers.jsonl:gmd,more-writers.jsonl:syn
"""

import itertools

import numpy as np
import pandas as pd
import torch

from . import cli
from .config import NUM_CLASSES, cache_dir
from .data import pendigits
from .files import atomic_write
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


def pen_digit_images(records, stroke_width: float, height: float, seed: int = 0,
                     cached_as: str | None = None) -> torch.Tensor:
    """Replay pen digits as canvas drawings (random position) and preprocess them: (N, 28, 28).

    With `cached_as` (pendigits.file_key of the records' file and source), the images are made once
    and then read from the cache folder (rnnviz.config.cache_dir()/pen-evals).
    """
    kept = cache_dir() / "pen-evals" / f"{cached_as}-w{stroke_width:g}-h{height:g}-s{seed}.npz" if cached_as else None
    if kept and kept.exists():
        with np.load(kept) as saved:
            return torch.from_numpy(saved["images"])
    rng = np.random.default_rng(seed)
    images = np.stack([
        preprocess_canvas(pendigits.render(pendigits.place(r["strokes"], height, stroke_width, rng), stroke_width))
        for r in records
    ])
    if kept:
        atomic_write(kept, lambda file: np.savez_compressed(file, images=images))
    return torch.from_numpy(images)


def pen_digit_predictions(models: dict, records, widths=STROKE_WIDTHS, heights=HEIGHTS, seed: int = 0,
                          cached_as: str | None = None) -> dict:
    """{name: {(width, height): predictions (N,)}} for each model on each drawing condition."""
    results = {name: {} for name in models}
    for width, height in itertools.product(widths, heights):
        images = pen_digit_images(records, width, height, seed, cached_as)
        for name, model in models.items():
            results[name][(width, height)] = predict(model, images)
    return results


def pen_digit_accuracy(models: dict, records, widths=STROKE_WIDTHS, heights=HEIGHTS, seed: int = 0,
                       cached_as: str | None = None) -> dict:
    """{name: {(width, height): accuracy}} for each model on each drawing condition."""
    labels = torch.tensor([r["label"] for r in records])
    predictions = pen_digit_predictions(models, records, widths, heights, seed, cached_as)
    return {name: condition_accuracy(by_condition, labels) for name, by_condition in predictions.items()}


def condition_accuracy(by_condition: dict, labels: torch.Tensor) -> dict:
    """{(width, height): accuracy} from one model's {(width, height): predictions (N,)} and the labels (N,)."""
    return {condition: (predicted == labels).float().mean().item() for condition, predicted in by_condition.items()}


def digit_accuracy(predictions: dict, labels: torch.Tensor) -> dict:
    """{digit: accuracy on the digits of that class, over every condition} from one model's
    {(width, height): predictions (N,)} and the labels (N,)."""
    every = torch.stack(list(predictions.values()))  # (conditions, N)
    right = every == labels
    return {digit: right[:, labels == digit].float().mean().item() for digit in range(NUM_CLASSES)}


def european_accuracy(models: dict, records, seed: int = 0, cached_as: str | None = None) -> dict:
    """{name: accuracy} on the 0s and 1s of `records` redrawn with a slash / a long flag."""
    styled = [r for r in map(pendigits.european_style, records) if r is not None]
    labels = torch.tensor([r["label"] for r in styled])
    images = pen_digit_images(styled, stroke_width=18, height=0.65, seed=seed,
                              cached_as=f"{cached_as}-european" if cached_as else None)
    return {name: (predict(model, images) == labels).float().mean().item() for name, model in models.items()}


def main(argv=None):
    from .checkpoint import load_model
    from .data.mnist import load_mnist

    made = cli.parser("Evaluate rnnviz checkpoints: MNIST test accuracy, and real pen digits replayed on the canvas.")
    made.add_argument("--pen-digits", help="pen digits to replay as canvas drawings: comma-separated .jsonl "
                      "files, FILE:SOURCE for one institution's rows (e.g. more-writers.jsonl:gmd), each "
                      "measured apart; a bare file name is in the workspace's shared/pen-digits/")
    args = cli.parse(made, argv)
    models = {path: load_model(path).to(args.device) for path in args.checkpoints}
    test_x, test_y = load_mnist("test", args.data)
    for path, model in models.items():
        print(f"{path}: {model.cell_type} hidden {model.hidden_size}  MNIST test {accuracy(model, test_x, test_y):.4f}")
    for file, source in pendigits.parse_selection(args.pen_digits or ""):
        records = pendigits.load(file, source)
        labels = torch.tensor([r["label"] for r in records])
        predictions = pen_digit_predictions(models, records, cached_as=pendigits.file_key(file, source))
        european = european_accuracy(models, records, cached_as=pendigits.file_key(file, source))
        print(f"\n{file.name}{':' + source if source else ''} ({len(records)} digits)")
        for path, by_condition in predictions.items():
            scores = condition_accuracy(by_condition, labels)
            digits = digit_accuracy(by_condition, labels)
            print(f"{path}: pen digits mean {np.mean(list(scores.values())):.4f} min {min(scores.values()):.4f}"
                  f"  real 1s {digits[1]:.4f} 7s {digits[7]:.4f}  slashed 0s / flagged 1s {european[path]:.4f}")
            for (width, height), score in scores.items():
                print(f"    width {width:2d} px  height {height:.0%}: {score:.4f}")


if __name__ == "__main__":
    main()
