"""A lecture hall on one server: N visitors drawing at once, each a page with no browser that speaks Streamlit's
own websocket protocol (tools/stream_page.py). Over the hold: the visitors still held (open and answering), the
drawing answer (sending the drawing to the server's script_finished for its run) p50/p95/p99, answers per second,
sessions dropped, the server process's CPU and memory (RSS and PSS: at idle start, after the ramp, at the end, and
per session), and the load generator's own CPU.

    python -m bench.lecture_hall --visitors N [--ramp-s 60] [--hold-s 300] [--url URL --pid PID]

One server process, served here unless --url names one (--pid then names its process). After one warm-up
visitor, the visitors arrive evenly over the ramp and all stay for the hold; each opens a session (the first run),
then draws a real pen digit every 5 to 15 s (seeded), sent as the live view sends it at a pause.
"""

import argparse
import asyncio
import json
import os
import random
import sys
import time
from contextlib import nullcontext
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from bench.classroom import cpu_seconds, memory_mb
from bench.report import RESULTS, machine, save
from rnnviz.data import pendigits
from tools.browser import serve
from tools.stream_page import StreamPage, pen_drawing, png_url
from ui.state import Tab

DRAWINGS = 64  # distinct pen digits the visitors draw, rendered before the run


@dataclass
class Visitor:
    """One simulated visitor's record: when each drawing was sent and how long its answer took."""
    number: int
    answers: list[tuple[float, float]] = field(default_factory=list)  # (sent at, seconds)
    opened_s: float | None = None  # its first run: from the socket's opening to that run's script_finished
    unanswered: int = 0
    dropped: str | None = None  # why the session closed or failed, if it did


def server_memory_mb(pid: int) -> dict:
    """The server process's resident (RSS) and proportional (PSS) memory, MB."""
    resident, proportional = memory_mb([pid])
    return {"rss_mb": round(resident, 1), "pss_mb": round(proportional, 1)}


def own_cpu_seconds() -> float:
    times = os.times()
    return times.user + times.system


def drawings(seed: int) -> list[str]:
    """DRAWINGS pen digits from the development set, each drawn on the canvas and sent as a PNG data URL."""
    records = pendigits.load(pendigits.default_path())
    rng = np.random.default_rng(seed)
    picked = rng.choice(len(records), DRAWINGS, replace=False)
    return [png_url(pen_drawing(records[i], rng)) for i in picked]


async def visit(visitor: Visitor, url: str, urls: list[str], stop_at: float, pause_s: tuple[float, float],
                compare: bool, rng: random.Random) -> None:
    """A visitor's stay: open a session, perhaps open Compare, then draw every pause until stop_at."""
    page, arrived = None, time.perf_counter()
    try:
        page, _ = await StreamPage.open(url)
        visitor.opened_s = time.perf_counter() - arrived
        if compare:
            await page.open_tab(Tab.COMPARE)
        while (wait := rng.uniform(*pause_s)) < stop_at - time.monotonic():
            await asyncio.sleep(wait)
            sent = time.monotonic()
            try:
                answer = await page.draw(rng.choice(urls))
            except TimeoutError:
                visitor.unanswered += 1
                raise
            visitor.answers.append((sent, answer.seconds))
        await asyncio.sleep(max(0.0, stop_at - time.monotonic()))
    except Exception as error:  # a closed socket, an unanswered drawing: the session is dropped
        visitor.dropped = f"{type(error).__name__}: {error}"[:200]
    finally:
        if page is not None:
            await page.close()


def percentiles(seconds: list[float]) -> dict:
    """p50, p95 and p99 of answer times, ms (None without any)."""
    if not seconds:
        return {"answer_p50_ms": None, "answer_p95_ms": None, "answer_p99_ms": None}
    p50, p95, p99 = np.percentile(np.asarray(seconds) * 1000, [50, 95, 99])
    return {"answer_p50_ms": round(p50), "answer_p95_ms": round(p95), "answer_p99_ms": round(p99)}


async def warm_up(url: str, urls: list[str]) -> None:
    """One visitor comes, draws and leaves: the models are loaded before the idle memory is read."""
    page, _ = await StreamPage.open(url, timeout=120)
    await page.draw(urls[0])
    await page.close()


async def arrive(delay: float, stay) -> None:
    await asyncio.sleep(delay)
    await stay


async def memory_during(pid: int, until: float, every: float) -> list[float]:
    """The server's RSS, MB, every `every` seconds until `until` (time.monotonic)."""
    samples = []
    while (left := until - time.monotonic()) > 0:
        await asyncio.sleep(min(every, left))
        samples.append(server_memory_mb(pid)["rss_mb"])
    return samples


def answers_measured(crowd: list[Visitor], hold_start: float, stop_at: float) -> dict:
    """The answers to the drawings sent during the hold, the first runs, and what was lost."""
    in_hold = [seconds for v in crowd for sent, seconds in v.answers if hold_start <= sent < stop_at]
    opened = [v.opened_s * 1000 for v in crowd if v.opened_s is not None]
    return {**percentiles(in_hold), "answers_per_s": round(len(in_hold) / (stop_at - hold_start), 2),
            "answers_in_hold": len(in_hold),
            "answers_in_ramp": sum(sent < hold_start for v in crowd for sent, _ in v.answers),
            "first_run_ms": {"p50": round(np.median(opened)), "max": round(max(opened))} if opened else None,
            "drawings_unanswered": sum(v.unanswered for v in crowd),
            "sessions_dropped": sum(v.dropped is not None for v in crowd),
            "why_dropped": sorted({v.dropped for v in crowd if v.dropped})[:5]}


def memory_measured(memory: dict, during_hold: list[float], visitors: int) -> dict:
    """The server's memory at each moment, per session ((end - idle start) / visitors), and its RSS over the hold."""
    per_session = {kind: round((memory["end"][kind] - memory["idle_start"][kind]) / visitors, 2)
                   for kind in memory["end"]}
    return {"memory_mb": memory, "memory_per_session_mb": per_session, "rss_mb_during_hold": during_hold}


async def hall(url: str, pid: int, visitors: int, ramp_s: float, hold_s: float,
               pause_s: tuple[float, float], compare_share: float, seed: int) -> dict:
    """Ramp to `visitors`, hold them, and measure the hold (see the module's docstring)."""
    urls = drawings(seed)
    load_before = [round(x, 2) for x in os.getloadavg()]  # other work on the machine
    await warm_up(url, urls)
    memory, rng = {"idle_start": server_memory_mb(pid)}, random.Random(seed)
    started, ramp_cpu = time.monotonic(), cpu_seconds([pid])
    hold_start, stop_at = started + ramp_s, started + ramp_s + hold_s
    crowd = [Visitor(i) for i in range(visitors)]
    stays = [asyncio.create_task(arrive(i * ramp_s / visitors, visit(
        v, url, urls, stop_at, pause_s, rng.random() < compare_share, random.Random(rng.random()))))
        for i, v in enumerate(crowd)]
    await asyncio.sleep(hold_start - time.monotonic())
    memory["after_ramp"] = server_memory_mb(pid)
    hold_cpu, own_cpu = cpu_seconds([pid]), own_cpu_seconds()
    during_hold = await memory_during(pid, stop_at, hold_s / 8)
    measured = {"visitors_held": sum(v.opened_s is not None and v.dropped is None for v in crowd),
                "load_average_before": load_before,
                "server_cpu_percent": round(100 * (cpu_seconds([pid]) - hold_cpu) / hold_s),
                "server_cpu_percent_ramp": round(100 * (hold_cpu - ramp_cpu) / ramp_s),
                "server_threads": server_threads(pid),
                "generator_cpu_percent": round(100 * (own_cpu_seconds() - own_cpu) / hold_s)}
    memory["end"] = server_memory_mb(pid)
    await asyncio.gather(*stays)
    return {**measured, **answers_measured(crowd, hold_start, stop_at),
            **memory_measured(memory, during_hold, visitors)}


def server_threads(pid: int) -> int:
    """How many threads a process runs now (/proc/<pid>/status)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("Threads:"):
            return int(line.split()[1])
    return 0


TABLE = {"visitors": None, "held": "visitors_held", "p50_ms": "answer_p50_ms", "p95_ms": "answer_p95_ms",
         "p99_ms": "answer_p99_ms", "answers_per_s": "answers_per_s", "dropped": "sessions_dropped",
         "server_cpu_pct": "server_cpu_percent", "server_cpu_pct_ramp": "server_cpu_percent_ramp",
         "generator_cpu_pct": "generator_cpu_percent"}  # column: the measure it shows


def table_row(visitors: int, measured: dict) -> dict:
    """A run's key figures, one row of the page's table (every figure stays in the file's detail)."""
    row = {column: measured.get(name) if name else visitors for column, name in TABLE.items()}
    per_session, memory = measured["memory_per_session_mb"], measured["memory_mb"]
    first_run = measured["first_run_ms"] or {}
    return {**row, "first_run_p50_ms": first_run.get("p50"), "first_run_max_ms": first_run.get("max"),
            "rss_per_session_mb": per_session["rss_mb"], "pss_per_session_mb": per_session["pss_mb"],
            "rss_growth_in_hold_mb": round(memory["end"]["rss_mb"] - memory["after_ramp"]["rss_mb"], 1),
            "load_1_min_before": measured["load_average_before"][0]}


def record(visitors: int, settings: dict, measured: dict) -> None:
    """Keep this run in bench/results/lecture_hall.json, one entry per number of visitors (a rerun replaces it)."""
    path = RESULTS / "lecture_hall.json"
    kept = json.loads(path.read_text()) if path.exists() else {}
    detail = kept.get("detail", {})
    command = " ".join(["python -m bench.lecture_hall", *sys.argv[1:]])
    detail[str(visitors)] = {"command": command, "when": time.strftime("%Y-%m-%d %H:%M"), "machine": machine(),
                             "settings": settings, **measured}
    detail = dict(sorted(detail.items(), key=lambda item: int(item[0])))
    save("lecture_hall", {"table": [table_row(int(n), run) for n, run in detail.items()], "detail": detail,
                          **({"notes": kept["notes"]} if kept.get("notes") else {})})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--visitors", type=int, required=True)
    parser.add_argument("--ramp-s", type=float, default=60)
    parser.add_argument("--hold-s", type=float, default=300)
    parser.add_argument("--pause-s", type=float, nargs=2, default=(5, 15), help="between drawings: from, to")
    parser.add_argument("--compare-share", type=float, default=0.0, help="share of visitors who open Compare")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--url", help="a server already running (http://host:port); else one is served here")
    parser.add_argument("--pid", type=int, help="with --url: the server's process, to measure its CPU and memory")
    args = parser.parse_args()
    if args.url and not args.pid:
        parser.error("--url needs --pid: the server's process is what is measured")
    settings = {key: value for key, value in vars(args).items() if key not in ("url", "pid")}
    with nullcontext(None) if args.url else serve() as served:
        url, pid = (args.url, args.pid) if args.url else (served.url, served.pid)
        measured = asyncio.run(hall(url, pid, args.visitors, args.ramp_s, args.hold_s, tuple(args.pause_s),
                                    args.compare_share, args.seed))
    print(json.dumps(measured, indent=2))
    record(args.visitors, {**settings, "served_here": not args.url}, measured)


if __name__ == "__main__":
    main()
