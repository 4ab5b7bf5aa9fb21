"""Checkpoints round-trip as safetensors; a PyTorch file is refused with the way to convert it, nothing of
it unpickled; anything else is refused with one short line, each check before the bytes it guards are
read; a crash while saving never leaves a broken file; `rnnviz convert` converts a file the user trusts."""

import io
import json
import pickle
import shutil
import signal
import struct
import subprocess
import sys

import pytest
import safetensors.torch
import torch

from rnnviz import CheckpointError, RowReader, cli, load_model, save_checkpoint
from rnnviz.checkpoint import (
    CONVERT_HINT,
    FORMAT,
    MAX_BYTES,
    MAX_HEADER_BYTES,
    MAX_HIDDEN,
    MAX_NODES,
    MAX_TEXT,
    RECORD,
)
from rnnviz.serving import store
from tests.conftest import ROOT, CountingReader, RunsCode, digest, peak_megabytes
from tools import attacks
from tools.attacks import checkpoint_parts, write_checkpoint

MESSAGE = 150  # characters: one short line


def test_round_trip(tmp_path, mnist_test):
    torch.manual_seed(0)
    model = RowReader("gru", 32).eval()
    path = save_checkpoint(model, tmp_path / "gru.safetensors", test_accuracy=0.5, settings={"epochs": 1})
    loaded = load_model(path)
    assert loaded.cell_type == "gru" and loaded.hidden_size == 32 and not loaded.training
    assert loaded.info["test_accuracy"] == 0.5 and loaded.info["settings"] == {"epochs": 1}
    images = mnist_test[0][:16]
    with torch.no_grad():
        torch.testing.assert_close(loaded(images), model(images), atol=0, rtol=0)
    assert load_model(io.BytesIO(path.read_bytes())).cell_type == "gru"  # a file object (an upload) works too
    assert [p.name for p in tmp_path.iterdir()] == ["gru.safetensors"]  # no temp files left behind


def test_a_checkpoint_is_a_plain_safetensors_file(tmp_path):
    """Any safetensors reader opens it: the weights by name, the record as JSON in the metadata."""
    path = save_checkpoint(RowReader("lstm", 8), tmp_path / "m.safetensors", test_accuracy=0.25)
    with safetensors.safe_open(path, "pt") as opened:
        record = json.loads(opened.metadata()[RECORD])
        assert set(opened.keys()) == set(RowReader("lstm", 8).state_dict())
    assert record == {"format": FORMAT, "config": {"cell_type": "lstm", "hidden_size": 8}, "test_accuracy": 0.25}


def _unpickling_files(tmp_path) -> list:
    torch.save({"format": FORMAT, "payload": RunsCode()}, tmp_path / "evil.pt")
    torch.save({"format": FORMAT, "config": RunsCode()}, tmp_path / "legacy.pt",
               _use_new_zipfile_serialization=False)  # torch's old format
    (tmp_path / "evil.pkl").write_bytes(pickle.dumps(RunsCode(), protocol=2))  # a bare pickle
    return [tmp_path / name for name in ("evil.pt", "legacy.pt", "evil.pkl")]


def test_pytorch_files_are_refused_with_the_way_to_convert_them_from_their_first_bytes(tmp_path, monkeypatch):
    marker = tmp_path / "pwned"
    monkeypatch.setenv("PWNED", str(marker))
    for path in _unpickling_files(tmp_path):
        file = CountingReader(path.read_bytes(), path.name)
        with pytest.raises(CheckpointError, match=f"{path.name}: {CONVERT_HINT}".replace(".", r"\.")) as refused:
            load_model(file)
        assert file.bytes_read == 8 and len(str(refused.value)) < MESSAGE
    assert not marker.exists()


def test_corrupt_and_foreign_files_are_rejected(tmp_path):
    data = save_checkpoint(RowReader("lstm", 8), tmp_path / "good.safetensors").read_bytes()
    cases = {
        "truncated.safetensors": ("cut off", data[: len(data) // 2]),
        "header-cut.safetensors": ("cut off", data[:40]),
        "garbage.safetensors": ("header of", b"\x00\x01 not a checkpoint" * 100),
        "empty.safetensors": ("too short", b""),
        "longer.safetensors": ("longer than its header says", data + b"\x00" * 4),
        "foreign.safetensors": ("no 'rnnviz' record", safetensors.torch.save({"weights": torch.zeros(3)})),
    }
    for name, (why, content) in cases.items():
        (tmp_path / name).write_bytes(content)
        with pytest.raises(CheckpointError, match=name) as refused:
            load_model(tmp_path / name)
        assert why in str(refused.value) and len(str(refused.value)) < MESSAGE
    with pytest.raises(CheckpointError, match="cannot read"):
        load_model(tmp_path / "missing.safetensors")


def test_wrong_architecture_is_rejected(tmp_path):
    record, weights = checkpoint_parts(RowReader("lstm", 8))
    record["config"] = {"cell_type": "gru", "hidden_size": 8}  # LSTM weights claiming to be a GRU
    with pytest.raises(CheckpointError, match="do not fit"):
        load_model(write_checkpoint(tmp_path / "mismatch.safetensors", record, weights))
    record["config"] = {"cell_type": "transformer", "hidden_size": 8}
    with pytest.raises(CheckpointError, match="invalid model config"):
        load_model(write_checkpoint(tmp_path / "unknown.safetensors", record, weights))


def _integers(header):
    header["readout.bias"].update(dtype="I32")  # the same bytes read as integers (that torch would cast)


def _transposed(header):
    header["rnn.weight_ih_l0"]["shape"].reverse()  # the same bytes, another shape


SPOILS = {
    "weights of another size": (lambda record, weights: record["config"].update(hidden_size=16), None),
    "an unknown config key": (lambda record, weights: record["config"].update(layers=3), None),
    "absurd hidden size": (lambda record, weights: record["config"].update(hidden_size=10**9), None),
    "hidden size as text": (lambda record, weights: record["config"].update(hidden_size="8"), None),
    "no weights": (lambda record, weights: weights.clear(), None),
    "a missing tensor": (lambda record, weights: weights.pop("readout.bias"), None),
    "NaN weights": (lambda record, weights: [w.fill_(float("nan")) for w in weights.values()], None),
    "no format marker": (lambda record, weights: record.pop("format"), None),
    "a record that is a list": (lambda record, weights: record.clear(), lambda header: header["__metadata__"].update(
        {RECORD: "[1, 2]"})),
    "a record that is not JSON": (None, lambda header: header["__metadata__"].update({RECORD: "{not json"})),
    "a tensor of integers": (None, _integers),
    "a tensor of another shape": (None, _transposed),
    "a history too large": (lambda record, weights: record.update(history=list(range(MAX_NODES))), None),
    "a text too long": (lambda record, weights: record.update(device="x" * (MAX_TEXT + 1)), None),
    "a record nested too deep": (lambda record, weights: record.update(settings=[[[[[[[[[[1]]]]]]]]]]), None),
    "a tensor described by a list": (None, lambda header: header.update({"readout.bias": [0, 40]})),
    "offsets of three numbers": (None, lambda header: header["readout.bias"].update(data_offsets=[0, 40, 80])),
    "offsets as floats": (None, lambda header: header["readout.bias"].update(
        data_offsets=[float(n) for n in header["readout.bias"]["data_offsets"]])),
    "offsets as a number": (None, lambda header: header["readout.bias"].update(data_offsets=40)),
}


@pytest.mark.parametrize("case", list(SPOILS))
def test_malformed_checkpoints_are_refused(tmp_path, case):
    """Each check alone: removing any one of them lets its case load (or fail outside CheckpointError)."""
    spoil_parts, edit_header = SPOILS[case]
    record, weights = checkpoint_parts(RowReader("lstm", 8))
    if spoil_parts:
        spoil_parts(record, weights)
    path = write_checkpoint(tmp_path / "spoilt.safetensors", record, weights, edit_header)
    with pytest.raises(CheckpointError, match="spoilt.safetensors") as refused:
        load_model(path)
    assert len(str(refused.value)) < MESSAGE


def test_a_header_is_refused_by_its_length_before_it_is_read(tmp_path):
    """A real checkpoint whose header is padded past the bound (padding is valid safetensors): refused from
    its first 8 bytes, although everything after them would load."""
    record, weights = checkpoint_parts()
    padded = write_checkpoint(tmp_path / "padded.safetensors", record, weights, padding=MAX_HEADER_BYTES)
    assert load_model(write_checkpoint(tmp_path / "fine.safetensors", record, weights, padding=1000)).hidden_size == 8
    file = CountingReader(padded.read_bytes(), padded.name)
    with pytest.raises(CheckpointError, match="a header of"):
        load_model(file)
    assert file.bytes_read == 8


@pytest.mark.parametrize("case", ["a tensor claiming 4 TB", "weights that overlap", "3,000 tensors named"])
def test_weights_are_checked_against_the_config_before_they_are_read(crafted_safetensors, case):
    data = crafted_safetensors[case].read_bytes()
    file = CountingReader(data, "crafted.safetensors")
    with pytest.raises(CheckpointError, match="crafted.safetensors"):
        load_model(file)
    (header_length,) = struct.unpack("<Q", data[:8])
    assert file.bytes_read == 8 + header_length  # the header, and not one byte of weights


@pytest.fixture(scope="module")
def crafted_safetensors(tmp_path_factory):
    return attacks.crafted_safetensors(tmp_path_factory.mktemp("crafted"))


@pytest.fixture(scope="module")
def crafted_pytorch(tmp_path_factory):
    return attacks.crafted_checkpoints(tmp_path_factory.mktemp("crafted-pt"))


def refusal_in_little_memory(source) -> str:
    """The CheckpointError's message for `source`, asserting that refusing it grew memory by under 150 MB."""
    refusals = []

    def load():
        with pytest.raises(CheckpointError) as refused:
            load_model(source)
        refusals.append(str(refused.value))

    assert peak_megabytes(load) < 150
    return refusals[0]


def test_every_crafted_pytorch_file_is_refused_from_its_first_bytes_in_little_memory(crafted_pytorch):
    """The pickles that once took seconds or gigabytes (a memo index of 200 M, keys that all hash alike,
    a persistent id nested 20 deep, 34,000 REDUCEs, 1.1 M zip entries) are never unpickled."""
    for name, path in crafted_pytorch.items():
        file = CountingReader(path.read_bytes(), path.name)
        assert refusal_in_little_memory(file) == f"{path.name}: {CONVERT_HINT}", name
        assert file.bytes_read == 8, name


def test_every_crafted_safetensors_file_is_refused_in_one_line_in_little_memory(crafted_safetensors):
    for name, path in crafted_safetensors.items():
        message = refusal_in_little_memory(path)
        assert len(message) < MESSAGE and message.startswith(path.name), name


def test_oversized_upload_is_refused_before_reading(tmp_path, monkeypatch):
    monkeypatch.setenv("RNNVIZ_MODELS", str(tmp_path))
    with pytest.raises(CheckpointError, match="too large"):
        store.add_checkpoint(bytes(MAX_BYTES + 1), "big.safetensors")
    assert not list(tmp_path.iterdir())


DIE_WHILE_SAVING = """
import os, signal, sys
import rnnviz.checkpoint as checkpoint
real_write = checkpoint.atomic_write
def write_half_then_die(path, write):
    def half(file):
        write(file)
        file.truncate(file.tell() // 2)
        file.flush()
        os.kill(os.getpid(), signal.SIGKILL)
    return real_write(path, half)
checkpoint.atomic_write = write_half_then_die
checkpoint.save_checkpoint(checkpoint.RowReader("gru", 16), sys.argv[1])
"""


@pytest.mark.slow
def test_killed_while_saving_leaves_no_broken_checkpoint(tmp_path, monkeypatch):
    out = tmp_path / "model.safetensors"
    shutil.copy(ROOT / "models" / "gru.safetensors", out)
    before = digest(out)
    run = subprocess.run([sys.executable, "-c", DIE_WHILE_SAVING, str(out)], cwd=ROOT)
    assert run.returncode == -signal.SIGKILL
    assert digest(out) == before and load_model(out).cell_type == "gru"
    monkeypatch.setenv("RNNVIZ_MODELS", str(tmp_path))  # the half-written file is not a checkpoint the app lists
    assert [e.path for e in store.list_checkpoints() if not e.shipped] == [out]


def test_refusals_never_suggest_unsafe_loading(tmp_path):
    for path in _unpickling_files(tmp_path):
        with pytest.raises(CheckpointError) as refused:
            load_model(path)
        assert "weights_only" not in str(refused.value) and "torch.load" not in str(refused.value)


def test_rnnviz_convert_turns_a_trusted_pytorch_checkpoint_into_the_same_model(tmp_path, capsys):
    """A checkpoint saved by older rnnviz (torch.save of its dict) converts beside itself, record and all."""
    model = RowReader("gru", 8)
    old = tmp_path / "old.pt"
    torch.save({"format": FORMAT, "config": model.config, "state_dict": model.state_dict(), "test_accuracy": 0.75,
                "history": [{"epoch": 1, "loss": 0.5}], "extra": torch.zeros(3)}, old)
    cli.main(["convert", str(old)])
    converted = load_model(tmp_path / "old.safetensors")
    assert f"-> {tmp_path / 'old.safetensors'}" in capsys.readouterr().out
    assert all(torch.equal(converted.state_dict()[key], value) for key, value in model.state_dict().items())
    assert converted.info == {"test_accuracy": 0.75, "history": [{"epoch": 1, "loss": 0.5}]}


def test_rnnviz_convert_refuses_a_file_that_is_not_an_rnnviz_checkpoint(tmp_path, capsys):
    torch.save({"weights": torch.zeros(3)}, tmp_path / "foreign.pt")
    with pytest.raises(SystemExit):
        cli.main(["convert", str(tmp_path / "foreign.pt")])
    assert "not an rnnviz checkpoint" in capsys.readouterr().err
    assert not (tmp_path / "foreign.safetensors").exists()


def test_a_header_naming_a_tensor_twice_is_refused(tmp_path):
    """Two parsers could keep different ones of a repeated name: the first, lying, is refused outright."""
    path = save_checkpoint(RowReader("lstm", 8), tmp_path / "m.safetensors")
    data = path.read_bytes()
    (length,) = struct.unpack("<Q", data[:8])
    lie = b'{"readout.bias":{"dtype":"F32","shape":[10],"data_offsets":[0,40]},'
    header = lie + data[9:8 + length]
    path.write_bytes(struct.pack("<Q", len(header)) + header + data[8 + length:])
    with pytest.raises(CheckpointError, match="damaged"):
        load_model(path)


@pytest.mark.parametrize("spoil, loads", [
    (lambda record: record.update(settings=[[[[[[["deepest"]]]]]]]), True),  # MAX_DEPTH levels in all
    (lambda record: record.update(settings=[[[[[[[["deeper"]]]]]]]]), False),
    (lambda record: record.update(history=list(range(MAX_NODES - 13))), True),  # 13 more nodes: MAX_NODES in all
    (lambda record: record.update(history=list(range(MAX_NODES - 12))), False),
    (lambda record: record.update(device="x" * MAX_TEXT), True),
    (lambda record: record.update(device="x" * (MAX_TEXT + 1)), False),
])
def test_the_records_limits_are_exact(tmp_path, spoil, loads):
    record, weights = checkpoint_parts()
    spoil(record)
    path = write_checkpoint(tmp_path / "edge.safetensors", record, weights)
    if loads:
        assert load_model(path).hidden_size == 8
    else:
        with pytest.raises(CheckpointError, match="edge.safetensors: not an rnnviz checkpoint"):
            load_model(path)


@pytest.mark.parametrize("hidden, loads", [(1, True), (MAX_HIDDEN, True), (0, False), (MAX_HIDDEN + 1, False)])
def test_the_hidden_sizes_a_server_builds_are_exact(tmp_path, hidden, loads):
    record, weights = checkpoint_parts(RowReader("rnn", max(hidden, 1)))
    record["config"]["hidden_size"] = hidden
    path = write_checkpoint(tmp_path / "size.safetensors", record, weights if hidden in (1, MAX_HIDDEN) else {})
    if loads:
        assert load_model(path).hidden_size == hidden
    else:
        with pytest.raises(CheckpointError, match="invalid model config"):
            load_model(path)


def test_a_header_of_exactly_the_bound_loads_and_a_length_past_any_file_is_refused_from_8_bytes(tmp_path):
    record, weights = checkpoint_parts()
    bare = write_checkpoint(tmp_path / "bare.safetensors", record, weights).read_bytes()
    (length,) = struct.unpack("<Q", bare[:8])
    exact = write_checkpoint(tmp_path / "exact.safetensors", record, weights, padding=MAX_HEADER_BYTES - length)
    assert load_model(exact).hidden_size == 8
    huge = CountingReader(struct.pack("<Q", 2**63 + length) + bare[8:], "huge.safetensors")  # negative if signed
    with pytest.raises(CheckpointError, match="a header of"):
        load_model(huge)
    assert huge.bytes_read == 8


@pytest.mark.parametrize("cut, why", [(-1, "cut off"), (+3, "longer than its header says")])
def test_the_weights_are_read_to_exactly_their_length(tmp_path, cut, why):
    data = save_checkpoint(RowReader("lstm", 8), tmp_path / "m.safetensors").read_bytes()
    file = CountingReader(data[:cut] if cut < 0 else data + bytes(cut), "m.safetensors")
    with pytest.raises(CheckpointError) as refused:
        load_model(file)
    assert str(refused.value) == f"m.safetensors: not a readable rnnviz checkpoint ({why})"
    assert file.bytes_read == len(data) + (1 if cut > 0 else cut)  # never more than one byte past the weights


@pytest.mark.parametrize("name, content, message", [
    ("empty.safetensors", b"", "not an rnnviz checkpoint (too short)"),
    ("header.safetensors", struct.pack("<Q", 4) + b"{not", "not a readable rnnviz checkpoint (its header is damaged)"),
    ("x" * 150 + ".safetensors", b"", "not an rnnviz checkpoint (too short)"),
    (None, b"", "not an rnnviz checkpoint (too short)"),  # a file object with no name: never its address
])
def test_each_refusal_says_exactly_what_is_wrong_with_the_file_named(name, content, message):
    with pytest.raises(CheckpointError) as refused:
        load_model(CountingReader(content, name) if name else io.BytesIO(content))
    assert str(refused.value) == f"{(name or 'upload')[:100]}: {message}"


def test_a_damaged_record_and_a_misfit_say_so_in_their_words(tmp_path):
    record, weights = checkpoint_parts()
    broken = write_checkpoint(tmp_path / "r.safetensors", record, weights,
                              lambda header: header["__metadata__"].update({RECORD: "{not json"}))
    with pytest.raises(CheckpointError) as refused:
        load_model(broken)
    assert str(refused.value) == "r.safetensors: not a readable rnnviz checkpoint (its record is damaged)"
    record["config"]["cell_type"] = "gru"
    with pytest.raises(CheckpointError) as refused:
        load_model(write_checkpoint(tmp_path / "m.safetensors", record, weights))
    assert str(refused.value) == "m.safetensors: weights do not fit a GRU with 8 hidden units (rnn.weight_ih_l0)"
    with pytest.raises(CheckpointError) as refused:
        load_model(tmp_path / "missing.safetensors")
    assert str(refused.value) == "missing.safetensors: cannot read (No such file or directory)"


def test_what_only_safetensors_own_parser_refuses_is_one_line_and_a_callers_file_stays_open(tmp_path):
    record, weights = checkpoint_parts()
    odd = write_checkpoint(tmp_path / "odd.safetensors", record, weights,
                           lambda header: header["__metadata__"].update(note=1))  # metadata values must be text
    with pytest.raises(CheckpointError) as refused:
        load_model(odd)
    assert str(refused.value) == "odd.safetensors: not a readable rnnviz checkpoint (damaged)"
    file = io.BytesIO(save_checkpoint(RowReader("gru", 4), tmp_path / "g.safetensors").read_bytes())
    assert load_model(file).hidden_size == 4 and not file.closed  # the caller's to close


class FailingReader(io.BytesIO):
    """A file whose reading fails after its first 8 bytes, as a disk or a network share can."""

    name = "failing.safetensors"

    def read(self, size: int | None = -1) -> bytes:
        if self.tell() >= 8:
            raise OSError(5, "Input/output error")
        return super().read(size)


def test_a_header_that_is_no_table_a_failing_read_and_a_path_as_text_are_each_one_line(tmp_path):
    with pytest.raises(CheckpointError) as refused:
        load_model(CountingReader(struct.pack("<Q", 2) + b"[]", "list.safetensors"))
    assert str(refused.value) == "list.safetensors: not an rnnviz checkpoint (its header is not a table)"
    with pytest.raises(CheckpointError) as refused:
        load_model(FailingReader(save_checkpoint(RowReader("rnn", 4), tmp_path / "f.safetensors").read_bytes()))
    assert str(refused.value) == "failing.safetensors: cannot read (Input/output error)"
    with pytest.raises(CheckpointError) as refused:
        load_model(str(tmp_path / "gone.safetensors"))
    assert str(refused.value) == "gone.safetensors: cannot read (No such file or directory)"
