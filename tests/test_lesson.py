"""The guided lesson says only what is true: every number its text states, integers included, is backed by a
fact (ui/lesson.toml), measured here on the shipped checkpoints and the statistics and memory read-outs shipped
beside them (no MNIST needed; tests/test_stats.py recomputes the statistics), or read from what it names (the
step's own setting, the rows a model reads...), and must read as the text writes it."""

import re
from collections import Counter
from dataclasses import replace

import numpy as np
import pytest

from rnnviz import load_model, trace
from rnnviz.data import gallery
from rnnviz.memory import MemoryDecoders, saved_memory
from rnnviz.serving import store
from rnnviz.stats import saved_stats
from ui.lesson import load_lesson
from ui.state import KEEP_GATE_CHOICES

STATED = re.compile(r"(?<![\w.,])(?:\d{1,3}(?:,\d{3})+|\d+(?:\.\d+)?)%?")  # a number stated: 15, 0.44, 35%, 10,000


@pytest.fixture(scope="module")
def shipped():
    return {cell: store.shipped_path(cell) for cell in ("rnn", "gru", "lstm")}


def step_digit(step) -> np.ndarray:
    """The (28, 28) digit a lesson step sets up: the one its link carries, or its gallery digit."""
    return step.view.digit if step.view.digit is not None else gallery.load().images[step.view.example]


def on_the_digit(what: str, cell: str, detail: list[str], step, shipped) -> float:
    """A measure of the shipped `cell` reading the step's digit, under the step's what-if."""
    model = load_model(shipped[cell])
    read = trace(model, step_digit(step), step.view.what_if)
    changed = np.flatnonzero(read.probs.argmax(1) != read.prediction)  # steps (from 0) with another answer
    if what == "steady":  # the first step from which the answer holds
        return int(changed.max()) + 2 if len(changed) else 1
    if what in ("lowest", "highest"):
        return float(getattr(read.gates[detail[0]], "min" if what == "lowest" else "max")())
    return {"final": read.prediction, "confidence": read.probs[-1].max(), "rows": len(read.probs),
            "width": model.rnn.input_size}[what]


def over_the_test_set(what: str, cell: str, detail: list[str], shipped) -> float:
    """A measure of the shipped `cell` over the MNIST test digits, from the statistics and memory read-outs
    shipped beside it."""
    stats, path = saved_stats(shipped[cell]), shipped[cell]
    if what == "accuracy":
        return stats.accuracy
    if what == "memory":
        return saved_memory(path).lag_r2[int(detail[0])]
    if what in ("gate", "open", "shut"):
        key = {"gate": "", "open": "_right", "shut": "_left"}[what]
        return float(np.mean(stats.units[detail[0] + key]))
    norms = stats.gradient_norms if detail[0] == "h" else stats.cell_gradient_norms  # reach
    return norms[0] / norms[-1]


def named(fact: str, step, shipped) -> float:
    """What a fact that is no measure of a model names: the step's own setting, the page's counting..."""
    lags = {int(other.split()[2]) for _, other in step.facts if other.startswith("memory ")} - {0}
    offered = {value for value in KEEP_GATE_CHOICES.values() if value is not None}
    return {
        "first row": lambda: 1,  # the page's step slider, and a link's step, count from 1
        "digit": lambda: int(gallery.load().labels[step.view.example]),
        "test digits": lambda: len(saved_stats(shipped["lstm"]).labels),
        "lag": lambda: lags.pop() if len(lags) == 1 else np.nan,
        "perfect memory": lambda: MemoryDecoders("", [], np.zeros((1, 1)), np.ones(1)).lag_r2[0],
        "clamp": lambda: step.view.what_if.keep_gate,
        "other clamp": lambda: (offered - {step.view.what_if.keep_gate}).pop(),
    }[fact]()


def measured(fact: str, step, shipped) -> float:
    """What `fact` ("accuracy lstm", "memory rnn 20", "digit"...: see ui/lesson.toml) is, for a lesson step."""
    what, *rest = fact.split()
    if what in ("final", "confidence", "steady", "lowest", "highest", "rows", "width"):
        return on_the_digit(what, rest[0], rest[1:], step, shipped)
    if what in ("accuracy", "memory", "gate", "open", "shut", "reach"):
        return over_the_test_set(what, rest[0], rest[1:], shipped)
    return named(fact, step, shipped)


def as_written(value: float, literal: str) -> str:
    """`value` written as `literal` is: a percentage or not, with as many decimals, its thousands separated or not."""
    decimals = len(literal.rstrip("%").partition(".")[2])
    if literal.endswith("%"):
        return f"{value * 100:.{decimals}f}%"
    return f"{value:{',' if ',' in literal else ''}.{decimals}f}"


def unbacked(step) -> list[str]:
    """What of a step's numbers no fact backs: a number its text states (as a whole token) more often than facts
    name it, or a fact whose number the text does not state as a whole token."""
    stated, claimed = Counter(STATED.findall(step.text)), Counter(literal for literal, _ in step.facts)
    return ([f"{number} (stated {times} times, {claimed[number]} facts)" for number, times in stated.items()
             if claimed[number] < times]
            + [f"the fact {number} (not stated)" for number in claimed if number not in stated])


def test_every_stated_number_is_measured_on_the_shipped_models(shipped):
    lesson = load_lesson()
    checked = 0
    for number, step in enumerate(lesson, 1):
        assert not unbacked(step), f"step {number}: {unbacked(step)}"
        for literal, fact in step.facts:
            assert as_written(measured(fact, step, shipped), literal) == literal, f"step {number}: {fact}"
            checked += 1
    assert checked >= 40


def beside(literal: str) -> str:
    """A number written like `literal`, one off in its last digit (the last digit 9 becomes 0)."""
    last = max(i for i, char in enumerate(literal) if char.isdigit())
    return literal[:last] + str((int(literal[last]) + 1) % 10) + literal[last + 1 :]


def test_a_wrong_number_would_be_caught(shipped):
    """The check is not blind: the numbers next to the true ones read differently, and a number stated without
    a fact, or a fact found only inside another number, is named."""
    for step in load_lesson():
        for literal, fact in step.facts:
            assert as_written(measured(fact, step, shipped), beside(literal)) != beside(literal), fact
    first = load_lesson()[0]  # its text states 15 and 100%, no 1 and no 3
    assert unbacked(replace(first, text=first.text + " It takes 3 seconds.")) == ["3 (stated 1 times, 0 facts)"]
    assert unbacked(replace(first, facts=(*first.facts, ("1", "final lstm")))) == ["the fact 1 (not stated)"]


def test_the_lesson_goes_from_reading_rows_to_drawing_your_own():
    lesson = load_lesson()
    assert 5 <= len(lesson) <= 8
    assert [step.view.tab for step in lesson][:2] == ["inspect", "compare"]
    assert any(step.view.what_if.keep_gate == 0.0 for step in lesson)  # the clamped gate
    assert all(step.text and len(step.text) < 900 for step in lesson)  # a few sentences each


def test_a_step_the_page_cannot_set_up_is_named(tmp_path):
    bad = tmp_path / "lesson.toml"
    bad.write_text('[[step]]\ntitle = "Too far"\nview = "tab=inspect&step=29"\ntext = "x"\n')
    with pytest.raises(ValueError, match="step 1 \\(Too far\\).*step=29"):
        load_lesson(bad)
