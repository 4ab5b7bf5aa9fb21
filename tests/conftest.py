"""Shared fixtures and helpers: real digits, from the shipped files (which hold 3,000 MNIST training
digits and some test digits, so most tests run in a clone with nothing beside it) or from the
workspace's shared/ folder (all of MNIST, and real pen digits).

Markers (pytest.ini): `mnist` (given automatically to tests that use all of MNIST), `browser`
(Chromium), `slow` (more than a few seconds). The fast loop: pytest -m "not browser and not slow".
Without shared/ data, tests that need it skip with the reason, except under CI (CI=true, or 1, yes, on
in any case), where they fail: CI cannot pass by skipping.
"""

import base64
import gzip
import hashlib
import io
import os
import re
import struct
import tempfile
import time
from pathlib import Path

import numpy as np
import pytest
import torch
from markdown_it import MarkdownIt
from PIL import Image
from streamlit import config as streamlit_config
from streamlit.testing.v1 import AppTest

from rnnviz import RowReader, load_model, preprocess_canvas, trace
from rnnviz.data import gallery, pendigits
from rnnviz.data.mnist import FILES, has_mnist, load_mnist
from rnnviz.neighbours import saved_index
from rnnviz.serving import store
from rnnviz.serving.jobs import LIVE, JobState, JobStatus

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
PEN_DIGITS = SHARED / "pen-digits" / "dev.jsonl"
MORE_WRITERS = SHARED / "pen-digits" / "more-writers.jsonl"
STAND_IN_TRAIN = 2400  # of the shipped digits, the stand-in MNIST's training set (the other 600 are its test set)
MNIST_FIXTURES = {"mnist_test", "mnist_train", "shipped_stats"}  # a test using one of these needs all of MNIST
CI_TRUE = ("true", "1", "yes", "on")  # what CI=... means "this is CI" (lower-cased)
os.environ.setdefault("RNNVIZ_DATA", str(SHARED / "mnist"))
os.environ.setdefault("RNNVIZ_CACHE", tempfile.mkdtemp(prefix="rnnviz-test-cache-"))  # never the user's ~/.cache
# The page's guard hides an error from visitors (.streamlit/config.toml); the tests want to see it: in
# AppTest (this process) and in the servers the browser tests start (streamlit run reads this variable).
os.environ.setdefault("STREAMLIT_CLIENT_SHOW_ERROR_DETAILS", "full")
streamlit_config.get_option("client.showErrorDetails")  # the project's config is read first, then this wins
streamlit_config.set_option("client.showErrorDetails", "full")
torch.set_num_threads(1)  # small recurrent nets gain little from 2 threads, and lose a lot when a core is busy


def pytest_collection_modifyitems(items):
    for item in items:
        if MNIST_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.mnist)


def on_ci() -> bool:
    """Whether the tests run under CI: CI set to true, 1, yes or on, in any case."""
    return os.environ.get("CI", "").strip().lower() in CI_TRUE


def data_missing(what: str) -> None:
    """Skip (fail under CI) a test whose data is not on disk."""
    if on_ci():
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
def shipped_digits():
    """3,000 real MNIST training digits (300 of each class, in MNIST's order) and their labels, as the
    shipped LSTM's neighbour index keeps them: no MNIST on disk needed."""
    index = saved_index(store.shipped_path("lstm"))
    return torch.from_numpy(index.images).float() / 255, torch.from_numpy(index.labels).long()


@pytest.fixture(scope="session")
def digits(shipped_digits):
    """300 of the shipped real digits and their labels, every class among them."""
    images, labels = shipped_digits
    return images[:300], labels[:300]


def write_idx(folder: Path, images: torch.Tensor, labels: torch.Tensor, split: str) -> None:
    """MNIST's IDX files of a split ("train" or "t10k") for images (N, 28, 28) in [0, 1] and labels (N,),
    both gzipped (as MNIST ships them) and unpacked (as torchvision keeps them)."""
    pixels = (images * 255).round().to(torch.uint8).numpy()
    digits = labels.to(torch.uint8).numpy()
    files = {f"{split}-images-idx3-ubyte": struct.pack(">IIII", 2051, *pixels.shape) + pixels.tobytes(),
             f"{split}-labels-idx1-ubyte": struct.pack(">II", 2049, len(digits)) + digits.tobytes()}
    for name, content in files.items():
        (folder / name).write_bytes(content)
        (folder / f"{name}.gz").write_bytes(gzip.compress(content))


@pytest.fixture(scope="session")
def stand_in_mnist(tmp_path_factory, shipped_digits) -> Path:
    """A small MNIST of real digits made from the shipped files, in torchvision's layout: the first
    STAND_IN_TRAIN of the 3,000 indexed training digits as its training set; the rest, and the gallery's
    MNIST test digits, as its test set. For tests that train or load MNIST without needing all of it."""
    folder = tmp_path_factory.mktemp("stand-in-mnist")
    raw = folder / "MNIST" / "raw"
    raw.mkdir(parents=True)
    images, labels = shipped_digits
    write_idx(raw, images[:STAND_IN_TRAIN], labels[:STAND_IN_TRAIN], "train")
    shown = gallery.load()
    write_idx(raw, torch.cat([images[STAND_IN_TRAIN:], torch.from_numpy(shown.images)]),
              torch.cat([labels[STAND_IN_TRAIN:], torch.from_numpy(shown.labels).long()]), "t10k")
    assert {path.name for path in raw.glob("*.gz")} == set(FILES)
    return folder


@pytest.fixture
def offline_mnist(stand_in_mnist, monkeypatch) -> Path:
    """RNNVIZ_DATA set to the stand-in MNIST for this test."""
    monkeypatch.setenv("RNNVIZ_DATA", str(stand_in_mnist))
    return stand_in_mnist


@pytest.fixture(scope="session")
def pen_records():
    """1,000 real pen-drawn digits (stroke trajectories)."""
    if not PEN_DIGITS.exists():
        data_missing(f"The pen digits ({PEN_DIGITS})")
    return pendigits.load(PEN_DIGITS)


@pytest.fixture(scope="session")
def european_writers():
    """The real 1s (long upstroke) and 7s (crossbar) of a European institution's writers (gmd)."""
    if not MORE_WRITERS.exists():
        data_missing(f"The pen digits of more writers ({MORE_WRITERS})")
    return [r for r in pendigits.load(MORE_WRITERS, "gmd") if r["label"] in (1, 7)]


def drawn(strokes, rng: np.random.Generator, brush: float = 18, height: float = 0.7) -> np.ndarray:
    """Strokes (pen-digit format) drawn on the canvas as a user would, then preprocessed: (28, 28)."""
    return preprocess_canvas(pendigits.render(pendigits.place(strokes, height, brush, rng), brush))


@pytest.fixture(scope="session")
def shipped_models():
    """The shipped checkpoints, by cell type."""
    return {cell_type: load_model(store.shipped_path(cell_type)) for cell_type in store.SHIPPED}


@pytest.fixture(scope="session")
def shipped_traces(shipped_models, digits):
    """One trace per shipped model of a real digit (a 7), by cell type."""
    images, labels = digits
    seven = images[labels == 7][0].numpy()
    return {cell_type: trace(model, seven) for cell_type, model in shipped_models.items()}


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


def wait_for(queue, visitor: str, seconds: float = 120, until=tuple(set(JobState) - set(LIVE))) -> JobStatus:
    """Wait until the visitor's newest training job reaches one of the states `until` (by default: it
    has ended); its status."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        status = queue.latest(visitor)
        if status and status.state in until:
            return status
        time.sleep(0.2)
    raise AssertionError(f"the training job did not reach {until} in {seconds} s: {status}")


def wait_until(condition, seconds: float = 120):
    """Wait until condition() returns something true; that."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if found := condition():
            return found
        time.sleep(0.05)
    raise AssertionError("timed out")


def leftovers(folder: Path) -> list[str]:
    """The temp files of atomic writes left anywhere under `folder`."""
    return [path.name for path in folder.rglob("*") if path.name.endswith(".tmp")]


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


def markdown_tags(text: str) -> set[str]:
    """The HTML elements a CommonMark parser makes of `text`: what a note the page shows in Markdown becomes."""
    return set(re.findall(r"<([a-z][a-z0-9]*)", MarkdownIt("commonmark").render(text)))


def peak_megabytes(action) -> float:
    """Run `action()`; return this process's peak memory growth in MB while it ran (the peak is reset
    first through /proc/self/clear_refs, so an earlier peak cannot hide it)."""
    def status(field: str) -> float:
        line = next(line for line in Path("/proc/self/status").read_text().splitlines() if line.startswith(field))
        return int(line.split()[1]) / 1024
    Path("/proc/self/clear_refs").write_text("5")  # reset VmHWM to the current resident size
    before = status("VmRSS")
    action()
    return status("VmHWM") - before


class CountingReader(io.BytesIO):
    """A binary file object that counts the bytes read from it: what a loader looked at before refusing."""

    def __init__(self, data: bytes, name: str):
        super().__init__(data)
        self.name, self.bytes_read = name, 0

    def read(self, size: int | None = -1) -> bytes:
        chunk = super().read(size)
        self.bytes_read += len(chunk)
        return chunk
