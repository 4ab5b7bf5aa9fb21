"""What each hostile input costs the server, on this code and on an older checkout side by side: every
crafted checkpoint (through rnnviz's loader and the page's uploader) and every forged canvas value (through
the page), each in a fresh process, with its seconds, peak memory growth and outcome.

    RNNVIZ_DATA=../shared/mnist python -m bench.probes --before /path/to/older/checkout

The probes are tools/attacks.py's, the ones tests/test_attacks.py asserts on. A target: no probe costs
this code a second or 150 MB (the older checkout is measured for comparison only).
"""

import argparse
import tempfile
from pathlib import Path

from bench.report import save, target
from tools import attacks

ROOT = Path(__file__).resolve().parent.parent
SECONDS = 1.0  # what any one probe may cost the server (the tests assert its memory, never its time)


def probes(folder: Path) -> dict[str, attacks.Probe]:
    """name -> probe: each crafted checkpoint loaded and uploaded, each forged canvas value sent."""
    found = {}
    crafted = {**attacks.crafted_checkpoints(folder), **attacks.crafted_safetensors(folder)}
    for name, path in crafted.items():
        found[f"load: {name}"] = attacks.checkpoint_probe(path)
        found[f"upload: {name}"] = attacks.upload_probe(path)
    for name, value in attacks.forged_canvases().items():
        found[f"canvas: {name}"] = attacks.canvas_probe(value)
    return found


def summary(outcome: dict) -> dict:
    """A probe's outcome in a few fields: its cost, and what the visitor got."""
    shown = outcome.get("result")
    if not outcome["ok"]:
        said = f"{outcome['error']}: {outcome.get('message', '')}"
    elif isinstance(shown, dict):
        said = "; ".join(f"{kind}: {' | '.join(map(str, texts))}" for kind, texts in shown.items() if texts)
    else:
        said = str(shown)
    return {"seconds": outcome.get("seconds"), "peak_mb": outcome.get("peak_mb"), "shown": said[:300]}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--before", type=Path, help="an older checkout of the app to probe too")
    parser.add_argument("--only", default="", help="run only the probes whose name contains this")
    args = parser.parse_args()
    checkouts = {"now": ROOT, **({"before": args.before.resolve()} if args.before else {})}
    results, targets = {}, []
    with tempfile.TemporaryDirectory() as scratch:
        scratch = Path(scratch)
        for name, probe in probes(scratch / "crafted").items():
            if args.only not in name:
                continue
            for checkout, folder in checkouts.items():
                results[f"{name} [{checkout}]"] = summary(attacks.run(probe, folder, scratch))
                print(f"{name} [{checkout}]: {results[f'{name} [{checkout}]']}")
            now = results[f"{name} [now]"]
            for measure, limit in (("seconds", SECONDS), ("peak_mb", attacks.MEGABYTES)):
                value = float("inf") if now[measure] is None else now[measure]  # None: the probe died
                targets.append(target(f"{name}: {measure}", value, limit))
    save("probes", {"targets": targets, "probes": results})


if __name__ == "__main__":
    main()
