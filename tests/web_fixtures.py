"""Fixtures for the browser's preprocessing (rnnviz/web/preprocess.js), written by its reference,
rnnviz/preprocess.py, for tests/web/preprocess.test.mjs to compare against.

`write(folder, records, drawings)` writes into `folder` one `manifest.json` and the raw arrays it names
(`.bin.gz` files: gzip of the array's bytes, little-endian, row-major, no header; the manifest gives their
dtype and shape; gzip because drawings are mostly black):

    {"constants": {"BOX": 20, ...},   the reference's constants by name (ROWS, COLS, MAX_BRUSH from rnnviz/config.py)
     "pillow": "13.0.0",              the Pillow that resized (its pass order changed in 13.0)
     "drawings": [{                   canvas drawings: pen digits replayed, then the edge cases
        "name": "pen-0003-digit-7",
        "width": 280, "height": 280,  the canvas's size, px
        "rgba": "0007-rgba.bin.gz",         uint8 (height, width, 4), as a canvas's getImageData gives
        "ink": "0008-ink.bin.gz",           float32 (height, width): ink_from_canvas(rgba)
        "image": "0009-image.bin.gz",       float32 (28, 28): preprocess_canvas(rgba); null when it refuses
        "error": null,                      what EmptyCanvasError says when it refuses
        "crop": [top, left, height, width], the box of the ink (first crop); null when it refuses
        "strokeWidth": 9.65,                the brush width measured at WORK_BOX (twice the median distance
                                            from the centre lines to the edges); null for ink too faint to thin
        "redrawn": [height, width],         the size after normalize_strokes (cropped again)
        "placed": [top, left, height, width]  where the scaled digit sits in the 28x28 field
        }, ...],
     "resizes": [{"size": [h, w], "input": file (float32 (h, w)), "outSize": [h, w],
                  "output": file (float32)}],         PIL's BOX resize of a mode "F" image
     "skeletons": [{"size": [h, w], "mask": file (uint8 0/1), "skeleton": file (uint8 0/1),
                    "inside": file, "outside": file}]  skeletonize(mask); distance_transform_edt of the mask
                                                       and of its inverse, float64
     "centrings": [{"size": [h, w], "digit": file (float32), "field": file (float32 (28, 28))}]
                                                      centre_by_mass(digit); half of them symmetric, so that
                                                      the centre of mass often falls on a half pixel
    }

Run as `python -m tests.web_fixtures FOLDER [DRAWINGS]` to write them by hand (e.g. for `node --test`).
"""

import gzip
import json
import sys
from pathlib import Path

import numpy as np
import PIL
from PIL import Image
from scipy import ndimage
from skimage.morphology import skeletonize

from rnnviz import config, preprocess
from rnnviz.data import pendigits
from rnnviz.preprocess import EmptyCanvasError, ink_from_canvas, preprocess_canvas

CONSTANTS = ("BOX", "CENTRE", "STROKE_WIDTH", "WORK_BOX", "MAX_SIDE", "INK_LEVEL", "MIN_EXTENT")
BRUSHES = (8, 40)  # px, the range of brush widths the pen digits are drawn with
HEIGHTS = (0.1, 0.95)  # of the canvas, the range of the digits' heights


class Writer:
    """Writes arrays into a folder, each under a new numbered name."""

    def __init__(self, folder: Path):
        self.folder, self.count = Path(folder), 0

    def array(self, kind: str, values: np.ndarray, dtype: str) -> str:
        self.count += 1
        name = f"{self.count:04d}-{kind}.bin.gz"
        (self.folder / name).write_bytes(gzip.compress(np.ascontiguousarray(values, dtype=dtype).tobytes(), 1))
        return name


def reference_steps(rgba: np.ndarray) -> dict:
    """What preprocess_canvas(rgba) computes on the way, step by step, with the reference's own functions."""
    ink = ink_from_canvas(rgba)
    rows, cols = (np.flatnonzero((ink > preprocess.INK_LEVEL).any(axis=axis)) for axis in (1, 0))
    cropped = preprocess._crop_to_ink(ink)
    mask = np.pad(preprocess._fit(cropped, preprocess.WORK_BOX) > 0.5, preprocess.WORK_BOX // 4)
    centre_lines = skeletonize(mask)
    width = 2 * float(np.median(ndimage.distance_transform_edt(mask)[centre_lines])) if centre_lines.any() else None
    redrawn = preprocess.normalize_strokes(cropped)
    digit = np.clip(preprocess._fit(redrawn, preprocess.BOX), 0.0, 1.0)
    digit /= max(float(digit.max()), 1e-6)
    com_row, com_col = ndimage.center_of_mass(digit)
    top = int(np.clip(round(preprocess.CENTRE - com_row), 0, config.ROWS - digit.shape[0]))
    left = int(np.clip(round(preprocess.CENTRE - com_col), 0, config.COLS - digit.shape[1]))
    return {"crop": [int(rows[0]), int(cols[0]), *cropped.shape], "strokeWidth": width,
            "redrawn": list(redrawn.shape), "placed": [top, left, *digit.shape]}


def drawing(writer: Writer, name: str, rgba: np.ndarray) -> dict:
    """One drawing's entry: its pixels and what the reference makes of them."""
    height, width = rgba.shape[:2]
    entry = {"name": name, "width": width, "height": height, "rgba": writer.array("rgba", rgba, "u1"),
             "ink": writer.array("ink", ink_from_canvas(rgba), "<f4"), "image": None, "error": None,
             "crop": None, "strokeWidth": None, "redrawn": None, "placed": None}
    try:
        image = preprocess_canvas(rgba)
    except EmptyCanvasError as error:
        return {**entry, "error": str(error)}
    return {**entry, "image": writer.array("image", image, "<f4"), **reference_steps(rgba)}


def pen_drawings(records: list[dict], count: int, rng: np.random.Generator):
    """(name, rgba) for `count` pen digits spread over the records, with brushes and heights across their
    ranges; most on the app's 280 px canvas, some as a 2x screen sends them (560 px) and some smaller (200 px)."""
    for number, index in enumerate(np.linspace(0, len(records) - 1, count).astype(int)):
        record = records[index]
        canvas = (560, 200, *[config.CANVAS_SIDE] * 8)[number % 10]
        brush = rng.uniform(*BRUSHES) * canvas / config.CANVAS_SIDE
        strokes = pendigits.place(record["strokes"], rng.uniform(*HEIGHTS), brush, rng, canvas)
        yield f"pen-{index:04d}-digit-{record['label']}", pendigits.render(strokes, brush, canvas)


def line(points, brush: float, canvas: int = config.CANVAS_SIDE) -> np.ndarray:
    """One stroke through `points` (x, y in canvas pixels), as the canvas paints it."""
    return pendigits.render([np.asarray(points, dtype=np.float64)], brush, canvas)


def edge_drawings(records: list[dict], rng: np.random.Generator):
    """(name, rgba) for the cases pen digits rarely give: nothing, specks, extremes of shape and ink."""
    side = config.CANVAS_SIDE
    black = np.zeros((side, side, 4), np.uint8)
    black[..., 3] = 255
    yield "empty", black
    yield "transparent-white", np.dstack([np.full((side, side, 3), 255, np.uint8), np.zeros((side, side), np.uint8)])
    dot, speck_2px, line_3px = black.copy(), black.copy(), black.copy()
    dot[140, 140, :3] = 255
    speck_2px[100:102, 50:52, :3] = 255
    line_3px[200, 10:13, :3] = 255  # exactly MIN_EXTENT long: a digit, if a poor one
    yield "dot", dot
    yield "speck-2px", speck_2px
    yield "line-3px", line_3px
    digit = records[7]["strokes"]
    yield "thin-strokes", pendigits.render(pendigits.place(digit, 0.8, 2, rng), 2)
    yield "hairline", pendigits.render(pendigits.place(digit, 0.5, 1, rng), 1)
    yield "very-wide", line([(5, 140), (90, 120), (190, 150), (275, 135)], 10)
    yield "wide-digit", stretched(digit, 4.0, 1.0, 14)
    yield "tall-1", line([(140, 4), (141, 276)], 12)
    yield "tall-thin-1", line([(60, 2), (62, 278)], 3)
    yield "bold-blob", line([(120, 120), (160, 160)], 120)
    faint = pendigits.render(pendigits.place(digit, 0.7, 20, rng), 20)
    faint[..., :3] = (faint[..., :3] * 0.4).astype(np.uint8)  # above INK_LEVEL, below the 0.5 of the work box
    yield "faint-ink", faint
    yield "touching-edges", line([(-20, -20), (300, 300), (300, -20), (-20, 300)], 24)
    yield "touching-edges-digit", stretched(digit, 1.1, 1.1, 30)
    yield "coloured-translucent", coloured(pendigits.render(pendigits.place(digit, 0.6, 18, rng), 18), rng)
    yield "random-pixels", rng.integers(0, 256, (30, 40, 4), dtype=np.uint8)
    yield "every-brightness-and-alpha", every_brightness_and_alpha()
    yield "not-square", pendigits.render(pendigits.place(digit, 0.6, 16, rng, 220), 16, 220)[:, :180]


def stretched(strokes, x_scale: float, y_scale: float, brush: float) -> np.ndarray:
    """A digit filling the canvas, stretched by (x_scale, y_scale) about its centre (what leaves the canvas is lost)."""
    side = config.CANVAS_SIDE
    points = [np.asarray(stroke, dtype=np.float64).reshape(-1, 2) for stroke in strokes]
    return pendigits.render([((p - 0.5) * [x_scale, y_scale] + 0.5) * side for p in points], brush)


def coloured(rgba: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A drawing in a colour, with varying alpha (as a translucent brush on a transparent canvas gives)."""
    out = rgba.copy()
    out[..., :3] = (rgba[..., :3] * np.array([1.0, 0.55, 0.3])).astype(np.uint8)
    out[..., 3] = np.where(rgba[..., 0] > 0, rng.integers(120, 256, rgba.shape[:2]), 0)
    return out


def every_brightness_and_alpha() -> np.ndarray:
    """A canvas with every pair of r + g + b (0..765, along a row) and alpha (0..255, down a column)."""
    total, alpha = np.meshgrid(np.arange(766), np.arange(256))
    red = np.minimum(total, 255)
    green = np.minimum(total - red, 255)
    return np.dstack([red, green, total - red - green, alpha]).astype(np.uint8)


def resizes(writer: Writer, rng: np.random.Generator, count: int) -> list[dict]:
    """PIL's BOX resize of float images of many sizes, up and down, one side kept now and then."""
    entries = []
    for number in range(count):
        height, width = (int(n) for n in rng.integers(1, 160, 2))
        out = [int(n) for n in rng.integers(1, 100, 2)]
        if number % 5 == 1:
            out[0] = height
        elif number % 5 == 2:
            out[1] = width
        values = (rng.random((height, width)) ** 2 * rng.choice([1.0, 1e-3, 7.0])).astype(np.float32)
        image = Image.fromarray(values, mode="F").resize(out[::-1], Image.Resampling.BOX)
        entries.append({"size": [height, width], "input": writer.array("resize-in", values, "<f4"), "outSize": out,
                         "output": writer.array("resize-out", np.asarray(image, dtype=np.float32), "<f4")})
    return entries


def skeletons(writer: Writer, rng: np.random.Generator, count: int) -> list[dict]:
    """skimage's skeleton and scipy's distances of random blobs."""
    entries = []
    for _ in range(count):
        height, width = (int(n) for n in rng.integers(3, 70, 2))
        mask = rng.random((height, width)) < rng.uniform(0.05, 0.6)
        mask = ndimage.binary_dilation(mask, iterations=int(rng.integers(0, 4))) if mask.any() else mask
        mask[rng.integers(0, height), :] = False  # at least one background pixel for the distances
        mask[:, rng.integers(0, width)] |= rng.random() < 0.5  # now and then a line from border to border
        entries.append({"size": [height, width], "mask": writer.array("mask", mask, "u1"),
                        "skeleton": writer.array("skeleton", skeletonize(mask), "u1"),
                        "inside": writer.array("inside", ndimage.distance_transform_edt(mask), "<f8"),
                        "outside": writer.array("outside", ndimage.distance_transform_edt(~mask), "<f8")})
    return entries


def centrings(writer: Writer, rng: np.random.Generator, count: int) -> list[dict]:
    """centre_by_mass of random digits, half of them symmetric: their centres of mass fall on half pixels, where
    the rounding (and so the order numpy sums in) decides the placement."""
    entries = []
    for number in range(count):
        digit = rng.random([int(n) for n in rng.integers(1, preprocess.BOX + 1, 2)]).astype(np.float32) ** 3
        if number % 2:
            digit = digit + digit[::-1] + digit[:, ::-1] + digit[::-1, ::-1]
        digit /= max(float(digit.max()), 1e-6)
        entries.append({"size": list(digit.shape), "digit": writer.array("digit", digit, "<f4"),
                        "field": writer.array("field", preprocess.centre_by_mass(digit), "<f4")})
    return entries


def write(folder, records: list[dict], drawings: int = 200, seed: int = 0) -> dict:
    """Write the fixtures (`drawings` pen digits, the edge cases, the building blocks) into `folder`; the manifest."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    rng, writer = np.random.default_rng(seed), Writer(folder)
    cases = [*pen_drawings(records, drawings, rng), *edge_drawings(records, rng)]
    constants = {**{name: getattr(config, name) for name in ("ROWS", "COLS", "MAX_BRUSH")},
                 **{name: getattr(preprocess, name) for name in CONSTANTS}}
    manifest = {"pillow": PIL.__version__, "constants": constants,
                "drawings": [drawing(writer, name, rgba) for name, rgba in cases],
                "resizes": resizes(writer, rng, 150), "skeletons": skeletons(writer, rng, 100),
                "centrings": centrings(writer, rng, 200)}
    (folder / "manifest.json").write_text(json.dumps(manifest, indent=1))
    return manifest


if __name__ == "__main__":
    write(sys.argv[1], pendigits.load(pendigits.default_path()), *map(int, sys.argv[2:3]))
