"""get_file against a loopback HTTP server: caching, checksums, atomicity, extraction."""

import hashlib
import http.server
import io
import os
import socket
import tarfile
import threading
import zipfile

import pytest

from gkeras.utils import file_utils, get_file

PAYLOAD = b"gkeras test payload\n" * 5000


def sha256(data):
    return hashlib.sha256(data).hexdigest()


class Server:
    """A loopback HTTP server answering from `routes`: path -> bytes, or path -> (bytes,
    declared Content-Length) to simulate a connection cut short. Counts requests per path."""

    def __init__(self):
        self.routes = {}
        self.requests = []
        routes, requests = self.routes, self.requests

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                requests.append(self.path)
                entry = routes.get(self.path)
                if entry is None:
                    self.send_error(404)
                    return
                body, length = entry if isinstance(entry, tuple) else (entry, len(entry))
                self.send_response(200)
                self.send_header("Content-Length", str(length))
                self.end_headers()
                self.wfile.write(body)
                self.close_connection = True

            def log_message(self, format, *args):  # noqa: A002
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(
            target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self.thread.start()
        # a bound on its life even if a test hangs
        self.watchdog = threading.Timer(120, self.httpd.shutdown)
        self.watchdog.daemon = True
        self.watchdog.start()

    def stop(self):
        self.watchdog.cancel()
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(timeout=10)


@pytest.fixture
def server(monkeypatch):
    monkeypatch.setenv("no_proxy", "127.0.0.1,localhost")
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    s = Server()
    s.routes["/files/data.bin"] = PAYLOAD
    yield s
    s.stop()


@pytest.fixture
def closed_url():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}/files/data.bin"


def test_downloads_verifies_and_caches(server, tmp_path, closed_url):
    path = get_file(
        "data.bin",
        server.url + "/files/data.bin",
        file_hash=sha256(PAYLOAD),
        cache_dir=tmp_path,
        cache_subdir="sub",
    )
    assert path == os.path.join(tmp_path, "sub", "data.bin")
    with open(path, "rb") as f:
        assert f.read() == PAYLOAD
    assert os.listdir(tmp_path / "sub") == ["data.bin"]  # no temporary file left
    # cached: a dead origin is never contacted
    again = get_file(
        "data.bin", closed_url, file_hash=sha256(PAYLOAD), cache_dir=tmp_path, cache_subdir="sub"
    )
    assert again == path
    assert server.requests == ["/files/data.bin"]


def test_name_comes_from_the_origin_and_home_from_gkeras_home(server, tmp_path, monkeypatch):
    monkeypatch.setenv("GKERAS_HOME", str(tmp_path / "home"))
    path = get_file(origin=server.url + "/files/data.bin")
    assert path == os.path.join(tmp_path, "home", "datasets", "data.bin")


@pytest.mark.parametrize(
    "kwargs",
    [
        {"file_hash": hashlib.md5(PAYLOAD).hexdigest()},
        {"file_hash": hashlib.md5(PAYLOAD).hexdigest(), "hash_algorithm": "md5"},
        {"md5_hash": hashlib.md5(PAYLOAD).hexdigest()},
    ],
    ids=["auto", "explicit", "legacy-md5_hash"],
)
def test_md5_hashes(server, tmp_path, kwargs):
    path = get_file("data.bin", server.url + "/files/data.bin", cache_dir=tmp_path, **kwargs)
    with open(path, "rb") as f:
        assert f.read() == PAYLOAD


def test_wrong_hash_is_rejected_and_nothing_is_kept(server, tmp_path):
    wrong = sha256(b"something else")
    with pytest.raises(ValueError, match=rf"sha256 hash .* is {sha256(PAYLOAD)}, but {wrong}"):
        get_file("data.bin", server.url + "/files/data.bin", file_hash=wrong, cache_dir=tmp_path)
    assert os.listdir(tmp_path / "datasets") == []


def test_stale_cached_file_is_downloaded_again(server, tmp_path, capfd):
    (tmp_path / "datasets").mkdir()
    (tmp_path / "datasets" / "data.bin").write_bytes(b"old version")
    path = get_file(
        "data.bin", server.url + "/files/data.bin", file_hash=sha256(PAYLOAD), cache_dir=tmp_path
    )
    with open(path, "rb") as f:
        assert f.read() == PAYLOAD
    err = capfd.readouterr().err
    assert "hash does not match" in err and "Downloading data from" in err


def test_force_download(server, tmp_path):
    url = server.url + "/files/data.bin"
    get_file("data.bin", url, cache_dir=tmp_path)
    get_file("data.bin", url, cache_dir=tmp_path)
    assert len(server.requests) == 1
    get_file("data.bin", url, cache_dir=tmp_path, force_download=True)
    assert len(server.requests) == 2


def test_progress_bar_goes_to_stderr(server, tmp_path, capfd):
    get_file("data.bin", server.url + "/files/data.bin", cache_dir=tmp_path)
    out, err = capfd.readouterr()
    assert out == ""
    assert f"{len(PAYLOAD)}/{len(PAYLOAD)} ━━━━" in err


def test_connection_cut_short_leaves_nothing(server, tmp_path):
    server.routes["/files/cut.bin"] = (PAYLOAD[:1000], len(PAYLOAD))
    with pytest.raises(OSError, match="URL fetch failure"):
        get_file("cut.bin", server.url + "/files/cut.bin", cache_dir=tmp_path)
    assert os.listdir(tmp_path / "datasets") == []


def test_http_error_and_unreachable_origin(server, tmp_path, closed_url):
    with pytest.raises(OSError, match=r"URL fetch failure on .*/files/missing.bin: HTTP 404"):
        get_file("missing.bin", server.url + "/files/missing.bin", cache_dir=tmp_path)
    with pytest.raises(OSError, match="URL fetch failure on http://127.0.0.1"):
        get_file("data.bin", closed_url, cache_dir=tmp_path)
    assert os.listdir(tmp_path / "datasets") == []


@pytest.mark.parametrize(
    "kwargs,match",
    [
        ({"fname": "x"}, 'specify the "origin"'),
        ({"fname": os.path.join("a", "b"), "origin": "http://127.0.0.1/b"}, "must be a file name"),
        (
            {"fname": "x", "origin": "http://127.0.0.1/x", "hash_algorithm": "sha1"},
            r"Unknown hash_algorithm 'sha1'. Expected one of \['auto', 'sha256', 'md5'\]",
        ),
        ({"origin": "http://127.0.0.1/"}, "Cannot derive a file name"),
    ],
    ids=["no-origin", "fname-is-path", "unknown-algorithm", "no-name-in-origin"],
)
def test_bad_arguments(tmp_path, kwargs, match):
    with pytest.raises(ValueError, match=match):
        get_file(cache_dir=tmp_path, **kwargs)


def tar_gz_bytes(members):
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def zip_bytes(members):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()


@pytest.mark.parametrize(
    "fname,archive_dir,extracted_dir",
    [
        ("pack.tar.gz", "pack.tar.gz", "pack_extracted"),
        ("pack", "pack_archive", "pack"),
    ],
)
@pytest.mark.parametrize("make", [tar_gz_bytes, zip_bytes])
def test_extract(server, tmp_path, fname, archive_dir, extracted_dir, make):
    members = {"top/a.txt": b"alpha", "top/deep/b.txt": b"beta"}
    server.routes["/files/pack"] = make(members)
    path = get_file(fname, server.url + "/files/pack", cache_dir=tmp_path, extract=True)
    assert path == os.path.join(tmp_path, "datasets", extracted_dir)
    for name, data in members.items():
        with open(os.path.join(path, name), "rb") as f:
            assert f.read() == data
    assert sorted(os.listdir(tmp_path / "datasets")) == sorted([archive_dir, extracted_dir])


def test_extract_archive_skips_members_escaping_the_folder(tmp_path):
    archive = tmp_path / "evil.tar.gz"
    archive.write_bytes(tar_gz_bytes({"ok.txt": b"fine", "../escaped.txt": b"bad"}))
    out = tmp_path / "out"
    with pytest.warns(UserWarning, match=r"Skipping unsafe path .*'\.\./escaped\.txt'"):
        assert file_utils.extract_archive(str(archive), str(out))
    assert (out / "ok.txt").read_bytes() == b"fine"
    assert not (tmp_path / "escaped.txt").exists()


def test_extract_archive_on_a_non_archive(tmp_path):
    plain = tmp_path / "plain.txt"
    plain.write_bytes(b"just text")
    assert file_utils.extract_archive(str(plain), str(tmp_path / "out")) is False
    with pytest.raises(ValueError, match="Unknown archive_format 'rar'"):
        file_utils.extract_archive(str(plain), str(tmp_path / "out"), "rar")


def test_validate_file_hashes_each_version_once(tmp_path, monkeypatch):
    monkeypatch.setattr(file_utils, "_digest_cache", {})
    calls = []
    real = file_utils.hash_file
    monkeypatch.setattr(
        file_utils,
        "hash_file",
        lambda path, algorithm="sha256": calls.append(path) or real(path, algorithm),
    )
    path = tmp_path / "f.bin"
    path.write_bytes(b"version one")
    digest = sha256(b"version one")
    assert file_utils.validate_file(str(path), digest)
    assert file_utils.validate_file(str(path), digest)
    assert len(calls) == 1
    # a new version of the file (same size, renamed into place like a download) is hashed again
    (tmp_path / "new.bin").write_bytes(b"version two")
    os.replace(tmp_path / "new.bin", path)
    assert not file_utils.validate_file(str(path), digest)
    assert len(calls) == 2
    assert file_utils.validate_file(str(path), hashlib.md5(b"version two").hexdigest())
    assert len(calls) == 3


def test_hash_file_matches_hashlib(tmp_path):
    path = tmp_path / "f.bin"
    path.write_bytes(PAYLOAD)
    assert file_utils.hash_file(str(path)) == sha256(PAYLOAD)
    assert file_utils.hash_file(str(path), "md5") == hashlib.md5(PAYLOAD).hexdigest()
