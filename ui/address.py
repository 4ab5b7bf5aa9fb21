"""A view written into a link: the digit, the shipped models, the tab, the step, the unit and the what-if,
as a page address's query, and read back with every value checked.

    query = to_query(SharedView(digit=image, models=("lstm",), tab="inspect", step=20))
    view, ignored = from_query(params, tabs=("inspect", "compare"), hidden={"lstm": 100})

A link carries shipped models only, by cell type: a visitor's own model stays in their folder, and a link
never names that folder. Whatever in a query is malformed, out of range or unknown is left out, and
`from_query` says what, in words (Markdown, quoting the link's own text escaped); it never raises. The guided
lesson writes its steps' views the same way.
"""

import base64
import binascii
import re
import zlib
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np

from rnnviz.config import COLS, ROWS
from rnnviz.intervention import Intervention
from rnnviz.model import CELL_TYPES

from .state import Param

VIEW_PARAMS = tuple(param for param in Param if param != Param.VISITOR)  # what a link may carry
MAX_VALUE = 1500  # characters in one value: a digit takes about 400
MAX_MODELS = 4  # Compare races 2 to 4
QUOTED = 24  # characters of a link's own text that a note quotes
PIXELS = ROWS * COLS


@dataclass(frozen=True)
class SharedView:
    """What a link (or a lesson step) sets up; None (or empty) leaves the page's own choice."""

    digit: np.ndarray | None = field(default=None, compare=False)  # (28, 28) float32 in [0, 1]
    example: int | None = None  # or a gallery digit, by its place in the gallery
    models: tuple[str, ...] = ()  # shipped cell types: one for Inspect, 2 to 4 for Compare
    tab: str | None = None
    step: int | None = None  # 1 .. ROWS: the row just read
    unit: int | None = None  # the unit Inspect follows
    order: str | None = None  # how Inspect orders its units (rnnviz.measures.ORDERINGS)
    what_if: Intervention = Intervention()


def encode_digit(image: np.ndarray) -> str:
    """A (28, 28) image in [0, 1] as text for an address: 256 grey levels (as MNIST's), deflated, base64url."""
    levels = np.round(np.clip(image, 0, 1) * 255).astype(np.uint8)
    return base64.urlsafe_b64encode(zlib.compress(levels.tobytes(), 9)).decode().rstrip("=")


def decode_digit(text: str) -> np.ndarray:
    """encode_digit's text -> (28, 28) float32 in [0, 1]. Raises ValueError for anything else; never inflates
    more than one image's bytes."""
    try:
        packed = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
        inflater = zlib.decompressobj()
        raw = inflater.decompress(packed, PIXELS + 1)
    except (binascii.Error, ValueError, zlib.error) as error:
        raise ValueError("not an encoded digit") from error
    if len(raw) != PIXELS or not inflater.eof or inflater.unused_data:
        raise ValueError("not a 28 x 28 image")
    return (np.frombuffer(raw, np.uint8).reshape(ROWS, COLS) / 255).astype(np.float32)


def to_query(view: SharedView) -> dict[str, str]:
    """The view as query parameters (only what it sets)."""
    what_if = view.what_if
    values = {
        Param.TAB: view.tab, Param.MODELS: ",".join(view.models) or None,
        Param.DIGIT: None if view.digit is None else encode_digit(view.digit), Param.EXAMPLE: view.example,
        Param.STEP: view.step, Param.UNIT: view.unit, Param.ORDER: view.order,
        Param.GATE: None if what_if.keep_gate is None else f"{what_if.keep_gate:g}",
        Param.SILENCED: ",".join(map(str, what_if.silenced)) or None,
        Param.BLANK: None if what_if.blank_rows is None else "{}-{}".format(*what_if.blank_rows),
    }
    return {name: str(value) for name, value in values.items() if value is not None}


def _number(text: str, low: int, high: int) -> int:
    if not re.fullmatch(r"\d{1,4}", text) or not low <= int(text) <= high:
        raise ValueError
    return int(text)


def _numbers(text: str, low: int, high: int, separator: str = ",") -> tuple[int, ...]:
    return tuple(_number(part, low, high) for part in text.split(separator))


def quoted(text: str) -> str:
    """Text taken from a link, as a note in Markdown shows it: its first QUOTED characters on one line, every
    ASCII punctuation mark escaped with a backslash, so that it reads as written (never a link, an image or
    emphasis)."""
    shown = " ".join(text[:QUOTED].split()) + ("…" if len(text) > QUOTED else "")
    return re.sub(r"([!-/:-@\[-`{-~])", r"\\\1", shown)


class _Reader:
    """Reads a query's values one by one, keeping the good ones and noting the rest."""

    def __init__(self, params: Mapping[str, str]):
        self.params, self.ignored = params, []
        for name, value in params.items():
            if name in VIEW_PARAMS and len(value) > MAX_VALUE:
                self.ignored.append(f"{name} (too long)")
        self.ignored += [f"{quoted(name)} (not a setting of a view)" for name in params if name not in VIEW_PARAMS]

    def read(self, name: str, parse, why: str):
        """parse(value) of parameter `name`, or None when it is absent or wrong (noting `why`)."""
        value = self.params.get(name)
        if value is None or len(value) > MAX_VALUE:
            return None
        try:
            return parse(value)
        except ValueError:
            self.ignored.append(f"{name}={quoted(value)} ({why})")
            return None


def _models(text: str) -> tuple[str, ...]:
    models = tuple(text.split(","))
    if not 1 <= len(models) <= MAX_MODELS or len(set(models)) < len(models) or set(models) - set(CELL_TYPES):
        raise ValueError
    return models


def _one_of(choices):
    def parse(text: str) -> str:
        if text not in choices:
            raise ValueError
        return text
    return parse


def from_query(params: Mapping[str, str], tabs, hidden: Mapping[str, int], orders=(),
               examples: int = 0) -> tuple[SharedView, list[str]]:
    """A page address's query -> (the view it sets, what was ignored, in words). tabs: the page's tab names;
    hidden: each shipped model's hidden size by cell type; orders: Inspect's unit orders; examples: the
    gallery's size. Each value is checked on its own: a bad one is ignored, the others kept."""
    reader = _Reader(params)
    shipped = tuple(sorted(hidden))
    models = reader.read(Param.MODELS, _models, f"shipped models only: {', '.join(shipped)}, 1 to {MAX_MODELS}") or ()
    models = tuple(model for model in models if model in hidden)
    largest = max([hidden[model] for model in models] or [0])
    units = hidden[models[0]] if len(models) == 1 else 0  # a followed unit is Inspect's one model's (none in Compare)
    gate = reader.read(Param.GATE, _one_of(("0", "1")), "the gate is clamped to 0 or 1")
    blank = reader.read(Param.BLANK, lambda text: _numbers(text, 1, ROWS, "-"), f"rows first-last, 1 to {ROWS}")
    if blank is not None and (len(blank) != 2 or blank[0] > blank[1]):
        why = "rows first-last, the first not after the last"
        reader.ignored.append(f"{Param.BLANK}={quoted(params[Param.BLANK])} ({why})")
        blank = None
    view = SharedView(
        digit=reader.read(Param.DIGIT, decode_digit, "not a 28 x 28 image"),
        example=reader.read(Param.EXAMPLE, lambda text: _number(text, 0, examples - 1), f"the gallery has {examples}"),
        models=models,
        tab=reader.read(Param.TAB, _one_of(tuple(tabs)), "tabs: " + ", ".join(tabs)),
        step=reader.read(Param.STEP, lambda text: _number(text, 1, ROWS), f"steps are 1 to {ROWS}"),
        unit=reader.read(Param.UNIT, lambda text: _number(text, 0, units - 1), "no such unit in its model"),
        order=reader.read(Param.ORDER, _one_of(tuple(orders)), "orders: " + ", ".join(orders)),
        what_if=Intervention(
            keep_gate=None if gate is None else float(gate),
            silenced=reader.read(Param.SILENCED, lambda text: _numbers(text, 0, largest - 1), "no such units") or (),
            blank_rows=blank),
    )
    return view, reader.ignored
