"""Training speed: our training loop (rnnviz.train.train, with augmentation, progress reports and
the progress bar) against a bare nn.RNN/GRU/LSTM + linear + Adam loop on pre-loaded tensors.

    RNNVIZ_DATA=../shared/mnist python -m bench.train_throughput [--samples 6400] [--repeats 5]

Both run in the same process, alternating, with the same torch threads (default 1, as the app
trains; with 2 threads on 2 cores any other busy process makes OpenMP stall, 10x swings); hidden
100; batch 128 and 50. Samples/s are timed from the 5th batch to the last (warm-up and evaluation
excluded). Target: ours >= 90% of bare.
"""

import argparse
import contextlib
import io
import time

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from bench.report import save, target
from rnnviz import CELL_TYPES
from rnnviz.config import COLS
from rnnviz.data import load_mnist
from rnnviz.recipes import Settings
from rnnviz.train import train

HIDDEN = 100
WARMUP = 5  # batches not timed


def ours(cell: str, batch_size: int, samples: int) -> float:
    """Samples/s of rnnviz.train.train itself, timed through its progress reports."""
    times = []

    def note(progress):
        if progress.val_accuracy is None:  # a batch, not the end-of-epoch report
            times.append(time.perf_counter())

    settings = Settings(cell_type=cell, hidden=HIDDEN, batch_size=batch_size, epochs=1, limit=samples)
    with contextlib.redirect_stderr(io.StringIO()), contextlib.redirect_stdout(io.StringIO()):  # bar drawn, not shown
        train(settings, on_progress=note, show_bar=True)
    return (len(times) - WARMUP) * batch_size / (times[-1] - times[WARMUP - 1])


def bare(cell: str, batch_size: int, samples: int, images: torch.Tensor, labels: torch.Tensor) -> float:
    """Samples/s of the textbook loop: no augmentation, clipping, schedule or reporting."""
    torch.manual_seed(0)
    rnn = {"rnn": nn.RNN, "gru": nn.GRU, "lstm": nn.LSTM}[cell](COLS, HIDDEN, batch_first=True)
    head = nn.Linear(HIDDEN, 10)
    optimizer = torch.optim.Adam([*rnn.parameters(), *head.parameters()], lr=2e-3)
    times = []
    for first in range(0, samples, batch_size):
        outputs, _ = rnn(images[first: first + batch_size])
        loss = F.cross_entropy(head(outputs[:, -1]), labels[first: first + batch_size])
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        times.append(time.perf_counter())
    return (len(times) - WARMUP) * batch_size / (times[-1] - times[WARMUP - 1])


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=6400, help="training images per run")
    parser.add_argument("--repeats", type=int, default=5, help="runs of each loop (the median is kept)")
    parser.add_argument("--threads", type=int, default=1, help="torch threads (1, as the app trains)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    images, labels = load_mnist("train")

    results, targets = {}, []
    for cell in CELL_TYPES:
        for batch_size in (128, 50):
            samples = args.samples // batch_size * batch_size
            runs = {"ours": [], "bare": []}
            for _ in range(args.repeats):  # alternate, so that both see the same machine
                runs["ours"].append(ours(cell, batch_size, samples))
                runs["bare"].append(bare(cell, batch_size, samples, images, labels))
            speed = {loop: round(float(np.median(values))) for loop, values in runs.items()}
            ratio = speed["ours"] / speed["bare"]
            print(f"{cell} batch {batch_size}: ours {speed['ours']} samples/s, bare {speed['bare']}, {ratio:.0%}")
            results[f"{cell}/batch {batch_size}"] = {**speed, "ratio": round(ratio, 3), "runs": runs}
            targets.append(target(f"{cell} batch {batch_size}, ours / bare", ratio, 0.9, higher_is_better=True))
    save("train_throughput", {"samples_per_second": results, "hidden": HIDDEN, "targets": targets})


if __name__ == "__main__":
    main()
