"""Atomic file writes: a reader or a crash never sees half a file.

Every save writes a temporary file next to the target, closes it, `fsync`s it, renames it
onto the target with `os.replace` (atomic on POSIX and Windows), then `fsync`s the directory
so the rename itself survives a power cut. A reader therefore opens either the previous
complete file or the new complete file.

Temporaries are named `.<target name>.gkeras-tmp-<pid>-<random>`; a process killed mid-write
leaves one behind, and the next save of the same target removes those whose process is gone.
"""

import contextlib
import os
import re
import secrets

TEMP_MARKER = ".gkeras-tmp-"


def temp_path_for(filepath):
    """A fresh temporary path in `filepath`'s directory, recognisable as ours."""
    folder, name = os.path.split(os.path.abspath(filepath))
    return os.path.join(folder, f".{name}{TEMP_MARKER}{os.getpid()}-{secrets.token_hex(4)}")


def _pid_alive(pid):
    if pid == os.getpid() or os.name == "nt":
        return True  # on Windows os.kill(pid, 0) would signal the process: never probe
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OSError):
        return True  # it exists but belongs to someone else (or we cannot tell): keep it
    return True


def stale_temporaries(filepath):
    """Temporaries of `filepath` left by processes that no longer run."""
    folder, name = os.path.split(os.path.abspath(filepath))
    pattern = re.compile(re.escape(f".{name}{TEMP_MARKER}") + r"(\d+)-[0-9a-f]+$")
    try:
        entries = os.listdir(folder)
    except OSError:
        return []
    stale = []
    for entry in entries:
        match = pattern.match(entry)
        if match and not _pid_alive(int(match.group(1))):
            stale.append(os.path.join(folder, entry))
    return sorted(stale)


def remove_stale_temporaries(filepath):
    """Deletes the temporaries of `filepath` whose writer died; returns the removed paths."""
    removed = []
    for path in stale_temporaries(filepath):
        with contextlib.suppress(FileNotFoundError):
            os.remove(path)
            removed.append(path)
    return removed


def fsync_path(path):
    """Flushes a closed file's data to disk (`fsync` through a fresh descriptor)."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def fsync_directory(folder):
    """Makes a rename in `folder` durable; a no-op where directories cannot be opened."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass  # some filesystems refuse fsync on directories; the rename is still atomic
    finally:
        os.close(fd)


@contextlib.contextmanager
def atomic_write(filepath):
    """Yields a temporary path to write; on success it atomically becomes `filepath`.

    The body must write and *close* the file at the yielded path. If the body raises, the
    temporary is removed and `filepath` is untouched.

    Example:

    ```python
    with atomic_write("model.h5") as tmp:
        with h5py.File(tmp, "w") as f:
            ...
    ```
    """
    target = os.path.abspath(os.fspath(filepath))
    folder = os.path.dirname(target)
    os.makedirs(folder, exist_ok=True)
    remove_stale_temporaries(target)
    tmp = temp_path_for(target)
    try:
        yield tmp
        fsync_path(tmp)
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.remove(tmp)
        raise
    fsync_directory(folder)
