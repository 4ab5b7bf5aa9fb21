"""The page's one cache: everything it keeps, bounded by the bytes it holds, not by a count; many
models without reloading them; what could not be had is not kept."""

import numpy as np
import torch

from rnnviz import RowReader, save_checkpoint
from rnnviz.serving import store
from ui import cache


def test_a_model_counts_its_weights_and_everything_it_carries():
    model = RowReader("rnn", 8)
    weights = sum(w.numel() * w.element_size() for w in model.state_dict().values())
    assert weights <= cache.size_of(model) < weights + 2_000
    model.info = {"history": [{"loss": 0.5}] * 10, "extra": np.zeros(1_000_000, dtype=np.uint8)}
    assert cache.size_of(model) > weights + 1_000_000  # what rides along in a checkpoint counts too
    assert cache.size_of((torch.zeros(1000), "x" * 5000)) > 4000 + 5000


def test_many_models_load_once_and_memory_stays_bounded(tmp_path, monkeypatch):
    paths = [save_checkpoint(RowReader("rnn", 8), tmp_path / f"m{n}.safetensors") for n in range(40)]
    entries = [store.Entry(path, shipped=False) for path in paths]
    loads = []
    real_load = cache.load_model
    monkeypatch.setattr(cache, "load_model", lambda path: loads.append(path) or real_load(path))
    monkeypatch.setattr(cache, "_cache", lambda: everything)
    everything = cache.ByteCache(limit=2**20)
    for _ in range(3):  # a class picking among 40 models, again and again
        for entry in entries:
            cache.load_entry(entry)
    assert len(loads) == 40  # each read once: no thrashing
    one = cache.size_of(cache.load_entry(entries[0]).model)
    everything = cache.ByteCache(limit=10 * one)
    for entry in entries:
        cache.load_entry(entry)
    assert everything.used <= 10 * one and len(everything.values) == 10  # the least recently used went first
    assert list(everything.values)[-1][1] == str(paths[-1])


def test_nothing_is_kept_when_nothing_could_be_had():
    kept = cache.ByteCache(limit=2**20)
    made = []
    assert kept.get(("absent",), lambda: made.append(1)) is None
    assert kept.get(("absent",), lambda: made.append(1) or "found") == "found" and len(made) == 2
    assert kept.get(("absent",), lambda: 1 / 0) == "found"  # kept from now on
