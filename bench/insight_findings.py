"""Findings on the shipped models over the full MNIST test set, and how long the statistics take.

    RNNVIZ_DATA=../shared/mnist python -m bench.insight_findings [--fresh] [--threads 1] [checkpoints...]

Prints per model: test accuracy; the share of row saliency (gradient mass) and of the occlusion effect
in the top 14 rows; and ||dL/dh_1|| / ||dL/dh_28||, how much of the loss gradient still reaches the
first step, both as a ratio of test-set means (dominated by the few high-loss digits) and as the
median over digits of each digit's own ratio; for the LSTM the same for ||dL/dc_t||, the gradient at
its cell state. --fresh recomputes instead of reading the cache.
"""

import argparse
import time

import torch

from rnnviz import CELL_TYPES, load_model, measures, stats
from rnnviz.config import TOP_HALF
from rnnviz.data.mnist import load_mnist


def gradient_norms(model, images, labels, state: str = "hidden") -> torch.Tensor:
    """||dL/d state_t|| of every test digit, batch by batch: (N, steps)."""
    return torch.cat([measures.state_gradient_norms(model, images[i : i + stats.BATCH_SIZE],
                                                     labels[i : i + stats.BATCH_SIZE], state)
                      for i in range(0, len(images), stats.BATCH_SIZE)])


def median_gradient_reach(norms: torch.Tensor) -> float:
    """Median over images of ||dL/ds_1|| / ||dL/ds_28||."""
    return (norms[:, 0] / norms[:, -1]).median().item()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("checkpoints", nargs="*", default=[f"models/{cell}.safetensors" for cell in CELL_TYPES])
    parser.add_argument("--fresh", action="store_true", help="recompute (and time) instead of using the cache")
    parser.add_argument("--threads", type=int, default=1, help="torch threads (the app uses 1)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    images, labels = load_mnist("test")

    print(f"{len(images)} test digits, {args.threads} torch thread(s); seconds = test-set statistics"
          f" ({'computed' if args.fresh else 'cached after the first run'})")
    print(f"{'checkpoint':24} {'cell':5} {'accuracy':>8} {f'saliency top {TOP_HALF}':>16}"
          f" {f'occlusion top {TOP_HALF}':>17} {'|dL/dh1|/|dL/dh28| of means':>28} {'median':>7} {'seconds':>8}")
    for path in args.checkpoints:
        started = time.perf_counter()
        if args.fresh:
            found = stats.compute_test_set_stats(load_model(path), images, labels)
        else:
            found = stats.make_stats(path, images, labels)
        seconds = time.perf_counter() - started
        model = load_model(path)
        median_reach = median_gradient_reach(gradient_norms(model, images, labels))
        print(f"{path:24} {found.cell_type:5} {found.accuracy:8.4f} {measures.top_half_share(found.saliency):16.3f}"
              f" {measures.top_half_share(found.occlusion):17.3f} {measures.gradient_reach(found.gradient_norms):28.3g}"
              f" {median_reach:7.3g} {seconds:8.1f}")
        print(f"{'':31}mean ||dL/dh_t|| at t = 1, 7, 14, 21, 28: "
              + "  ".join(f"{v:.3g}" for v in found.gradient_norms[[0, 6, 13, 20, 27]]))
        if found.cell_type == "lstm":
            cell = gradient_norms(model, images, labels, "cell_state")  # (N, steps)
            print(f"{'':31}mean ||dL/dc_t|| at t = 1, 7, 14, 21, 28: "
                  + "  ".join(f"{v:.3g}" for v in cell.mean(0)[[0, 6, 13, 20, 27]])
                  + f"; |dL/dc1|/|dL/dc28| of means {measures.gradient_reach(cell.mean(0)):.3g},"
                  f" median {median_gradient_reach(cell):.3g}")
        share = 100 * found.saliency / found.saliency.sum()
        print(f"{'':31}saliency share per row 1..28 (%): " + " ".join(f"{v:.1f}" for v in share))


if __name__ == "__main__":
    main()
