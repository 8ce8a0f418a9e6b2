"""Fixtures for the dataset tests: a loopback HTTP server, an unreachable origin, and the
shared folder of real MNIST / Fashion-MNIST files."""

import functools
import http.server
import os
import socket
import threading

import pytest

from gkeras.utils import file_utils

# The server shuts itself down after this long even if a test hangs.
SERVER_LIFETIME_S = 120


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format, *args):  # noqa: A002  (the base class's name)
        pass


@pytest.fixture
def serve(monkeypatch):
    """`serve(folder)` serves `folder` on 127.0.0.1 and returns its base URL (ending in /)."""
    monkeypatch.setenv("no_proxy", "127.0.0.1,localhost")
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    running = []

    def start(folder):
        handler = functools.partial(_QuietHandler, directory=str(folder))
        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        server.daemon_threads = True
        thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        thread.start()
        watchdog = threading.Timer(SERVER_LIFETIME_S, server.shutdown)
        watchdog.daemon = True
        watchdog.start()
        running.append((server, thread, watchdog))
        return f"http://127.0.0.1:{server.server_address[1]}/"

    yield start
    for server, thread, watchdog in running:
        watchdog.cancel()
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


@pytest.fixture
def closed_origin():
    """A URL on a loopback port nothing listens on: connections are refused at once."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}/"


@pytest.fixture
def dataset_root(tmp_path, monkeypatch):
    """An empty dataset folder, set as $GKERAS_DATASETS for the test."""
    root = tmp_path / "datasets"
    monkeypatch.setenv("GKERAS_DATASETS", str(root))
    monkeypatch.delenv("GKERAS_DATASETS_ORIGIN", raising=False)
    return root


@pytest.fixture
def fresh_hash_cache(monkeypatch):
    """An empty per-process checksum cache, so a test sees every file being hashed."""
    monkeypatch.setattr(file_utils, "_digest_cache", {})


# read once, before any test points GKERAS_DATASETS at a temporary folder
_SHARED_ROOT = os.environ.get("GKERAS_DATASETS")


@pytest.fixture
def shared_folder():
    """`shared_folder(subdir, names)`: the real-data folder `subdir`, or skip the test when it
    (or one of the files `names`) is absent."""

    def find(subdir, names):
        if not _SHARED_ROOT:
            pytest.skip(
                "real datasets not available: GKERAS_DATASETS is not set and the "
                "shared folder ../shared/datasets does not exist"
            )
        folder = os.path.join(_SHARED_ROOT, subdir)
        missing = [n for n in names if not os.path.isfile(os.path.join(folder, n))]
        if missing:
            pytest.skip(f"real datasets not available: {', '.join(missing)} missing in {folder}")
        return folder

    return find
