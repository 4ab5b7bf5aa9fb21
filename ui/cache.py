"""What is loaded once per server process and shared by every session (st.cache_resource)."""

from typing import NamedTuple

import streamlit as st
import torch

from rnnviz import CELL_TYPES, RowReader, gallery, load_model, neighbours, registry, stats
from rnnviz.data import data_dir, has_mnist, load_mnist


class Loaded(NamedTuple):
    """A checkpoint the page can use: where it is, and the model read from it."""

    entry: registry.Entry
    model: RowReader


@st.cache_resource(max_entries=32)
def _load_checkpoint(path: str, modified: float) -> RowReader:
    """A model loaded once per server (and again if its file changes: `modified`)."""
    return load_model(path)


def load_entry(entry: registry.Entry) -> Loaded:
    """The model of a checkpoint entry (raises CheckpointError or OSError when it cannot be read)."""
    return Loaded(entry, _load_checkpoint(str(entry.path), entry.path.stat().st_mtime))


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
def _remembered_stats() -> dict:
    """Test-set statistics read or computed so far, by (checkpoint, modified); for all sessions."""
    return {}


def test_set_stats(entry: registry.Entry) -> stats.TestSetStats | None:
    """The MNIST test-set statistics of a checkpoint: kept on disk (shipped models ship theirs), or
    computed from MNIST the first time (10-30 s, with a progress bar). None when neither can be had."""
    key, remembered = (str(entry.path), entry.path.stat().st_mtime), _remembered_stats()
    if key not in remembered:
        found = stats.cached_stats(entry.path)
        if found is None and (test_set := mnist_test()) is not None:
            bar = st.progress(0.0)
            found = stats.test_set_stats(entry.path, *test_set, progress=lambda done: bar.progress(
                done, text=f"Reading the 10,000 test digits with {entry.name} (only the first time): {done:.0%}"))
            bar.empty()
        if found is None:
            return None
        remembered[key] = found
    return remembered[key]


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
