"""How well the unsure signal (rnnviz/reading.py) separates digits from drawings that are not one digit.

    python -m bench.unsure_signal [models/*.safetensors] [--non-digits 200]
    python -m bench.unsure_signal runs/lstm-e20-syn-stw50-s*.safetensors --pen-digits more-writers.jsonl:gmd \
        --name unsure_signal_held_out_gmd    # models that never saw gmd's writers, on them
    python -m bench.unsure_signal CHECKPOINTS --false-alarms 0.05 ...     # other thresholds than the index's

For each checkpoint (thresholds set on MNIST test digits 0-4,999 when its index was made):
- clean digits: the unsure rate on MNIST test digits 5,000-9,999 and on the training pen digits
  (train.jsonl, one drawing each at a random brush 6-32 px and height 30-95%);
- pen digits at the 12 brush/size conditions (the dev set's 1,000, or --pen-digits: e.g. an
  institution the models were not trained on): the unsure rate, and accuracy where it is sure
  (selective accuracy) next to accuracy on all;
- generated non-digits (rnnviz/nondigits.py, same random brushes and sizes): the unsure rate per kind.
Each signal alone is reported beside the two together (what the app uses).
"""

import argparse
import time

import numpy as np
import torch

from bench.report import save
from rnnviz import load_model, preprocess_canvas
from rnnviz.data import nondigits, pendigits
from rnnviz.data.mnist import load_mnist
from rnnviz.data.pen_training import render_variants, train_path
from rnnviz.evaluate import HEIGHTS, STROKE_WIDTHS, pen_digit_images
from rnnviz.neighbours import CALIBRATION, final_states, saved_index, set_thresholds
from rnnviz.serving.store import SHIPPED, shipped_path


def drawings(strokes_list, rng) -> torch.Tensor:
    """Strokes replayed at a random brush (6-32 px) and height (30-95% of the canvas), preprocessed."""
    images = []
    for strokes in strokes_list:
        brush, height = rng.uniform(6, 32), rng.uniform(0.3, 0.95)
        images.append(preprocess_canvas(pendigits.render(pendigits.place(strokes, height, brush, rng), brush)))
    return torch.from_numpy(np.stack(images))


def signals(model, index, images: torch.Tensor) -> dict[str, np.ndarray]:
    """Each signal's unsure mask (N,) and the predictions, for images (N, 28, 28)."""
    states = final_states(model, images)  # (N, hidden)
    with torch.no_grad():
        probs = model.readout(states).softmax(1).numpy()  # (N, 10)
    answers = probs.argmax(1)
    low = probs.max(1) < index.probability_floor
    far = index.distance(states.numpy(), answers) > index.distance_ceiling
    return {"probability": low, "distance": far, "either (app)": low | far, "predictions": answers}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("checkpoints", nargs="*", default=[str(shipped_path(cell)) for cell in SHIPPED])
    parser.add_argument("--non-digits", type=int, default=200, help="drawings of each kind")
    parser.add_argument("--pen-digits", default=pendigits.default_path().name,
                        help="the pen digits of the selective accuracy, FILE or FILE:SOURCE (default: the dev set)")
    parser.add_argument("--name", default="unsure_signal", help="the results file, bench/results/NAME.json")
    parser.add_argument("--false-alarms", type=float, default=None,
                        help="set the thresholds anew to call this share of MNIST test digits 0-4,999 unsure "
                             "(default: the index's own, set at 2%%)")
    args = parser.parse_args()
    torch.set_num_threads(1)
    rng = np.random.default_rng(2026)
    started = time.perf_counter()
    [(pen_file, source)] = pendigits.parse_selection(args.pen_digits)
    pen, key = pendigits.load(pen_file, source), pendigits.file_key(pen_file, source)
    pen_labels = np.tile([r["label"] for r in pen], len(STROKE_WIDTHS) * len(HEIGHTS))
    pen_images = torch.cat([pen_digit_images(pen, width, height, cached_as=key)
                            for width in STROKE_WIDTHS for height in HEIGHTS])
    train_images, _ = render_variants(pendigits.load(train_path()), 1, 32, 0.3, seed=2026)
    test_images, _ = load_mnist("test")
    train_records = pendigits.load(train_path())
    others = {kind: drawings(nondigits.generate(kind, args.non_digits, train_records, rng), rng)
              for kind in nondigits.KINDS}
    print(f"drawings ready in {time.perf_counter() - started:.0f} s")

    results = {}
    for path in args.checkpoints:
        model, index = load_model(path), saved_index(path)
        if index is None:
            raise SystemExit(f"{path} has no neighbour index: python -m rnnviz.neighbours {path}")
        if args.false_alarms is not None:
            set_thresholds(index, model, test_images[:CALIBRATION], args.false_alarms)
        on_pen = signals(model, index, pen_images)
        on_mnist = signals(model, index, test_images[CALIBRATION:])
        on_train = signals(model, index, train_images)
        on_others = {kind: signals(model, index, images) for kind, images in others.items()}
        right = on_pen["predictions"] == pen_labels
        rows = {}
        for name in ("probability", "distance", "either (app)"):
            sure = ~on_pen[name]
            rows[name] = {
                "mnist_test_unsure": float(on_mnist[name].mean()),
                "train_pen_unsure": float(on_train[name].mean()),
                "pen_unsure": float(on_pen[name].mean()),
                "pen_accuracy_when_sure": float(right[sure].mean()),
                "pen_accuracy_all": float(right.mean()),
                **{f"{kind}_unsure": float(found[name].mean()) for kind, found in on_others.items()},
            }
        results[path] = {"probability_floor": index.probability_floor, "distance_ceiling": index.distance_ceiling,
                         "signals": rows}
        print(f"{path}: unsure below p {index.probability_floor:.3f} or beyond distance {index.distance_ceiling:.2f}")
        for name, row in rows.items():
            print(f"  {name:13} " + "  ".join(f"{key} {value:.3f}" for key, value in row.items()))
    save(args.name, {"pen_digits": args.pen_digits, "non_digits_per_kind": args.non_digits,
                     "false_alarms": args.false_alarms, "results": results})


if __name__ == "__main__":
    main()
