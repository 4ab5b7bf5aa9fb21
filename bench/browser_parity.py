"""Whether the page reads a digit as rnnviz does: in the app's page (headless Chromium), the browser's own
reading (rnnviz/web: preprocess.js, recurrence.js) against rnnviz's (preprocess.py, recurrence.py with
PyTorch), for every shipped model, on MNIST test digits and on real pen digits drawn with the mouse.

    RNNVIZ_DATA=../shared/mnist python -m bench.browser_parity [--mnist 200] [--pen 150] [--app PATH]

- MNIST test digits (a seeded sample): in the page, recurrence.js `read`s each with the models parsed by
  weights.js from rnnviz.browser_data.weights' bytes, sent from here as base64; every gate, c, h and
  probability at every step is compared with rnnviz.recurrence.trace of the same digit.
- Pen digits (shared/pen-digits/dev.jsonl's first, placed as tools/browser.py pen_strokes places them): drawn
  on the real canvas with the mouse, one move from pen point to pen point, Clear between digits. Then, in the
  page: digitNow().image (the browser's 28x28), drawingNow('canvas') (the PNG the server would get) and each
  model's traceOf(id), read with the weights the page received from the server (checked equal to rnnviz's,
  tensor by tensor). The two mirrors are kept apart: image_max_abs compares the browser's image with
  preprocess_canvas(decode_drawing(PNG)); trace_max_abs compares the browser's trace with PyTorch's trace of
  the browser's own image; an answer is the same when the browser's equals PyTorch's on rnnviz's own image.
The app is served from --app (a checkout; Streamlit serves the component's files from the installed
rnnviz's folder): the files served are recorded by their sha256. Targets: traces within 1e-5, images within
2/255, the same answer on every input and model.
"""

import argparse
import base64
import hashlib
import json
import time
import urllib.request
from pathlib import Path

import numpy as np
import torch

from bench.report import save, target
from rnnviz import browser_data, load_model, trace
from rnnviz.data import pendigits
from rnnviz.data.mnist import load_mnist
from rnnviz.preprocess import EmptyCanvasError, decode_drawing, preprocess_canvas
from rnnviz.serving import store
from tools.browser import chromium, clear_canvas, draw_stroke, open_app, pen_strokes, serve
from ui.state import Key

ROOT = Path(__file__).resolve().parents[1]
PEN_DIGITS = ROOT.parent / "shared" / "pen-digits" / "dev.jsonl"
COMPONENT = "/_stcore/bidi-components/rnnviz.views"
SERVED = ("recurrence.js", "preprocess.js", "weights.js", "reading.js", "pen.js", "config.js")
TENSORS = ("inputWeight", "hiddenWeight", "inputBias", "hiddenBias", "readoutWeight", "readoutBias")  # weights.js
TIMEOUT_MS = 120_000  # a busy machine is slow: generous, never the measure
WORST = 5  # the worst cases kept, per measure
MOUSE_STEPS = 1  # mouse moves from one pen point to the next (draw_stroke's default, 4, takes 4x the page's time)

# In the page: the modules the views use (the component's own URLs), and window.parity to read with them.
SETUP = """async ([component, weights64, key, tensors]) => {
  const [reading, recurrence, weights, pen] = await Promise.all(['reading.js', 'recurrence.js', 'weights.js',
    'pen.js'].map(file => import(`${location.origin}${component}/${file}`)));
  const bytes = text => Uint8Array.from(atob(text), c => c.charCodeAt(0));
  const base64 = floats => {
    const all = new Uint8Array(floats.buffer, floats.byteOffset, floats.byteLength);
    let text = '';
    for (let i = 0; i < all.length; i += 8192) text += String.fromCharCode(...all.subarray(i, i + 8192));
    return btoa(text);
  };
  const packed = trace => {  // a trace's quantities, one after the other, as base64 float32
    const names = ['hidden', ...(trace.cell_state ? ['cell_state'] : []), ...Object.keys(trace.gates), 'probs'];
    const parts = names.map(name => trace.gates[name] ?? trace[name]);
    const all = new Float32Array(parts.reduce((n, part) => n + part.length, 0));
    parts.reduce((at, part) => { all.set(part, at); return at + part.length; }, 0);
    return {names, values: base64(all)};
  };
  const ours = weights.parseWeights(bytes(weights64)), changed = {at: 0};
  reading.onDigit(() => { changed.at = performance.now(); });
  const frame = () => new Promise(resolve => requestAnimationFrame(resolve));
  const decoded = async url => {  // the PNG read back as pen.js reads the canvas's layers
    const image = new Image();
    image.src = url;
    await image.decode();
    const canvas = Object.assign(document.createElement('canvas'), {width: image.width, height: image.height});
    const context = canvas.getContext('2d', {willReadFrequently: true});
    context.drawImage(image, 0, 0);
    return pen.readDrawing(context);
  };
  window.parity = {
    changed,
    read: image64 => Object.fromEntries([...ours].map(([id, model]) =>
      [id, packed(recurrence.read(model, new Float32Array(bytes(image64).buffer)))])),
    empty: () => reading.digitNow().image === null,
    drawing: async () => {  // after two frames: the digit read now, the PNG, each model's trace, and whether
      await frame(); await frame();  // the digit is the PNG's (else it was read from older pixels)
      const digit = reading.digitNow(), url = pen.drawingNow(key), again = await decoded(url);
      const fresh = String(again.image) === String(digit.image) && again.error === digit.error;
      return {image: digit.image && base64(digit.image), error: digit.error ?? null, url, fresh,
              traces: Object.fromEntries([...ours.keys()].map(id => [id, digit.image && packed(reading.traceOf(id))]))};
    },
    weights: () => Object.fromEntries([...ours].map(([id, model]) => {  // those the page received from the server
      const received = reading.model(id);
      return [id, !received ? 'missing' : tensors.every(name => String(received[name]) === String(model[name]))
        ? 'received, the same' : 'received, different'];
    })),
  };
}"""
WEIGHTS_ARRIVED = "() => !Object.values(window.parity.weights()).includes('missing')"
CHANGED_SINCE_MOUSE_UP = "() => window.parity.changed.at > window.rnnviz.mouseups.at(-1)"


def floats(text: str) -> np.ndarray:
    """base64 of little-endian float32 (as SETUP's `base64` writes them) as an array."""
    return np.frombuffer(base64.b64decode(text), dtype="<f4").copy()


def unpack(packed: dict, units: int) -> dict[str, np.ndarray]:
    """A trace from the page (SETUP's `packed`): each quantity, (steps, units) or (steps, 10) for probs."""
    values, out, at = floats(packed["values"]), {}, 0
    for name in packed["names"]:
        size = 28 * (10 if name == "probs" else units)
        out[name] = values[at:at + size].reshape(28, -1)
        at += size
    return out


def compare(browser: dict[str, np.ndarray], reference, answer: int | None = None) -> dict:
    """The browser's trace against rnnviz's: the largest difference and where; the browser's answer against
    `answer` (by default the reference's)."""
    expected = {"hidden": reference.hidden, **reference.gates, "probs": reference.probs}
    if reference.cell_state is not None:
        expected["cell_state"] = reference.cell_state
    if set(browser) != set(expected):
        raise AssertionError(f"the page's trace holds {sorted(browser)}, rnnviz's {sorted(expected)}")
    worst = {"difference": -1.0}
    for name, values in expected.items():
        difference = np.abs(browser[name].astype(np.float64) - values)
        step, unit = np.unravel_index(np.argmax(difference), difference.shape)
        if difference[step, unit] > worst["difference"]:
            worst = {"difference": float(difference[step, unit]), "quantity": name, "step": int(step) + 1,
                     "unit": int(unit), "browser": float(browser[name][step, unit]),
                     "pytorch": float(values[step, unit])}
    ours, theirs = int(browser["probs"][-1].argmax()), reference.prediction if answer is None else answer
    return {"trace_max_abs": worst.pop("difference"), "worst": worst, "browser_answer": ours, "pytorch_answer": theirs,
            "same_answer": ours == theirs}


def mnist_sample(count: int) -> list[tuple[str, np.ndarray]]:
    """(name, image) of `count` MNIST test digits, a seeded sample."""
    images, labels = load_mnist("test", download=False)
    chosen = np.sort(np.random.default_rng(0).choice(len(images), count, replace=False))
    return [(f"mnist-test-{i:04d} (a {int(labels[i])})", images[i].numpy()) for i in chosen]


def check_mnist(page, models: dict, ids: dict, digits) -> list[dict]:
    """Each MNIST digit read in the page with each model, against rnnviz's trace of it."""
    results = []
    for name, image in digits:
        traces = page.evaluate("image => window.parity.read(image)", base64.b64encode(image.astype("<f4")).decode())
        results.append({"source": "mnist", "input": name, "models": {
            cell: compare(unpack(traces[ids[cell]], model.hidden_size), trace(model, image))
            for cell, model in models.items()}})
    return results


def read_drawing(page, tries: int = 5) -> dict:
    """What the page reads of the drawing now (SETUP's `drawing`), once its digit is the drawing's PNG."""
    for _ in range(tries):
        drawn = page.evaluate("() => window.parity.drawing()")
        if drawn["fresh"]:
            break
        page.wait_for_timeout(200)
    return drawn


def pen_result(name: str, drawn: dict, models: dict, ids: dict) -> dict:
    """One drawing: the browser's image against rnnviz's of the same PNG, the browser's traces against PyTorch's
    of the browser's image, and the answers against PyTorch's on rnnviz's image."""
    result = {"source": "pen", "input": name, "fresh": drawn["fresh"], "browser_refused": drawn["error"]}
    try:
        ours, result["rnnviz_refused"] = preprocess_canvas(decode_drawing(drawn["url"])), None
    except EmptyCanvasError as error:
        ours, result["rnnviz_refused"] = None, str(error)
    if ours is None or drawn["image"] is None:
        return result
    browser = floats(drawn["image"]).reshape(28, 28)
    difference = np.abs(browser.astype(np.float64) - ours)
    row, col = np.unravel_index(np.argmax(difference), difference.shape)
    result["image_max_abs"] = float(difference[row, col])
    result["image_worst"] = {"row": int(row), "col": int(col), "browser": float(browser[row, col]),
                             "rnnviz": float(ours[row, col]), "pixels_differing": int((difference > 0).sum())}
    result["models"] = {cell: compare(unpack(drawn["traces"][ids[cell]], model.hidden_size), trace(model, browser),
                                      trace(model, ours).prediction) for cell, model in models.items()}
    return result


def check_pen(page, models: dict, ids: dict, records) -> list[dict]:
    """Each pen digit (index, record) drawn on the canvas, read by the page and by rnnviz; Clear after each."""
    results = []
    for index, record in records:
        for stroke in pen_strokes(record, index):
            draw_stroke(page, stroke, steps=MOUSE_STEPS)
        page.wait_for_function(CHANGED_SINCE_MOUSE_UP, timeout=TIMEOUT_MS)
        results.append(pen_result(f"pen-dev-{index:04d} (a {record['label']})", read_drawing(page), models, ids))
        clear_canvas(page, wait=False)
        page.wait_for_function("() => window.parity.empty()", timeout=TIMEOUT_MS)
    return results


def digests(url: str) -> dict[str, str]:
    """The component's files as served now: file -> sha256."""
    found = {}
    for name in SERVED:
        with urllib.request.urlopen(f"{url}{COMPONENT}/{name}", timeout=10) as response:
            found[name] = hashlib.sha256(response.read()).hexdigest()
    return found


def served_files(at_start: dict[str, str], at_end: dict[str, str]) -> dict:
    """What was served: each file's sha256 (first 12 hex digits) when the page opened, the files that are not this
    checkout's, and those that changed while the benchmark ran (the app was edited meanwhile)."""
    here = {name: hashlib.sha256((ROOT / "rnnviz" / "web" / name).read_bytes()).hexdigest() for name in SERVED}
    return {"sha256": {name: digest[:12] for name, digest in at_start.items()},
            "not_this_checkouts": ", ".join(name for name in SERVED if at_start[name] != here[name]) or "none",
            "changed_during_the_run": ", ".join(name for name in SERVED if at_start[name] != at_end[name]) or "none"}


def outcomes(results: list[dict]) -> list[tuple[dict, str, dict]]:
    """(input's result, model, its comparison) for every input and model compared."""
    return [(result, cell, outcome) for result in results for cell, outcome in result.get("models", {}).items()]


def one_sided_refusals(results: list[dict]) -> list[str]:
    """The drawings that one side read and the other refused."""
    return [r["input"] for r in results if (r.get("browser_refused") is None) != (r.get("rnnviz_refused") is None)]


def source_summary(results: list[dict], cells: list[str]) -> dict:
    """One source's numbers: the largest trace difference (all, and by model), the answers that differ (input x
    model; a drawing only one side refused counts for every model), and for drawings the images' differences."""
    pairs, one_sided = outcomes(results), one_sided_refusals(results)
    out = {"n": len(results), "trace_max_abs": max(o["trace_max_abs"] for _, _, o in pairs),
           "trace_max_abs_by_model": {cell: max(o["trace_max_abs"] for _, c, o in pairs if c == cell)
                                      for cell in cells},
           "answers_differ": sum(not o["same_answer"] for _, _, o in pairs) + len(one_sided) * len(cells)}
    out["same_answer"] = out["answers_differ"] == 0
    images = [r["image_max_abs"] for r in results if "image_max_abs" in r]
    if images:
        out.update(image_max_abs=max(images), images_exact=sum(v == 0 for v in images),
                   images_over_2_of_255=sum(v > 2 / 255 for v in images),
                   refused_by_both=sum(bool(r["browser_refused"] and r["rnnviz_refused"]) for r in results),
                   refused_by_one=len(one_sided), not_fresh=sum(not r["fresh"] for r in results))
    return out


def worst_cases(results: list[dict]) -> dict:
    """The WORST largest trace and image differences (which input, model, quantity, step, unit or pixel; images
    only where they differ at all), and every input whose answers differ."""
    traces = sorted(outcomes(results), key=lambda found: found[2]["trace_max_abs"], reverse=True)[:WORST]
    images = sorted((r for r in results if r.get("image_max_abs")), key=lambda r: r["image_max_abs"], reverse=True)
    return {
        "traces": [{"input": r["input"], "model": cell, "difference": o["trace_max_abs"], **o["worst"]}
                   for r, cell, o in traces],
        "images": [{"input": r["input"], "difference": r["image_max_abs"], **r["image_worst"]} for r in images[:WORST]],
        "answers": [{"input": r["input"], "model": cell, "browser": o["browser_answer"], "pytorch": o["pytorch_answer"]}
                    for r, cell, o in outcomes(results) if not o["same_answer"]]
                   + [{"input": name, "refused_by_one_side": True} for name in one_sided_refusals(results)],
    }


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mnist", type=int, default=200, help="MNIST test digits read in the page")
    parser.add_argument("--pen", type=int, default=150, help="pen digits drawn on the canvas (dev.jsonl's first)")
    parser.add_argument("--app", type=Path, default=ROOT, help="the checkout whose app.py is served (default: this)")
    return parser.parse_args()


def measure(args, models: dict, ids: dict) -> dict:
    """Serve the app, open it, and compare: {"page_weights", "served", "mnist", "pen", "seconds"}."""
    weights64 = base64.b64encode(browser_data.weights(list(models.values()))).decode()
    digits = mnist_sample(args.mnist)
    records = list(enumerate(pendigits.load(PEN_DIGITS)))[: args.pen]
    with serve(cwd=args.app) as served, chromium() as browser:
        page = open_app(browser, served.url, timeout_ms=TIMEOUT_MS)
        at_start = digests(served.url)
        page.evaluate(SETUP, [COMPONENT, weights64, Key.CANVAS, list(TENSORS)])
        page.wait_for_function(WEIGHTS_ARRIVED, timeout=TIMEOUT_MS)
        page_weights = page.evaluate("() => window.parity.weights()")
        page_weights = {cell: page_weights[ids[cell]] for cell in models}
        if set(page_weights.values()) != {"received, the same"}:
            raise RuntimeError(f"the page's weights are not rnnviz's: {page_weights}")
        start = time.perf_counter()
        mnist = check_mnist(page, models, ids, digits)
        begun = time.perf_counter()
        print(f"MNIST: {len(mnist)} digits in {begun - start:.0f} s", flush=True)
        pen = check_pen(page, models, ids, records)
        print(f"pen: {len(pen)} drawings in {time.perf_counter() - begun:.0f} s", flush=True)
        seconds = {"mnist": round(begun - start, 1), "pen": round(time.perf_counter() - begun, 1)}
        return {"page_weights": page_weights, "served": served_files(at_start, digests(served.url)), "mnist": mnist,
                "pen": pen, "seconds": seconds}


def main():
    args = parse_args()
    torch.set_num_threads(1)  # as app.py
    started = time.perf_counter()
    models = {cell: load_model(store.shipped_path(cell)) for cell in store.SHIPPED}
    ids = {cell: browser_data.model_id(model) for cell, model in models.items()}
    measured = measure(args, models, ids)
    results = measured["mnist"] + measured["pen"]
    by_source = {source: source_summary(measured[source], list(models)) for source in ("mnist", "pen")}
    line = {"trace_max_abs": max(s["trace_max_abs"] for s in by_source.values()),
            "image_max_abs": by_source["pen"]["image_max_abs"],
            "same_answer": all(s["same_answer"] for s in by_source.values()), "n": len(results), **by_source}
    worst = worst_cases(results)
    for kind, cases in worst.items():
        print(f"worst {kind}:", *[json.dumps(case) for case in cases[:WORST]] or ["none"], sep="\n  ")
    checks = [target("largest difference of a trace (any gate, c, h or probability, any step), millionths",
                     line["trace_max_abs"] * 1e6, 10),
              target("largest difference of a drawing's 28x28 image, 1/255ths", line["image_max_abs"] * 255, 2),
              target("inputs x models whose answers differ", sum(s["answers_differ"] for s in by_source.values()), 1)]
    measured["seconds"]["total"] = round(time.perf_counter() - started, 1)
    save("browser_parity", {**line, "page_weights": measured["page_weights"], "served": measured["served"],
                            "seconds": measured["seconds"], "worst": worst, "targets": checks})
    print(json.dumps(line))


if __name__ == "__main__":
    main()
