"""Choose a pen-digit recipe fairly: train it for several seeds with one institution's writers held out,
and measure it on them (and on MNIST test). One JSON line per run and held-out source in the log.

    RNNVIZ_DATA=../shared/mnist nice -n 19 python -m bench.writers --tag lstm-e20-syn --held-out gmd \\
        --seeds 0 1 2 -- --recipe lstm --epochs 20 --pen-digits train.jsonl,more-writers.jsonl:syn
    python -m bench.writers --summary    # each recipe's mean and spread over its seeds, from the log

Everything after `--` goes to `python -m rnnviz.train` (one process per seed, at nice 19 and 1 thread);
the checkpoints go to runs/<tag>-s<seed>.safetensors, and a checkpoint already there is measured, not retrained.
The held-out institutions are the sources of more-writers.jsonl (syn, gmd): each is replayed at the
12 brush/height conditions of rnnviz.evaluate (renders cached), and a run may not have trained on it.
Every run also records gmd's real 1s and 7s (European styles: a long upstroke, a crossbar), whether
held out or not, and the held-out digits' accuracy per class. The dev set is never measured here.
"""

import argparse
import json
import shlex
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import torch

from rnnviz import load_model
from rnnviz.data import pendigits
from rnnviz.data.mnist import load_mnist
from rnnviz.data.pen_training import training_selection
from rnnviz.evaluate import accuracy, digit_accuracy, european_accuracy, pen_digit_predictions

ROOT = Path(__file__).resolve().parents[1]
RUNS = ROOT / "runs"
LOG = ROOT / "bench" / "results" / "writers.jsonl"
MORE_WRITERS = pendigits.default_path().with_name("more-writers.jsonl")
SOURCES = ("syn", "gmd")


def train(out: Path, seed: int, train_args: list[str]) -> list[str]:
    """Train one seed into `out` (unless it is there already); the command."""
    command = ["nice", "-n", "19", sys.executable, "-m", "rnnviz.train", *train_args, "--seed", str(seed),
               "--threads", "1", "--out", str(out.relative_to(ROOT))]
    if not out.exists():
        subprocess.run(command, cwd=ROOT, check=True)
    return command


def commit() -> str:
    """The code's git commit (with "+" when the work tree differs from it)."""
    head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True)
    dirty = subprocess.run(["git", "diff", "--quiet", "HEAD", "--", "rnnviz"], cwd=ROOT).returncode
    return head.stdout.strip() + ("+" if dirty else "")


def trained_on(settings: dict, source: str) -> bool:
    """Whether a run with these settings had `source`'s digits of more-writers.jsonl among its pen digits."""
    if not settings["pen_share"]:
        return False
    return any(path.name == MORE_WRITERS.name and picked in (None, source)
               for path, picked in training_selection(settings["pen_digits"]))


def measure(model, source: str) -> dict:
    """Accuracy on one institution's digits of more-writers.jsonl: {mean, worst, digits, european}."""
    records = pendigits.load(MORE_WRITERS, source)
    labels = torch.tensor([r["label"] for r in records])
    key = pendigits.file_key(MORE_WRITERS, source)
    [predictions] = pen_digit_predictions({"model": model}, records, cached_as=key).values()
    scores = [(predicted == labels).float().mean().item() for predicted in predictions.values()]
    return {"mean": float(np.mean(scores)), "worst": min(scores),
            "digits": list(digit_accuracy(predictions, labels).values()),
            "european": european_accuracy({"model": model}, records, cached_as=key)["model"]}


def summary(log: Path) -> None:
    """Print, per tag and held-out source, the mean and spread (sample standard deviation) over the seeds
    (the value alone for one seed)."""
    groups: dict[tuple, list] = {}
    for line in open(log):
        record = json.loads(line)
        groups.setdefault((record["tag"], record["held_out"]), []).append(record)
    fields = ("mnist_test", "held_out_mean", "held_out_worst", "european_1", "european_7")
    print("tag | held out | seeds | " + " | ".join(fields))
    for (tag, held_out), records in groups.items():
        cells = []
        for name in fields:
            values = 100 * np.array([r[name] for r in records if r[name] is not None])
            if not len(values):
                cells.append("-")
                continue
            cells.append(f"{values.mean():.2f}" + (f" ± {values.std(ddof=1):.2f}" if len(values) > 1 else ""))
        print(f"{tag} | {held_out} | {len(records)} | " + " | ".join(cells))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--summary", action="store_true", help="only print each recipe's mean and spread")
    parser.add_argument("--tag", help="names the checkpoints runs/<tag>-s<seed>.safetensors")
    parser.add_argument("--held-out", nargs="*", choices=SOURCES, default=[],
                        help="institutions of more-writers.jsonl to measure on (the run must not train on them); "
                             "none: a run on every institution, measured on MNIST and gmd's 1s and 7s only")
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    parser.add_argument("--log", type=Path, default=LOG)
    parser.add_argument("train_args", nargs=argparse.REMAINDER, help="-- then rnnviz.train's flags")
    args = parser.parse_args()
    if args.summary:
        return summary(args.log)
    if not args.tag:
        parser.error("--tag is needed to train and measure")
    train_args = [a for a in args.train_args if a != "--"]
    torch.set_num_threads(1)
    test_x, test_y = load_mnist("test")
    for seed in args.seeds:
        out = RUNS / f"{args.tag}-s{seed}.safetensors"
        command = train(out, seed, train_args)
        model = load_model(out)
        info = model.info
        for source in args.held_out:
            if trained_on(info["settings"], source):
                raise SystemExit(f"{out} trained on {source}'s digits: it cannot be measured on them as held out")
        mnist = accuracy(model, test_x, test_y)
        gmd = measure(model, "gmd")
        for source in args.held_out or [None]:
            held = gmd if source == "gmd" else measure(model, source) if source else None
            record = {"tag": args.tag, "seed": seed, "held_out": source, "mnist_test": round(mnist, 4),
                      "held_out_mean": round(held["mean"], 4) if held else None,
                      "held_out_worst": round(held["worst"], 4) if held else None,
                      "european_1": round(gmd["digits"][1], 4), "european_7": round(gmd["digits"][7], 4),
                      "gmd_held_out": not trained_on(info["settings"], "gmd"),
                      "held_out_digits": [round(d, 4) for d in held["digits"]] if held else None,
                      "slashed_0_flagged_1": round(held["european"], 4) if held else None,
                      "train_seconds": info.get("train_seconds"), "settings": info["settings"],
                      "command": shlex.join(command[3:]).replace(sys.executable, "python"), "commit": commit(),
                      "when": time.strftime("%Y-%m-%d %H:%M")}
            args.log.parent.mkdir(parents=True, exist_ok=True)
            with open(args.log, "a") as log:
                log.write(json.dumps(record) + "\n")
            measured = f"held out {source}: mean {held['mean']:.4f} worst {held['worst']:.4f}" if held else ""
            print(f"{out.name} MNIST {mnist:.4f}  {measured}  gmd 1s {gmd['digits'][1]:.4f} 7s {gmd['digits'][7]:.4f}",
                  flush=True)


if __name__ == "__main__":
    main()
