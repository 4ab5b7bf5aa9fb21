"""rnnviz: watch a recurrent network read a handwritten digit, one row at a time."""

from .checkpoint import CheckpointError, load_model, save_checkpoint
from .model import CELLS, RowReader
from .preprocess import CanvasError, EmptyCanvasError, preprocess_canvas
from .trace import GATE_NAMES, Trace, trace

__all__ = [
    "CELLS", "GATE_NAMES", "CanvasError", "CheckpointError", "EmptyCanvasError", "RowReader",
    "Trace", "load_model", "preprocess_canvas", "save_checkpoint", "trace",
]
