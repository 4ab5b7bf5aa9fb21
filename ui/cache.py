"""What the page keeps once per server process and shares between every session: one cache, least
recently used dropped first, bounded by the bytes of what it holds, for everything loaded or
computed (models, their labels, kept statistics and indexes, the gallery, MNIST). A class's
hundreds of small models fit; a few huge ones cannot crowd out memory."""

import dataclasses
import sys
import threading
from collections import OrderedDict
from collections.abc import Callable
from pathlib import Path
from typing import NamedTuple

import numpy as np
import streamlit as st
import torch

from rnnviz import CELL_TYPES, RowReader, load_model, memory, neighbours, stats
from rnnviz.config import data_dir
from rnnviz.data import gallery
from rnnviz.data.mnist import has_mnist, load_mnist
from rnnviz.serving import JobQueue, make_queue, store
from rnnviz.serving.jobs import JobStatus
from rnnviz.serving.server_config import server_config

CACHE_MB = 1024  # everything together (a hidden-100 LSTM is 0.2 MB; MNIST's training images 188 MB)


def size_of(value) -> int:
    """Bytes a value holds: tensors, arrays, models (weights and their `info`), dataclasses and containers."""
    if isinstance(value, torch.Tensor):
        return value.numel() * value.element_size()
    if isinstance(value, np.ndarray):
        return value.nbytes
    if isinstance(value, torch.nn.Module):
        return size_of(list(value.state_dict().values())) + size_of(getattr(value, "info", None))
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return size_of([getattr(value, field.name) for field in dataclasses.fields(value)])
    if isinstance(value, dict):
        return size_of(list(value.keys())) + size_of(list(value.values()))
    if isinstance(value, (list, tuple)):
        return sys.getsizeof(value) + sum(size_of(item) for item in value)
    return sys.getsizeof(value)


class ByteCache:
    """Values by key, the least recently used dropped first once they hold more than `limit` bytes."""

    def __init__(self, limit: int):
        self.limit, self.used = limit, 0
        self.values: OrderedDict[tuple, tuple[object, int]] = OrderedDict()
        self.lock = threading.Lock()

    def get(self, key: tuple, make: Callable[[], object]):
        """The value kept under `key`, else make() (outside the lock: other visitors' values stay at
        hand meanwhile), kept unless it is None."""
        with self.lock:
            if key in self.values:
                self.values.move_to_end(key)
                return self.values[key][0]
        value = make()
        if value is None:
            return None
        size = size_of(value)
        with self.lock:
            if key not in self.values:
                self.values[key], self.used = (value, size), self.used + size
            while self.used > self.limit and len(self.values) > 1:
                _, (_, dropped) = self.values.popitem(last=False)
                self.used -= dropped
            return self.values[key][0] if key in self.values else value


@st.cache_resource
def _cache() -> ByteCache:
    return ByteCache(CACHE_MB * 2**20)


@st.cache_resource
def _training_queue(store_path: str, queue_url: str) -> JobQueue:
    return make_queue(queue_url)


def training_queue() -> JobQueue:
    """This server's training queue (one per model store and queue setting)."""
    return _training_queue(str(store.store_dir()), server_config().queue_url)


class Loaded(NamedTuple):
    """A checkpoint the page can use: where it is, and the model read from it."""

    entry: store.Entry
    model: RowReader


def _of(entry: store.Entry, kind: str) -> tuple:
    """The cache key of something read from a checkpoint: a changed file is read again."""
    return kind, str(entry.path), entry.path.stat().st_mtime


def picker_label(entry: store.Entry) -> str:
    """The picker label of a checkpoint (raises CheckpointError or OSError when it cannot be read)."""
    return _cache().get(_of(entry, "label"), lambda: store.describe(load_entry(entry).model, entry))


def load_entry(entry: store.Entry) -> Loaded:
    """The model of a checkpoint entry (raises CheckpointError or OSError when it cannot be read)."""
    return Loaded(entry, _cache().get(_of(entry, "model"), lambda: load_model(entry.path)))


def shipped_models() -> dict[str, Loaded]:
    """cell type -> the shipped model of that type, for those whose checkpoint exists."""
    paths = {cell_type: store.shipped_path(cell_type) for cell_type in CELL_TYPES}
    return {cell_type: load_entry(store.Entry(path, shipped=True)) for cell_type, path in paths.items()
            if path.exists()}


def load_gallery() -> gallery.Gallery:
    return _cache().get(("gallery",), gallery.load)


def mnist_test() -> tuple[torch.Tensor, torch.Tensor] | None:
    """The MNIST test images (N, 28, 28) and labels (N,), read once; None when not on disk."""
    if not has_mnist():
        return None
    return _cache().get(("mnist", "test", str(data_dir())), lambda: load_mnist("test", download=False))


def _kept(entry: store.Entry, kind: str, read: Callable[[Path], object]):
    """read(checkpoint path): a file kept beside the checkpoint (the shipped models ship theirs; a worker
    makes a new checkpoint's, see measuring), or None while there is none."""
    return _cache().get(_of(entry, kind), lambda: read(entry.path))


def saved_index(entry: store.Entry) -> neighbours.NeighbourIndex | None:
    """The checkpoint's index of MNIST training digits by final state, or None while it has none."""
    return _kept(entry, "neighbours", neighbours.saved_index)


def saved_stats(entry: store.Entry) -> stats.TestSetStats | None:
    """The checkpoint's MNIST test-set statistics, or None while it has none."""
    return _kept(entry, "stats", stats.saved_stats)


def saved_memory(entry: store.Entry) -> memory.MemoryDecoders | None:
    """The checkpoint's memory decoders, or None while it has none."""
    return _kept(entry, "memory", memory.saved_memory)


def measuring(entry: store.Entry, visitor: str) -> JobStatus | None:
    """The job that measures a checkpoint which lacks its kept files, in a worker: started now if need be
    (MNIST must be on disk for it), under way, or ended (failed, or done and its files there to read).
    None when there is no MNIST to measure it with."""
    return training_queue().measure(entry.path, visitor) if has_mnist() else None


def test_digit(index: int, entries: list[store.Entry]) -> tuple[torch.Tensor, int] | None:
    """MNIST test digit `index` as ((28, 28) image, label): from MNIST, or else from the statistics of
    `entries` that keep its image (a misread digit opened from Evaluate needs no MNIST). None otherwise."""
    if (test_set := mnist_test()) is not None:
        images, labels = test_set
        return images[index], int(labels[index])
    for entry in entries:
        kept = saved_stats(entry)
        if kept is not None and (image := kept.digit(index)) is not None:
            return torch.from_numpy(image), int(kept.labels[index])
    return None
