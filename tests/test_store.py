"""Where checkpoints live: each visitor's models their own (every visitor's only when the operator
says so), limits that prune the oldest, and a path box that opens nothing but .safetensors files in its folders."""

import os
import shutil
import time

import pytest

from rnnviz import CheckpointError, RowReader, load_model, save_checkpoint
from rnnviz.serving import store
from tests.conftest import ROOT, peak_megabytes

GRU = (ROOT / "models" / "gru.safetensors").read_bytes()


def names(entries) -> list[str]:
    return [entry.name for entry in entries if not entry.shipped]


def test_each_visitor_sees_the_shipped_the_class_and_their_own(user_models, monkeypatch):
    anna, ben = store.new_visitor_id(), store.new_visitor_id()
    anna_model, _ = store.add_checkpoint(GRU, "anna.safetensors", anna)
    ben_model, _ = store.add_checkpoint(GRU, "ben.safetensors", ben)
    save_checkpoint(load_model(anna_model), user_models / "class.safetensors")  # the operator's, at the top level
    assert [e.name for e in store.list_checkpoints(anna) if e.shipped] == list(store.SHIPPED)
    assert names(store.list_checkpoints(anna)) == ["class", anna_model.stem]
    assert names(store.list_checkpoints(ben)) == ["class", ben_model.stem]
    assert names(store.list_checkpoints()) == ["class"]
    monkeypatch.setenv("RNNVIZ_SHARE_MODELS", "1")
    assert sorted(names(store.list_checkpoints(anna))) == sorted(["class", anna_model.stem, ben_model.stem])


@pytest.mark.parametrize("forged", ["../../etc", "", "A" * 32, "0" * 31, None])
def test_only_visitor_ids_name_a_folder(forged):
    with pytest.raises(ValueError):
        store.visitor_dir(forged)
    assert not store.is_visitor_id(forged)


def test_the_oldest_are_pruned_past_the_count(user_models, monkeypatch):
    monkeypatch.setenv("RNNVIZ_MAX_MODELS", "3")
    visitor, added = store.new_visitor_id(), []
    for n in range(5):
        path, pruned = store.add_checkpoint(GRU, f"m{n}.safetensors", visitor)
        os.utime(path, (time.time() + n, time.time() + n))  # distinct ages, whatever the clock's resolution
        added.append((path, pruned))
    assert [pruned for _, pruned in added] == [[], [], [], [added[0][0].stem], [added[1][0].stem]]
    assert names(store.list_checkpoints(visitor)) == [path.stem for path, _ in reversed(added[2:])]
    message = store.pruned_message(added[3][1])
    assert "3 models" in message and added[0][0].stem in message and "oldest" in message


def test_the_oldest_are_pruned_past_the_size(user_models, monkeypatch, tmp_path):
    monkeypatch.setenv("RNNVIZ_MAX_MB", "1")
    big = save_checkpoint(RowReader("lstm", 150), tmp_path / "big.safetensors").read_bytes()  # about 0.45 MB
    visitor = store.new_visitor_id()
    first, _ = store.add_checkpoint(big, "a.safetensors", visitor)
    os.utime(first, (time.time() - 10, time.time() - 10))
    second, _ = store.add_checkpoint(big, "b.safetensors", visitor)
    third, pruned = store.add_checkpoint(big, "c.safetensors", visitor)
    assert pruned == [first.stem] and not first.exists() and second.exists() and third.exists()


@pytest.fixture
def server_files(tmp_path):
    """A folder the path box may read, holding a good checkpoint and every kind of trap."""
    allowed = tmp_path / "allowed"
    allowed.mkdir()
    shutil.copy(ROOT / "models" / "rnn.safetensors", allowed / "good.safetensors")
    os.mkfifo(allowed / "fifo.safetensors")
    (allowed / "folder.safetensors").mkdir()
    (allowed / "passwd.safetensors").symlink_to("/etc/passwd")
    (allowed / "zero.safetensors").symlink_to("/dev/zero")
    shutil.copy(ROOT / "models" / "rnn.safetensors", tmp_path / "outside.safetensors")
    (allowed / "out.safetensors").symlink_to(tmp_path / "outside.safetensors")
    (allowed / "broken.safetensors").write_bytes(b"\x80\x02garbage")
    return allowed


@pytest.mark.parametrize("trap", ["/dev/zero", "fifo.safetensors", "passwd.safetensors", "zero.safetensors",
                                  "out.safetensors", "../outside.safetensors", "folder.safetensors", "/etc/passwd",
                                  "missing.safetensors", "broken.safetensors", "good.safetensors/.."])
def test_the_path_box_refuses_every_trap_alike(server_files, user_models, trap):
    path = trap if trap.startswith("/") else str(server_files / trap)
    refusals = []

    def add():
        with pytest.raises(CheckpointError) as refused:
            store.add_checkpoint_file(path, store.new_visitor_id(), allowed=(server_files, ))
        refusals.append(str(refused.value))

    megabytes = peak_megabytes(add)  # a FIFO or a device is refused without waiting on it: this returns
    assert refusals == [store.PATH_REFUSED]  # the same words whatever the reason: nothing to map the disk by
    assert megabytes < 100, megabytes
    assert not list(user_models.rglob("*.safetensors"))


def test_the_path_box_adds_a_checkpoint_in_its_folders(server_files, user_models):
    visitor = store.new_visitor_id()
    added, _ = store.add_checkpoint_file(str(server_files / "good.safetensors"), visitor, allowed=(server_files, ))
    assert added.parent == store.visitor_dir(visitor) and load_model(added).cell_type == "rnn"
