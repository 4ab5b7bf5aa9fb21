"""The server's model cache: many models without reloading them, and bounded by bytes, not count."""

from rnnviz import RowReader, save_checkpoint
from ui import cache


def test_many_models_load_once_and_memory_stays_bounded(tmp_path, monkeypatch):
    paths = [save_checkpoint(RowReader("rnn", 8), tmp_path / f"m{n}.pt") for n in range(40)]  # past the old 32
    loads = []
    real_load = cache.load_model
    monkeypatch.setattr(cache, "load_model", lambda path: loads.append(path) or real_load(path))
    models = cache._Models(limit_bytes=2**20)
    for _ in range(3):  # a class picking among 40 models, again and again
        for path in paths:
            models.get(str(path), path.stat().st_mtime)
    assert len(loads) == 40  # each read once: no thrashing
    one = sum(w.numel() * w.element_size() for w in RowReader("rnn", 8).state_dict().values())
    small = cache._Models(limit_bytes=10 * one)
    for path in paths:
        small.get(str(path), path.stat().st_mtime)
    assert small.used <= 10 * one and len(small.models) == 10  # the least recently used went first
    assert list(small.models)[-1][0] == str(paths[-1])
