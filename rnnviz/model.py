"""The digit classifier: a recurrent cell reads a 28x28 image one row per time step."""

import torch
from torch import nn

CELLS = ("rnn", "gru", "lstm")
ROWS, COLS = 28, 28  # time steps, pixels per step
NUM_CLASSES = 10

# MNIST pixel statistics (of images in [0, 1]); the model normalises its own input,
# so every caller feeds plain [0, 1] images.
MNIST_MEAN, MNIST_STD = 0.1307, 0.3081

_TORCH_CELLS = {"rnn": nn.RNN, "gru": nn.GRU, "lstm": nn.LSTM}


class RowReader(nn.Module):
    """Reads an image row by row (top row first) and classifies it from the last hidden state."""

    def __init__(self, cell: str = "lstm", hidden_size: int = 100):
        super().__init__()
        if cell not in CELLS:
            raise ValueError(f"cell must be one of {CELLS}, got {cell!r}")
        self.cell = cell
        self.hidden_size = hidden_size
        self.rnn = _TORCH_CELLS[cell](COLS, hidden_size, batch_first=True)
        self.readout = nn.Linear(hidden_size, NUM_CLASSES)

    @property
    def config(self) -> dict:
        return {"cell": self.cell, "hidden_size": self.hidden_size}

    @staticmethod
    def normalize(images: torch.Tensor) -> torch.Tensor:
        """Map [0, 1] pixels to zero-mean, unit-variance inputs (the one place this happens)."""
        return (images - MNIST_MEAN) / MNIST_STD

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        """images (N, 28, 28) in [0, 1] -> logits (N, 10)."""
        hidden_all, _ = self.rnn(self.normalize(images))  # (N, steps, hidden)
        return self.readout(hidden_all[:, -1])  # (N, 10)
