"""A class at once: students drawing while others train, one browser context per student, against one
server or several replicas behind nginx (deploy/serve.sh).

    RNNVIZ_DATA=../shared/mnist python -m bench.classroom                       # 10 drawing + 5 training, 2 replicas
    RNNVIZ_DATA=../shared/mnist python -m bench.classroom --replicas 1 --direct  # one server, no balancer
    RNNVIZ_DATA=../shared/mnist python -m bench.classroom --replicas 1 --direct --warm-up  # pages have drawn once
    RNNVIZ_DATA=../shared/mnist python -m bench.classroom --worker-machines 2  # trainings in Redis, 2 worker trees

The trainers open the Train tab, press "Start training" (the app's defaults) within a few seconds of
each other and stay there watching progress; meanwhile the drawers draw pen digits together, stroke
by stroke (bench.many_users), `--rounds` digits each. Then every trainer must show "Saved". The
server's memory is the proportional set size (PSS: shared libraries split among the processes sharing
them) summed over every process it runs (replicas, balancer, training workers, Redis), sampled twice a
second; the plain sum of resident sizes is recorded too, and the peaks of the training workers and of the
rest apart (with worker machines, the workers' memory would be on machines of their own).
Targets: p95 mouse-up to prediction < 1.5 s; every training saved; server memory < 2 GB.
"""

import argparse
import os
import subprocess
import threading
import time
from pathlib import Path

from playwright.sync_api import TimeoutError as PlaywrightTimeout

from bench.many_users import draw_together
from bench.report import save, stats, target
from rnnviz.data import pendigits
from tools.browser import chromium, open_app, open_tab, readable_digits
from tools.deployment import Deployment, deploy

SAVED = '[data-testid="stAlertContentSuccess"]:has-text("Saved")'


def process_tree(root: int) -> list[int]:
    """`root` and all its descendants."""
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        children.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    tree, todo = [], [root]
    while todo:
        pid = todo.pop()
        tree.append(pid)
        todo += children.get(pid, [])
    return tree


def memory_mb(pids: list[int]) -> tuple[float, float]:
    """(resident, proportional) memory of these processes in MB. Resident counts the libraries they
    share (torch's, mostly) once per process; proportional (PSS) splits shared pages among their
    users, so its sum is what the processes really take from the machine."""
    resident = proportional = 0
    for pid in pids:
        try:
            for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
                if line.startswith("Rss:"):
                    resident += int(line.split()[1])
                elif line.startswith("Pss:"):
                    proportional += int(line.split()[1])
        except OSError:
            continue
    return resident / 1024, proportional / 1024


def cpu_seconds(pids: list[int]) -> float:
    """CPU time used by these processes and by their children that have ended (training workers)."""
    total = 0.0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            total += sum(int(field) for field in fields[11:15]) / os.sysconf("SC_CLK_TCK")
        except OSError:
            continue
    return total


def is_worker(pid: int) -> bool:
    """Whether a process is a training worker (python -m rnnviz.serving.worker or .redis_worker, or a process
    forked from one)."""
    try:
        command = Path(f"/proc/{pid}/cmdline").read_bytes()
        return b"rnnviz.serving.worker" in command or b"rnnviz.serving.redis_worker" in command
    except OSError:
        return False


class MemoryWatch(threading.Thread):
    """Peak memory of a process tree, sampled every half second: all of it, and apart the training workers
    (which, with worker machines, would run elsewhere) and the rest (pages, balancer, Redis)."""

    def __init__(self, root: int):
        super().__init__(daemon=True)
        self.root, self.peak_rss_mb, self.peak_mb, self.done = root, 0.0, 0.0, threading.Event()
        self.peak_workers_mb = self.peak_pages_mb = 0.0
        self.start()

    def run(self):
        while not self.done.wait(0.5):
            tree = process_tree(self.root)
            resident, proportional = memory_mb(tree)
            workers = memory_mb([pid for pid in tree if is_worker(pid)])[1]
            self.peak_rss_mb, self.peak_mb = max(self.peak_rss_mb, resident), max(self.peak_mb, proportional)
            self.peak_workers_mb = max(self.peak_workers_mb, workers)
            self.peak_pages_mb = max(self.peak_pages_mb, proportional - workers)


def arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--drawers", type=int, default=10)
    parser.add_argument("--trainers", type=int, default=5)
    parser.add_argument("--rounds", type=int, default=3, help="digits each drawer draws")
    parser.add_argument("--replicas", type=int, default=2)
    parser.add_argument("--direct", action="store_true", help="talk to the first replica, not the balancer")
    parser.add_argument("--worker-machines", type=int, default=0,
                        help="queue the trainings in Redis, run by this many stand-in worker machines (0: the "
                             "replicas' own machine-wide slots)")
    parser.add_argument("--screenshots", type=Path, help="folder for a trainer's and a drawer's screenshot")
    parser.add_argument("--warm-up", action="store_true",
                        help="every drawer draws one digit, untimed, before the trainers start: a page's first "
                             "chart makes Chromium load plotly.js (about 2 s more CPU), which a class's own "
                             "devices pay but the simulated browsers take from the server's cores")
    args = parser.parse_args()
    if args.screenshots:
        args.screenshots.mkdir(parents=True, exist_ok=True)
    return args


def draw_rounds(drawers, digits, rounds: int) -> dict:
    """Every drawer draws a digit at once, `rounds` times: the waits, the digits read right, and the
    rounds in which a page gave no answer in 30-60 s (recorded, not hidden)."""
    drawing = {"mouse_up_to_prediction_ms": [], "right": 0, "rounds_timed_out": 0, "by_round": []}
    for r in range(rounds):
        try:
            ms, right = draw_together(drawers, digits[r * len(drawers): (r + 1) * len(drawers)])
        except PlaywrightTimeout:
            drawing["rounds_timed_out"] += 1
            continue
        drawing["mouse_up_to_prediction_ms"] += ms
        drawing["by_round"].append(sorted(round(wait) for wait in ms))
        drawing["right"] += right
    return drawing


def wait_saved(trainers, started: float, screenshots: Path | None) -> list[float | None]:
    """Seconds after `started` when each trainer's page said "Saved" (None: it never did)."""
    saved_after = []
    for number, page in enumerate(trainers):
        try:
            page.locator(SAVED).wait_for(timeout=600_000)
            saved_after.append(round(time.perf_counter() - started, 1))
        except PlaywrightTimeout:  # a page that never shows "Saved" is what this bench is about
            saved_after.append(None)
            if screenshots:
                page.screenshot(path=screenshots / f"trainer-{number}-not-saved.png", full_page=True)
    return saved_after


def idle_cpu(server_pid: int) -> float:
    """Cores the server keeps busy with nobody active (after its last worker has exited)."""
    tree = process_tree(server_pid)
    time.sleep(5)  # the last trainer's worker exits
    tree = [pid for pid in tree if Path(f"/proc/{pid}").exists()]
    before = cpu_seconds(tree)
    time.sleep(10)
    return (cpu_seconds(tree) - before) / 10


def run_class(args, browser, url: str, deployment: Deployment, digits, warm_up) -> dict:
    """Open every page, start the trainings, draw the rounds, wait for every "Saved": the measures."""
    drawers = [open_app(browser, url, timeout_ms=60_000) for _ in range(args.drawers)]
    trainers = [open_app(browser, url, timeout_ms=60_000) for _ in range(args.trainers)]
    visitors = deployment.sessions()
    for page in trainers:
        open_tab(page, "Train", timeout_ms=60_000)

    def cores() -> tuple[float, float]:
        """CPU seconds so far of (the server's processes, the browsers and this script driving them)."""
        server_side = process_tree(deployment.process.pid)
        return cpu_seconds(server_side), cpu_seconds(sorted(set(process_tree(os.getpid())) - set(server_side)))

    if args.warm_up:
        draw_together(drawers, warm_up)
    started, cpu_before = time.perf_counter(), cores()
    for page in trainers:
        page.locator(".st-key-start-training").get_by_role("button").click()
    drawing = draw_rounds(drawers, digits, args.rounds)
    drawing_seconds = time.perf_counter() - started
    server_cores, browser_cores = ((after - before) / drawing_seconds for after, before in
                                   zip(cores(), cpu_before, strict=True))
    still_training = sum(page.locator(".st-key-stop-training").count() > 0 for page in trainers)
    new_visitor = time.perf_counter()
    open_app(browser, url, timeout_ms=120_000)
    new_visitor_ms = (time.perf_counter() - new_visitor) * 1000
    saved_after = wait_saved(trainers, started, args.screenshots)
    if args.screenshots:
        trainers[0].screenshot(path=args.screenshots / "trainer.png", full_page=True)
        drawers[0].screenshot(path=args.screenshots / "drawer.png")
    waits = drawing.pop("mouse_up_to_prediction_ms")
    return {
        "connections_per_replica": list(visitors.values()),
        "mouse_up_to_prediction_ms": stats(waits) if waits else None,
        "mouse_up_to_prediction_ms_by_round": drawing["by_round"], "drawings": args.rounds * args.drawers,
        "read_right": drawing["right"], "rounds_timed_out": drawing["rounds_timed_out"],
        "drawing_seconds": round(drawing_seconds, 1),
        "cpu_cores_while_drawing": {"server": round(server_cores, 2), "browsers_and_driver": round(browser_cores, 2)},
        "trainings_live_when_drawing_ended": still_training, "saved_after_s": saved_after,
        "new_visitor_load_ms": round(new_visitor_ms),
        "server_cpu_when_idle": round(idle_cpu(deployment.process.pid), 2),
    }


def main():
    args = arguments()
    digits = readable_digits(pendigits.load(pendigits.default_path()), (args.rounds + 1) * args.drawers)
    warm_up, digits = digits[args.rounds * args.drawers:], digits[: args.rounds * args.drawers]
    models = Path(f"/tmp/rnnviz-classroom-{os.getpid()}")
    # The class reaches the server from one address, as behind a school's NAT: the operator lets that many
    # trainings through from it.
    env = {"RNNVIZ_PER_ADDRESS": os.environ.get("RNNVIZ_PER_ADDRESS", str(args.trainers))}
    try:
        with deploy(args.replicas, args.worker_machines, models, env) as deployment, chromium() as browser:
            url = f"http://127.0.0.1:{deployment.port + 1 if args.direct else deployment.port}"
            memory = MemoryWatch(deployment.process.pid)
            try:
                measured = run_class(args, browser, url, deployment, digits, warm_up)
            finally:
                memory.done.set()
    finally:
        subprocess.run(["rm", "-rf", str(models)], check=False)
    results = {"drawers": args.drawers, "trainers": args.trainers, "rounds": args.rounds, "replicas": args.replicas,
               "worker_machines": args.worker_machines,
               "warm_up": args.warm_up, "through_balancer": not args.direct, **measured,
               "server_peak_pss_mb": round(memory.peak_mb), "server_peak_rss_sum_mb": round(memory.peak_rss_mb),
               "peak_pss_mb_apart": {"pages_balancer_redis": round(memory.peak_pages_mb),
                                     "training_workers": round(memory.peak_workers_mb)}}
    print(results)
    p95 = results["mouse_up_to_prediction_ms"]["p95"] if results["mouse_up_to_prediction_ms"] else float("inf")
    results["targets"] = [
        target("p95 mouse-up to prediction, ms", p95, 1500),
        target("trainings not saved", sum(s is None for s in results["saved_after_s"]), 1),
        target("drawing rounds with a page that never answered", results["rounds_timed_out"], 1),
        target("server peak memory (PSS), MB", memory.peak_mb, 2048),
    ]
    name = "classroom" + ("" if args.replicas > 1 and not args.direct else "_one_server") + (
        "_redis" if args.worker_machines else "") + ("_warm" if args.warm_up else "")
    save(name, results)


if __name__ == "__main__":
    main()
