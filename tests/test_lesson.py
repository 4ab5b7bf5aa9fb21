"""The guided lesson says only what is true of the shipped models: every number its text states is measured
here, on the shipped checkpoints and the statistics and memory read-outs shipped beside them (no MNIST
needed), and must read as the text writes it."""

import re

import numpy as np
import pytest

from rnnviz import load_model, trace
from rnnviz.data import gallery
from rnnviz.memory import cached_memory
from rnnviz.serving import store
from rnnviz.stats import cached_stats
from ui.lesson import load_lesson

STATED = re.compile(r"(?<![\w.])\d+(?:\.\d+)?%?")  # a number the text states: 15, 0.44, 35%, 98.2%


@pytest.fixture(scope="module")
def shipped():
    return {cell: store.shipped_path(cell) for cell in ("rnn", "gru", "lstm")}


def measured(fact: str, step, shipped) -> float:
    """What `fact` ("accuracy lstm", "memory rnn 20", ...: see ui/lesson.toml) measures, for a lesson step."""
    what, cell, *detail = fact.split()
    stats, path = cached_stats(shipped[cell]), shipped[cell]
    if what in ("final", "confidence", "steady"):
        image = step.view.digit if step.view.digit is not None else gallery.load().images[step.view.example]
        read = trace(load_model(path), image, step.view.what_if)
        changed = np.flatnonzero(read.probs.argmax(1) != read.prediction)  # steps (from 0) with another answer
        steady = int(changed.max()) + 2 if len(changed) else 1  # the first step from which the answer holds
        return {"final": read.prediction, "confidence": read.probs[-1].max(), "steady": steady}[what]
    if what == "accuracy":
        return stats.accuracy
    if what == "memory":
        return cached_memory(path).lag_r2[int(detail[0])]
    if what in ("gate", "open", "shut"):
        key = {"gate": "", "open": "_right", "shut": "_left"}[what]
        return float(np.mean(stats.units[detail[0] + key]))
    if what == "reach":
        norms = stats.gradient_norms if detail[0] == "h" else stats.cell_gradient_norms
        return norms[0] / norms[-1]
    raise ValueError(f"no such measure: {fact}")


def as_written(value: float, literal: str) -> str:
    """`value` written as `literal` is: a percentage or not, with as many decimals."""
    decimals = len(literal.rstrip("%").partition(".")[2])
    if literal.endswith("%"):
        return f"{value * 100:.{decimals}f}%"
    return f"{value:.{decimals}f}" if decimals else str(int(value))


def test_every_stated_number_is_measured_on_the_shipped_models(shipped):
    lesson = load_lesson()
    checked = 0
    for number, step in enumerate(lesson, 1):
        for literal, fact in step.facts:
            assert literal in step.text, f"step {number}: the fact {literal!r} ({fact}) is not in its text"
            assert as_written(measured(fact, step, shipped), literal) == literal, f"step {number}: {fact}"
            checked += 1
        claimed = {literal for literal, _ in step.facts}
        unmeasured = [n for n in STATED.findall(step.text) if ("%" in n or "." in n) and n not in claimed]
        assert not unmeasured, f"step {number} states {unmeasured} with no fact behind them"
    assert checked >= 20


def test_a_wrong_number_would_be_caught(shipped):
    """The check is not blind: the numbers next to the true ones read differently."""
    step = load_lesson()[1]
    for literal, fact in step.facts:
        value = measured(fact, step, shipped)
        wrong = f"{float(literal.rstrip('%')) + (1 if '%' in literal else 0.01):g}" + ("%" if "%" in literal else "")
        if "." in literal or "%" in literal:
            assert as_written(value, wrong) != wrong, fact


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
