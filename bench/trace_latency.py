"""One drawing through the whole pipeline: preprocess_canvas, then a trace by each of the three
shipped models, with the probabilities after every step, then for the selected model (the LSTM)
the unsure verdict and the nearest training digits of the answer and the runner-up. What the app
computes per prediction.

    python -m bench.trace_latency [--drawings 200]

Real pen digits replayed as 280x280 canvas drawings; one torch thread, as in the app.
Target: median < 10 ms for all of it.
"""

import argparse
import time

import numpy as np
import torch

from bench.report import save, stats, target
from rnnviz import CELL_TYPES, load_model, neighbours, preprocess_canvas, reading, trace
from rnnviz.data import pendigits
from rnnviz.serving.store import shipped_path


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--drawings", type=int, default=200)
    args = parser.parse_args()
    torch.set_num_threads(1)  # as app.py
    models = {cell: load_model(shipped_path(cell)) for cell in CELL_TYPES}
    index = neighbours.saved_index(shipped_path("lstm"))
    rng = np.random.default_rng(0)
    records = pendigits.load(pendigits.default_path())[: args.drawings]
    canvases = [pendigits.render(pendigits.place(r["strokes"], rng.uniform(0.4, 0.9), 18, rng), 18) for r in records]

    for canvas in canvases[:5]:  # warm-up
        [trace(model, preprocess_canvas(canvas)) for model in models.values()]
    times = {"preprocess": [], **{cell: [] for cell in models}, "unsure": [], "neighbours": [], "total": []}
    for canvas in canvases:
        start = time.perf_counter()
        image = preprocess_canvas(canvas)
        times["preprocess"].append(time.perf_counter() - start)
        for cell, model in models.items():
            begun = time.perf_counter()
            traced = trace(model, image)
            times[cell].append(time.perf_counter() - begun)
            if cell == "lstm":
                selected = traced
        begun = time.perf_counter()
        reading.judge(selected.hidden[-1], selected.probs[-1], index)
        times["unsure"].append(time.perf_counter() - begun)
        begun = time.perf_counter()
        neighbours.alike(index, selected.hidden[-1], selected.probs[-1])
        times["neighbours"].append(time.perf_counter() - begun)
        times["total"].append(time.perf_counter() - start)
    milliseconds = {part: stats(np.array(values) * 1000) for part, values in times.items()}
    for part, summary in milliseconds.items():
        print(f"{part:10} median {summary['median']:6.2f} ms  p95 {summary['p95']:6.2f} ms")
    median = milliseconds["total"]["median"]
    whole = target("median ms, preprocess + 3 traces + unsure + neighbours", median, 10)
    save("trace_latency", {"ms": milliseconds, "targets": [whole]})


if __name__ == "__main__":
    main()
