"""What is loaded once per server process and shared by every session (st.cache_resource)."""

import threading
from collections import OrderedDict
from pathlib import Path
from typing import NamedTuple

import streamlit as st
import torch

from rnnviz import CELL_TYPES, RowReader, gallery, load_model, memory, neighbours, registry, stats
from rnnviz.data import data_dir, has_mnist, load_mnist
from rnnviz.training_job import TrainingQueue


class Loaded(NamedTuple):
    """A checkpoint the page can use: where it is, and the model read from it."""

    entry: registry.Entry
    model: RowReader


@st.cache_resource
def _training_queue(store: str) -> TrainingQueue:
    return TrainingQueue()


def training_queue() -> TrainingQueue:
    """This server's training queue (one per model store)."""
    return _training_queue(str(registry.user_dir()))


MODEL_CACHE_MB = 512  # models kept in memory, least recently used dropped first (a hidden-100 LSTM is 0.2 MB)


class _Models:
    """Loaded models by (path, modified), bounded by their weights' bytes rather than their number:
    a class's hundreds of small models fit, a few huge ones cannot crowd out memory."""

    def __init__(self, limit_bytes: int):
        self.limit, self.used = limit_bytes, 0
        self.models: OrderedDict[tuple[str, float], tuple[RowReader, int]] = OrderedDict()
        self.lock = threading.Lock()

    def get(self, path: str, modified: float) -> RowReader:
        key = (path, modified)
        with self.lock:
            if key in self.models:
                self.models.move_to_end(key)
                return self.models[key][0]
        model = load_model(path)  # outside the lock: other sessions' models stay available meanwhile
        size = sum(weights.numel() * weights.element_size() for weights in model.state_dict().values())
        with self.lock:
            if key not in self.models:
                self.models[key], self.used = (model, size), self.used + size
            while self.used > self.limit and len(self.models) > 1:
                _, (_, dropped) = self.models.popitem(last=False)
                self.used -= dropped
            return self.models[key][0] if key in self.models else model


@st.cache_resource
def _models() -> _Models:
    return _Models(MODEL_CACHE_MB * 2**20)


@st.cache_resource(max_entries=4096)
def _label(path: str, modified: float, shipped: bool) -> str:
    """A checkpoint's picker label, kept once made (so listing many models loads none of them again)."""
    return registry.describe(_models().get(path, modified), registry.Entry(Path(path), shipped))


def label(entry: registry.Entry) -> str:
    """The picker label of a checkpoint (raises CheckpointError or OSError when it cannot be read)."""
    return _label(str(entry.path), entry.path.stat().st_mtime, entry.shipped)


def load_entry(entry: registry.Entry) -> Loaded:
    """The model of a checkpoint entry (raises CheckpointError or OSError when it cannot be read)."""
    return Loaded(entry, _models().get(str(entry.path), entry.path.stat().st_mtime))


def shipped_models() -> dict[str, Loaded]:
    """cell type -> the shipped model of that type, for those whose checkpoint exists."""
    paths = {cell_type: registry.shipped_path(cell_type) for cell_type in CELL_TYPES}
    return {cell_type: load_entry(registry.Entry(path, shipped=True)) for cell_type, path in paths.items()
            if path.exists()}


@st.cache_resource
def load_gallery() -> gallery.Gallery:
    return gallery.load()


@st.cache_resource
def _mnist_test(folder: str) -> tuple[torch.Tensor, torch.Tensor]:
    return load_mnist("test", folder, download=False)


def mnist_test() -> tuple[torch.Tensor, torch.Tensor] | None:
    """The MNIST test images (N, 28, 28) and labels (N,), read once per server; None when not on disk."""
    return _mnist_test(str(data_dir())) if has_mnist() else None


@st.cache_resource
def _mnist_train(folder: str) -> tuple[torch.Tensor, torch.Tensor]:
    """Called only when has_mnist(): "download" then only unpacks the .gz files torchvision needs unpacked."""
    return load_mnist("train", folder)


@st.cache_resource(max_entries=32)
def _neighbour_index(path: str, modified: float, has_train_set: bool) -> neighbours.NeighbourIndex | None:
    """A checkpoint's nearest-digit index, read once per server (made from MNIST the first time)."""
    found = neighbours.cached_index(path)
    if found is None and has_train_set:
        found = neighbours.neighbour_index(path, *_mnist_train(str(data_dir())), mnist_test()[0])
    return found


def neighbour_index(entry: registry.Entry) -> neighbours.NeighbourIndex | None:
    """The checkpoint's index of MNIST training digits by final state (shipped models ship theirs);
    None when it is not kept and MNIST is not on disk to make it."""
    return _neighbour_index(str(entry.path), entry.path.stat().st_mtime, has_mnist())


@st.cache_resource
def _remembered() -> dict:
    """What was read or computed per checkpoint so far, by (kind, checkpoint, modified); for all sessions."""
    return {}


def _kept_or_made(kind: str, entry: registry.Entry, read, make):
    """read(checkpoint path) from disk (shipped models ship theirs), else make() from MNIST the first time;
    remembered for every session. None when neither can be had."""
    key, remembered = (kind, str(entry.path), entry.path.stat().st_mtime), _remembered()
    if key not in remembered:
        found = read(entry.path)
        if found is None and mnist_test() is not None:
            found = make()
        if found is None:
            return None
        remembered[key] = found
    return remembered[key]


def test_set_stats(entry: registry.Entry) -> stats.TestSetStats | None:
    """The MNIST test-set statistics of a checkpoint: kept on disk, or computed from MNIST the first
    time (10-30 s, with a progress bar). None when neither can be had."""

    def make():
        bar = st.progress(0.0)
        made = stats.test_set_stats(entry.path, *mnist_test(), progress=lambda done: bar.progress(
            done, text=f"Reading the 10,000 test digits with {entry.name} (only the first time): {done:.0%}"))
        bar.empty()
        return made

    return _kept_or_made("stats", entry, stats.cached_stats, make)


def test_digit(index: int, entries: list[registry.Entry]) -> tuple[torch.Tensor, int] | None:
    """MNIST test digit `index` as ((28, 28) image, label): from MNIST, or else from the statistics of
    `entries` that keep its image (a misread digit opened from Evaluate needs no MNIST). None otherwise."""
    if (test_set := mnist_test()) is not None:
        images, labels = test_set
        return images[index], int(labels[index])
    for entry in entries:
        kept = test_set_stats(entry)
        if kept is not None and (image := kept.digit(index)) is not None:
            return torch.from_numpy(image), int(kept.labels[index])
    return None


def memory_decoders(entry: registry.Entry) -> memory.MemoryDecoders | None:
    """A checkpoint's memory decoders: kept on disk, or fitted from MNIST the first time (10-30 s here,
    with a spinner). None when neither can be had."""

    def make():
        with st.spinner(f"Fitting what {entry.name} remembers on 20,000 MNIST digits (only the first time)…"):
            train_images = _mnist_train(str(data_dir()))[0][: memory.TRAIN_IMAGES]
            return memory.checkpoint_memory(entry.path, train_images, mnist_test()[0])

    return _kept_or_made("memory", entry, memory.cached_memory, make)
