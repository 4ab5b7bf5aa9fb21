"""What if: change the recurrence while it runs, and see what the network does then.

An Intervention is applied inside the exact step-by-step recurrence (recurrence.unroll):

    keep_gate     clamp the gate that keeps the old state, at every step and unit, to this value:
                  the LSTM's forget gate f (c_t = f * c_(t-1) + i * g) or the GRU's update gate z
                  (h_t = (1 - z) * n + z * h_(t-1)); 0 forgets everything at each step, 1 keeps it all.
                  The plain RNN has no such gate: it is left as it is.
    silenced      units whose state is set to 0 after every step (h, and c for the LSTM), so nothing
                  they hold reaches the next step or the read-out.
    blank_rows    (first, last) 1-based rows set to 0 (empty paper) before the network reads them.

Intervention() changes nothing: unroll then takes its own default path.
"""

from dataclasses import dataclass

import torch

KEEP_GATE = {"lstm": "forget", "gru": "update"}  # each cell's gate that keeps the old state (near 1 = keep it)


@dataclass(frozen=True)
class Intervention:
    keep_gate: float | None = None  # clamp f (LSTM) or z (GRU) to this value in [0, 1]
    silenced: tuple[int, ...] = ()  # unit indices
    blank_rows: tuple[int, int] | None = None  # (first, last) rows, 1-based and inclusive

    def __post_init__(self):
        if self.keep_gate is not None and not 0 <= self.keep_gate <= 1:
            raise ValueError(f"a gate is clamped to a value in [0, 1], not {self.keep_gate}")
        if self.blank_rows is not None and not 1 <= self.blank_rows[0] <= self.blank_rows[1]:
            raise ValueError(f"blank_rows is (first, last) with 1 <= first <= last, not {self.blank_rows}")

    @property
    def active(self) -> bool:
        return self.keep_gate is not None or bool(self.silenced) or self.blank_rows is not None

    def describe(self) -> str:
        """What the intervention does, in words (empty when nothing)."""
        parts = []
        if self.keep_gate is not None:
            parts.append(f"forget gate (LSTM) and update gate (GRU) clamped to {self.keep_gate:g}")
        if self.silenced:
            parts.append(f"unit{'s' if len(self.silenced) > 1 else ''} {', '.join(map(str, self.silenced))} silenced")
        if self.blank_rows is not None:
            first, last = self.blank_rows
            parts.append(f"row{'s' if last > first else ''} {first}{f'-{last}' if last > first else ''} blanked")
        return "; ".join(parts)

    def images(self, images: torch.Tensor) -> torch.Tensor:
        """images (N, 28, 28) with the blanked rows set to 0 (a copy; the input is not changed)."""
        if self.blank_rows is None:
            return images
        first, last = self.blank_rows
        blanked = images.clone()
        blanked[:, first - 1 : last] = 0
        return blanked

    def gate(self, cell_type: str, name: str, value: torch.Tensor) -> torch.Tensor:
        """The gate `name` as the step uses it: clamped if it is this cell's memory gate."""
        if self.keep_gate is not None and KEEP_GATE.get(cell_type) == name:
            return torch.full_like(value, self.keep_gate)
        return value

    def state(self, value: torch.Tensor) -> torch.Tensor:
        """A state (N, hidden) after a step, with the silenced units set to 0."""
        if not self.silenced:
            return value
        keep = torch.ones(value.shape[-1], dtype=value.dtype, device=value.device)  # where the state is
        keep[list(self.silenced)] = 0
        return value * keep
