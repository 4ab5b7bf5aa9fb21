"""Getting MNIST: download_mnist and the page's Download button, against a local stand-in for the mirrors.

The stand-in serves copies of the real MNIST files over http on 127.0.0.1 (slowly enough that progress
can be seen); torchvision.datasets.MNIST.mirrors is pointed at it. torchvision 0.29 tries each mirror
in turn for each file, checks its md5 and extracts it beside the .gz; any failure is a RuntimeError
naming the mirrors tried.
"""

import shutil
import socket
import threading
import time
import urllib.request
from collections import Counter
from contextlib import contextmanager
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import torch
from streamlit.testing.v1 import AppTest
from torchvision.datasets import MNIST

from rnnviz.data.mnist import FILES, DatasetMissing, download_mnist, has_mnist, load_mnist
from tests.conftest import ROOT, SHARED, data_missing
from ui.state import Key, Tab

CHUNK, PAUSE = 256 * 1024, 0.005  # the stand-in sends 256 KB every 5 ms (about 50 MB/s): progress can be seen


class SlowFiles(SimpleHTTPRequestHandler):
    """Serves a folder's files in chunks, with a pause between them; quietly."""

    def copyfile(self, source, destination):
        try:
            while chunk := source.read(CHUNK):
                destination.write(chunk)
                time.sleep(PAUSE)
        except (BrokenPipeError, ConnectionResetError):  # torchvision opens each URL once without reading it
            pass

    def log_message(self, *args):
        pass


@pytest.fixture(autouse=True)
def no_proxy(monkeypatch):
    """Requests to the stand-in go straight to it, whatever proxy this machine sets."""
    for name in ("NO_PROXY", "no_proxy"):
        monkeypatch.setenv(name, "127.0.0.1,localhost")


@pytest.fixture(scope="module")
def mnist_files(tmp_path_factory):
    """A folder with copies of the four real MNIST .gz files."""
    if not all((SHARED / "mnist" / name).exists() for name in FILES):
        data_missing(f"The MNIST .gz files ({SHARED / 'mnist'})")
    folder = tmp_path_factory.mktemp("mirror")
    for name in FILES:
        shutil.copy(SHARED / "mnist" / name, folder / name)
    return folder


def serve(folder: Path):
    """An http server for `folder` on a free port of 127.0.0.1, in a thread; returns (server, URL)."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), partial(SlowFiles, directory=str(folder)))
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}/"


@contextmanager
def mirror_of(folder: Path, monkeypatch):
    """torchvision's MNIST mirrors replaced by a stand-in serving `folder`; yields its URL."""
    server, url = serve(folder)
    monkeypatch.setattr(MNIST, "mirrors", [url])
    yield url
    server.shutdown()
    server.server_close()


@pytest.fixture
def mirror(mnist_files, monkeypatch):
    """A stand-in serving the real files."""
    with mirror_of(mnist_files, monkeypatch) as url:
        yield url


@pytest.fixture
def corrupt_mirror(mnist_files, tmp_path, monkeypatch):
    """A stand-in whose last file (the test labels) has one byte changed: its md5 does not match."""
    folder = tmp_path / "corrupt-mirror"
    shutil.copytree(mnist_files, folder)
    spoiled = folder / FILES[-1]
    data = bytearray(spoiled.read_bytes())
    data[len(data) // 2] ^= 0xFF
    spoiled.write_bytes(bytes(data))
    with mirror_of(folder, monkeypatch) as url:
        yield url


@pytest.fixture
def empty_mirror(tmp_path, monkeypatch):
    """A stand-in that answers 404 to everything."""
    (tmp_path / "empty-mirror").mkdir()
    with mirror_of(tmp_path / "empty-mirror", monkeypatch) as url:
        yield url


@pytest.fixture
def dead_mirror(monkeypatch):
    """A mirror on a port where nothing listens (the connection is refused)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    url = f"http://127.0.0.1:{port}/"
    monkeypatch.setattr(MNIST, "mirrors", [url])
    return url


def test_download_fetches_mnist_with_rising_progress(mirror, tmp_path, mnist_test):
    target = tmp_path / "data"
    assert not has_mnist(target)
    progress = []
    assert download_mnist(target, on_progress=progress.append, poll_seconds=0.02) == target
    assert has_mnist(target)
    assert progress[-1] == 1.0
    assert progress == sorted(progress), "progress went backwards"
    assert len({p for p in progress if 0 < p < 1}) >= 3, f"progress was not reported while it ran: {progress}"
    images, labels = load_mnist("test", target, download=False)
    assert images.shape == (10_000, 28, 28)
    assert torch.equal(images, mnist_test[0]) and torch.equal(labels, mnist_test[1])


@pytest.fixture
def opened(monkeypatch) -> list[str]:
    """Every URL torchvision opens while the test runs (for each file and mirror: a HEAD for its redirects,
    then a GET)."""
    urls, urlopen = [], urllib.request.urlopen

    def counted(request, *args, **kwargs):
        urls.append(request.full_url)
        return urlopen(request, *args, **kwargs)

    monkeypatch.setattr(urllib.request, "urlopen", counted)
    return urls


def assert_fails_with_offline_help(target: Path, opened: list[str]):
    with pytest.raises(DatasetMissing) as failed:
        download_mnist(target, poll_seconds=0.02)
    assert opened and max(Counter(opened).values()) <= 2, Counter(opened)  # it gave up: no file asked for again
    message = str(failed.value)
    assert "RNNVIZ_DATA" in message and str(target) in message
    assert all(name in message for name in FILES)  # which files to put there
    return message


def test_a_corrupt_file_fails_with_how_to_provide_mnist_offline(corrupt_mirror, tmp_path, opened):
    message = assert_fails_with_offline_help(tmp_path / "data", opened)
    assert "corrupted" in message  # torchvision's reason is kept


def test_a_failed_download_does_not_pass_for_mnist(corrupt_mirror, tmp_path):
    with pytest.raises(DatasetMissing):
        download_mnist(tmp_path / "data", poll_seconds=0.02)
    assert not has_mnist(tmp_path / "data")


def test_a_mirror_without_the_files_fails_with_how_to_provide_mnist_offline(empty_mirror, tmp_path, opened):
    message = assert_fails_with_offline_help(tmp_path / "data", opened)
    assert "404" in message
    assert not has_mnist(tmp_path / "data")


def test_no_server_fails_with_how_to_provide_mnist_offline(dead_mirror, tmp_path, opened):
    assert_fails_with_offline_help(tmp_path / "data", opened)
    assert not has_mnist(tmp_path / "data")


@pytest.fixture
def page_without_mnist(tmp_path, monkeypatch, user_models):
    """The app's Train tab, run once, with an empty data folder."""
    monkeypatch.setenv("RNNVIZ_DATA", str(tmp_path / "no-mnist-yet"))
    monkeypatch.setenv("RNNVIZ_CACHE", str(tmp_path / "cache"))
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
    at.session_state[Key.TAB] = Tab.TRAIN
    threads = torch.get_num_threads()
    yield at.run()
    torch.set_num_threads(threads)  # the app runs in this process and sets its own


def mnist_missing_notes(at) -> list[str]:
    return [info.value for info in at.info if "MNIST" in info.value]


def test_the_train_tab_offers_to_download_mnist(page_without_mnist):
    at = page_without_mnist
    assert not at.exception
    assert mnist_missing_notes(at) and "no-mnist-yet" not in mnist_missing_notes(at)[0]  # no server folder named
    assert "Download MNIST" in at.button(key=Key.DOWNLOAD_MNIST).label


def test_the_download_button_fetches_mnist(mirror, page_without_mnist, tmp_path):
    at = page_without_mnist.button(key=Key.DOWNLOAD_MNIST).click().run()
    assert not at.exception and not at.error
    assert has_mnist(tmp_path / "no-mnist-yet")
    assert not mnist_missing_notes(at)  # the page ran again, now with MNIST
    assert Key.DOWNLOAD_MNIST not in [button.key for button in at.button]


def test_a_failed_download_on_the_page_says_how_to_provide_mnist(dead_mirror, page_without_mnist):
    at = page_without_mnist.button(key=Key.DOWNLOAD_MNIST).click().run()
    assert not at.exception
    [error] = at.error
    assert "download failed" in error.value and "RNNVIZ_DATA" in error.value
    assert mnist_missing_notes(at)  # still missing, and said so
