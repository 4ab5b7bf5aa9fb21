"""A view written into a page address and read back: what it keeps, how short it is, and that nothing a
visitor puts in an address makes it raise or accept a value the page cannot show."""

import base64
import re
import zlib
from types import SimpleNamespace
from urllib.parse import urlencode

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rnnviz import preprocess_canvas
from rnnviz.config import MAX_BRUSH, MIN_BRUSH, ROWS
from rnnviz.data import gallery, pendigits
from rnnviz.intervention import Intervention
from tests.conftest import markdown_tags
from ui import address
from ui.address import SharedView, decode_digit, encode_digit, from_query, to_query
from ui.state import Param

TABS = ("inspect", "compare", "insight")
HIDDEN = {"rnn": 100, "gru": 100, "lstm": 100}
ORDERS = ("contribution", "activity", "index")
LINK_BUDGET = 2000 - len("https://rnnviz.some-school.example.org/?")  # characters for the query


def read(params):
    return from_query(params, TABS, HIDDEN, ORDERS, examples=48)


def test_a_view_comes_back_as_it_went_and_its_digit_exactly():
    digit = gallery.load().images[28]
    view = SharedView(digit=digit, models=("rnn", "gru", "lstm"), tab="compare", step=20,
                      what_if=Intervention(keep_gate=0.0, silenced=(3, 17), blank_rows=(1, 14)))
    back, ignored = read(to_query(view))
    assert ignored == [] and back == view  # every field but the digit
    assert np.array_equal(back.digit, digit)  # MNIST's own grey levels survive whole
    inspect, ignored = read(to_query(SharedView(models=("lstm",), tab="inspect", step=1, unit=99, order="index")))
    assert ignored == [] and (inspect.unit, inspect.order, inspect.step) == (99, "index", 1)


def test_every_gallery_digit_makes_a_short_link():
    images = gallery.load().images
    longest = max(len(urlencode(to_query(SharedView(digit=image, models=("rnn", "gru", "lstm"), tab="compare",
                                                        step=28, unit=99, what_if=Intervention(keep_gate=1.0)))))
                  for image in images)
    assert longest < LINK_BUDGET, longest


def test_drawn_digits_make_short_links(pen_records):
    """Real pen digits, drawn with the thinnest and the widest brush, with every setting a link can hold."""
    rng = np.random.default_rng(0)
    what_if = Intervention(keep_gate=1.0, silenced=tuple(range(0, 100, 10)), blank_rows=(1, 14))
    lengths = [len(urlencode(to_query(SharedView(digit=preprocess_canvas(pendigits.render(strokes, brush)),
                                                 models=("rnn", "gru", "lstm"), tab="compare", step=28,
                                                 what_if=what_if))))
               for record in pen_records[:200] for brush in (MIN_BRUSH, MAX_BRUSH)
               for strokes in [pendigits.place(record["strokes"], 0.7, brush, rng)]]
    assert max(lengths) < LINK_BUDGET, max(lengths)


@pytest.mark.parametrize("name, value, why", [
    (Param.STEP, "0", "steps are 1 to 28"), (Param.STEP, "29", "steps are 1 to 28"),
    (Param.STEP, "-3", "steps"), (Param.STEP, "1e3", "steps"),
    (Param.MODELS, "lstm,lstm", "shipped models only"), (Param.MODELS, "/etc/passwd", "shipped models only"),
    (Param.MODELS, "rnn,gru,lstm,rnn,gru", "shipped models only"),
    (Param.TAB, "Train'><script>", "tabs: inspect"), (Param.UNIT, "100", "no such unit"),
    (Param.ORDER, "random", "orders: contribution"), (Param.GATE, "0.5", "clamped to 0 or 1"),
    (Param.SILENCED, "1,2,300", "no such units"), (Param.BLANK, "20-3", "the first not after the last"),
    (Param.BLANK, "0-3", "rows first-last"), (Param.EXAMPLE, "48", "the gallery has 48"),
    (Param.DIGIT, "AAAA", "not a 28 x 28 image"), (Param.DIGIT, "***", "not a 28 x 28 image"),
])
def test_a_bad_value_is_ignored_and_named_and_the_rest_kept(name, value, why):
    view, ignored = read({Param.MODELS: "lstm", Param.TAB: "inspect", Param.STEP: "5", name: value})
    assert len(ignored) == 1 and ignored[0].startswith(f"{name}=") and why in ignored[0], ignored
    kept = {Param.MODELS: view.models, Param.TAB: view.tab, Param.STEP: view.step}
    assert all(kept[other] for other in kept if other != name)  # the others stand


def test_a_links_own_text_is_quoted_escaped_never_as_markdown():
    phishing = "[Your session expired: sign in](https://evil.example/login)"
    view, ignored = read({phishing: "1", Param.STEP: "![](https://evil.example/pixel.png)", Param.TAB: "compare"})
    assert view.tab == "compare"
    assert ignored == [r"\[Your session expired\: s… (not a setting of a view)",
                       r"step=\!\[\]\(https\:\/\/evil\.example… (steps are 1 to 28)"]
    assert markdown_tags("; ".join(ignored)) == {"p"}  # no link, no image: one paragraph of text


LINK_TEXT = st.text(st.sampled_from("[]()!<>*_`\\:/.#-=~|$&a \n") | st.characters(), max_size=40)


@settings(max_examples=300, deadline=None, derandomize=True)
@given(st.dictionaries(st.sampled_from(address.VIEW_PARAMS) | LINK_TEXT, LINK_TEXT, max_size=6))
def test_no_query_writes_markdown_into_what_was_ignored(params):
    _, ignored = read(params)
    note = "; ".join(ignored)
    unescaped = re.sub(r"\\.", "", note)  # the note without its backslash-escaped characters
    assert not set("[]!<*_`") & set(unescaped), note
    assert unescaped.count("(") == len(ignored), note  # only the note's own "(why)", one for each
    assert markdown_tags(note) <= {"p"}, note


def test_unknown_names_and_overlong_values_are_named():
    view, ignored = read({"visitor": "abc", Param.STEP: "1" * 5000, Param.TAB: "compare"})
    assert view.tab == "compare" and view.step is None
    assert ignored == [f"{Param.STEP} (too long)", "visitor (not a setting of a view)"]


def test_a_unit_is_read_only_for_one_model_and_within_it():
    view, ignored = read({Param.MODELS: "rnn,lstm", Param.UNIT: "3"})
    assert view.unit is None and ignored


class CountingInflater:
    """zlib's inflater, noting how many bytes each call gives out."""

    given: list[int] = []

    def __init__(self):
        self.inflater = zlib.decompressobj()

    def decompress(self, data, max_length=0):
        out = self.inflater.decompress(data, max_length)
        self.given.append(len(out))
        return out

    def __getattr__(self, name):
        return getattr(self.inflater, name)


def test_a_deflate_bomb_is_refused_after_inflating_at_most_one_image(monkeypatch):
    bomb = base64.urlsafe_b64encode(zlib.compress(bytes(1_000_000), 9)).decode()  # 1 MB of zeros, 1.3 kB of text
    assert len(bomb) <= address.MAX_VALUE  # it fits in an address
    monkeypatch.setattr(CountingInflater, "given", [])
    monkeypatch.setattr(address, "zlib", SimpleNamespace(decompressobj=CountingInflater, error=zlib.error))
    view, ignored = read({Param.DIGIT: bomb})
    assert view.digit is None and "not a 28 x 28 image" in ignored[0]
    assert 0 < sum(CountingInflater.given) <= address.PIXELS + 1, CountingInflater.given


@pytest.mark.parametrize("raw", [bytes(783), bytes(785), bytes(784) + b"tail"])
def test_a_digit_must_be_exactly_one_image(raw):
    packed = zlib.compress(raw)
    if raw.endswith(b"tail"):
        packed = zlib.compress(bytes(784)) + b"tail"
    with pytest.raises(ValueError):
        decode_digit(base64.urlsafe_b64encode(packed).decode())


def test_a_digit_is_stored_at_256_grey_levels():
    image = np.linspace(0, 1, ROWS * 28, dtype=np.float32).reshape(ROWS, 28)
    assert np.abs(decode_digit(encode_digit(image)) - image).max() <= 0.5 / 255 + 1e-7


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(st.sampled_from([*address.VIEW_PARAMS, "visitor", "x"]), st.text(max_size=60), max_size=12))
def test_no_address_makes_it_raise_or_accept_what_the_page_cannot_show(params):
    view, ignored = read(params)
    assert isinstance(ignored, list)
    assert set(view.models) <= set(HIDDEN) and len(set(view.models)) == len(view.models) <= 4
    assert view.tab in (None, *TABS) and view.order in (None, *ORDERS)
    assert view.step is None or 1 <= view.step <= ROWS
    assert view.unit is None or (len(view.models) == 1 and 0 <= view.unit < 100)
    assert all(0 <= unit < 100 for unit in view.what_if.silenced)
    assert view.digit is None or view.digit.shape == (ROWS, 28)


def test_a_digit_never_inflates_past_one_image(monkeypatch):
    """However much a value would inflate to, decode_digit asks zlib for at most one image's bytes and one more."""
    inflated = []
    real_decompressobj = zlib.decompressobj

    class Counting:
        def __init__(self):
            self.inflater = real_decompressobj()

        def decompress(self, data, max_length=0):
            out = self.inflater.decompress(data, max_length)
            inflated.append(len(out))
            return out

        def __getattr__(self, name):
            return getattr(self.inflater, name)

    monkeypatch.setattr(address.zlib, "decompressobj", Counting)
    with pytest.raises(ValueError):
        decode_digit(base64.urlsafe_b64encode(zlib.compress(bytes(1_000_000), 9)).decode())
    assert inflated and max(inflated) <= address.PIXELS + 1


def test_a_digit_cut_short_is_refused():
    """784 bytes that inflate whole but whose stream has no end (a link truncated in transit)."""
    cut = zlib.compress(bytes(range(256)) * 3 + bytes(16))[:-4]  # the checksum lost
    with pytest.raises(ValueError):
        decode_digit(base64.urlsafe_b64encode(cut).decode())


def test_pixels_outside_0_to_1_are_stored_clipped():
    image = np.linspace(-1, 2, ROWS * 28, dtype=np.float32).reshape(ROWS, 28)
    assert np.array_equal(decode_digit(encode_digit(image)), decode_digit(encode_digit(np.clip(image, 0, 1))))


def test_digits_come_back_exactly_and_their_text_needs_no_escaping():
    """Random images, enough that their texts end in each of base64's 64 characters, and the gallery's."""
    rng = np.random.default_rng(0)
    images = [*gallery.load().images, *(rng.integers(0, 256, (ROWS, 28)) / 255 for _ in range(400))]
    texts = [encode_digit(image) for image in images]
    assert len({text[-1] for text in texts}) == 64
    for image, text in zip(images, texts, strict=True):
        assert set(text) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")  # no "=" to escape
        assert np.abs(decode_digit(text) - image).max() <= 0.5 / 255 + 1e-6


@pytest.mark.parametrize("params, kept", [
    ({Param.EXAMPLE: "0"}, {"example": 0}), ({Param.EXAMPLE: "47"}, {"example": 47}),
    ({Param.MODELS: "lstm", Param.UNIT: "0"}, {"unit": 0}),
    ({Param.MODELS: "lstm", Param.SILENCED: "0,99"}, {"silenced": (0, 99)}),
    ({Param.BLANK: "5-5"}, {"blank_rows": (5, 5)}), ({Param.GATE: "1"}, {"keep_gate": 1.0}),
])
def test_the_edges_of_each_range_are_read(params, kept):
    view, ignored = read(params)
    values = {"example": view.example, "unit": view.unit, **vars(view.what_if)}
    assert ignored == [] and {name: values[name] for name in kept} == kept


@pytest.mark.parametrize("params", [
    {Param.MODELS: "lstm", Param.SILENCED: "100"}, {Param.SILENCED: "0"},  # no model: no unit to silence
    {Param.MODELS: "rnn,lstm", Param.UNIT: "0"},  # Compare follows no unit
])
def test_a_unit_outside_its_models_is_ignored(params):
    view, ignored = read(params)
    assert view.unit is None and view.what_if.silenced == () and len(ignored) == 1


def test_without_a_gallery_no_example_is_read():
    view, ignored = from_query({Param.EXAMPLE: "0"}, TABS, HIDDEN)
    assert view.example is None and ignored == ["example=0 (the gallery has 0)"]


@pytest.mark.parametrize("params, line", [
    ({Param.TAB: "train"}, "tab=train (tabs: inspect, compare, insight)"),
    ({Param.MODELS: "cnn"}, "models=cnn (shipped models only: gru, lstm, rnn, 1 to 4)"),
    ({Param.ORDER: "random"}, "order=random (orders: contribution, activity, index)"),
    ({Param.GATE: "0.5"}, r"gate=0\.5 (the gate is clamped to 0 or 1)"),
    ({Param.MODELS: "lstm", Param.UNIT: "100"}, "unit=100 (no such unit in its model)"),
    ({Param.MODELS: "lstm", Param.SILENCED: "100"}, "silenced=100 (no such units)"),
    ({Param.DIGIT: "AAAA"}, "digit=AAAA (not a 28 x 28 image)"),
    ({Param.TAB: "x" * 24}, f"tab={'x' * 24} (tabs: inspect, compare, insight)"),  # shown whole
    ({Param.TAB: "x" * 25}, f"tab={'x' * 24}… (tabs: inspect, compare, insight)"),  # cut, and says so
    ({Param.TAB: "x" * address.MAX_VALUE}, f"tab={'x' * 24}… (tabs: inspect, compare, insight)"),  # not too long
])
def test_an_ignored_value_is_named_in_one_exact_line(params, line):
    assert read(params)[1] == [line]
