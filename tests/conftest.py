"""Shared fixtures and helpers: real MNIST and real pen digits from the workspace's shared/ folder.

Markers (pytest.ini): `mnist` (given automatically to tests that use MNIST), `browser` (Chromium),
`slow` (more than a few seconds). The fast loop: pytest -m "not browser and not slow".
Without shared/ data, tests that need it skip with the reason, except under CI=true, where they fail:
CI cannot pass by skipping.
"""

import base64
import hashlib
import io
import os
import tempfile
import time
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from streamlit.testing.v1 import AppTest

from rnnviz import RowReader, load_model, pendigits, preprocess_canvas, registry, save_checkpoint
from rnnviz.data import has_mnist, load_mnist

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
PEN_DIGITS = SHARED / "pen-digits" / "dev.jsonl"
MNIST_FIXTURES = {"mnist_test", "mnist_train", "digits", "shipped_stats"}  # a test using one of these needs MNIST
os.environ.setdefault("RNNVIZ_DATA", str(SHARED / "mnist"))
os.environ.setdefault("RNNVIZ_CACHE", tempfile.mkdtemp(prefix="rnnviz-test-cache-"))  # never the user's ~/.cache
torch.set_num_threads(1)  # small recurrent nets gain little from 2 threads, and lose a lot when a core is busy


def pytest_collection_modifyitems(items):
    for item in items:
        if MNIST_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.mnist)


def data_missing(what: str) -> None:
    """Skip (fail under CI=true) a test whose data is not on disk."""
    if os.environ.get("CI") == "true":
        pytest.fail(f"{what} is missing, and CI must not pass by skipping")
    pytest.skip(f"{what} is missing")


@pytest.fixture(scope="session")
def mnist_test():
    """The 10,000 MNIST test images (N, 28, 28) in [0, 1] and labels (N,)."""
    if not has_mnist():
        data_missing(f"MNIST (set RNNVIZ_DATA; {os.environ['RNNVIZ_DATA']} has no MNIST files)")
    return load_mnist("test")


@pytest.fixture(scope="session")
def mnist_train():
    """The 60,000 MNIST training images (N, 28, 28) in [0, 1] and labels (N,)."""
    if not has_mnist():
        data_missing(f"MNIST (set RNNVIZ_DATA; {os.environ['RNNVIZ_DATA']} has no MNIST files)")
    return load_mnist("train")


@pytest.fixture(scope="session")
def digits(mnist_test):
    """300 real test digits and labels."""
    images, labels = mnist_test
    return images[:300], labels[:300]


@pytest.fixture(scope="session")
def pen_records():
    """1,000 real pen-drawn digits (stroke trajectories)."""
    if not PEN_DIGITS.exists():
        data_missing(f"The pen digits ({PEN_DIGITS})")
    return pendigits.load(PEN_DIGITS)


def drawn(strokes, rng: np.random.Generator, brush: float = 18, height: float = 0.7) -> np.ndarray:
    """Strokes (pen-digit format) drawn on the canvas as a user would, then preprocessed: (28, 28)."""
    return preprocess_canvas(pendigits.render(pendigits.place(strokes, height, brush, rng), brush))


@pytest.fixture(scope="session")
def shipped_models():
    """The shipped checkpoints, by cell type."""
    return {cell_type: load_model(registry.shipped_path(cell_type)) for cell_type in registry.SHIPPED}


@pytest.fixture
def user_models(tmp_path, monkeypatch):
    """An empty user model folder for this test (never ~/.cache)."""
    folder = tmp_path / "user-models"
    monkeypatch.setenv("RNNVIZ_MODELS", str(folder))
    return folder


def random_model(cell_type: str, hidden: int = 16, seed: int = 0, scale: float = 3.0,
                 double: bool = False) -> RowReader:
    """Random weights, scaled up so that gates saturate sometimes."""
    torch.manual_seed(seed)
    model = RowReader(cell_type, hidden).eval()
    with torch.no_grad():
        for p in model.parameters():
            p.mul_(scale)
    return model.double() if double else model


class RunsCode:
    """Unpickling this runs code: it writes the file named by $PWNED (so a test can see whether it ran)."""

    def __reduce__(self):
        return (exec, ("import os, pathlib; pathlib.Path(os.environ['PWNED']).write_text('ran')",))


def wait_for(job, seconds: float = 120) -> None:
    """Wait until a TrainingJob is over."""
    deadline = time.monotonic() + seconds
    while job.running and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not job.running, "training did not finish in time"


def checkpoint_payload(model: RowReader, tmp_path) -> dict:
    """The dict a checkpoint of `model` holds (to spoil, then save as a crafted checkpoint)."""
    return torch.load(save_checkpoint(model, tmp_path / "good.pt", test_accuracy=0.5), weights_only=True)


def nan_weights(payload: dict) -> None:
    """Spoil a checkpoint payload: every weight NaN."""
    payload["state_dict"] = {k: torch.full_like(v, float("nan")) for k, v in payload["state_dict"].items()}


def digest(path: Path) -> str:
    """sha256 of a file's bytes: to tell whether it changed."""
    return hashlib.sha256(path.read_bytes()).hexdigest()


def app_test(state: dict | None = None) -> AppTest:
    """The app (not run yet) with these session-state values, keyed by ui.state's keys."""
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    for key, value in (state or {}).items():
        at.session_state[key] = value
    return at


def canvas_state(rgba: np.ndarray) -> dict:
    """What the canvas component sends after a stroke: the drawing as a PNG data URL."""
    png = io.BytesIO()
    Image.fromarray(rgba).save(png, format="PNG")
    url = "data:image/png;base64," + base64.b64encode(png.getvalue()).decode()
    return {"drawing": {"raw": {"objects": []}, "data": url}, "backgroundFit": None}
