"""rnnviz: watch a recurrent network read a handwritten digit, one row at a time.

The compute core lives at this level; data/, figures/ and serving/ are its sub-packages. None of it
imports streamlit (the page lives in ui/ and app.py).
"""

from . import device  # noqa: F401  first: it sets how OpenMP threads wait before torch loads
from .checkpoint import CheckpointError, load_model, save_checkpoint
from .model import CELL_TYPES, RowReader
from .preprocess import CanvasError, EmptyCanvasError, preprocess_canvas
from .recurrence import GATE_NAMES, Trace, trace

__all__ = [
    "CELL_TYPES", "GATE_NAMES", "CanvasError", "CheckpointError", "EmptyCanvasError", "RowReader",
    "Trace", "load_model", "preprocess_canvas", "save_checkpoint", "trace",
]
