"""Checkpoints round-trip; anything else is refused with a clear error, without running code."""

import io
import pickle

import pytest
import torch

from rnnviz import CheckpointError, RowReader, load_model, save_checkpoint


def test_round_trip(tmp_path, mnist_test):
    torch.manual_seed(0)
    model = RowReader("gru", 32).eval()
    path = save_checkpoint(model, tmp_path / "gru.pt", test_accuracy=0.5, settings={"epochs": 1})
    loaded = load_model(path)
    assert loaded.cell == "gru" and loaded.hidden_size == 32 and not loaded.training
    assert loaded.info["test_accuracy"] == 0.5 and loaded.info["settings"] == {"epochs": 1}
    images = mnist_test[0][:16]
    with torch.no_grad():
        torch.testing.assert_close(loaded(images), model(images), atol=0, rtol=0)
    with open(path, "rb") as f:  # a file object (as from an upload) works too
        assert load_model(io.BytesIO(f.read())).cell == "gru"
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


class RunsCode:
    def __reduce__(self):
        return (exec, ("import pathlib; pathlib.Path(__import__('os').environ['PWNED']).write_text('ran')",))


def test_malicious_pickle_is_refused_without_running(tmp_path, monkeypatch):
    marker = tmp_path / "pwned"
    monkeypatch.setenv("PWNED", str(marker))
    evil = tmp_path / "evil.pt"
    torch.save({"format": "rnnviz-checkpoint-1", "payload": RunsCode()}, evil)
    with pytest.raises(CheckpointError):
        load_model(evil)
    (tmp_path / "evil.pkl").write_bytes(pickle.dumps(RunsCode()))
    with pytest.raises(CheckpointError):
        load_model(tmp_path / "evil.pkl")
    assert not marker.exists()


def test_oversized_file_is_refused(tmp_path):
    big = tmp_path / "big.pt"
    with open(big, "wb") as f:
        f.truncate(60 * 1024 * 1024)
    with pytest.raises(CheckpointError, match="too large"):
        load_model(big)
