"""Canvas drawings become MNIST-like 28x28 images; bad input gives clear errors."""

import base64
import io

import numpy as np
import pytest
from PIL import Image
from scipy import ndimage

from rnnviz import CanvasError, EmptyCanvasError, preprocess_canvas
from rnnviz.data import pendigits
from rnnviz.preprocess import MAX_DRAWING_SIDE, MAX_DRAWING_URL, MAX_PNG_CHUNKS, PNG_URL, decode_drawing
from tests.conftest import canvas_state
from tools import attacks

MESSAGE = 80  # characters: a refusal is one short line


def ink_box(image: np.ndarray) -> tuple[int, int]:
    rows, cols = np.nonzero(image > 0)
    return rows.max() - rows.min() + 1, cols.max() - cols.min() + 1


@pytest.mark.parametrize("canvas", [280, 600, 150])
@pytest.mark.parametrize("stroke_width", [12, 30])
@pytest.mark.parametrize("height", [0.4, 0.9])
def test_mnist_statistics_for_any_size_and_position(pen_records, canvas, stroke_width, height):
    rng = np.random.default_rng(canvas + stroke_width)
    for record in pen_records[::50]:  # 20 digits, every class
        strokes = pendigits.place(record["strokes"], height, stroke_width * canvas / 280, rng, canvas)
        image = preprocess_canvas(pendigits.render(strokes, stroke_width * canvas / 280, canvas))
        assert image.shape == (28, 28) and image.dtype == np.float32
        assert image.min() >= 0 and image.max() == pytest.approx(1.0)
        assert max(ink_box(image)) == 20
        com = np.array(ndimage.center_of_mass(image))
        assert np.abs(com - 14).max() <= 1.0, com


def test_same_digit_anywhere_gives_nearly_the_same_image(pen_records):
    """Position and canvas size do not matter; brush width changes the ink amount only a little."""
    strokes = pen_records[3]["strokes"]

    def draw(seed, width, height, canvas=280, normalize_width=True):
        scale = canvas / 280
        placed = pendigits.place(strokes, height, width * scale, np.random.default_rng(seed), canvas)
        return preprocess_canvas(pendigits.render(placed, width * scale, canvas), normalize_width)

    reference = draw(0, 18, 0.6)
    for seed, canvas in [(1, 280), (2, 560), (3, 200)]:
        assert np.abs(draw(seed, 18, 0.6, canvas) - reference).mean() < 0.03
    brushes = [(4, 12, 0.9), (5, 30, 0.4), (6, 30, 0.9)]
    ink = [draw(*brush).mean() for brush in brushes]
    raw_ink = [draw(*brush, normalize_width=False).mean() for brush in brushes]
    assert np.ptp(ink) / np.mean(ink) < 0.4, ink
    assert np.ptp(ink) / np.mean(ink) < np.ptp(raw_ink) / np.mean(raw_ink) / 3, (ink, raw_ink)


def test_matches_mnist_ink_amount(pen_records, mnist_test):
    rng = np.random.default_rng(0)
    ours = np.stack([
        preprocess_canvas(pendigits.render(pendigits.place(r["strokes"], 0.6, 20, rng), 20)) for r in pen_records[:200]
    ])
    mnist_mean = mnist_test[0].mean().item()
    assert abs(ours.mean() - mnist_mean) / mnist_mean < 0.2


def test_empty_canvas_is_a_clear_error():
    with pytest.raises(EmptyCanvasError, match="empty"):
        preprocess_canvas(np.zeros((280, 280, 4), dtype=np.uint8))
    transparent_white = np.full((280, 280, 4), 255, dtype=np.uint8)
    transparent_white[..., 3] = 0
    with pytest.raises(EmptyCanvasError):
        preprocess_canvas(transparent_white)


def test_a_speck_is_not_a_digit():
    canvas = np.zeros((280, 280, 4), dtype=np.uint8)
    canvas[100, 100] = 255
    with pytest.raises(EmptyCanvasError, match="dot"):
        preprocess_canvas(canvas)


@pytest.mark.parametrize(
    "bad, message",
    [
        (np.zeros((280, 280, 5), dtype=np.uint8), "RGBA"),
        (np.zeros((280,), dtype=np.uint8), "RGBA"),
        (np.full((50, 50), np.nan), "NaN"),
        (np.array([["a"]]), "numbers"),
        (np.zeros((9000, 10), dtype=np.uint8), "too large"),
    ],
)
def test_bad_input_is_a_clear_error(bad, message):
    with pytest.raises(CanvasError, match=message):
        preprocess_canvas(bad)


def test_all_ink_and_grey_inputs_give_valid_images():
    for canvas in (np.full((280, 280, 4), 255, np.uint8), np.ones((64, 32)), np.eye(40, dtype=bool)):
        image = preprocess_canvas(canvas)
        assert image.shape == (28, 28) and np.isfinite(image).all()
        assert 0 <= image.min() and image.max() <= 1


@pytest.fixture
def drawn_png(pen_records) -> bytes:
    """The PNG a canvas sends of a real pen digit: a header, one chunk of pixels, an end."""
    url = canvas_state(pendigits.render(pen_records[0]["strokes"], 18))["drawing"]["data"]
    png = base64.b64decode(url.removeprefix(PNG_URL))
    assert 8 + 25 + 12 + int.from_bytes(png[33:37], "big") + 12 == len(png)  # IHDR, one IDAT, IEND
    return png


@pytest.fixture
def pil_opens(monkeypatch) -> list:
    """Every image PIL is asked to open while the test runs."""
    opened, pil_open = [], Image.open
    monkeypatch.setattr(Image, "open", lambda *args, **kwargs: opened.append(args) or pil_open(*args, **kwargs))
    return opened


def test_a_drawing_cut_off_anywhere_is_refused_in_one_line_or_read_whole(drawn_png):
    """A drawing cut short at any byte (a dropped connection, a forged client) raises CanvasError in one short
    line, never another error; a cut after its last pixel (in the checksums or the end) loses nothing."""
    whole, refused = decode_drawing(attacks.url(drawn_png)), {}
    for length in range(len(drawn_png)):
        try:
            assert np.array_equal(decode_drawing(attacks.url(drawn_png[:length])), whole), length
        except CanvasError as error:
            refused[length] = str(error)
    assert set(range(8 + 25 + 12)) <= set(refused)  # every cut in the signature, the header, or before the pixels
    assert all(0 < len(message) < MESSAGE and "\n" not in message for message in refused.values())


def test_a_drawing_in_more_pieces_than_a_canvas_sends_is_refused_before_it_is_decoded(drawn_png, pil_opens):
    whole = decode_drawing(attacks.url(drawn_png))
    at_the_limit = attacks.with_empty_chunks(drawn_png, MAX_PNG_CHUNKS - 3)
    assert np.array_equal(decode_drawing(attacks.url(at_the_limit)), whole) and len(pil_opens) == 2
    with pytest.raises(CanvasError, match=f"more than {MAX_PNG_CHUNKS} pieces"):
        decode_drawing(attacks.url(attacks.with_empty_chunks(drawn_png, MAX_PNG_CHUNKS - 2)))
    assert len(pil_opens) == 2  # refused from the chunks' headers alone


def test_a_drawing_larger_than_a_canvas_sends_is_refused_before_its_pixels_are_decoded(pil_opens):
    assert decode_drawing(attacks.url(attacks.png(MAX_DRAWING_SIDE, 280))).shape == (280, MAX_DRAWING_SIDE, 4)
    assert len(pil_opens) == 1
    with pytest.raises(CanvasError, match=f"{MAX_DRAWING_SIDE + 1} x 280 px"):
        decode_drawing(attacks.url(attacks.png(MAX_DRAWING_SIDE + 1, 280)))
    assert len(pil_opens) == 1  # refused from its header alone


TOO_LARGE = f"a 280 px canvas sends at most {MAX_DRAWING_SIDE} px a side"


@pytest.mark.parametrize("value, message", [
    (12345, "it is not a PNG image"),
    ("data:image/jpeg;base64,AAAA", "it is not a PNG image"),
    (PNG_URL + "A" * (MAX_DRAWING_URL - len(PNG_URL) + 1), "it is far larger than the canvas sends"),
    (PNG_URL + "A" * (MAX_DRAWING_URL - len(PNG_URL)), "its image data is damaged"),  # the longest is decoded
    (PNG_URL + "AAA", "its image data is damaged"),  # not base64: no padding
    (attacks.url(attacks.png(2, 2)).replace("A", "A\n", 1), "its image data is damaged"),  # only a strict decoder
    (attacks.url(attacks.declared_png(0, 5)), f"it is 0 x 5 px: {TOO_LARGE}"),
    (attacks.url(attacks.declared_png(5, 0)), f"it is 5 x 0 px: {TOO_LARGE}"),
    (attacks.url(attacks.png(2, 2)[:-20] + b"\x00" * 20), "its image data is damaged"),  # a header, no pixels
])
def test_each_refused_drawing_gets_its_exact_line(value, message):
    with pytest.raises(CanvasError) as refused:
        decode_drawing(value)
    assert str(refused.value) == message


@pytest.mark.parametrize("width, height", [(1, 1), (1, MAX_DRAWING_SIDE), (MAX_DRAWING_SIDE, 1)])
def test_the_smallest_and_largest_sides_decode_as_rgba(width, height):
    assert decode_drawing(attacks.url(attacks.png(width, height))).shape == (height, width, 4)


def test_a_grey_png_comes_back_as_rgba():
    grey = io.BytesIO()
    Image.fromarray(np.full((4, 6), 200, np.uint8)).save(grey, format="PNG")
    image = decode_drawing(PNG_URL + base64.b64encode(grey.getvalue()).decode())
    assert image.shape == (4, 6, 4) and (image[..., 3] == 255).all() and (image[..., :3] == 200).all()
