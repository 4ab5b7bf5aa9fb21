"""Training speed: our training loop (rnnviz.train.train, with the shipped recipe's augmentation,
clipping, the learning-rate schedule, progress reports and the progress bar) against a bare
nn.RNN/GRU/LSTM + linear + Adam loop on pre-loaded tensors, and against Keras 3 `model.fit`
(bench/keras_fit.py)
where tensorflow-cpu is importable, at 1 torch thread and at the machine's default thread count.

    RNNVIZ_DATA=../shared/mnist python -m bench.train_throughput [--samples 6400] [--repeats 3]
    # with Keras: tensorflow-cpu in another environment (never in requirements-dev.txt, CI must not install it)
    python -m venv --system-site-packages /tmp/venv-tf && /tmp/venv-tf/bin/pip install tensorflow-cpu
    RNNVIZ_DATA=../shared/mnist python -m bench.train_throughput --keras-python /tmp/venv-tf/bin/python

Every run is its own process (so thread settings and OpenMP's wait policy are fresh), the loops
alternate (so that all see the same machine), and the median of the repeats is kept. Hidden 100,
batch 128; samples/s are timed from the 5th batch to the last (warm-up, compilation and
evaluation excluded). ours and bare run with OpenMP's short spin, as `import rnnviz` sets it
(rnnviz/device.py); "bare, spin-wait" is the bare loop with libgomp's default spin, which is what a
plain script gets: the peer a user compares with. "bare, augmented" is the bare loop augmenting each
chunk of images between its steps: with no core spare, augmentation cannot overlap training, so this
is the most ours can reach (the bound, measured; its arithmetic, step + augmentation, is stored too).
Targets: ours >= 0.9x bare and >= 1.3x Keras, at both thread counts; where no core is spare,
ours >= 0.9x bare, augmented.
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from bench.report import save, target
from rnnviz import CELL_TYPES
from rnnviz.config import COLS, NUM_CLASSES
from rnnviz.data.augment import augment
from rnnviz.data.mnist import load_mnist
from rnnviz.device import SHORT_SPIN
from rnnviz.recipes import recipe_settings
from rnnviz.train import train

HIDDEN = 100
BATCH_SIZE = 128
WARMUP = 5  # batches not timed
AUGMENT_CHUNK = 1024  # images augmented at once, as rnnviz.data.batches does
LOOPS = ("ours", "bare", "bare, augmented", "bare, spin-wait", "keras")
DEFAULT_SPIN = "300000"  # libgomp's own GOMP_SPINCOUNT, what a script that does not import rnnviz gets
FROM_SCRATCH = {"lstm": "lstm-mnist", "gru": "gru-mnist", "rnn": "rnn-mnist"}  # MNIST-only recipes


def samples_per_second(times: list[float]) -> float:
    """Throughput from the end time of every batch, leaving out the first WARMUP batches."""
    return (len(times) - WARMUP) * BATCH_SIZE / (times[-1] - times[WARMUP - 1])


def ours(cell: str, samples: int) -> float:
    """rnnviz.train.train itself, on the recipe of the cell's shipped model (its MNIST stage, with its
    augmentation), timed by its progress reports."""
    times = []

    def note(progress):
        if progress.val_accuracy is None:  # a batch, not the end-of-epoch report
            times.append(time.perf_counter())

    settings = recipe_settings(FROM_SCRATCH[cell], batch_size=BATCH_SIZE, epochs=1, limit=samples)
    with open(os.devnull, "w") as quiet:  # the bar is drawn, as in the CLI, but not shown
        stderr, sys.stderr = sys.stderr, quiet
        try:
            train(settings, on_progress=note, show_bar=True, device="cpu")
        finally:
            sys.stderr = stderr
    return samples_per_second(times)


def bare(cell: str, samples: int, augmented: bool = False) -> dict:
    """The textbook loop: no clipping, schedule or reporting, and no augmentation unless `augmented`, when
    the shipped augmentation runs between the steps, AUGMENT_CHUNK images at a time, on the same threads
    (what ours does when no core is spare: the bound). Unaugmented, it also measures what augmenting a
    batch costs (ms), for the bound's arithmetic."""
    images, labels = load_mnist("train")
    strength = recipe_settings(FROM_SCRATCH[cell]).augment
    torch.manual_seed(0)
    rnn = {"rnn": nn.RNN, "gru": nn.GRU, "lstm": nn.LSTM}[cell](COLS, HIDDEN, batch_first=True)
    head = nn.Linear(HIDDEN, NUM_CLASSES)
    optimizer = torch.optim.Adam([*rnn.parameters(), *head.parameters()], lr=2e-3)
    generator, times = torch.Generator().manual_seed(0), []
    for chunk in range(0, samples, AUGMENT_CHUNK):
        chunk_images, chunk_labels = images[chunk : chunk + AUGMENT_CHUNK], labels[chunk : chunk + AUGMENT_CHUNK]
        if augmented:
            chunk_images = augment(chunk_images, chunk_labels, generator, strength)
        for first in range(0, len(chunk_labels), BATCH_SIZE):
            outputs, _ = rnn(chunk_images[first : first + BATCH_SIZE])  # (B, steps, hidden)
            loss = F.cross_entropy(head(outputs[:, -1]), chunk_labels[first : first + BATCH_SIZE])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            times.append(time.perf_counter())
    if augmented:
        return {"samples_per_second": samples_per_second(times)}
    costs = []
    for _ in range(5):
        started = time.perf_counter()
        augment(images[:AUGMENT_CHUNK], labels[:AUGMENT_CHUNK], generator, strength)
        costs.append(time.perf_counter() - started)
    return {"samples_per_second": samples_per_second(times),
            "augment_ms_per_batch": float(np.median(costs)) * 1000 * BATCH_SIZE / AUGMENT_CHUNK}


def run(loop: str, cell: str, threads: int, samples: int, python: str, arrays: Path) -> dict:
    """One measurement in a fresh process: {"samples_per_second": ...} (and the bare loop's augment cost)."""
    # libgomp reads its spin when torch loads, and the child imports torch before rnnviz: so the spin
    # `python -m rnnviz.train` gets from rnnviz/device.py is set here, in the child's environment.
    env = {name: value for name, value in os.environ.items() if name != "OMP_WAIT_POLICY"}
    env["GOMP_SPINCOUNT"] = DEFAULT_SPIN if loop == "bare, spin-wait" else SHORT_SPIN
    if loop == "keras":
        command = [python, "-m", "bench.keras_fit", "--cell", cell, "--threads", str(threads), "--arrays", str(arrays),
                   "--hidden", str(HIDDEN), "--batch-size", str(BATCH_SIZE), "--warmup", str(WARMUP)]
    else:
        command = [python, "-m", "bench.train_throughput", "--run", loop, "--cell", cell, "--threads", str(threads),
                   "--samples", str(samples)]
    done = subprocess.run(command, env=env, capture_output=True, text=True)
    if done.returncode:
        raise RuntimeError(f"{' '.join(command)} failed:\n{done.stderr[-2000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def keras_python(given: str | None) -> str | None:
    """A Python that can import tensorflow: --keras-python, else this one if it can, else None."""
    for python in (given, sys.executable):
        if python and subprocess.run([python, "-c", "import tensorflow"], capture_output=True).returncode == 0:
            return python
    return None


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=6400, help="training images per run")
    parser.add_argument("--repeats", type=int, default=3, help="runs of each loop (the median is kept)")
    parser.add_argument("--cells", nargs="+", default=list(CELL_TYPES), choices=CELL_TYPES)
    parser.add_argument("--keras-python", help="a Python with tensorflow-cpu installed (default: this one, if it has)")
    parser.add_argument("--run", choices=LOOPS[:-1], help=argparse.SUPPRESS)  # one measurement, in a child process
    parser.add_argument("--cell", choices=CELL_TYPES, help=argparse.SUPPRESS)
    parser.add_argument("--threads", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.run:
        torch.set_num_threads(args.threads)
        if args.run == "ours":
            print(json.dumps({"samples_per_second": ours(args.cell, args.samples)}))
        else:
            print(json.dumps(bare(args.cell, args.samples, augmented=args.run == "bare, augmented")))
        return

    samples = args.samples // BATCH_SIZE * BATCH_SIZE
    tensorflow_python = keras_python(args.keras_python)
    loops = [loop for loop in LOOPS if loop != "keras" or tensorflow_python]
    if not tensorflow_python:
        print("tensorflow is not importable: Keras is left out (see --keras-python)")
    images, labels = load_mnist("train")
    arrays = Path(tempfile.mkdtemp()) / "mnist.npz"  # Keras's copy of the images the bare loop reads
    np.savez(arrays, images=images[:samples].numpy(), labels=labels[:samples].numpy())
    results, targets = {}, []
    for threads in sorted({1, torch.get_num_threads()}):
        for cell in args.cells:
            runs, loads, augment_ms = {loop: [] for loop in loops}, [], []
            for _ in range(args.repeats):  # alternate, so that every loop sees the same machine
                for loop in loops:
                    python = tensorflow_python if loop == "keras" else sys.executable
                    measured = run(loop, cell, threads, samples, python, arrays)
                    runs[loop].append(round(measured["samples_per_second"]))
                    if loop == "bare":
                        augment_ms.append(measured["augment_ms_per_batch"])
                    loads.append(round(os.getloadavg()[0], 2))
            speed = {loop: round(float(np.median(values))) for loop, values in runs.items()}
            # With no spare core, augmentation cannot overlap the steps: each batch costs the bare step plus
            # augmenting it (both on all threads), so ours / bare cannot exceed step / (step + augment).
            step_ms = 1000 * BATCH_SIZE / speed["bare"]
            augment_cost = float(np.median(augment_ms))
            spare_core = threads < (os.cpu_count() or 1)  # then ours augments in a background thread
            bound = 1.0 if spare_core else step_ms / (step_ms + augment_cost)
            print(f"{threads} thread(s), {cell}: " + ", ".join(f"{loop} {value}" for loop, value in speed.items())
                  + f"; bare step {step_ms:.1f} ms, augmentation {augment_cost:.1f} ms per batch, bound {bound:.2f}")
            results[f"{threads} thread(s)/{cell}"] = {
                "samples_per_second": speed, "runs": runs, "load_average_1_min": loads,
                "bare_step_ms": round(step_ms, 2), "augment_ms_per_batch": round(augment_cost, 2),
                "ours_over_bare_bound": round(bound, 3)}
            targets.append(target(f"{threads} thread(s), {cell}: ours / bare", speed["ours"] / speed["bare"], 0.9,
                                  higher_is_better=True))
            targets.append(target(f"{threads} thread(s), {cell}: ours / bare as a plain script (default spin)",
                                  speed["ours"] / speed["bare, spin-wait"], 0.9, higher_is_better=True))
            if not spare_core:  # the bound, measured: the bare loop augmenting between its steps
                targets.append(target(f"{threads} thread(s), {cell}: ours / bare, augmented (the bound, measured)",
                                      speed["ours"] / speed["bare, augmented"], 0.9, higher_is_better=True))
            if "keras" in speed:  # the bare loop's own ratio says how far the 1.3x target is from PyTorch's reach
                results[f"{threads} thread(s)/{cell}"]["bare_over_keras"] = round(
                    max(speed["bare"], speed["bare, spin-wait"]) / speed["keras"], 3)
                targets.append(target(f"{threads} thread(s), {cell}: ours / Keras", speed["ours"] / speed["keras"],
                                      1.3, higher_is_better=True))
    save("train_throughput", {"samples_per_second": results, "hidden": HIDDEN, "batch_size": BATCH_SIZE,
                              "samples": samples, "keras": bool(tensorflow_python), "targets": targets})


if __name__ == "__main__":
    main()
