"""Files: atomic_write (readers see the old file or the whole new one, never half of one, and no temp
files), and the files kept beside a checkpoint (made once, named by what they were made from)."""

import os
import signal
import subprocess
import sys

import pytest

from rnnviz import files
from rnnviz.files import KeptFile, atomic_write
from tests.conftest import ROOT

OLD, NEW = b"old content\n" * 1000, b"new content\n" * 2000


@pytest.fixture
def old_file(tmp_path):
    """A folder holding one file, `kept.bin`, with OLD in it."""
    path = tmp_path / "kept.bin"
    path.write_bytes(OLD)
    return path


def test_writes_the_content(old_file):
    assert atomic_write(old_file, lambda file: file.write(NEW)) == old_file
    assert old_file.read_bytes() == NEW
    assert [p.name for p in old_file.parent.iterdir()] == [old_file.name]


def test_makes_missing_folders(tmp_path):
    path = tmp_path / "a" / "b" / "new.bin"
    atomic_write(path, lambda file: file.write(NEW))
    assert path.read_bytes() == NEW


def test_an_error_while_writing_keeps_the_old_file_and_leaves_no_temp_file(old_file):
    def write_half_then_fail(file):
        file.write(NEW[: len(NEW) // 2])
        raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        atomic_write(old_file, write_half_then_fail)
    assert old_file.read_bytes() == OLD
    assert [p.name for p in old_file.parent.iterdir()] == [old_file.name]


def test_an_interrupt_while_writing_keeps_the_old_file(old_file):
    """Ctrl-C (a BaseException, not an Exception) is cleaned up as well."""

    def interrupted(file):
        file.write(NEW[:100])
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        atomic_write(old_file, interrupted)
    assert old_file.read_bytes() == OLD
    assert [p.name for p in old_file.parent.iterdir()] == [old_file.name]


DIE_WHILE_WRITING = """
import os, signal, sys, types
# rnnviz/files.py without the package's __init__, which would import torch (seconds)
package = types.ModuleType("rnnviz")
package.__path__ = ["rnnviz"]
sys.modules["rnnviz"] = package
from rnnviz import files

def write_half_then_die(file):
    file.write(b"new" * 100_000)
    file.flush()
    os.fsync(file.fileno())  # the half-written bytes are on disk
    os.kill(os.getpid(), signal.SIGKILL)

files.atomic_write(sys.argv[1], write_half_then_die)
"""


def test_a_process_killed_while_writing_leaves_the_old_file(old_file):
    run = subprocess.run([sys.executable, "-c", DIE_WHILE_WRITING, str(old_file)], cwd=ROOT, timeout=60)
    assert run.returncode == -signal.SIGKILL
    assert old_file.read_bytes() == OLD
    leftovers = [p for p in old_file.parent.iterdir() if p != old_file]
    # A killed process cannot clean up: its temp file may stay, but it is hidden and never the file itself.
    assert all(p.name.startswith(f".{old_file.name}.") and p.name.endswith(".tmp") for p in leftovers)


def test_the_file_is_readable_by_everyone_and_writable_by_its_owner(tmp_path):
    path = atomic_write(tmp_path / "new.bin", lambda file: file.write(NEW))
    assert path.stat().st_mode & 0o777 == 0o644


def test_replacing_a_private_file_gives_an_ordinary_one(old_file):
    os.chmod(old_file, 0o600)
    atomic_write(old_file, lambda file: file.write(NEW))
    assert old_file.stat().st_mode & 0o777 == 0o644


def counted(made: list):
    """A KeptFile of text, and a function that makes its content, noting each time it is made."""
    kept = KeptFile("notes", 1, lambda path: path.read_text(), lambda text, path: path.write_text(text))
    return kept, lambda: made.append(1) or "made"


def test_a_kept_file_is_made_once_and_named_by_the_checkpoints_bytes(tmp_path):
    checkpoint = tmp_path / "model.safetensors"
    checkpoint.write_bytes(b"weights")
    made = []
    kept, make = counted(made)
    assert kept.cached(checkpoint, "abc") is None
    assert kept.get(checkpoint, "abc", make) == "made" == kept.get(checkpoint, "abc", make) and made == [1]
    [path] = tmp_path.glob("model.safetensors.*-abc.v1.notes.npz")
    assert path == kept.paths(checkpoint, "abc")[0]
    kept.get(checkpoint, "other data", make)
    checkpoint.write_bytes(b"retrained")
    kept.get(checkpoint, "abc", make)
    assert len(made) == 3 and len(list(tmp_path.glob("*.notes.npz"))) == 3  # other data, other weights: other files
    newer = KeptFile("notes", 2, kept.load, kept.save)
    assert newer.cached(checkpoint, "abc") is None  # a new version reads no old file


def test_a_kept_file_goes_to_the_cache_folder_when_the_checkpoints_is_read_only(tmp_path, monkeypatch):
    checkpoint = tmp_path / "models" / "model.safetensors"
    checkpoint.parent.mkdir()
    checkpoint.write_bytes(b"weights")
    monkeypatch.setattr(files.os, "access", lambda path, mode: False)
    monkeypatch.setenv("RNNVIZ_CACHE", str(tmp_path / "cache"))
    kept, make = counted([])
    kept.get(checkpoint, "abc", make)
    assert len(list((tmp_path / "cache" / "notes").glob("model.safetensors.*.notes.npz"))) == 1
    assert list(checkpoint.parent.iterdir()) == [checkpoint]
