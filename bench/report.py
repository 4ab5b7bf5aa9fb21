"""What every benchmark writes (the machine, the numbers, whether each target is met), and the page that
shows them all:

    python -m bench.report      # writes bench/README.md from bench/results/*.json

bench/README.md is written by this command only: no number in it is copied by hand. What a benchmark
measures is the first paragraph of its module's docstring.
"""

import ast
import json
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np
import torch

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"
PAGE = HERE / "README.md"
SKIPPED = ("command", "when", "machine", "targets", "notes", "table", "detail")  # a result's fields shown on their own,
# not as measures: a table is a list of flat rows, shown as one table; a detail is kept in the results file only
MAX_DEPTH = 3  # nested measures shown at most this deep

HEADER = """# Benchmarks

Each benchmark is one command, run from the repository root with `RNNVIZ_DATA` pointing at MNIST; each
writes `bench/results/<name>.json` with the command, the machine, its load average and every number,
and whether each target is met. This page is written from those files by `python -m bench.report`:
edit a benchmark (its docstring says what it measures), run it, then run the report.

The machine: a 2-core x86_64 VM, no GPU, Python 3.11, torch 2.14.1 (CPU). It is noisy: runs of the same
loop differ by tens of percent, so comparisons are made side by side in one run.
"""


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
    return {"name": name, "value": round(float(value), 3), "limit": limit, "met": bool(met),
            "higher_is_better": higher_is_better}


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


# ---- the page ----

def _number(value) -> str:
    return f"{value:,.3g}" if isinstance(value, float) and abs(value) < 1000 else f"{value:,.0f}" \
        if isinstance(value, float) else f"{value:,}"


def _measures(value, name: str = "", depth: int = 0):
    """(name, shown value) of every number in a result, nested names joined by " / "; a list of numbers
    and a {median, p95, ...} summary each in one row; lists of records counted."""
    if isinstance(value, bool) or value is None or isinstance(value, str):
        yield name, str(value)
    elif isinstance(value, (int, float)):
        yield name, _number(value)
    elif isinstance(value, dict) and {"median", "p95"} <= set(value):
        yield name, ", ".join(f"{key} {_number(value[key])}" for key in ("median", "p95", "min", "max", "n")
                              if key in value)
    elif isinstance(value, dict) and depth < MAX_DEPTH:
        for key, inner in value.items():
            yield from _measures(inner, f"{name} / {key}" if name else str(key), depth + 1)
    elif isinstance(value, list) and all(isinstance(item, (int, float)) for item in value):
        yield name, ", ".join(_number(item) for item in value) if len(value) <= 12 else \
            f"{len(value)} values, {_number(min(value))} to {_number(max(value))}"
    elif isinstance(value, list):
        yield name, f"{len(value)} records (in the results file)"


def _purpose(command: str) -> str:
    """The first paragraph of the benchmark module's docstring."""
    module = command.split()[2].removeprefix("bench.")
    docstring = ast.get_docstring(ast.parse((HERE / f"{module}.py").read_text())) or ""
    return " ".join(docstring.split("\n\n")[0].split())


def _table(rows: list[dict]) -> list[str]:
    """Rows of numbers (dicts with the same keys) as a markdown table, one column per key."""
    columns = list(rows[0])
    return [f"| {' | '.join(columns)} |", f"|{'---|' * len(columns)}",
            *(f"| {' | '.join(_cell(row.get(column)) for column in columns)} |" for row in rows), ""]


def _cell(value) -> str:
    return "" if value is None else _number(value) if isinstance(value, (int, float)) else str(value)


def section(path: Path) -> str:
    """A result as markdown: what it measures, how it was run, its targets and every number."""
    result = json.loads(path.read_text())
    machine_load = result["machine"].get("load_average_1_5_15_min")
    lines = [f"## {path.stem}", "", _purpose(result["command"]), "",
             f"`{result['command']}`, run {result['when']}; load average then (1, 5, 15 min): {machine_load}.", ""]
    if result.get("targets"):
        lines += ["| target | measured | limit | |", "|---|---|---|---|"]
        for check in result["targets"]:
            higher = check.get("higher_is_better", check["met"] != (check["value"] < check["limit"]))  # older files
            sign = ">=" if higher else "<"
            lines.append(f"| {check['name']} | {_number(check['value'])} | {sign} {_number(check['limit'])} | "
                         f"{'met' if check['met'] else '**missed**'} |")
        lines.append("")
    if result.get("table"):
        lines += _table(result["table"])
    rows = list(_measures({key: value for key, value in result.items() if key not in SKIPPED}))
    if rows:
        lines += ["| measure | value |", "|---|---|", *(f"| {name} | {value} |" for name, value in rows), ""]
    if result.get("notes"):  # lines of markdown, one a finding
        lines += [*(f"- {note}" for note in result["notes"]), ""]
    return "\n".join(lines)


def main() -> None:
    PAGE.write_text(HEADER + "\n" + "\n".join(section(path) for path in sorted(RESULTS.glob("*.json"))))
    print(f"-> {PAGE}")


if __name__ == "__main__":
    main()
