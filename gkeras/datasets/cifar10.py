"""CIFAR-10 small images classification dataset."""

import codecs
import os
import pickle
import shutil
import tempfile

import numpy as np

from gkeras.datasets import _common
from gkeras.utils.file_utils import extract_archive

ORIGIN_FOLDER = "https://www.cs.toronto.edu/~kriz/"
ARCHIVE_NAME = "cifar-10-python.tar.gz"
ARCHIVE_SHA256 = "6d958be074577803d12ecdefd02955f39262c83c16fe9348329d7fe0b5c001ce"
FOLDER = "cifar-10-batches-py"
TRAIN_BATCHES = tuple(f"data_batch_{i}" for i in range(1, 6))
TEST_BATCH = "test_batch"
CLASS_NAMES = (
    "airplane",
    "automobile",
    "bird",
    "cat",
    "deer",
    "dog",
    "frog",
    "horse",
    "ship",
    "truck",
)


def _numpy_globals():
    # Take the reconstruction functions from NumPy itself rather than naming its private
    # modules, which moved between NumPy 1 and 2.
    sample = np.zeros(1)
    reconstruct = sample.__reduce__()[0]
    frombuffer = sample.__reduce_ex__(5)[0]
    scalar = np.int64(0).__reduce__()[0]
    allowed = {
        ("numpy", "ndarray"): np.ndarray,
        ("numpy", "dtype"): np.dtype,
        # how Python 3 writes bytes into a protocol-2 pickle
        ("_codecs", "encode"): codecs.encode,
    }
    for package in ("numpy.core", "numpy._core"):
        allowed[(f"{package}.multiarray", "_reconstruct")] = reconstruct
        allowed[(f"{package}.multiarray", "scalar")] = scalar
        allowed[(f"{package}.numeric", "_frombuffer")] = frombuffer
    return allowed


class _BatchUnpickler(pickle.Unpickler):
    """Unpickles plain data and NumPy arrays only: a batch file cannot run code."""

    _allowed = _numpy_globals()

    def find_class(self, module, name):
        found = self._allowed.get((module, name))
        if found is None:
            raise pickle.UnpicklingError(
                f"refusing to load {module}.{name}: a CIFAR batch holds only arrays and lists"
            )
        return found


def load_batch(fpath, label_key="labels"):
    """Reads one CIFAR batch file (a Python pickle).

    Args:
        fpath: path of the batch file.
        label_key: the key of the labels in the batch (`"labels"` for CIFAR-10).

    Returns:
        `(data, labels)`: uint8 images of shape `(n, 3, 32, 32)` and uint8 labels `(n,)`.
    """
    try:
        with open(fpath, "rb") as f:
            # the original batches were pickled by Python 2: their strings load as bytes
            batch = _BatchUnpickler(f, encoding="bytes").load()
    except (pickle.UnpicklingError, EOFError, ValueError, TypeError) as exc:
        raise ValueError(f"{fpath} is not a valid CIFAR batch file: {exc}") from exc
    if not isinstance(batch, dict):
        raise ValueError(
            f"{fpath} is not a valid CIFAR batch file: it holds a "
            f"{type(batch).__name__}, expected a dict."
        )
    batch = {k.decode("utf8") if isinstance(k, bytes) else k: v for k, v in batch.items()}
    if "data" not in batch or label_key not in batch:
        raise ValueError(
            f"{fpath} is not a valid CIFAR batch file: keys {sorted(batch)}, "
            f"expected 'data' and {label_key!r}."
        )
    data = np.asarray(batch["data"])
    labels = np.asarray(batch[label_key])
    if data.dtype != np.uint8 or data.ndim != 2 or data.shape[1] != 3 * 32 * 32:
        raise ValueError(f"{fpath}: 'data' is {data.dtype} {data.shape}, expected uint8 (n, 3072).")
    if labels.shape != (len(data),) or labels.dtype.kind not in "iu":
        raise ValueError(
            f"{fpath}: labels are {labels.dtype} {labels.shape}, expected "
            f"{len(data)} integers (one per image)."
        )
    if labels.size and (labels.min() < 0 or labels.max() > 255):
        raise ValueError(f"{fpath}: labels range {labels.min()}..{labels.max()}, expected 0..255.")
    return data.reshape(-1, 3, 32, 32), labels.astype(np.uint8)


def _complete(folder):
    return all(os.path.isfile(os.path.join(folder, b)) for b in TRAIN_BATCHES + (TEST_BATCH,))


def _extract(archive, folder):
    """Extracts the archive's `cifar-10-batches-py/` to `folder` through a scratch folder, so an
    interrupted extraction never leaves a half-filled `folder`."""
    parent = os.path.dirname(folder)
    scratch = tempfile.mkdtemp(prefix=".cifar-10-extract-", dir=parent)
    try:
        extract_archive(archive, scratch, "tar")
        extracted = os.path.join(scratch, FOLDER)
        if not _complete(extracted):
            raise ValueError(
                f"{archive} does not hold the CIFAR-10 layout {FOLDER}/"
                f"{{{', '.join(TRAIN_BATCHES)}, {TEST_BATCH}}}."
            )
        if os.path.isdir(folder):
            shutil.rmtree(folder)
        os.replace(extracted, folder)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def load_data():
    """Loads the CIFAR10 dataset.

    This is a dataset of 50,000 32x32 color training images and 10,000 test images, labeled
    over 10 categories (`CLASS_NAMES`: airplane, automobile, bird, cat, deer, dog, frog,
    horse, ship, truck). See the [CIFAR homepage](https://www.cs.toronto.edu/~kriz/cifar.html).

    The batches are read from `cifar-10-batches-py/` in the dataset folder (`$GKERAS_DATASETS`,
    else `~/.gkeras/datasets`). When that folder is incomplete, `cifar-10-python.tar.gz` is
    taken from the dataset folder (checksum verified) or downloaded from the CIFAR homepage
    (or from `$GKERAS_DATASETS_ORIGIN`), then extracted.

    Returns:
        Tuple of NumPy arrays: `(x_train, y_train), (x_test, y_test)`.

    **`x_train`**: `uint8` array of color images with shape `(50000, 32, 32, 3)`,
    pixel values 0 to 255.

    **`y_train`**: `uint8` array of labels (integers 0-9) with shape `(50000, 1)`.

    **`x_test`**: `uint8` array with shape `(10000, 32, 32, 3)`.

    **`y_test`**: `uint8` array with shape `(10000, 1)`.

    Raises:
        FileNotFoundError: the data is missing and cannot be downloaded; the message says
            which file to put where.

    Example:

    ```python
    (x_train, y_train), (x_test, y_test) = gkeras.datasets.cifar10.load_data()
    assert x_train.shape == (50000, 32, 32, 3)
    assert y_train.shape == (50000, 1)
    ```
    """
    root = _common.dataset_dir()
    folder = os.path.join(root, FOLDER)
    if not _complete(folder):
        hint = (
            f"put {ARCHIVE_NAME} (sha256 {ARCHIVE_SHA256}) in {root}, or its extracted "
            f"{FOLDER}/ folder there."
        )
        archive = _common.fetch(ARCHIVE_NAME, "", ORIGIN_FOLDER, ARCHIVE_SHA256, "CIFAR-10", hint)
        # next to the archive: it may have gone to a fallback folder if root is read-only
        folder = os.path.join(os.path.dirname(archive), FOLDER)
        if not _complete(folder):
            _extract(archive, folder)
    train = [load_batch(os.path.join(folder, name)) for name in TRAIN_BATCHES]
    x_test, y_test = load_batch(os.path.join(folder, TEST_BATCH))
    x_train = np.concatenate([x for x, _ in train])
    y_train = np.concatenate([y for _, y in train])
    # stored as planes (n, 3, 32, 32); gkeras is channels_last
    x_train = np.ascontiguousarray(x_train.transpose(0, 2, 3, 1))
    x_test = np.ascontiguousarray(x_test.transpose(0, 2, 3, 1))
    return (x_train, y_train.reshape(-1, 1)), (x_test, y_test.reshape(-1, 1))
