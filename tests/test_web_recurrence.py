"""The browser's recurrence (rnnviz/web/recurrence.js) reads digits exactly as rnnviz/recurrence.py does: the
shipped models' weights (as the server sends them), real MNIST test digits, a few what-ifs and the reference's
traces are written here, then Node's test runner checks the JS against them (tests/web/recurrence.test.mjs).

The reference computes in float32, and its own rounding error grows past 1e-5 under some what-ifs (a forget
gate held at 1 makes c a running sum; a plain RNN amplifies small differences), so each trace is also written
as the same code computes it in float64 (`unroll` of a float64 copy of the model): the mirror may differ from
the reference by 1e-5 more than the reference differs from exact arithmetic there.

The fixtures, in one folder: `weights.safetensors` (rnnviz.browser_data.weights), `manifest.json` and raw
arrays (little-endian, row-major, no header; the manifest gives their shapes):

    {"weights": "weights.safetensors",
     "digits": {"file": "digits.f32", "shape": [N, 28, 28], "indices": [...], "labels": [...]},
     "runs": [{"name": "lstm keep-gate-0", "model": "<model id>", "cell": "lstm", "units": 100,
               "whatIf": {"keepGate": 0, "silenced": [], "blankRows": null},   as recurrence.js takes it
               "digits": [i, ...],                 indices into digits.f32
               "predictions": [...],               the reference's answer on each
               "quantities": {"hidden": {"file": ..., "exact": ..., "shape": [n, steps, units]}, "cell_state": ...,
                              each gate by name, "probs": (n, steps, 10), "image": (n, 28, 28) as read}}]}
                              file: float32, by rnnviz.recurrence.trace; exact: float64, by unroll in float64
"""

import copy
import json
import os
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
import torch

from rnnviz import browser_data, load_model, trace
from rnnviz.intervention import Intervention
from rnnviz.recurrence import unroll
from rnnviz.serving import store
from tests.conftest import ROOT, data_missing

NODE_TEST = ROOT / "tests" / "web" / "recurrence.test.mjs"
DIGITS = 60  # MNIST test digits, spread over the test set, each read with no what-if
WHAT_IF_DIGITS = 15  # the first of them, read under each what-if too
WHAT_IFS = {
    "keep-gate-0": Intervention(keep_gate=0.0),
    "keep-gate-1": Intervention(keep_gate=1.0),
    "silenced": Intervention(silenced=(0, 3, 42, 99)),
    "blank-rows": Intervention(blank_rows=(8, 20)),
    "all-at-once": Intervention(keep_gate=0.5, silenced=(7,), blank_rows=(27, 28)),
}


def as_js(change: Intervention) -> dict:
    """A what-if as recurrence.js takes it."""
    return {"keepGate": change.keep_gate, "silenced": list(change.silenced),
            "blankRows": list(change.blank_rows) if change.blank_rows else None}


def write_array(folder: Path, name: str, values: np.ndarray, dtype: str = "<f4") -> dict:
    """values as raw little-endian `dtype` in folder/name; its manifest entry."""
    values = np.ascontiguousarray(values, dtype=dtype)
    (folder / name).write_bytes(values.tobytes())
    return {"file": name, "shape": list(values.shape)}


def exact_traces(model, images: np.ndarray, change: Intervention) -> dict[str, np.ndarray]:
    """The reference's equations in float64 (a float64 copy of the model): each quantity, (N, steps, ...)."""
    images = torch.from_numpy(images).double()
    with torch.inference_mode():
        out = {name: values.numpy() for name, values in unroll(copy.deepcopy(model).double(), images, change).items()}
    out["probs"] = torch.softmax(torch.from_numpy(out.pop("logits")), dim=-1).numpy()
    return {**out, "image": change.images(images).numpy()}


def write_run(folder: Path, name: str, model, images: np.ndarray, digits: list[int], change: Intervention) -> dict:
    """The reference's traces of images[digits] by `model` under `change` (float32, and exact), written; the
    run's manifest entry."""
    traces = [trace(model, images[i], change) for i in digits]
    exact = exact_traces(model, images[digits], change)
    quantities = {"image": [t.image for t in traces], "hidden": [t.hidden for t in traces],
                  "probs": [t.probs for t in traces]}
    if traces[0].cell_state is not None:
        quantities["cell_state"] = [t.cell_state for t in traces]
    for gate in traces[0].gates:
        quantities[gate] = [t.gates[gate] for t in traces]
    stem = name.replace(" ", "-")
    written = {q: {**write_array(folder, f"{stem}-{q}.f32", np.stack(values)),
                   "exact": write_array(folder, f"{stem}-{q}.f64", exact[q], "<f8")["file"]}
               for q, values in quantities.items()}
    return {"name": name, "model": browser_data.model_id(model), "cell": model.cell_type, "units": model.hidden_size,
            "whatIf": as_js(change), "digits": digits, "predictions": [t.prediction for t in traces],
            "quantities": written}


def write_fixtures(folder: Path, models: dict, images: np.ndarray, labels: np.ndarray, indices: list[int]) -> dict:
    """Every fixture into `folder`: models by cell type, images (N, 28, 28) with their labels and MNIST indices."""
    (folder / "weights.safetensors").write_bytes(browser_data.weights(list(models.values())))
    runs = []
    for cell, model in models.items():
        runs.append(write_run(folder, f"{cell} no-what-if", model, images, list(range(len(images))), Intervention()))
        runs += [write_run(folder, f"{cell} {name}", model, images, list(range(WHAT_IF_DIGITS)), change)
                 for name, change in WHAT_IFS.items()]
    manifest = {"weights": "weights.safetensors",
                "digits": {**write_array(folder, "digits.f32", images), "indices": indices,
                           "labels": [int(label) for label in labels]},
                "runs": runs}
    (folder / "manifest.json").write_text(json.dumps(manifest, indent=1))
    return manifest


@pytest.mark.slow  # about 10 s: the reference's traces, then Node
def test_the_browser_reads_digits_exactly_as_pytorch_does(mnist_test, tmp_path):
    node = shutil.which("node") or data_missing("Node.js (apt-get install nodejs)")
    images, labels = mnist_test
    indices = [int(i) for i in np.linspace(0, len(images) - 1, DIGITS)]
    models = {cell: load_model(store.shipped_path(cell)) for cell in store.SHIPPED}
    manifest = write_fixtures(tmp_path, models, images[indices].numpy(), labels[indices].numpy(), indices)
    assert len(manifest["runs"]) == len(models) * (1 + len(WHAT_IFS))
    run = subprocess.run([node, "--test", str(NODE_TEST)], cwd=ROOT, capture_output=True, text=True, timeout=120,
                         env={**os.environ, "RNNVIZ_TRACE_FIXTURES": str(tmp_path)})
    assert run.returncode == 0, run.stdout + run.stderr
    assert "# fail 0" in run.stdout and "# skipped 0" in run.stdout, run.stdout
