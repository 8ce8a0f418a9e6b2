"""Downloading and caching files: `get_file`, checksums and safe archive extraction.

A download goes to a temporary file in the destination folder and is renamed into place only
after its checksum matched, so an interrupted or corrupted transfer never leaves a file that a
later call would trust.
"""

import hashlib
import http.client
import os
import shutil
import sys
import tarfile
import tempfile
import urllib.error
import urllib.parse
import urllib.request
import warnings
import zipfile

from gkeras.utils.progbar import Progbar

# Seconds a stalled connection may stay silent before the download is abandoned.
DOWNLOAD_TIMEOUT = 60
_CHUNK = 1 << 20
_HASH_ALGORITHMS = ("auto", "sha256", "md5")

# Digests of files already hashed in this process, keyed by the file's identity and version,
# so loading a dataset again does not re-read hundreds of megabytes to re-check it.
_digest_cache = {}


def gkeras_home():
    """The gkeras cache folder: `$GKERAS_HOME` when set, else `~/.gkeras`."""
    return os.path.expanduser(os.environ.get("GKERAS_HOME") or os.path.join("~", ".gkeras"))


def _resolve_algorithm(algorithm, file_hash=None):
    if algorithm not in _HASH_ALGORITHMS:
        raise ValueError(
            f"Unknown hash_algorithm {algorithm!r}. Expected one of {list(_HASH_ALGORITHMS)}."
        )
    if algorithm == "auto":
        # a 64-hex-digit hash is sha256; anything else is taken as the legacy md5
        return "sha256" if file_hash is None or len(file_hash) == 64 else "md5"
    return algorithm


def hash_file(fpath, algorithm="sha256", chunk_size=_CHUNK):
    """Computes the hex digest of a file.

    Args:
        fpath: path of the file.
        algorithm: `"sha256"`, `"md5"` or `"auto"` (which means sha256 here).
        chunk_size: bytes read at a time.

    Returns:
        The hex digest, as a string.
    """
    hasher = hashlib.new(_resolve_algorithm(algorithm))
    with open(fpath, "rb") as f:
        for chunk in iter(lambda: f.read(chunk_size), b""):
            hasher.update(chunk)
    return hasher.hexdigest()


def _file_key(fpath, algorithm):
    st = os.stat(fpath)
    # ctime changes on every write or rename and cannot be set back, unlike mtime
    return (
        os.path.realpath(fpath),
        st.st_dev,
        st.st_ino,
        st.st_size,
        st.st_mtime_ns,
        st.st_ctime_ns,
        algorithm,
    )


def cached_hash(fpath, algorithm="sha256"):
    """Like `hash_file`, but hashes a given version of a file only once per process."""
    algorithm = _resolve_algorithm(algorithm)
    key = _file_key(fpath, algorithm)
    digest = _digest_cache.get(key)
    if digest is None:
        digest = hash_file(fpath, algorithm)
        _digest_cache[key] = digest
    return digest


def validate_file(fpath, file_hash, algorithm="auto", chunk_size=_CHUNK):
    """Checks a file against an expected sha256 or md5 hash.

    Args:
        fpath: path of the file.
        file_hash: the expected hex digest.
        algorithm: `"sha256"`, `"md5"`, or `"auto"` to pick from the length of `file_hash`.
        chunk_size: unused; kept for Keras compatibility (reads use 1 MiB chunks).

    Returns:
        `True` when the file's digest equals `file_hash`, else `False`.
    """
    del chunk_size
    algorithm = _resolve_algorithm(algorithm, file_hash)
    return cached_hash(fpath, algorithm) == str(file_hash).lower()


def _within(base, path):
    try:
        return os.path.commonpath([base, path]) == base
    except ValueError:  # different drives
        return False


def _safe_tar_members(archive, base):
    for member in archive.getmembers():
        target = os.path.realpath(os.path.join(base, member.name))
        ok = _within(base, target) and not (member.isdev() or member.isfifo())
        if ok and member.issym():
            link = os.path.realpath(os.path.join(os.path.dirname(target), member.linkname))
            ok = _within(base, link)
        elif ok and member.islnk():
            ok = _within(base, os.path.realpath(os.path.join(base, member.linkname)))
        if ok:
            yield member
        else:
            warnings.warn(
                f"Skipping unsafe path during archive extraction: {member.name!r}.", stacklevel=3
            )


def _safe_zip_members(archive, base):
    for info in archive.infolist():
        if _within(base, os.path.realpath(os.path.join(base, info.filename))):
            yield info
        else:
            warnings.warn(
                f"Skipping unsafe path during archive extraction: {info.filename!r}.", stacklevel=3
            )


def extract_archive(file_path, path=".", archive_format="auto"):
    """Extracts a tar (plain, gz, bz2, xz) or zip archive, skipping members that would land
    outside `path` (absolute names, `..`, links pointing out, device files).

    Args:
        file_path: path of the archive.
        path: folder to extract into (created when missing).
        archive_format: `"auto"` (tar, then zip), `"tar"`, `"zip"`, a list of those, or `None`.

    Returns:
        `True` when the file matched a format and was extracted, `False` otherwise.
    """
    if archive_format is None:
        return False
    formats = ["tar", "zip"] if archive_format == "auto" else archive_format
    formats = [formats] if isinstance(formats, str) else list(formats)
    for fmt in formats:
        if fmt not in ("tar", "zip"):
            raise ValueError(
                f"Unknown archive_format {fmt!r}. Expected 'auto', 'tar', 'zip' or None."
            )
    created = not os.path.exists(path)
    os.makedirs(path, exist_ok=True)
    base = os.path.realpath(path)
    for fmt in formats:
        try:
            if fmt == "tar" and tarfile.is_tarfile(file_path):
                with tarfile.open(file_path) as archive:
                    kwargs = {"filter": "data"} if hasattr(tarfile, "data_filter") else {}
                    archive.extractall(base, members=_safe_tar_members(archive, base), **kwargs)
                return True
            if fmt == "zip" and zipfile.is_zipfile(file_path):
                with zipfile.ZipFile(file_path) as archive:
                    archive.extractall(base, members=_safe_zip_members(archive, base))
                return True
        except BaseException:
            # a half-extracted folder would pass for a complete one next time; only a folder
            # made here is removed, never one the caller already had
            if created:
                shutil.rmtree(base, ignore_errors=True)
            raise
    return False


def _download(origin, target, file_hash, algorithm):
    """Streams `origin` into a temporary file next to `target`, hashing on the way, and renames
    it into place only when the hash matches."""
    print(f"Downloading data from {origin}", file=sys.stderr)
    folder = os.path.dirname(target) or "."
    fd, tmp_path = tempfile.mkstemp(
        prefix=f".{os.path.basename(target)}.", suffix=".part", dir=folder
    )
    hasher = hashlib.new(algorithm)
    try:
        with os.fdopen(fd, "wb") as out:
            try:
                response = urllib.request.urlopen(origin, timeout=DOWNLOAD_TIMEOUT)
            except urllib.error.HTTPError as exc:
                raise OSError(
                    f"URL fetch failure on {origin}: HTTP {exc.code} {exc.reason}"
                ) from exc
            except (urllib.error.URLError, OSError) as exc:
                reason = getattr(exc, "reason", exc)
                raise OSError(f"URL fetch failure on {origin}: {reason}") from exc
            with response:
                length = response.headers.get("Content-Length")
                total = int(length) if length and length.isdigit() else None
                bar = Progbar(total, stream=sys.stderr, unit_name="byte")
                done = 0
                try:
                    for chunk in iter(lambda: response.read(_CHUNK), b""):
                        out.write(chunk)
                        hasher.update(chunk)
                        done += len(chunk)
                        bar.update(done, finalize=False)
                except (
                    urllib.error.URLError,
                    http.client.HTTPException,
                    ConnectionError,
                    TimeoutError,
                ) as exc:
                    raise OSError(f"URL fetch failure on {origin}: {exc}") from exc
                bar.update(done, finalize=True)
            if total is not None and done != total:
                raise OSError(f"URL fetch failure on {origin}: got {done} of {total} bytes.")
        digest = hasher.hexdigest()
        if file_hash is not None and digest != str(file_hash).lower():
            raise ValueError(
                f"Incomplete or corrupted file detected: the {algorithm} hash of the file "
                f"downloaded from {origin} is {digest}, but {file_hash} was expected. "
                "The download was discarded."
            )
        os.replace(tmp_path, target)
    except BaseException:
        # also on KeyboardInterrupt: never leave a partial file behind
        if os.path.exists(tmp_path):
            os.remove(tmp_path)
        raise
    _digest_cache[_file_key(target, algorithm)] = digest


def _writable_dir(folder):
    try:
        os.makedirs(folder, exist_ok=True)
    except OSError:
        return False
    return os.access(folder, os.W_OK | os.X_OK)


def get_file(
    fname=None,
    origin=None,
    untar=False,
    md5_hash=None,
    file_hash=None,
    cache_subdir="datasets",
    hash_algorithm="auto",
    extract=False,
    archive_format="auto",
    cache_dir=None,
    force_download=False,
):
    """Downloads a file from a URL if it is not already in the cache.

    The file at `origin` is saved as `cache_dir/cache_subdir/fname` (by default
    `~/.gkeras/datasets/fname`; `$GKERAS_HOME` replaces `~/.gkeras`). A cached file whose hash
    does not match `file_hash` is downloaded again. Downloads are atomic: the data is written
    to a temporary file in the same folder and renamed into place after its hash matched.
    A progress bar is written to standard error.

    Args:
        fname: the local file name; `None` takes the name from `origin`. With `extract=True`,
            a name without an extension names the extraction folder.
        origin: URL of the file.
        untar: deprecated, use `extract`. Whether the file is a tar archive to extract.
        md5_hash: deprecated, use `file_hash`. The file's md5 hash.
        file_hash: the expected sha256 (or md5) hex digest of the file.
        cache_subdir: subfolder of `cache_dir` to save into; an absolute path is used as is.
        hash_algorithm: `"sha256"`, `"md5"`, or `"auto"` to detect it from `file_hash`.
        extract: whether to extract the file as an archive (tar, tar.gz, tar.bz2, zip).
        archive_format: `"auto"`, `"tar"`, `"zip"`, or `None`; formats tried by `extract`.
        cache_dir: base folder of the cache; `None` means `$GKERAS_HOME` or `~/.gkeras`.
            An unwritable folder falls back to one under the system's temporary folder.
        force_download: download again even when a valid cached copy exists.

    Returns:
        The path of the downloaded file, or with `extract=True` the extraction folder.

    Example:

    ```python
    path = gkeras.utils.get_file(
        origin="https://storage.googleapis.com/tensorflow/tf-keras-datasets/mnist.npz",
        file_hash="731c5ac602752760c8e48fbffcf8c3b850d9dc2a2aedcf2cc48468fc17b673d1",
    )
    ```
    """
    if origin is None:
        raise ValueError('Please specify the "origin" argument (URL of the file to download).')
    if md5_hash is not None and file_hash is None:
        file_hash, hash_algorithm = md5_hash, "md5"
    algorithm = _resolve_algorithm(hash_algorithm, file_hash)
    provided = fname is not None and os.fspath(fname) != ""
    fname = os.fspath(fname) if provided else os.path.basename(urllib.parse.urlsplit(origin).path)
    if not fname:
        raise ValueError(
            f"Cannot derive a file name from origin={origin!r}; pass the `fname` argument."
        )
    if os.sep in fname or (os.altsep and os.altsep in fname):
        raise ValueError(
            "`fname` must be a file name, not a path; use `cache_dir` / `cache_subdir` to "
            f"choose the folder. Received: fname={fname!r}"
        )

    base = os.path.expanduser(os.fspath(cache_dir)) if cache_dir is not None else gkeras_home()
    datadir = os.path.join(base, os.fspath(cache_subdir))
    fallback = os.path.join(tempfile.gettempdir(), ".gkeras", os.fspath(cache_subdir))

    def targets(folder):
        # the naming follows Keras 3, so caches laid out by Keras are found again
        if not (extract or untar):
            return os.path.join(folder, fname), None
        if provided and "." in fname:
            stem = fname[: fname.find(".")]
            return os.path.join(folder, fname), os.path.join(folder, f"{stem}_extracted")
        return os.path.join(folder, f"{fname}_archive"), os.path.join(folder, fname)

    target, extraction_dir = targets(datadir)
    cached = os.path.exists(target) and not force_download
    if cached and file_hash is not None and not validate_file(target, file_hash, algorithm):
        print(
            f"A local file was found at {target}, but its {algorithm} hash does not match the "
            f"expected value {file_hash}; downloading it again.",
            file=sys.stderr,
        )
        cached = False
    if not cached:
        if not _writable_dir(datadir):
            datadir = fallback
            target, extraction_dir = targets(datadir)
            os.makedirs(datadir, exist_ok=True)
            cached = (
                os.path.exists(target)
                and not force_download
                and (file_hash is None or validate_file(target, file_hash, algorithm))
            )
        if not cached:
            _download(origin, target, file_hash, algorithm)

    if extraction_dir is None:
        return target
    # extract after a fresh download, or when the extracted copy has gone missing
    if not cached or not os.path.isdir(extraction_dir):
        if os.path.isdir(extraction_dir):
            shutil.rmtree(extraction_dir)
        if not extract_archive(target, extraction_dir, "tar" if untar else archive_format):
            warnings.warn(
                f"Could not extract archive {target}: not a tar or zip file.", stacklevel=2
            )
    return extraction_dir
