"""A lecture hall: N visitors drawing at once, each a page with no browser that speaks Streamlit's own websocket
protocol (tools/stream_page.py), on one server or on the whole deployment (deploy/serve.sh: replicas behind nginx,
Redis and worker machines). Over the hold: the visitors still held (open and answering), the drawing answer
(sending the drawing to the server's script_finished for its run) p50/p95/p99, answers per second, sessions
dropped, the server's CPU and memory (RSS and PSS of all its processes: at idle start, after the ramp, at the end,
and per session), and the load generator's own CPU. Beside them, real Chromium pages open the app again and again
and time what a person sees: the first paint and the canvas ready to draw on.

    python -m bench.lecture_hall --visitors N [--ramp-s 60] [--hold-s 300] [--url URL --pid PID]
    python -m bench.lecture_hall --visitors 300 --replicas 2 --worker-machines 1 --train-share 0.01 \\
        --kill-replica-at 120 --browsers 1

After one warm-up visitor, the visitors arrive evenly over the ramp and all stay for the hold; each opens a session
(the first run), then draws a real pen digit every 5 to 15 s (seeded), sent as the live view sends it at a pause.
A share of them first press "Start training" with the Train tab's defaults (the per-address cap lifted, as for a
school behind one address); their trainings are waited for after the hold and each must be saved once.
--kill-replica-at S kills the replica holding most sessions S seconds into the hold, as a crash would: its
visitors' pages reconnect through the balancer, as the page does, and must come back on the same view (the link
of the view they see: the digit, the models, the tab); serve.sh starts the replica again, and a tenth more
visitors then arrive, to see it take new visitors again.
"""

import argparse
import asyncio
import json
import os
import random
import re
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from websockets.exceptions import ConnectionClosed

from bench.classroom import cpu_seconds, is_worker, memory_mb, process_tree
from bench.report import RESULTS, machine, save
from rnnviz import load_model
from rnnviz.data import pendigits
from rnnviz.serving import jobs
from tools.browser import CANVAS, CHROMIUM, CHROMIUM_ARGS, serve
from tools.deployment import deploy
from tools.stream_page import StreamPage, pen_drawing, png_url
from ui.state import Key, Param, Tab

DRAWINGS = 64  # distinct pen digits the visitors draw, rendered before the run
ONE_SERVER = "one server"


@dataclass
class Visitor:
    """One simulated visitor's record: when each drawing was sent and how long its answer took."""
    number: int
    tab: str = Tab.INSPECT  # the tab it opens and watches (its views of the drawing in sight: Compare, Insight)
    trains: bool = False
    answers: list[tuple[float, float]] = field(default_factory=list)  # (sent at, seconds)
    opened_s: float | None = None  # its first run: from the socket's opening to that run's script_finished
    unanswered: int = 0
    dropped: str | None = None  # why the session closed or failed, if it did
    id: str = ""  # the visitor id the server gave it (its models' folder)
    link: str | None = None  # the view it sees now, as the link of its Inspect or Compare view
    back: list[tuple[float, bool | None]] = field(default_factory=list)  # each return after its socket closed:
    # (when answered, time.monotonic; whether on the same view, None when it had no view yet)


@dataclass(frozen=True)
class Server:
    """What is measured: the served URL and its processes now (a replica started again is a new process)."""
    url: str
    processes: Callable[[], list[int]]
    replica_urls: tuple[str, ...] = ()  # each replica's own address, to warm each up (none: the one server)


def server_memory_mb(pids: list[int]) -> dict:
    """The server's resident (RSS) and proportional (PSS) memory, MB, over all its processes but the training
    workers (whose memory is a training's, not a session's: they may run on machines of their own); the workers'
    PSS apart."""
    workers = [pid for pid in pids if is_worker(pid)]
    resident, proportional = memory_mb([pid for pid in pids if pid not in workers])
    return {"rss_mb": round(resident, 1), "pss_mb": round(proportional, 1),
            "workers_pss_mb": round(memory_mb(workers)[1], 1)}


def own_cpu_seconds() -> float:
    times = os.times()
    return times.user + times.system


def pages_cpu_seconds(pids: list[int]) -> float:
    """CPU time the server's processes have used, but the training workers (replicas, balancer, Redis)."""
    return cpu_seconds([pid for pid in pids if not is_worker(pid)])


def machine_cpu_seconds() -> float:
    """CPU time every process on this machine has used (/proc/stat): beside the server's and the generator's,
    what the Chromium pages took."""
    fields = Path("/proc/stat").read_text().splitlines()[0].split()[1:]
    user, nice, system, _, _, irq, softirq, steal = (int(field) for field in fields[:8])
    return (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")


def drawings(seed: int) -> list[str]:
    """DRAWINGS pen digits from the development set, each drawn on the canvas and sent as a PNG data URL."""
    records = pendigits.load(pendigits.default_path())
    rng = np.random.default_rng(seed)
    picked = rng.choice(len(records), DRAWINGS, replace=False)
    return [png_url(pen_drawing(records[i], rng)) for i in picked]


async def come_back(visitor: Visitor, page: StreamPage) -> None:
    """The visitor's socket closed: reconnect as the page does, and note whether the view is the same."""
    answer = await page.reconnect()
    link = answer.link()
    visitor.back.append((time.monotonic(), None if visitor.link is None else link == visitor.link))
    visitor.link = link or visitor.link


async def draw_once(visitor: Visitor, page: StreamPage, url: str) -> None:
    """Send one drawing and note its answer; a socket closed meanwhile is a server lost: come back. A visitor
    on Compare or Insight watches that tab's views of the drawing: they are in sight."""
    sent = time.monotonic()
    try:
        answer = await page.draw(url, in_sight=visitor.tab != Tab.INSPECT)
    except TimeoutError:
        visitor.unanswered += 1
        raise
    except ConnectionClosed:
        await come_back(visitor, page)  # the drawing is in the state the page sends again
        return
    visitor.answers.append((sent, answer.seconds))
    visitor.link = answer.link() or visitor.link


async def visit(visitor: Visitor, url: str, urls: list[str], stop_at: float, pause_s: tuple[float, float] | None,
                rng: random.Random) -> None:
    """A visitor's stay: open a session, perhaps open its tab or start a training, then draw every pause (none:
    never) until stop_at, coming back whenever its server is lost."""
    page, arrived = None, time.perf_counter()
    try:
        page, _ = await StreamPage.open(url)
        visitor.opened_s = time.perf_counter() - arrived
        visitor.id = dict(part.split("=", 1) for part in page.query.split("&") if "=" in part).get(Param.VISITOR, "")
        if visitor.tab != Tab.INSPECT:
            await page.open_tab(visitor.tab)
        if visitor.trains:
            await page.open_tab(Tab.TRAIN)
            await page.rerun({Key.START_TRAINING: ("trigger_value", True)})
            page.widget_states.pop(Key.START_TRAINING)  # a trigger fires once
        while pause_s and (wait := rng.uniform(*pause_s)) < stop_at - time.monotonic():
            if await page.closed_within(wait):
                await come_back(visitor, page)
            else:
                await draw_once(visitor, page, rng.choice(urls))
        await asyncio.sleep(max(0.0, stop_at - time.monotonic()))
    except Exception as error:  # a closed socket, an unanswered drawing: the session is dropped
        visitor.dropped = f"{type(error).__name__}: {error}"[:200]
    finally:
        if page is not None:
            await page.close()


def percentiles(seconds: list[float], name: str = "answer") -> dict:
    """p50, p95 and p99 of times, ms (None without any)."""
    if not seconds:
        return {f"{name}_p50_ms": None, f"{name}_p95_ms": None, f"{name}_p99_ms": None}
    p50, p95, p99 = np.percentile(np.asarray(seconds) * 1000, [50, 95, 99])
    return {f"{name}_p50_ms": round(p50), f"{name}_p95_ms": round(p95), f"{name}_p99_ms": round(p99)}


async def warm_up(server: Server, urls: list[str]) -> None:
    """One visitor comes to each server process, draws and leaves: the models are loaded before the idle memory
    is read."""
    for url in server.replica_urls or (server.url,):
        page, _ = await StreamPage.open(url, timeout=120)
        await page.draw(urls[0])
        await page.close()


async def arrive(delay: float, stay) -> None:
    await asyncio.sleep(delay)
    await stay


async def memory_during(server: Server, until: float, every: float) -> list[float]:
    """The server's RSS, MB, every `every` seconds until `until` (time.monotonic)."""
    samples = []
    while (left := until - time.monotonic()) > 0:
        await asyncio.sleep(min(every, left))
        samples.append(server_memory_mb(server.processes())["rss_mb"])
    return samples


async def first_paints(url: str, until: float, every_s: float) -> list[dict]:
    """A person opening the app again and again until `until` (time.monotonic), in a fresh Chromium context each
    time, every `every_s`: ms from navigation to the first contentful paint, and to the canvas ready with the
    first run done."""
    from playwright.async_api import async_playwright

    loads = []
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        while time.monotonic() + every_s < until:
            context = await browser.new_context(viewport={"width": 1366, "height": 768})
            page = await context.new_page()
            try:
                await page.goto(url, timeout=60_000)
                await page.locator(CANVAS).wait_for(state="visible", timeout=60_000)
                await page.wait_for_selector('[data-test-script-state="notRunning"]', timeout=60_000)
                loads.append(await page.evaluate("""() => ({
                  first_paint_ms: performance.getEntriesByName('first-contentful-paint')[0]?.startTime ?? null,
                  canvas_ready_ms: performance.now()})"""))
            except Exception as error:  # a page that never became ready is what this is about: kept
                loads.append({"first_paint_ms": None, "canvas_ready_ms": None, "error": str(error)[:200]})
            await context.close()
            await asyncio.sleep(every_s)
        await browser.close()
    return loads


def paints_measured(loads: list[dict]) -> dict:
    """The Chromium pages' loads: p50/p95/p99 of the first paint and of the canvas ready, and the failures."""
    paints = [load["first_paint_ms"] / 1000 for load in loads if load["first_paint_ms"] is not None]
    ready = [load["canvas_ready_ms"] / 1000 for load in loads if load["canvas_ready_ms"] is not None]
    return {"page_loads": len(loads), "page_loads_failed": sum("error" in load for load in loads),
            **percentiles(paints, "first_paint"), **percentiles(ready, "canvas_ready")}


async def kill_a_replica(deployment, crowd: list[Visitor], urls: list[str], stop_at: float, pause_s, seed: int):
    """Kill the replica holding most sessions, as a crash would; wait for serve.sh to start it again, then let a
    tenth more visitors arrive (over 10 s) to see it take new ones. What happened, those late visitors and their
    stays (tasks)."""
    before = deployment.sessions()
    victim = max(before, key=before.get)
    killed_at = time.monotonic()
    pid = deployment.kill_replica(victim)
    await asyncio.sleep(10)
    after_kill = deployment.sessions()
    await asyncio.to_thread(deployment.wait_replica_up, victim, pid)
    up_after = time.monotonic() - killed_at
    await asyncio.sleep(6)  # the balancer tries a failed replica again after 5 s
    late = [Visitor(len(crowd) + i) for i in range(max(1, len(crowd) // 10))]
    rng = random.Random(seed + 1)
    stays = [asyncio.create_task(arrive(i * 10 / len(late), visit(v, deployment.url, urls, stop_at, pause_s,
                                                                   random.Random(rng.random()))))
             for i, v in enumerate(late)]
    await asyncio.sleep(12)
    return {"replica": victim, "killed_at": killed_at, "sessions_before": before, "sessions_10_s_after": after_kill,
            "replica_up_after_s": round(up_after, 1), "sessions_with_late_visitors": deployment.sessions()}, late, stays


def failover_measured(kill: dict, crowd: list[Visitor], late: list[Visitor]) -> dict:
    """Who of the killed replica's visitors came back, how fast, on which view; where the late ones went."""
    killed_at = kill.pop("killed_at")
    returns = [(visitor, when, same) for visitor in crowd for when, same in visitor.back if when > killed_at]
    seconds = sorted(when - killed_at for _, when, _ in returns)
    victim, before, end = kill["replica"], kill["sessions_before"], kill["sessions_with_late_visitors"]
    return {"kill": {**kill, "visitors_on_it": before[victim], "visitors_back": len({v.number for v, _, _ in returns}),
                     "back_within_10_s": sum(s <= 10 for s in seconds),
                     "back_s": {"p50": round(float(np.median(seconds)), 1), "max": round(seconds[-1], 1)}
                     if seconds else None,
                     "same_view": sum(same is True for *_, same in returns),
                     "other_view": sum(same is False for *_, same in returns),
                     "no_view_yet": sum(same is None for *_, same in returns),
                     "late_visitors": len(late), "late_visitors_dropped": sum(v.dropped is not None for v in late),
                     "late_visitors_on_restarted_replica": end[victim] - kill["sessions_10_s_after"][victim]}}


def trainings_measured(trainers: list[Visitor], wait_s: float) -> dict:
    """After the hold: wait (up to wait_s) for every training to end; how many were saved, failed or lost, and
    whether any ran an epoch twice (the saved model's history must hold epochs 1, 2, ... each once)."""
    deadline, statuses = time.monotonic() + wait_s, {}
    while True:
        statuses = {v.id: jobs.newest_job(v.id) for v in trainers if v.id}
        if all(s is None or s.state not in jobs.LIVE for s in statuses.values()) or time.monotonic() > deadline:
            break
        time.sleep(5)
    states = [s.state.value if s else "none" for s in statuses.values()]
    twice = 0
    for status in statuses.values():
        if status and status.state in jobs.SAVED:
            epochs = [epoch["epoch"] for epoch in load_model(status.out).info["history"]]
            twice += epochs != list(range(1, len(epochs) + 1))
    return {"trainings": {"started": len(trainers), "saved": sum(s in jobs.SAVED for s in states),
                          "states": {state: states.count(state) for state in sorted(set(states))},
                          "run_an_epoch_twice": twice, "restarts": sum(s.restarts for s in statuses.values() if s)}}


def profile(pid: int, seconds: float, path: Path) -> subprocess.Popen:
    """Start sampling the server process `pid` for `seconds` with py-spy, from outside it (50 samples a
    second, every thread), into `path` as collapsed stacks."""
    return subprocess.Popen(["py-spy", "record", "--pid", str(pid), "--duration", str(round(seconds)), "--rate", "50",
                             "--format", "raw", "--output", str(path), "--nonblocking"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)


def profile_summary(path: Path, top: int = 15) -> dict:
    """Where the sampled process spent its busy samples (py-spy leaves idle threads out): the functions most
    often on the stack (inclusive share) and at its top (self share), each as "function (file)"."""
    inclusive, own, busy = Counter(), Counter(), 0
    for line in path.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        frames = [re.sub(r":\d+\)$", ")", frame) for frame in stack.split(";")[1:]]  # the first is the thread
        if frames:
            busy += int(count)
            own[frames[-1]] += int(count)
            inclusive.update(dict.fromkeys(frames, int(count)))

    def shares(counter: Counter) -> dict:
        return {frame: round(count / busy, 3) for frame, count in counter.most_common(top)}

    return {"busy_samples": busy, "inclusive": shares(inclusive), "self": shares(own)}


def answers_measured(crowd: list[Visitor], hold_start: float, stop_at: float) -> dict:
    """The answers to the drawings sent during the hold, the first runs, and what was lost."""
    in_hold = [seconds for v in crowd for sent, seconds in v.answers if hold_start <= sent < stop_at]
    by_tab = {tab: [seconds for v in crowd if v.tab == tab for sent, seconds in v.answers
                    if hold_start <= sent < stop_at] for tab in sorted({v.tab for v in crowd})}
    opened = [v.opened_s * 1000 for v in crowd if v.opened_s is not None]
    return {**percentiles(in_hold), "answers_per_s": round(len(in_hold) / (stop_at - hold_start), 2),
            "answers_in_hold": len(in_hold),
            "by_tab": {tab: {"visitors": sum(v.tab == tab for v in crowd), **percentiles(answers)}
                       for tab, answers in by_tab.items()},
            "answers_in_ramp": sum(sent < hold_start for v in crowd for sent, _ in v.answers),
            "first_run_ms": {"p50": round(np.median(opened)), "max": round(max(opened))} if opened else None,
            "drawings_unanswered": sum(v.unanswered for v in crowd),
            "sessions_dropped": sum(v.dropped is not None for v in crowd),
            "why_dropped": sorted({v.dropped for v in crowd if v.dropped})[:5]}


def memory_measured(memory: dict, during_hold: list[float], visitors: int) -> dict:
    """The server's memory at each moment, per session ((end - idle start) / visitors), and its RSS over the hold."""
    per_session = {kind: round((memory["end"][kind] - memory["idle_start"][kind]) / visitors, 2)
                   for kind in ("rss_mb", "pss_mb")}
    return {"memory_mb": memory, "memory_per_session_mb": per_session, "rss_mb_during_hold": during_hold}


def tab_of(draw: float, args) -> str:
    """The tab a visitor opens, by the shares asked for (`draw` uniform in [0, 1)); Inspect, the first, else."""
    if draw < args.compare_share:
        return Tab.COMPARE
    return Tab.INSIGHT if draw < args.compare_share + args.insight_share else Tab.INSPECT


async def hall(server: Server, args, deployment=None) -> dict:
    """Ramp to args.visitors, hold them, and measure the hold (see the module's docstring)."""
    urls, rng = drawings(args.seed), random.Random(args.seed)
    load_before = [round(x, 2) for x in os.getloadavg()]  # other work on the machine
    await warm_up(server, urls)
    memory = {"idle_start": server_memory_mb(server.processes())}
    started, ramp_cpu = time.monotonic(), pages_cpu_seconds(server.processes())
    hold_start, stop_at = started + args.ramp_s, started + args.ramp_s + args.hold_s
    crowd = [Visitor(i, tab=tab_of(rng.random(), args), trains=rng.random() < args.train_share)
             for i in range(args.visitors)]
    pause_s = None if args.idle else args.pause_s
    stays = [asyncio.create_task(arrive(i * args.ramp_s / args.visitors, visit(
        v, server.url, urls, stop_at, pause_s, random.Random(rng.random())))) for i, v in enumerate(crowd)]
    paints = asyncio.create_task(first_paints(server.url, stop_at, args.browser_every_s)) if args.browsers else None
    await asyncio.sleep(hold_start - time.monotonic())
    memory["after_ramp"] = server_memory_mb(server.processes())
    hold_cpu, own_cpu, machine_cpu = pages_cpu_seconds(server.processes()), own_cpu_seconds(), machine_cpu_seconds()
    sampling = profile(server.processes()[0], args.hold_s / 2, args.profile) if args.profile else None
    during_hold = asyncio.create_task(memory_during(server, stop_at, args.hold_s / 8))
    if args.kill_replica_at is not None:
        await asyncio.sleep(args.kill_replica_at)
        kill, late, late_stays = await kill_a_replica(deployment, crowd, urls, stop_at, args.pause_s, args.seed)
        stays += late_stays
    await asyncio.sleep(max(0.0, stop_at - time.monotonic()))
    cpu = {"server_cpu_percent": round(100 * (pages_cpu_seconds(server.processes()) - hold_cpu) / args.hold_s),
           "server_cpu_percent_ramp": round(100 * (hold_cpu - ramp_cpu) / args.ramp_s),
           "server_processes": len(server.processes()),
           "generator_cpu_percent": round(100 * (own_cpu_seconds() - own_cpu) / args.hold_s),
           "machine_cpu_percent": round(100 * (machine_cpu_seconds() - machine_cpu) / args.hold_s)}
    memory["end"] = server_memory_mb(server.processes())
    await asyncio.gather(*stays)
    measured = {"visitors_held": sum(v.opened_s is not None and v.dropped is None for v in crowd),
                "load_average_before": load_before, **cpu, **answers_measured(crowd, hold_start, stop_at),
                **memory_measured(memory, await during_hold, args.visitors)}
    if paints:
        measured.update(paints_measured(await paints))
    if sampling:
        sampling.wait()
        measured["profile"] = {"first_half_of_the_hold": profile_summary(args.profile)}
    if args.kill_replica_at is not None:
        measured.update(failover_measured(kill, crowd, late))
    trainers = [v for v in crowd if v.trains]
    if trainers:
        measured.update(await asyncio.to_thread(trainings_measured, trainers, args.train_wait_s))
    return measured


TABLE = {"setup": "setup", "visitors": "visitors", "hold_s": "hold_s", "held": "visitors_held",
         "p50_ms": "answer_p50_ms", "p95_ms": "answer_p95_ms", "p99_ms": "answer_p99_ms",
         "answers_per_s": "answers_per_s", "dropped": "sessions_dropped", "server_cpu_pct": "server_cpu_percent",
         "generator_cpu_pct": "generator_cpu_percent", "first_paint_p95_ms": "first_paint_p95_ms",
         "canvas_ready_p95_ms": "canvas_ready_p95_ms"}  # column: the measure it shows


def table_row(run: dict) -> dict:
    """A run's key figures, one row of the page's table (every figure stays in the file's detail)."""
    settings = run["settings"]
    run = {**run, "setup": setup_name(settings), "visitors": settings["visitors"], "hold_s": settings["hold_s"]}
    per_session, memory = run["memory_per_session_mb"], run["memory_mb"]
    kill, trainings = run.get("kill"), run.get("trainings")
    return {**{column: run.get(name) for column, name in TABLE.items()},
            "pss_per_session_mb": per_session["pss_mb"],
            "rss_growth_in_hold_mb": round(memory["end"]["rss_mb"] - memory["after_ramp"]["rss_mb"], 1),
            "killed_replica_back": f"{kill['back_within_10_s']}/{kill['visitors_on_it']} in 10 s, "
                                   f"{kill['same_view']} same view" if kill else None,
            "trainings_saved": f"{trainings['saved']}/{trainings['started']}" if trainings else None}


def setup_name(settings: dict) -> str:
    """What a run measured, in words: one server or replicas with their queue, and what the visitors did beside
    drawing on Inspect."""
    replicas, workers = settings.get("replicas", 0), settings.get("worker_machines", 0)
    parts = [f"{replicas} replicas" if replicas else ONE_SERVER]
    if workers:
        parts.append(f"Redis, {workers} worker machine{'s' * (workers > 1)}")
    for share, what in (("compare_share", "on Compare"), ("insight_share", "on Insight"), ("train_share", "training")):
        if settings.get(share):
            parts.append(f"{settings[share]:.0%} {what}")
    if settings.get("idle"):
        parts.append("idle visitors (no drawing)")
    if settings.get("kill_replica_at") is not None:
        parts.append("a replica killed")
    return ", ".join(parts)


def record(settings: dict, measured: dict) -> None:
    """Keep this run in bench/results/lecture_hall.json, one entry per setup and number of visitors (a rerun
    replaces it)."""
    path = RESULTS / "lecture_hall.json"
    kept = json.loads(path.read_text()) if path.exists() else {}
    detail = {key if "/" in key else f"{ONE_SERVER}/{key}": run for key, run in kept.get("detail", {}).items()}
    command = " ".join(["python -m bench.lecture_hall", *sys.argv[1:]])
    detail[f"{setup_name(settings)}/{settings['visitors']}"] = {
        "command": command, "when": time.strftime("%Y-%m-%d %H:%M"), "machine": machine(), "settings": settings,
        **measured}
    detail = dict(sorted(detail.items(), key=lambda item: (item[0].split("/")[0], int(item[0].split("/")[1]))))
    save("lecture_hall", {"table": [table_row(run) for run in detail.values()], "detail": detail,
                          **({"notes": kept["notes"]} if kept.get("notes") else {})})


@contextmanager
def served(args):
    """The server to measure: --url's, one served here, or the deployment (serve.sh) with args.replicas."""
    if args.url:
        yield Server(args.url, lambda: [args.pid]), None
    elif not args.replicas:
        with serve() as server:
            yield Server(server.url, lambda: [server.pid]), None
    else:
        with tempfile.TemporaryDirectory(prefix="rnnviz-lecture-hall-") as models:
            os.environ["RNNVIZ_MODELS"] = models  # where the trainings are saved, read here after the hold
            env = {"RNNVIZ_PER_ADDRESS": str(args.visitors)}  # a school behind one address: each visitor may train
            with deploy(args.replicas, args.worker_machines, Path(models), env) as deployment:
                replicas = tuple(f"http://127.0.0.1:{deployment.port + n}" for n in range(1, args.replicas + 1))
                yield Server(deployment.url, lambda: process_tree(deployment.process.pid), replicas), deployment


def arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--visitors", type=int, required=True)
    parser.add_argument("--ramp-s", type=float, default=60)
    parser.add_argument("--hold-s", type=float, default=300)
    parser.add_argument("--pause-s", type=float, nargs=2, default=(5, 15), help="between drawings: from, to")
    parser.add_argument("--idle", action="store_true", help="visitors open the page and stay, never drawing")
    parser.add_argument("--compare-share", type=float, default=0.0, help="share of visitors who open Compare")
    parser.add_argument("--insight-share", type=float, default=0.0, help="share of visitors who open Insight")
    parser.add_argument("--train-share", type=float, default=0.0, help="share of visitors who start a training")
    parser.add_argument("--train-wait-s", type=float, default=1200, help="after the hold, for trainings to end")
    parser.add_argument("--replicas", type=int, default=0, help="serve with deploy/serve.sh (0: one server)")
    parser.add_argument("--worker-machines", type=int, default=0, help="with --replicas: Redis and its workers")
    parser.add_argument("--kill-replica-at", type=float, help="with --replicas: seconds into the hold")
    parser.add_argument("--browsers", type=int, default=0, choices=(0, 1), help="a Chromium page opening the app")
    parser.add_argument("--browser-every-s", type=float, default=5, help="between its loads")
    parser.add_argument("--profile", type=Path, help="one server: sample it with py-spy over the hold's first half, "
                                                      "into this file (collapsed stacks), summed up in the results")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--url", help="a server already running (http://host:port); else one is served here")
    parser.add_argument("--pid", type=int, help="with --url: the server's process, to measure its CPU and memory")
    args = parser.parse_args()
    if args.url and not args.pid:
        parser.error("--url needs --pid: the server's process is what is measured")
    if args.profile and args.replicas:
        parser.error("--profile samples one server: leave --replicas out")
    if args.kill_replica_at is not None and args.replicas < 2:
        parser.error("--kill-replica-at needs --replicas 2 or more")
    return args


def main() -> None:
    args = arguments()
    settings = {key: str(value) if isinstance(value, Path) else value for key, value in vars(args).items()
                if key not in ("url", "pid")}
    with served(args) as (server, deployment):
        measured = asyncio.run(hall(server, args, deployment))
    print(json.dumps(measured, indent=2))
    record({**settings, "served_here": not args.url}, measured)


if __name__ == "__main__":
    main()
