"""Shared fixtures: real MNIST and real pen digits from the workspace's shared/ folder."""

import os
from pathlib import Path

import pytest
import torch

from rnnviz import pendigits
from rnnviz.data import has_mnist, load_mnist

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
os.environ.setdefault("RNNVIZ_DATA", str(SHARED / "mnist"))
torch.set_num_threads(1)  # small recurrent nets gain little from 2 threads, and lose a lot when a core is busy


@pytest.fixture(scope="session")
def mnist_test():
    """The 10,000 MNIST test images (N, 28, 28) in [0, 1] and labels (N,)."""
    if not has_mnist():
        pytest.fail(f"MNIST not found in {os.environ['RNNVIZ_DATA']}: set RNNVIZ_DATA")
    return load_mnist("test")


@pytest.fixture(scope="session")
def pen_records():
    """1,000 real pen-drawn digits (stroke trajectories)."""
    return pendigits.load(SHARED / "pen-digits" / "dev.jsonl")


@pytest.fixture(scope="session")
def shipped_models():
    """The shipped checkpoints, by cell name."""
    from rnnviz import load_model

    return {cell: load_model(ROOT / "models" / f"{cell}.pt") for cell in ("rnn", "gru", "lstm")}
