"""The training queue in Redis, against a real redis-server started here on loopback: pages (RedisQueue) in two
replicas and workers standing in for two machines (`python -m rnnviz.serving.redis_worker`, each its own process
tree), sharing one model store. A job runs on a worker and shows on every replica; a worker killed mid-epoch
loses at most the epoch and its job continues on the other; a job longer than many leases keeps its lease and
runs once; "Stop early" reaches the machine that runs the job; one training per visitor however many replicas
are asked at once; Redis restarted mid-job, or without its data; the Train tab on a queue in Redis; a new
checkpoint measured once, on a worker. Then, with no worker, what the pages do with a job whose worker died (queued
again once, or left interrupted), or that Redis lost, or that another replica is queueing."""

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import replace
from pathlib import Path
from types import SimpleNamespace

import pytest
from redis import Redis
from redis.exceptions import RedisError

from rnnviz import load_model, save_checkpoint
from rnnviz.recipes import Settings
from rnnviz.serving import admission, redis_queue, store
from rnnviz.serving.admission import Refused
from rnnviz.serving.job_queue import QueueFull
from rnnviz.serving.jobs import JobState, JobStatus, job_files, new_training, read_status, write_status
from rnnviz.serving.redis_queue import (
    KEPT,
    MAX_RESTARTS,
    QUEUE_LOST,
    SHOWING_LAST,
    WORKER_LOST,
    RedisQueue,
    ref,
    rq_id,
)
from rnnviz.serving.redis_worker import RUNNING, lease_key, lease_ms
from tests.conftest import ROOT, app_test, data_missing, leftovers, random_model, wait_for, wait_until
from tests.test_local_queue import LONG, TINY, saved_epochs
from tools.browser import free_port
from ui import cache
from ui.state import Key, Tab

SHORT = Settings(cell_type="lstm", hidden=32, epochs=2, limit=2000, val_size=200)  # a few seconds: its progress shows
LEASE = 2  # s: a short lease (RNNVIZ_LEASE_SECONDS), for a job to outlast several

pytestmark = pytest.mark.slow


class RedisServer:
    """redis-server on a free loopback port, its data in a temp folder, kept across restarts (append-only
    file, as deploy/README.md asks of the operator)."""

    def __init__(self):
        if not shutil.which("redis-server"):
            data_missing("redis-server (apt-get install redis-server)")
        self.port, self.folder = free_port(), tempfile.mkdtemp(prefix="rnnviz-redis-")
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.start()

    def start(self) -> None:
        self.process = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--dir", self.folder,
             "--appendonly", "yes", "--appendfsync", "always", "--save", ""], stdout=subprocess.DEVNULL)
        client = Redis.from_url(self.url)
        wait_until(lambda: self._answers(client), 20)

    @staticmethod
    def _answers(client: Redis) -> bool:
        try:
            return client.ping()
        except RedisError:
            return False

    def stop(self) -> None:
        self.process.terminate()  # SIGTERM: redis-server saves and shuts down
        self.process.wait(20)


@pytest.fixture
def redis_server():
    server = RedisServer()
    yield server
    server.stop()
    shutil.rmtree(server.folder, ignore_errors=True)


@pytest.fixture
def queue_env(redis_server, user_models, monkeypatch):
    """This process's replicas and pages, and the workers started below, use this Redis and store."""
    monkeypatch.setenv("RNNVIZ_QUEUE_URL", redis_server.url)
    return redis_server


@pytest.fixture
def workers(queue_env):
    """Start worker machines: `workers()` starts one (its own process group) and returns it; all are killed
    at the end."""
    started = []

    def start() -> subprocess.Popen:
        env = {**os.environ, "RNNVIZ_WORKERS": "1"}
        started.append(subprocess.Popen([sys.executable, "-m", "rnnviz.serving.redis_worker"], cwd=ROOT, env=env,
                                        start_new_session=True, stdout=subprocess.DEVNULL,
                                        stderr=subprocess.DEVNULL))
        return started[-1]

    yield start
    for worker in started:
        kill_tree(worker)


@pytest.fixture
def replicas(queue_env, offline_mnist):
    """Two page replicas' queues (A, B)."""
    a, b = RedisQueue(queue_env.url), RedisQueue(queue_env.url)
    yield a, b
    a.close()
    b.close()


def process_tree(root: int) -> set[int]:
    """`root` and all its descendants (a work horse runs in a process group of its own)."""
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            parent = int(stat.read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError):
            continue
        children.setdefault(parent, []).append(int(stat.parent.name))
    tree, todo = set(), [root]
    while todo:
        pid = todo.pop()
        tree.add(pid)
        todo += children.get(pid, [])
    return tree


def kill_tree(worker: subprocess.Popen) -> None:
    """SIGKILL a worker machine: every process it started, as a power cut would."""
    for pid in process_tree(worker.pid):
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            continue
    worker.wait()


WATCHER = """
import os, sys, time
from rnnviz.serving.jobs import JobState
from rnnviz.serving.redis_queue import RedisQueue
queue, visitor, seen = RedisQueue(os.environ["RNNVIZ_QUEUE_URL"]), sys.argv[1], []
while not seen or seen[-1][0] not in ("done", "failed"):
    status = queue.latest(visitor)
    place = queue.place(status) if status and status.state == JobState.QUEUED else None
    now = (status.state.value if status else "none", place.position if place else 0, bool(status and status.progress))
    if not seen or seen[-1] != now:
        seen.append(now)
        print(*now, status.summary.test_accuracy if status and status.summary else "", flush=True)
    time.sleep(0.1)
"""


def test_a_job_queued_through_one_replica_runs_on_a_worker_and_shows_on_another(replicas, workers):
    a, b = replicas
    visitor, later = store.new_visitor_id(), store.new_visitor_id()
    job_id = a.submit(SHORT, visitor, "10.0.0.1")
    a.submit(TINY, later, "10.0.0.2")
    first, second = (b.place(b.latest(visitor)) for visitor in (visitor, later))  # where they wait, and how long
    assert (first.position, second.position) == (1, 2) and first.starts_in == 0 < second.starts_in
    watcher = subprocess.Popen([sys.executable, "-c", WATCHER, visitor], cwd=ROOT, stdout=subprocess.PIPE,
                               text=True, env=os.environ)  # replica B: another process
    try:
        assert watcher.stdout.readline().split() == ["queued", "1", "False"]  # no worker yet: first in the queue
        workers()
        lines = [line.split() for line in watcher.stdout]
    finally:
        watcher.kill()
        watcher.wait()
    done = a.latest(visitor)
    assert done.id == job_id and done.state == JobState.DONE and done.pid != os.getpid()
    assert ["running", "0", "True"] in lines  # its progress, once a second
    assert lines[-1] == ["done", "0", "True", str(done.summary.test_accuracy)]  # "Saved", with its accuracy
    assert load_model(done.out).info["test_accuracy"] == done.summary.test_accuracy


def test_a_worker_killed_mid_epoch_loses_at_most_that_epoch_and_the_job_goes_on_on_another(replicas, workers,
                                                                                           user_models):
    a, b = replicas
    first, second = workers(), workers()
    visitor = store.new_visitor_id()
    a.submit(LONG, visitor, "10.0.0.1")
    running = wait_until(lambda: (status := b.latest(visitor)).epochs_done >= 1 and status.state == JobState.RUNNING
                         and status, 180)
    killed = first if running.pid in process_tree(first.pid) else second
    kill_tree(killed)
    before = saved_epochs(running)  # what its last epoch end saved
    other = second if killed is first else first
    again = wait_until(lambda: (s := b.latest(visitor)).restarts == 1 and s.pid in process_tree(other.pid) and s, 60)
    assert again.note == WORKER_LOST.format(epochs=again.epochs_done)
    assert again.epochs_done >= running.epochs_done  # it lost only the epoch under way
    done = wait_for(a, visitor, 240)
    assert done.state == JobState.DONE, done.error
    history = load_model(done.out).info["history"]
    assert [epoch["epoch"] for epoch in history] == list(range(1, LONG.epochs + 1))
    assert before and history[: len(before)] == before  # the epochs before the kill, continued from, not redone
    assert not leftovers(user_models)


def test_a_job_running_for_several_leases_keeps_its_lease_and_runs_once(replicas, workers, queue_env, monkeypatch):
    """With a 2 s lease, the worker that took a job still holds its lease four leases later (it renews it), and
    the job is never queued again nor started a second time."""
    monkeypatch.setenv("RNNVIZ_LEASE_SECONDS", str(LEASE))  # the pages' and the worker's
    a, b = replicas
    workers()
    visitor = store.new_visitor_id()
    job_id = a.submit(replace(LONG, epochs=40), visitor, "10.0.0.1")  # far longer than the wait below
    running = wait_until(lambda: (s := b.latest(visitor)).state == JobState.RUNNING and s.progress and s, 120)
    leases = Redis.from_url(queue_env.url, decode_responses=True)
    holders = set()
    for _ in range(40):  # 4 leases, looked at 10 times a lease
        holders.add(leases.get(lease_key(job_id)))
        time.sleep(LEASE / 10)
    assert holders == {running.server}  # held throughout by the worker that took it
    b.stop(visitor, job_id)
    stopped = wait_for(a, visitor, 120)
    assert stopped.state == JobState.STOPPED and stopped.restarts == 0 and not a.rq.count  # never queued again
    assert (stopped.server, stopped.pid, stopped.started) == (running.server, running.pid, running.started)  # one start


def test_stop_early_from_another_replica_stops_the_job_on_its_machine_and_saves(replicas, workers):
    a, b = replicas
    workers()
    visitor = store.new_visitor_id()
    job_id = a.submit(LONG, visitor, "10.0.0.1")
    wait_until(lambda: b.latest(visitor).progress, 120)
    b.stop(visitor, job_id)
    stopped = wait_for(a, visitor, 120)
    assert stopped.state == JobState.STOPPED and stopped.stop_reason == "asked"
    assert load_model(stopped.out).info["stopped_early"]


def at_once(calls) -> list:
    """Run the calls at the same instant, one thread each; their results (an exception counts as one)."""
    results, barrier = [None] * len(calls), threading.Barrier(len(calls))

    def run(n: int) -> None:
        barrier.wait()
        try:
            results[n] = calls[n]()
        except Exception as error:
            results[n] = error

    threads = [threading.Thread(target=run, args=(n,)) for n in range(len(calls))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


def test_replicas_asked_at_the_same_instant_accept_one_training_per_visitor_and_the_address_cap(replicas,
                                                                                              monkeypatch):
    a, b = replicas
    for _ in range(5):
        visitor = store.new_visitor_id()
        results = at_once([lambda q=q, s=visitor: q.submit(TINY, s, "10.0.0.1") for q in (a, b)])
        assert sum(isinstance(r, str) for r in results) == 1, results
        assert sum(isinstance(r, Refused) and "already" in str(r) for r in results) == 1
        a.stop(visitor, a.latest(visitor).id)  # leaves the queue: the next round's address is free again
    monkeypatch.setenv("RNNVIZ_PER_ADDRESS", "2")
    calls = [lambda q=q: q.submit(TINY, store.new_visitor_id(), "10.0.0.2") for q in (a, b, a, b)]
    results = at_once(calls)
    assert sum(isinstance(r, str) for r in results) == 2, results
    assert all(isinstance(r, Refused) and "your network" in str(r) for r in results if not isinstance(r, str))


def test_redis_restarted_mid_job_loses_no_job_and_runs_none_twice(replicas, workers, redis_server):
    a, _ = replicas
    workers()
    running, waiting = store.new_visitor_id(), store.new_visitor_id()
    job_id = a.submit(LONG, running, "10.0.0.1")
    wait_until(lambda: a.latest(running).progress, 120)
    a.submit(TINY, waiting, "10.0.0.2")  # queued behind it (one worker)
    redis_server.stop()
    assert a.latest(running).note == SHOWING_LAST  # the page says it cannot reach the queue
    a.stop(running, job_id)  # pressed meanwhile: nothing happens (the page said why), and nothing breaks
    with pytest.raises(QueueFull, match="cannot be reached"):
        a.submit(TINY, store.new_visitor_id(), "10.0.0.3")
    time.sleep(2)  # an outage of a few seconds, shorter than a lease
    redis_server.start()
    for visitor in (running, waiting):
        done = wait_for(a, visitor, 240)
        assert done.state == JobState.DONE and done.restarts == 0, done  # never queued again: it ran once
        assert [epoch["epoch"] for epoch in load_model(done.out).info["history"]] == list(
            range(1, done.settings.epochs + 1))


def test_a_job_redis_lost_shows_as_interrupted_and_resumes(replicas, workers, redis_server):
    a, _ = replicas
    workers()
    visitor = store.new_visitor_id()
    job_id = a.submit(LONG, visitor, "10.0.0.1")
    wait_until(lambda: a.latest(visitor).epochs_done >= 1, 120)
    Redis.from_url(redis_server.url).flushall()  # a Redis restarted without its data
    lost = wait_until(lambda: (s := a.latest(visitor)).state == JobState.INTERRUPTED and s, 30)
    assert lost.note == QUEUE_LOST and lost.epochs_done >= 1
    a.resume(visitor, job_id)
    done = wait_for(a, visitor, 240)
    assert done.state == JobState.DONE and read_status(visitor, job_id).note == ""
    assert [epoch["epoch"] for epoch in load_model(done.out).info["history"]] == list(range(1, LONG.epochs + 1))


def test_the_train_tab_queues_in_redis_and_says_saved(queue_env, workers, mnist_test):
    workers()
    at = app_test({Key.TAB: Tab.TRAIN}).run()
    at.selectbox(key=Key.TRAIN_CELL).set_value("rnn")
    at.select_slider(key=Key.TRAIN_HIDDEN).set_value(16)
    at.number_input(key=Key.TRAIN_EPOCHS).set_value(1)
    at.select_slider(key=Key.TRAIN_IMAGES).set_value(2000)
    at.button(key=Key.START_TRAINING).click().run()
    visitor, queue = at.session_state[Key.VISITOR], cache.training_queue()
    assert isinstance(queue, RedisQueue)
    assert wait_for(queue, visitor, 180).state == JobState.DONE
    at.run()
    assert not at.exception and any(alert.value.startswith("Saved rnn-h16") for alert in at.success)


def test_a_new_checkpoint_is_measured_once_by_a_worker_whichever_replica_asks(queue_env, workers, mnist_test):
    a, b = RedisQueue(queue_env.url), RedisQueue(queue_env.url)
    visitor = store.new_visitor_id()
    checkpoint = save_checkpoint(random_model("rnn", 8), store.new_checkpoint_path("mine", visitor), test_accuracy=0.5)
    try:
        job = a.measure(checkpoint, visitor)
        assert b.measure(checkpoint, visitor).id == job.id  # under way: the same job
        workers()
        measured = wait_until(lambda: (s := read_status(visitor, job.id)) and not s.live and s, 240)
        assert measured.state == JobState.DONE, measured.error
        assert b.measure(checkpoint, visitor).id == job.id  # measured: not again
    finally:
        a.close()
        b.close()
    assert len(list(checkpoint.parent.glob(f"{checkpoint.name}?*"))) >= 3  # statistics, decoders, index beside it


@pytest.mark.parametrize("same_visitor, refusal", [(True, "already"), (False, "from your network")])
def test_a_training_admitted_through_another_replica_mid_check_is_seen(replicas, monkeypatch, same_visitor, refusal):
    """Replica A has read the live trainings of a visitor and their address, and not yet written its own, when B
    admits the same visitor from another address, or another visitor from the same address (one a network
    here): A's transaction fails, it reads again, and refuses."""
    monkeypatch.setenv("RNNVIZ_PER_ADDRESS", "1")
    a, b = replicas
    visitor, checks, admitted_by_b = store.new_visitor_id(), [], []
    b_visitor, b_address = (visitor, "10.0.0.4") if same_visitor else (store.new_visitor_id(), "10.0.0.3")
    check_live = admission.check_live

    def check_then_b_admits(live, visitor, address):
        check_live(live, visitor, address)
        checks.append(visitor)
        if len(checks) == 1:  # A's first check (B's own comes back here too)
            admitted_by_b.append(b.submit(TINY, b_visitor, b_address))

    monkeypatch.setattr(admission, "check_live", check_then_b_admits)
    with pytest.raises(Refused, match=refusal):
        a.submit(TINY, visitor, "10.0.0.3")
    assert len(admitted_by_b) == 1 and a.latest(b_visitor).id == admitted_by_b[0]


def test_what_admission_keeps_in_redis_expires(replicas):
    """The visitor's and the address's live trainings are kept long enough for any training, not forever."""
    a, _ = replicas
    visitor = store.new_visitor_id()
    a.submit(TINY, visitor, "10.0.0.5")
    keys = [f"rnnviz:visitor:{visitor}", f"rnnviz:address:{admission.address_key('10.0.0.5')}"]
    assert all(0 < a.redis.ttl(key) <= KEPT for key in keys)


def left_by_a_dead_worker(queue: RedisQueue, state: JobState = JobState.RUNNING, restarts: int = 0) -> JobStatus:
    """A training whose worker died: its status as the worker last wrote it (in `state`, one epoch done), its
    ref still among the running jobs, and nobody holding its lease."""
    status = new_training(TINY, store.new_visitor_id(), "", "a-worker-now-gone")
    status.state, status.restarts, status.epochs_done = state, restarts, 1
    write_status(status)
    queue.redis.sadd(RUNNING, ref(status))
    return status


@pytest.mark.parametrize("restarts", [0, MAX_RESTARTS - 1])
def test_a_job_whose_worker_was_lost_is_queued_again_once_however_many_pages_see_it(replicas, restarts):
    """Every page process looks at the running jobs once a second: a page that read them before another page
    queued the lost job again finds it gone from the running jobs, and leaves it be."""
    a, b = replicas
    lost = left_by_a_dead_worker(a, restarts=restarts)
    for queue in (a, b, a):  # A's look, B's from before A's, A's again (their own looks may come first: the same)
        queue._requeue_if_lost(ref(lost))
    again = read_status(lost.visitor, lost.id)
    assert (again.state, again.restarts, again.note) == (JobState.QUEUED, restarts + 1, WORKER_LOST.format(epochs=1))
    assert a.rq.get_job_ids() == [rq_id(again)] and not a.redis.sismember(RUNNING, ref(lost))


def test_a_job_whose_worker_was_lost_too_often_is_left_interrupted(replicas):
    a, _ = replicas
    lost = left_by_a_dead_worker(a, restarts=MAX_RESTARTS)
    a._requeue_if_lost(ref(lost))
    left = read_status(lost.visitor, lost.id)
    assert (left.state, left.restarts, left.note) == (JobState.INTERRUPTED, MAX_RESTARTS, "")  # to resume or discard
    assert not a.rq.get_job_ids() and not a.redis.sismember(RUNNING, ref(lost))


@pytest.mark.parametrize("files_gone", [False, True])
def test_a_job_that_ended_as_its_worker_was_lost_is_not_queued_again(replicas, files_gone):
    """Its worker wrote its end and died before leaving the running jobs (or its files are gone)."""
    a, _ = replicas
    ended = left_by_a_dead_worker(a, state=JobState.DONE)
    if files_gone:
        job_files(ended.visitor, ended.id)["status"].unlink()
    a._requeue_if_lost(ref(ended))
    assert not a.redis.sismember(RUNNING, ref(ended)) and not a.rq.get_job_ids()
    assert read_status(ended.visitor, ended.id) == (None if files_gone else ended)


def test_a_job_whose_worker_holds_its_lease_is_left_to_it(replicas):
    a, _ = replicas
    running = left_by_a_dead_worker(a)
    a.redis.set(lease_key(running.id), "its-worker", px=lease_ms())
    a._requeue_if_lost(ref(running))
    assert a.redis.sismember(RUNNING, ref(running)) and read_status(running.visitor, running.id) == running
    assert not a.rq.get_job_ids()


def stop_the_clock(monkeypatch, now: float) -> None:
    """The queue's clock (time.time() in redis_queue) reads `now` from here on."""
    monkeypatch.setattr(redis_queue, "time", SimpleNamespace(time=lambda: now))


@pytest.mark.parametrize("state, written_leases_ago, lost", [
    (JobState.RUNNING, 0, False), (JobState.RUNNING, 0.9999, False),  # just written; just under a lease ago
    (JobState.RUNNING, 1, True), (JobState.QUEUED, 0, True)])
def test_a_job_redis_lost_is_interrupted_once_no_worker_can_still_be_writing_it(replicas, monkeypatch, state,
                                                                                 written_leases_ago, lost):
    """With neither its RQ job nor its lease in Redis, a running job whose worker wrote its status less than a
    lease ago may still be running (a worker that lost its lease ends itself within one); a queued one is lost."""
    a, _ = replicas
    status = left_by_a_dead_worker(a, state=state)
    a.redis.srem(RUNNING, ref(status))  # Redis lost it: no page process looks at it once a second
    written = 1_000_000_000  # s since the epoch: any whole number, for the sums below to be exact
    os.utime(job_files(status.visitor, status.id)["status"], (written, written))
    stop_the_clock(monkeypatch, written + written_leases_ago * lease_ms() / 1000)
    seen = a.latest(status.visitor)
    assert (seen.state, seen.note) == ((JobState.INTERRUPTED, QUEUE_LOST) if lost else (state, ""))


def test_a_measuring_another_replica_is_queueing_is_the_one_returned(replicas, monkeypatch):
    """Between writing a new measuring job and putting it in RQ's queue, replica A holds its lease: B, asked
    meanwhile for the same checkpoint, returns A's job rather than measuring it a second time."""
    a, b = replicas
    visitor = store.new_visitor_id()
    checkpoint = save_checkpoint(random_model("rnn", 8), store.new_checkpoint_path("mine", visitor), test_accuracy=0.5)
    enqueue, asked_meanwhile = a._enqueue, []

    def b_asks_then_enqueue(status: JobStatus) -> None:
        asked_meanwhile.append(b.measure(checkpoint, visitor).id)
        enqueue(status)

    monkeypatch.setattr(a, "_enqueue", b_asks_then_enqueue)
    job = a.measure(checkpoint, visitor)
    assert asked_meanwhile == [job.id] and a.rq.get_job_ids() == [rq_id(job)]
