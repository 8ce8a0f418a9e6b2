"""MNIST handwritten digits dataset."""

import os
import zipfile

import numpy as np

from gkeras.datasets import _common, _idx
from gkeras.utils.file_utils import validate_file

ORIGIN_FOLDER = "https://storage.googleapis.com/tensorflow/tf-keras-datasets/"
NPZ_NAME = "mnist.npz"
NPZ_SHA256 = "731c5ac602752760c8e48fbffcf8c3b850d9dc2a2aedcf2cc48468fc17b673d1"
IDX_SUBDIR = "mnist"
# sha256 of the original gzip IDX files as published by LeCun, Cortes and Burges
IDX_SHA256 = {
    "train-images-idx3-ubyte.gz": (
        "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609"
    ),
    "train-labels-idx1-ubyte.gz": (
        "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c"
    ),
    "t10k-images-idx3-ubyte.gz": (
        "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6"
    ),
    "t10k-labels-idx1-ubyte.gz": (
        "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6"
    ),
}


def _placement_hint(root):
    return (
        f"put Keras's {NPZ_NAME} (sha256 {NPZ_SHA256}) in {root}, or the four original gzip "
        f"IDX files {', '.join(_idx.SPLIT_FILES)} in {os.path.join(root, IDX_SUBDIR)}."
    )


def _read_npz(path):
    try:
        with np.load(path, allow_pickle=False) as f:
            arrays = {key: f[key] for key in ("x_train", "y_train", "x_test", "y_test")}
    except (KeyError, ValueError, OSError, zipfile.BadZipFile) as exc:
        raise ValueError(f"{path} is not a valid MNIST .npz file: {exc}") from exc
    for split in ("train", "test"):
        x, y = arrays[f"x_{split}"], arrays[f"y_{split}"]
        if x.ndim != 3 or x.shape[1:] != (28, 28) or y.shape != (len(x),):
            raise ValueError(
                f"{path} holds x_{split} of shape {x.shape} and y_{split} of shape {y.shape}; "
                "expected (n, 28, 28) and (n,)."
            )
    return (arrays["x_train"], arrays["y_train"]), (arrays["x_test"], arrays["y_test"])


def load_data(path=NPZ_NAME):
    """Loads the MNIST dataset.

    This is a dataset of 60,000 28x28 grayscale images of the 10 digits, along with a test set
    of 10,000 images. More info on the
    [MNIST homepage](http://yann.lecun.com/exdb/mnist/).

    The data is read from the dataset folder (`$GKERAS_DATASETS`, else `~/.gkeras/datasets`):
    Keras's `mnist.npz` in that folder, or else the four original gzip IDX files in its
    `mnist/` subfolder. Every file's sha256 checksum is verified (once per process per file
    version). When neither is there, `mnist.npz` is downloaded from Keras's storage (or from
    `$GKERAS_DATASETS_ORIGIN`).

    Args:
        path: file name of the `.npz` file inside the dataset folder.

    Returns:
        Tuple of NumPy arrays: `(x_train, y_train), (x_test, y_test)`.

    **`x_train`**: `uint8` array of grayscale image data with shape `(60000, 28, 28)`,
    pixel values 0 to 255.

    **`y_train`**: `uint8` array of digit labels (integers 0-9) with shape `(60000,)`.

    **`x_test`**: `uint8` array with shape `(10000, 28, 28)`.

    **`y_test`**: `uint8` array with shape `(10000,)`.

    Raises:
        FileNotFoundError: the data is not in the dataset folder and cannot be downloaded;
            the message says which files to put where.
        ValueError: a local file is corrupted (its checksum or format is wrong).

    Example:

    ```python
    (x_train, y_train), (x_test, y_test) = gkeras.datasets.mnist.load_data()
    assert x_train.shape == (60000, 28, 28)
    assert y_test.shape == (10000,)
    ```

    License:
        Yann LeCun and Corinna Cortes hold the copyright of the MNIST dataset, which is a
        derivative work from original NIST datasets. MNIST is made available under the
        terms of the Creative Commons Attribution-Share Alike 3.0 license.
    """
    path = os.fspath(path)
    if os.sep in path or (os.altsep and os.altsep in path):
        raise ValueError(
            f"`path` must be a file name inside the dataset folder, not a path; "
            f"set $GKERAS_DATASETS to change the folder. Received: path={path!r}"
        )
    root = _common.dataset_dir()
    npz_path = os.path.join(root, path)
    idx_paths = [os.path.join(root, IDX_SUBDIR, name) for name in _idx.SPLIT_FILES]
    if os.path.isfile(npz_path) and validate_file(npz_path, NPZ_SHA256, "sha256"):
        return _read_npz(npz_path)
    # a corrupted npz does not hide good IDX files
    if all(os.path.isfile(p) for p in idx_paths):
        for p, name in zip(idx_paths, _idx.SPLIT_FILES):
            _common.check_local_file(p, IDX_SHA256[name])
        return _idx.read_image_split(idx_paths)
    npz_path = _common.fetch(
        path,
        "",
        ORIGIN_FOLDER,
        NPZ_SHA256,
        "MNIST",
        _placement_hint(root),
        remote_name=NPZ_NAME,
    )
    return _read_npz(npz_path)
