"""Turn a canvas drawing into the 28x28 image the network sees, prepared the way MNIST was.

MNIST (LeCun et al.): each digit was cropped to its ink, scaled (anti-aliased) so that its
longer side is 20 px keeping the aspect ratio, and placed in a 28x28 field so that its centre
of mass sits at the centre. A canvas drawing also differs from MNIST in stroke width (a 30 px
brush on a small digit is far bolder than any pen in MNIST), so the strokes are first made as
wide as MNIST's typical stroke.
"""

import base64
import binascii
import io
import struct
from collections.abc import Mapping

import numpy as np
from PIL import Image
from scipy import ndimage
from skimage.morphology import skeletonize

from .config import CANVAS_SIDE, COLS, ROWS

BOX = 20  # the digit's longer side after scaling, px (as in MNIST)
CENTRE = 14.0  # where MNIST puts the centre of mass (row, col), pixel-index coordinates
STROKE_WIDTH = 2.0  # stroke width after scaling to the 20 px box, px (matches MNIST's median)
WORK_BOX = 80  # resolution at which strokes are thinned and redrawn (4x the 20 px box)
MAX_SIDE = 8192  # refuse larger canvases rather than exhaust memory
INK_LEVEL = 0.25  # a pixel brighter than this is ink
MIN_EXTENT = 3  # a drawing smaller than this (px, longer side) is a speck, not a digit
PNG_URL = "data:image/png;base64,"  # how the canvas sends its drawing
MAX_DRAWING_SIDE = 1200  # px: the canvas's side at any device pixel ratio up to 4 (1,120 px), with room
MAX_DRAWING_URL = 8 * 1024 * 1024  # characters: far more than a PNG of strokes of that size takes
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
MAX_PNG_CHUNKS = 2048  # Chromium writes 4 KB chunks: 1,540 at most under MAX_DRAWING_URL, 25 for strokes at 1,120 px


class CanvasError(ValueError):
    """The input cannot be read as a drawing (wrong shape, dtype, non-finite values, too big)."""


class EmptyCanvasError(CanvasError):
    """The canvas has no ink (or only a speck) to read."""


def drawing_url(state):
    """The drawing in a component's state ({"drawing": {"data": url, ...}, ...}): its PNG data URL, None
    before the first drawing is sent; a malformed state as it is, for decode_drawing to refuse."""
    if state is None or (isinstance(state, Mapping) and state.get("drawing") is None):
        return None
    drawing = state.get("drawing") if isinstance(state, Mapping) else None
    return drawing.get("data") if isinstance(drawing, Mapping) else state


def _png_size(png: bytes) -> tuple[int, int]:
    """A PNG's (width, height), read from its header after checking that it is laid out as a canvas's drawing:
    the signature, the IHDR chunk first, at most MAX_PNG_CHUNKS chunks. Raises CanvasError otherwise."""
    if png[:8] != PNG_SIGNATURE:
        raise CanvasError("it is not a PNG image")
    if len(png) < 24 or png[12:16] != b"IHDR":
        raise CanvasError("its image data is damaged")
    chunks, at = 0, len(PNG_SIGNATURE)
    while at < len(png):  # a chunk: its data's length (4 bytes), its type (4), its data, a checksum (4)
        chunks += 1
        if chunks > MAX_PNG_CHUNKS:
            raise CanvasError(f"it is cut into more than {MAX_PNG_CHUNKS} pieces: a canvas sends far fewer")
        at += 12 + int.from_bytes(png[at:at + 4], "big")
    return struct.unpack(">II", png[16:24])


def decode_drawing(url) -> np.ndarray:
    """The canvas's drawing, a PNG data URL, as (H, W, 4) uint8 RGBA. Its width and height are read from
    the PNG's header first: anything far larger than the canvas can send is refused before it is decoded.
    Raises CanvasError, in one short line, for anything that is not such a drawing."""
    if not isinstance(url, str) or not url.startswith(PNG_URL):
        raise CanvasError("it is not a PNG image")
    if len(url) > MAX_DRAWING_URL:
        raise CanvasError("it is far larger than the canvas sends")
    try:
        png = base64.b64decode(url[len(PNG_URL):], validate=True)
    except (binascii.Error, ValueError) as error:
        raise CanvasError("its image data is damaged") from error
    width, height = _png_size(png)
    if not (0 < width <= MAX_DRAWING_SIDE and 0 < height <= MAX_DRAWING_SIDE):
        raise CanvasError(f"it is {width} x {height} px: a {CANVAS_SIDE} px canvas sends at most {MAX_DRAWING_SIDE} "
                          "px a side")
    try:
        with Image.open(io.BytesIO(png)) as image:
            return np.asarray(image.convert("RGBA"))
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError) as error:
        raise CanvasError("its image data is damaged") from error


def ink_from_canvas(rgba) -> np.ndarray:
    """Canvas pixels (H, W, 4) RGBA, (H, W, 3) RGB or (H, W) grey -> ink (H, W) float32 in [0, 1].

    White ink on black: ink is the brightness of the RGB channels, times alpha (so a transparent
    background counts as no ink). uint8 is read as 0..255, floats as 0..1.
    """
    pixels = np.asarray(rgba)
    if pixels.dtype.kind not in "buif":  # bool, unsigned, int, float (numpy counts timedelta as an integer)
        raise CanvasError(f"canvas must hold numbers, got dtype {pixels.dtype}")
    if pixels.ndim == 3 and pixels.shape[2] in (3, 4):
        height, width = pixels.shape[:2]
    elif pixels.ndim == 2:
        height, width = pixels.shape
    else:
        raise CanvasError(f"canvas must be (H, W, 4) RGBA, (H, W, 3) or (H, W), got {pixels.shape}")
    if height == 0 or width == 0:
        raise EmptyCanvasError("the canvas has no pixels")
    if max(height, width) > MAX_SIDE:
        raise CanvasError(f"canvas {height}x{width} is too large (max {MAX_SIDE} px a side)")
    if np.issubdtype(pixels.dtype, np.floating):
        if not np.isfinite(pixels).all():
            raise CanvasError("canvas contains NaN or infinite values")
        scale = 1.0
    else:
        scale = 1.0 if pixels.dtype == bool else 255.0
    if pixels.ndim == 2:
        return np.clip(pixels / np.float32(scale), 0.0, 1.0, dtype=np.float32)
    red, green, blue = (pixels[..., channel].astype(np.float32) for channel in range(3))
    brightness = (red + green + blue) / np.float32(3 * scale)  # (H, W); faster than a mean over axis 2
    if pixels.shape[2] == 4:
        brightness *= pixels[..., 3] / np.float32(scale)
    return np.clip(brightness, 0.0, 1.0)


def _resize(ink: np.ndarray, height: int, width: int) -> np.ndarray:
    """Anti-aliased resize of a float image."""
    image = Image.fromarray(ink.astype(np.float32), mode="F")
    return np.asarray(image.resize((width, height), Image.Resampling.BOX), dtype=np.float32)


def _fit(ink: np.ndarray, box: int) -> np.ndarray:
    """Resize so that the longer side is `box` px, keeping the aspect ratio."""
    height, width = ink.shape
    scale = box / max(height, width)
    return _resize(ink, max(1, round(height * scale)), max(1, round(width * scale)))


def _crop_to_ink(ink: np.ndarray) -> np.ndarray:
    rows = np.flatnonzero((ink > INK_LEVEL).any(axis=1))
    cols = np.flatnonzero((ink > INK_LEVEL).any(axis=0))
    if rows.size == 0:
        raise EmptyCanvasError("the canvas is empty: draw a digit first")
    if max(rows[-1] - rows[0], cols[-1] - cols[0]) + 1 < MIN_EXTENT:
        raise EmptyCanvasError("the drawing is only a dot: draw a larger digit")
    return ink[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1]


def normalize_strokes(ink: np.ndarray) -> np.ndarray:
    """Make the strokes of a cropped drawing as wide as MNIST's; returns it cropped again.

    At WORK_BOX resolution, measures the brush width (twice the median distance from the strokes'
    centre lines to their edges) and moves every edge in or out by half the difference to the
    target width, using the signed distance to the edge. Filled-in loops of a bold brush stay
    filled (as in bold MNIST digits) rather than being thinned into a different shape.
    """
    target = STROKE_WIDTH * WORK_BOX / BOX  # px at work resolution
    mask = np.pad(_fit(ink, WORK_BOX) > 0.5, WORK_BOX // 4)
    centre_lines = skeletonize(mask)
    if not centre_lines.any():  # faint ink below the threshold: keep it as it is
        return ink
    inside = ndimage.distance_transform_edt(mask)  # distance to the background, inside the ink
    outside = ndimage.distance_transform_edt(~mask)  # distance to the ink, outside it
    width = 2 * np.median(inside[centre_lines])
    redrawn = np.clip(inside - outside - (width - target) / 2 + 0.5, 0.0, 1.0)  # soft edge
    return _crop_to_ink(redrawn)


def centre_by_mass(digit: np.ndarray) -> np.ndarray:
    """Place a digit (at most 28 px a side) in a 28x28 field with its centre of mass at (14, 14)."""
    height, width = digit.shape
    com_row, com_col = ndimage.center_of_mass(digit)
    top = int(np.clip(round(CENTRE - com_row), 0, ROWS - height))
    left = int(np.clip(round(CENTRE - com_col), 0, COLS - width))
    field = np.zeros((ROWS, COLS), dtype=np.float32)
    field[top : top + height, left : left + width] = digit
    return field


def preprocess_canvas(rgba, normalize_width: bool = True) -> np.ndarray:
    """Canvas image (H, W, 4) uint8, white ink on black, any size -> (28, 28) float32 in [0, 1].

    Raises EmptyCanvasError for a canvas without a digit and CanvasError for unreadable input.
    """
    ink = _crop_to_ink(ink_from_canvas(rgba))
    if normalize_width:
        ink = normalize_strokes(ink)
    digit = np.clip(_fit(ink, BOX), 0.0, 1.0)
    digit /= max(float(digit.max()), 1e-6)  # full-strength ink, as in MNIST
    return centre_by_mass(digit)
