"""Checkpoints round-trip; anything else is refused with a clear error, without running code; a crash
while saving never leaves a broken file."""

import io
import pickle
import shutil
import signal
import subprocess
import sys
import zipfile

import pytest
import torch

from rnnviz import CheckpointError, RowReader, load_model, save_checkpoint
from rnnviz.checkpoint import MAX_BYTES
from rnnviz.serving import store
from tests.conftest import (
    ROOT,
    RunsCode,
    bounded,
    checkpoint_payload,
    digest,
    nan_weights,
    nested_references,
    zip_bomb,
)


def test_round_trip(tmp_path, mnist_test):
    torch.manual_seed(0)
    model = RowReader("gru", 32).eval()
    path = save_checkpoint(model, tmp_path / "gru.pt", test_accuracy=0.5, settings={"epochs": 1})
    loaded = load_model(path)
    assert loaded.cell_type == "gru" and loaded.hidden_size == 32 and not loaded.training
    assert loaded.info["test_accuracy"] == 0.5 and loaded.info["settings"] == {"epochs": 1}
    images = mnist_test[0][:16]
    with torch.no_grad():
        torch.testing.assert_close(loaded(images), model(images), atol=0, rtol=0)
    with open(path, "rb") as f:  # a file object (as from an upload) works too
        assert load_model(io.BytesIO(f.read())).cell_type == "gru"
    assert [p.name for p in tmp_path.iterdir()] == ["gru.pt"]  # no temp files left behind


def test_corrupt_and_foreign_files_are_rejected(tmp_path):
    good = save_checkpoint(RowReader("lstm", 8), tmp_path / "good.pt")
    data = good.read_bytes()
    cases = {
        "truncated.pt": data[: len(data) // 2],
        "garbage.pt": b"\x00\x01 not a checkpoint" * 100,
        "empty.pt": b"",
    }
    for name, content in cases.items():
        (tmp_path / name).write_bytes(content)
        with pytest.raises(CheckpointError, match=name):
            load_model(tmp_path / name)
    torch.save({"weights": torch.zeros(3)}, tmp_path / "foreign.pt")  # a torch file, not ours
    with pytest.raises(CheckpointError, match="not an rnnviz checkpoint"):
        load_model(tmp_path / "foreign.pt")
    with pytest.raises(CheckpointError, match="cannot read"):
        load_model(tmp_path / "missing.pt")


def test_wrong_architecture_is_rejected(tmp_path):
    payload = torch.load(save_checkpoint(RowReader("lstm", 8), tmp_path / "a.pt"), weights_only=True)
    payload["config"] = {"cell": "gru", "hidden_size": 8}  # LSTM weights claiming to be a GRU
    torch.save(payload, tmp_path / "mismatch.pt")
    with pytest.raises(CheckpointError, match="do not fit"):
        load_model(tmp_path / "mismatch.pt")
    payload["config"] = {"cell": "transformer", "hidden_size": 8}
    torch.save(payload, tmp_path / "unknown.pt")
    with pytest.raises(CheckpointError, match="invalid model config"):
        load_model(tmp_path / "unknown.pt")


def test_pickles_that_run_code_are_refused_without_running(tmp_path, monkeypatch):
    marker = tmp_path / "pwned"
    monkeypatch.setenv("PWNED", str(marker))
    torch.save({"format": "rnnviz-checkpoint-1", "payload": RunsCode()}, tmp_path / "evil.pt")
    torch.save({"format": "rnnviz-checkpoint-1", "config": RunsCode()}, tmp_path / "legacy.pt",
               _use_new_zipfile_serialization=False)  # torch's old format
    (tmp_path / "evil.pkl").write_bytes(pickle.dumps(RunsCode()))  # a bare pickle
    for name in ("evil.pt", "legacy.pt", "evil.pkl"):
        with pytest.raises(CheckpointError, match=name):
            load_model(tmp_path / name)
    assert not marker.exists()


def test_oversized_file_is_refused(tmp_path):
    big = tmp_path / "big.pt"
    with open(big, "wb") as f:
        f.truncate(60 * 1024 * 1024)
    with pytest.raises(CheckpointError, match="too large"):
        load_model(big)


@pytest.mark.parametrize("case, spoil", [
    ("weights of another size", lambda p: p["config"].update(hidden_size=16)),
    ("an unknown config key", lambda p: p["config"].update(layers=3)),
    ("absurd hidden size", lambda p: p["config"].update(hidden_size=10**9)),
    ("hidden size as text", lambda p: p["config"].update(hidden_size="8")),
    ("no weights", lambda p: p.pop("state_dict")),
    ("a missing tensor", lambda p: p["state_dict"].pop("readout.bias")),
    ("weights as a list", lambda p: p.update(state_dict=list(p["state_dict"].values()))),
    ("NaN weights", nan_weights),
])
def test_malformed_checkpoints_are_refused(tmp_path, case, spoil):
    payload = checkpoint_payload(RowReader("lstm", 8), tmp_path)
    spoil(payload)
    torch.save(payload, tmp_path / "spoilt.pt")
    with pytest.raises(CheckpointError, match="spoilt.pt"):
        load_model(tmp_path / "spoilt.pt")


def test_oversized_upload_is_refused_before_reading(tmp_path, monkeypatch):
    monkeypatch.setenv("RNNVIZ_MODELS", str(tmp_path))
    with pytest.raises(CheckpointError, match="too large"):
        store.add_checkpoint(bytes(MAX_BYTES + 1), "big.pt")
    assert not list(tmp_path.iterdir())


DIE_WHILE_SAVING = """
import os, signal, sys, torch
from rnnviz import RowReader, save_checkpoint
real_save = torch.save
def save_half_then_die(obj, f):
    real_save(obj, f)
    f.truncate(f.tell() // 2)
    f.flush()
    os.kill(os.getpid(), signal.SIGKILL)
torch.save = save_half_then_die
save_checkpoint(RowReader("gru", 16), sys.argv[1])
"""


@pytest.mark.slow
def test_killed_while_saving_leaves_no_broken_checkpoint(tmp_path, monkeypatch):
    out = tmp_path / "model.pt"
    shutil.copy(ROOT / "models" / "gru.pt", out)
    before = digest(out)
    run = subprocess.run([sys.executable, "-c", DIE_WHILE_SAVING, str(out)], cwd=ROOT)
    assert run.returncode == -signal.SIGKILL
    assert digest(out) == before and load_model(out).cell_type == "gru"
    monkeypatch.setenv("RNNVIZ_MODELS", str(tmp_path))  # the half-written file is not a checkpoint the app lists
    assert [e.path for e in store.list_checkpoints() if not e.shipped] == [out]


def test_bomb_is_what_it_claims(tmp_path):
    bomb = zip_bomb(tmp_path / "bomb.pt", save_checkpoint(RowReader("lstm", 8), tmp_path / "good.pt"))
    [data] = [info for info in zipfile.ZipFile(bomb).infolist() if info.filename.endswith("/data/0")]
    assert bomb.stat().st_size < 2 * 2**20 and data.file_size == 2**30  # 1 GB of zeros in about 1 MB
    with zipfile.ZipFile(bomb).open(data) as stream:
        assert stream.read(2**20) == bytes(2**20)


@pytest.mark.parametrize("case", ["nested config", "nested history", "zip bomb"])
def test_crafted_checkpoints_are_refused_quickly_in_little_memory(tmp_path, case):
    """A 217 KB nested-reference config once froze the server for 9 s (+0.9 GB); 1 GB of deflated
    zeros took 1.1 GB. Each must be refused in under 1 s and 100 MB, with a short message."""
    crafted = tmp_path / "crafted.pt"
    if case == "zip bomb":
        zip_bomb(crafted, save_checkpoint(RowReader("lstm", 8), tmp_path / "good.pt"))
    else:
        payload = checkpoint_payload(RowReader("lstm", 8), tmp_path)
        payload["config" if case == "nested config" else "history"] = nested_references()
        torch.save(payload, crafted)
    assert crafted.stat().st_size < 2 * 2**20
    refusals = []

    def load():
        with pytest.raises(CheckpointError) as refused:
            load_model(crafted)
        refusals.append(str(refused.value))

    seconds, megabytes = bounded(load)
    assert seconds < 1 and megabytes < 100, (seconds, megabytes)
    assert len(refusals[0]) < 150 and "crafted.pt" in refusals[0]


def test_refusals_never_suggest_unsafe_loading(tmp_path):
    torch.save({"format": "rnnviz-checkpoint-1", "payload": RunsCode()}, tmp_path / "evil.pt")
    torch.save({"format": "rnnviz-checkpoint-1", "big": torch.zeros(3).numpy()}, tmp_path / "numpy.pt")
    for name in ("evil.pt", "numpy.pt"):
        with pytest.raises(CheckpointError) as refused:
            load_model(tmp_path / name)
        assert "weights_only" not in str(refused.value) and len(str(refused.value)) < 150
