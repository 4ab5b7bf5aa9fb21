"""The digit classifier: a recurrent cell reads a 28x28 image one row per time step."""

import torch
from torch import nn

from .config import COLS, NUM_CLASSES

CELL_TYPES = ("rnn", "gru", "lstm")

# MNIST pixel statistics (of images in [0, 1]); the model normalises its own input,
# so every caller feeds plain [0, 1] images.
MNIST_MEAN, MNIST_STD = 0.1307, 0.3081

_TORCH_CELLS = {"rnn": nn.RNN, "gru": nn.GRU, "lstm": nn.LSTM}


class RowReader(nn.Module):
    """Reads an image row by row (top row first) and classifies it from the last hidden state."""

    def __init__(self, cell_type: str = "lstm", hidden_size: int = 100):
        super().__init__()
        if cell_type not in CELL_TYPES:
            raise ValueError(f"cell type must be one of {CELL_TYPES}, got {cell_type!r}")
        self.cell_type = cell_type
        self.hidden_size = hidden_size
        self.rnn = _TORCH_CELLS[cell_type](COLS, hidden_size, batch_first=True)
        self.readout = nn.Linear(hidden_size, NUM_CLASSES)

    @property
    def config(self) -> dict:
        """What rebuilds this model: RowReader(**config), as a checkpoint stores it."""
        return {"cell_type": self.cell_type, "hidden_size": self.hidden_size}

    @property
    def device(self) -> torch.device:
        """Where the weights are (inputs must be there too)."""
        return self.readout.weight.device

    @staticmethod
    def normalize(images: torch.Tensor) -> torch.Tensor:
        """Map [0, 1] pixels to zero-mean, unit-variance inputs (the one place this happens)."""
        return (images - MNIST_MEAN) / MNIST_STD

    def final_hidden(self, images: torch.Tensor) -> torch.Tensor:
        """images (N, 28, 28) in [0, 1] -> the hidden state after the last row (N, hidden), by PyTorch's fused
        recurrence (rnnviz.recurrence.unroll keeps every step instead)."""
        hidden_all, _ = self.rnn(self.normalize(images))  # (N, steps, hidden)
        return hidden_all[:, -1]

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        """images (N, 28, 28) in [0, 1] -> logits (N, 10)."""
        return self.readout(self.final_hidden(images))  # (N, 10)
