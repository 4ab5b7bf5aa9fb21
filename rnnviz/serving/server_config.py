"""The server's configuration, set by its operator for serving a class, all read here from environment
variables:

    RNNVIZ_MODELS      the model store (default: the cache folder's models/); replicas share it
    RNNVIZ_WORKERS     trainings at once on this machine (default: cores - 1, at least 1); the rest queue
    RNNVIZ_SLOTS       folder of this machine's training slots (file locks; default: the temp folder's
                       rnnviz-training-slots-<uid>): every server process on the machine shares them
    RNNVIZ_QUEUE       trainings that may wait, per server process (default 100; with RNNVIZ_QUEUE_URL, in the
                       whole queue); beyond, "try later"
    RNNVIZ_QUEUE_URL   redis://host:port/db: the training queue of every machine, in Redis (rnnviz/serving/
                       redis_queue.py); default none: each server process runs its trainings on its own machine
    RNNVIZ_MAX_MODELS  models a visitor may keep (default 10); the oldest go first
    RNNVIZ_MAX_MB      megabytes a visitor may keep (default 50)
    RNNVIZ_SHARE_MODELS     1: every visitor sees every visitor's models; default 0
    RNNVIZ_PATH_BOX    on | off | auto (default): the "path on the server" box; auto = on only when the
                       server listens on loopback (a single user on their own machine)
    RNNVIZ_PATH_DIRS   folders the path box may read from (os.pathsep-separated; default: the home folder)
    RNNVIZ_JOB_MINUTES the longest training a visitor may start (default 15): a longer estimate is refused,
                       and a training that runs over stops there, keeping what it learned
    RNNVIZ_PER_ADDRESS trainings queued or running at once from one client address (default 3), however many
                       visitor ids it uses; raise it when a class reaches the server through one address (NAT)
    RNNVIZ_PROXIES     addresses of the balancers whose X-Forwarded-For is believed (comma-separated;
                       default: loopback, where deploy/serve.sh runs nginx)
    RNNVIZ_MAX_HIDDEN  the largest model (hidden units) a visitor may add or train (default 256)
    RNNVIZ_STORE_MB    the whole store's size (default 2048): past it, the visitors' folders unvisited longest go
    RNNVIZ_KEEP_DAYS   days a visitor's folder is kept after their last visit (default 30)
    RNNVIZ_LEASE_SECONDS  with RNNVIZ_QUEUE_URL: how long a running job's lease outlives its worker's last
                       renewal (default 10): a worker lost is noticed this late; one that cannot reach Redis nearly this
                       long stops (rnnviz/serving/redis_queue.py)

Where MNIST is read from and caches are kept (RNNVIZ_DATA, RNNVIZ_CACHE) is not a serving setting:
the command-line tools use them too (rnnviz/config.py).
"""

import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

from ..config import cache_dir

LOOPBACK = ("127.0.0.1", "localhost", "::1")


@dataclass(frozen=True)
class ServerConfig:
    store: Path
    workers: int
    slots_dir: Path
    queue_limit: int
    queue_url: str
    max_models: int
    max_megabytes: float
    share_models: bool
    path_box: str
    path_dirs: tuple[Path, ...]
    job_minutes: float
    per_address: int
    proxies: tuple[str, ...]
    max_hidden: int
    store_megabytes: float
    keep_days: float
    lease_seconds: float

    def path_box_enabled(self, address: str | None) -> bool:
        """Whether the path box is on for a server listening on `address` (None or "": every interface)."""
        return self.path_box == "on" or (self.path_box == "auto" and (address or "") in LOOPBACK)


def _number(name: str, default, kind=int):
    """A positive number from the environment variable `name`, or `default` when unset, not a number or not
    above zero."""
    try:
        value = kind(os.environ[name])
    except (KeyError, ValueError):
        return default
    return value if value > 0 else default


def server_config() -> ServerConfig:
    """The settings now (read at every call: cheap, and tests can change them)."""
    dirs = os.environ.get("RNNVIZ_PATH_DIRS") or str(Path.home())
    path_box = os.environ.get("RNNVIZ_PATH_BOX", "auto").strip().lower()
    return ServerConfig(
        store=Path(os.environ.get("RNNVIZ_MODELS") or cache_dir() / "models").expanduser(),
        workers=_number("RNNVIZ_WORKERS", max((os.cpu_count() or 2) - 1, 1)),
        slots_dir=Path(os.environ.get("RNNVIZ_SLOTS")
                       or Path(tempfile.gettempdir()) / f"rnnviz-training-slots-{os.getuid()}"),
        queue_limit=_number("RNNVIZ_QUEUE", 100),
        queue_url=os.environ.get("RNNVIZ_QUEUE_URL", "").strip(),
        max_models=_number("RNNVIZ_MAX_MODELS", 10),
        max_megabytes=_number("RNNVIZ_MAX_MB", 50.0, float),
        share_models=os.environ.get("RNNVIZ_SHARE_MODELS", "0").strip().lower() in ("1", "true", "on", "yes"),
        path_box=path_box if path_box in ("on", "off", "auto") else "off",
        path_dirs=tuple(Path(d).expanduser() for d in dirs.split(os.pathsep) if d.strip()),
        job_minutes=_number("RNNVIZ_JOB_MINUTES", 15.0, float),
        per_address=_number("RNNVIZ_PER_ADDRESS", 3),
        proxies=tuple(a.strip() for a in os.environ.get("RNNVIZ_PROXIES", ",".join(LOOPBACK)).split(",") if a.strip()),
        max_hidden=_number("RNNVIZ_MAX_HIDDEN", 256),
        store_megabytes=_number("RNNVIZ_STORE_MB", 2048.0, float),
        keep_days=_number("RNNVIZ_KEEP_DAYS", 30.0, float),
        lease_seconds=_number("RNNVIZ_LEASE_SECONDS", 10.0, float),
    )
