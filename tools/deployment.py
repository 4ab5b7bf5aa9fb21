"""deploy/serve.sh driven from Python: replicas behind nginx (and, with worker machines, Redis and its workers) on
a free port, each replica's process and the sessions it holds, and a replica lost as a crash loses it.

Shared by bench/classroom.py, bench/lecture_hall.py and tests/test_failover.py.
"""

import os
import re
import signal
import subprocess
import time
import urllib.request
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from tools.browser import ROOT, free_port

STARTED = re.compile(r"rnnviz: (\d+) replicas behind http://\S+ \(models in \S+, logs in (\S+?)[,)]")


def connections_per_port(ports: list[int]) -> dict[int, int]:
    """Established TCP connections to each of `ports` on loopback (/proc/net/tcp): at a replica, its visitors'
    websockets (nginx opens one per page, and closes each plain request once answered)."""
    counts = dict.fromkeys(ports, 0)
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            local, state = line.split()[1], line.split()[3]
            port = int(local.rsplit(":", 1)[1], 16)
            if state == "01" and port in counts:
                counts[port] += 1
    return counts


@dataclass(frozen=True)
class Deployment:
    """A running deploy/serve.sh: the balancer on `port`, replica n (1, 2, ...) on port + n."""
    process: subprocess.Popen  # serve.sh, leading a process group of its own
    port: int
    run: Path  # serve.sh's run folder: its logs, and each replica's pid file
    replicas: int

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def replica_pid(self, number: int) -> int:
        """The process of replica `number` now (serve.sh starts a stopped one again, under a new pid)."""
        return int((self.run / f"replica-{number}.pid").read_text())

    def sessions(self) -> dict[int, int]:
        """The open websockets each replica holds: {replica number: count}."""
        counts = connections_per_port([self.port + n for n in range(1, self.replicas + 1)])
        return {port - self.port: count for port, count in counts.items()}

    def kill_replica(self, number: int) -> int:
        """SIGKILL replica `number`, as a crash would; returns the killed process's pid."""
        pid = self.replica_pid(number)
        os.kill(pid, signal.SIGKILL)
        return pid

    def wait_replica_up(self, number: int, not_pid: int, timeout: float = 120) -> int:
        """Wait until replica `number` runs again, as a process other than `not_pid`, and answers; its pid."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                pid = self.replica_pid(number)
                with urllib.request.urlopen(f"http://127.0.0.1:{self.port + number}/_stcore/health", timeout=2):
                    if pid != not_pid:
                        return pid
            except (OSError, ValueError):
                pass
            time.sleep(0.5)
        raise TimeoutError(f"replica {number} was not started again within {timeout:.0f} s")


@contextmanager
def deploy(replicas: int = 2, worker_machines: int = 0, models: Path | None = None, env: dict | None = None):
    """deploy/serve.sh on a free port, with `replicas` and `worker_machines`; yields the Deployment once every
    replica answers, and stops all of it afterwards. `env` adds to (or overrides) the environment."""
    port = free_port()
    settings = {**os.environ, "PORT": str(port), "REPLICAS": str(replicas),
                "WORKER_MACHINES": str(worker_machines), **(env or {})}
    if models is not None:
        settings["RNNVIZ_MODELS"] = str(models)
    settings.setdefault("RNNVIZ_DATA", str(ROOT.parent / "shared" / "mnist"))
    process = subprocess.Popen(["bash", "deploy/serve.sh"], cwd=ROOT, env=settings, start_new_session=True,
                               stdout=subprocess.PIPE, text=True)
    try:
        line = process.stdout.readline()
        started = STARTED.search(line)
        if not started:
            raise RuntimeError(f"deploy/serve.sh did not start: {line}")
        urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=10)
        yield Deployment(process, port, Path(started.group(2)), replicas)
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
