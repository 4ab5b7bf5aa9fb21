"""What if, on the whole MNIST test set: the gated models with the gate that keeps their memory clamped.

    RNNVIZ_DATA=../shared/mnist python -m bench.what_if    # the shipped LSTM and GRU

For each checkpoint, Compare's what-if (rnnviz.intervention) with the keep gate (the LSTM's forget
gate, the GRU's update gate) as trained, clamped to 0 (forget at every row) and clamped to 1 (keep
everything): accuracy on the 10,000 test digits, and the answer given most often with its share.
"""

import argparse
from pathlib import Path

import torch

from bench.report import save
from rnnviz import load_model
from rnnviz.data.mnist import load_mnist
from rnnviz.intervention import Intervention
from rnnviz.recurrence import unroll
from rnnviz.serving.store import shipped_path

CLAMPS = {"as trained": None, "clamped to 0": 0.0, "clamped to 1": 1.0}
BATCH = 1000  # test digits per unroll


@torch.no_grad()
def answers(model, images: torch.Tensor, keep_gate: float | None) -> torch.Tensor:
    """The model's final answer (N,) for each image (N, 28, 28), the keep gate clamped to keep_gate."""
    change = Intervention(keep_gate=keep_gate)
    return torch.cat([unroll(model, images[start : start + BATCH], change)["logits"][:, -1].argmax(1)
                      for start in range(0, len(images), BATCH)])


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("checkpoints", nargs="*", default=[str(shipped_path(cell)) for cell in ("lstm", "gru")])
    parser.add_argument("--name", default="what_if", help="the results file, bench/results/NAME.json")
    args = parser.parse_args()
    images, labels = load_mnist("test")
    results = {}
    for path in args.checkpoints:
        model, measured = load_model(path).eval(), results.setdefault(Path(path).name, {})
        for clamp, keep_gate in CLAMPS.items():
            answered = answers(model, images, keep_gate)  # (N,)
            most = torch.bincount(answered, minlength=10)
            measured[clamp] = {"accuracy": round((answered == labels).float().mean().item(), 4),
                               "most_given": int(most.argmax()), "its_share": round(most.max().item() / len(labels), 4)}
            print(path, clamp, measured[clamp], flush=True)
    save(args.name, {"checkpoints": results})


if __name__ == "__main__":
    main()
