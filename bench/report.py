"""What every benchmark writes: the machine, the numbers, and whether each target is met."""

import json
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np
import torch

RESULTS = Path(__file__).resolve().parent / "results"


def machine() -> dict:
    return {
        "cpus": os.cpu_count(),
        "machine": platform.machine(),
        "python": platform.python_version(),
        "torch": torch.__version__,
        "torch_threads": torch.get_num_threads(),
        "gpu": torch.cuda.is_available(),
        "load_average_1_5_15_min": [round(x, 2) for x in os.getloadavg()],  # other work on the machine
    }


def stats(samples) -> dict:
    """Median, 95th percentile, min, max and count of a list of numbers (rounded)."""
    values = np.asarray(samples, dtype=float)
    return {"median": round(float(np.median(values)), 2), "p95": round(float(np.percentile(values, 95)), 2),
            "min": round(float(values.min()), 2), "max": round(float(values.max()), 2), "n": int(values.size)}


def target(name: str, value: float, limit: float, higher_is_better: bool = False) -> dict:
    """A target check, printed as it is recorded."""
    met = value >= limit if higher_is_better else value < limit
    print(f"{'MET ' if met else 'MISS'} {name}: {value:.3g} ({'>=' if higher_is_better else '<'} {limit:g})")
    return {"name": name, "value": round(float(value), 3), "limit": limit, "met": bool(met)}


def save(name: str, results: dict) -> Path:
    """Write bench/results/<name>.json with the machine and the command that produced it."""
    RESULTS.mkdir(exist_ok=True)
    path = RESULTS / f"{name}.json"
    command = " ".join(["python -m", f"bench.{Path(sys.argv[0]).stem}", *sys.argv[1:]])
    record = {"command": command, "when": time.strftime("%Y-%m-%d %H:%M"),
              "machine": machine(), **results}
    path.write_text(json.dumps(record, indent=2) + "\n")
    print(f"-> {path}")
    return path
