"""Drawings that are not one digit, as pen strokes (the pen digits' format: screen coordinates, y
down, the longer side spanning 0..1), to replay with `pendigits.place` and `pendigits.render`:
scribbles, two digits side by side, letters, and specks and dashes. What the unsure signal is
checked against (rnnviz/reading.py).
"""

import numpy as np

# Capital letters that are not read as a digit by people either, as strokes on a 0..1 box (x, y down).
LETTERS = {
    "A": [[(0, 1), (0.5, 0), (1, 1)], [(0.25, 0.55), (0.75, 0.55)]],
    "E": [[(1, 0), (0, 0), (0, 1), (1, 1)], [(0, 0.5), (0.7, 0.5)]],
    "F": [[(1, 0), (0, 0), (0, 1)], [(0, 0.5), (0.7, 0.5)]],
    "H": [[(0, 0), (0, 1)], [(1, 0), (1, 1)], [(0, 0.5), (1, 0.5)]],
    "K": [[(0, 0), (0, 1)], [(1, 0), (0, 0.55), (1, 1)]],
    "M": [[(0, 1), (0, 0), (0.5, 0.6), (1, 0), (1, 1)]],
    "N": [[(0, 1), (0, 0), (1, 1), (1, 0)]],
    "R": [[(0, 1), (0, 0), (0.7, 0), (0.9, 0.12), (0.9, 0.38), (0.7, 0.5), (0, 0.5)], [(0.35, 0.5), (1, 1)]],
    "W": [[(0, 0), (0.25, 1), (0.5, 0.4), (0.75, 1), (1, 0)]],
    "X": [[(0, 0), (1, 1)], [(1, 0), (0, 1)]],
}
KINDS = ("scribble", "two digits", "letter", "speck or dash")


def normalised(strokes) -> list[np.ndarray]:
    """Strokes shifted and scaled so that the longer side of their box spans 0..1."""
    points = [np.asarray(s, dtype=np.float64).reshape(-1, 2) for s in strokes]
    every = np.concatenate(points)
    low, extent = every.min(axis=0), np.ptp(every, axis=0).max()
    return [(p - low) / max(extent, 1e-6) for p in points]


def scribble(rng: np.random.Generator) -> list[np.ndarray]:
    """A scrawl: one to three strokes of a random walk that turns sharply and often."""
    strokes = []
    for _ in range(rng.integers(1, 4)):
        steps = rng.integers(12, 40)
        heading = np.cumsum(rng.normal(0, 1.2, steps))  # radians: sharp, frequent turns
        lengths = rng.uniform(0.05, 0.25, steps)
        moves = np.stack([np.cos(heading), np.sin(heading)], 1) * lengths[:, None]  # (steps, 2)
        strokes.append(rng.uniform(0, 1, 2) + np.cumsum(moves, 0))
    return normalised(strokes)


def side_by_side(first: dict, second: dict, rng: np.random.Generator) -> list[np.ndarray]:
    """Two pen-digit records written next to each other, as "17" would be."""
    left, right = normalised(first["strokes"]), normalised(second["strokes"])
    shift = np.concatenate(left)[:, 0].max() + rng.uniform(0.1, 0.4)  # gap between them
    return normalised([*left, *[p + [shift, rng.uniform(-0.1, 0.1)] for p in right]])


def letter(name: str, rng: np.random.Generator) -> list[np.ndarray]:
    """A capital letter with a little wobble at each corner."""
    return normalised([np.asarray(s, dtype=np.float64) + rng.normal(0, 0.03, (len(s), 2)) for s in LETTERS[name]])


def speck_or_dash(rng: np.random.Generator) -> list[np.ndarray]:
    """A tap or a short flick: what an accidental touch leaves."""
    length, angle = rng.uniform(0.0, 1.0), rng.uniform(0, np.pi)
    return normalised([np.array([[0.0, 0.0], [np.cos(angle) * length, np.sin(angle) * length]])])


def generate(kind: str, count: int, records, rng: np.random.Generator) -> list[list[np.ndarray]]:
    """`count` drawings of one of KINDS; `records` (pen digits) supply the two-digit pairs."""
    if kind == "scribble":
        return [scribble(rng) for _ in range(count)]
    if kind == "two digits":
        return [side_by_side(*rng.choice(records, 2), rng) for _ in range(count)]
    if kind == "letter":
        return [letter(name, rng) for name in rng.choice(list(LETTERS), count)]
    if kind == "speck or dash":
        return [speck_or_dash(rng) for _ in range(count)]
    raise ValueError(f"no kind {kind!r}; the kinds are {', '.join(KINDS)}")
