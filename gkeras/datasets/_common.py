"""Where datasets live and where they are downloaded from.

Every loader looks in one dataset folder: `$GKERAS_DATASETS` when set, else
`~/.gkeras/datasets` (`$GKERAS_HOME/datasets` when `GKERAS_HOME` is set). Missing files are
downloaded there from the canonical location, or from `$GKERAS_DATASETS_ORIGIN` (a mirror
holding the same file names) when that is set.
"""

import os

from gkeras.utils.file_utils import get_file, gkeras_home, validate_file

DATASETS_ENV = "GKERAS_DATASETS"
ORIGIN_ENV = "GKERAS_DATASETS_ORIGIN"


def dataset_dir():
    """The folder datasets are read from and downloaded into."""
    root = os.environ.get(DATASETS_ENV)
    if root:
        return os.path.abspath(os.path.expanduser(root))
    return os.path.join(gkeras_home(), "datasets")


def _root_source():
    if os.environ.get(DATASETS_ENV):
        return f"from ${DATASETS_ENV}"
    return f"the default; set ${DATASETS_ENV} to use another folder"


def origin_folder(default):
    """The base URL to download from: `$GKERAS_DATASETS_ORIGIN` if set, else `default`."""
    base = os.environ.get(ORIGIN_ENV) or default
    return base if base.endswith("/") else base + "/"


def check_local_file(path, sha256):
    """Raises ValueError naming `path` when the file there does not have the expected sha256."""
    if not validate_file(path, sha256, "sha256"):
        raise ValueError(
            f"The file {path} is corrupted or not the expected version: its sha256 checksum "
            f"does not match the expected {sha256}. Delete it (it will be downloaded again) "
            "or replace it with the original file."
        )


def fetch(fname, subdir, default_origin, sha256, dataset, placement_hint, remote_name=None):
    """Returns the verified local path of `subdir/fname`, downloading it when missing.

    The file is fetched from the origin folder under `remote_name` (default: `fname`).
    A download failure becomes a FileNotFoundError that says which files to put where.
    """
    root = dataset_dir()
    url = origin_folder(default_origin) + (remote_name or fname)
    local = os.path.join(root, subdir, fname)
    stale = os.path.exists(local)
    try:
        return get_file(fname, url, file_hash=sha256, cache_dir=root, cache_subdir=subdir)
    except OSError as exc:
        problem = f"the file {local} has the wrong checksum" if stale else f"{local} does not exist"
        raise FileNotFoundError(unavailable_message(dataset, problem, exc, placement_hint)) from exc


def unavailable_message(dataset, problem, error, placement_hint):
    root = dataset_dir()
    return (
        f"The {dataset} dataset is not available: {problem}, and downloading it failed "
        f"({error}). To use it offline, {placement_hint} The dataset folder is {root} "
        f"({_root_source()}); set ${ORIGIN_ENV} to download from a mirror instead."
    )
