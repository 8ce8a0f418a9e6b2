"""Fashion-MNIST dataset (Zalando Research)."""

import os

from gkeras.datasets import _common, _idx

ORIGIN_FOLDER = "https://storage.googleapis.com/tensorflow/tf-keras-datasets/"
SUBDIR = "fashion_mnist"
# sha256 of the original gzip IDX files as published by Zalando Research
FILE_SHA256 = {
    "train-images-idx3-ubyte.gz": (
        "3aede38d61863908ad78613f6a32ed271626dd12800ba2636569512369268a84"
    ),
    "train-labels-idx1-ubyte.gz": (
        "a04f17134ac03560a47e3764e11b92fc97de4d1bfaf8ba1a3aa29af54cc90845"
    ),
    "t10k-images-idx3-ubyte.gz": (
        "346e55b948d973a97e58d2351dde16a484bd415d4595297633bb08f03db6a073"
    ),
    "t10k-labels-idx1-ubyte.gz": (
        "67da17c76eaffca5446c3361aaab5c3cd6d1c2608764d35dfb1850b086bf8dd5"
    ),
}
CLASS_NAMES = (
    "T-shirt/top",
    "Trouser",
    "Pullover",
    "Dress",
    "Coat",
    "Sandal",
    "Shirt",
    "Sneaker",
    "Bag",
    "Ankle boot",
)


def load_data():
    """Loads the Fashion-MNIST dataset.

    This is a dataset of 60,000 28x28 grayscale images of 10 fashion categories, along with a
    test set of 10,000 images. It can be used as a drop-in replacement for MNIST.

    The classes are: 0 T-shirt/top, 1 Trouser, 2 Pullover, 3 Dress, 4 Coat, 5 Sandal,
    6 Shirt, 7 Sneaker, 8 Bag, 9 Ankle boot (also in `CLASS_NAMES`).

    The four original gzip IDX files are read from the `fashion_mnist/` subfolder of the
    dataset folder (`$GKERAS_DATASETS`, else `~/.gkeras/datasets`), their sha256 checksums
    verified (once per process per file version); missing or corrupted files are downloaded
    from Keras's storage (or from `$GKERAS_DATASETS_ORIGIN`).

    Returns:
        Tuple of NumPy arrays: `(x_train, y_train), (x_test, y_test)`.

    **`x_train`**: `uint8` array of grayscale image data with shape `(60000, 28, 28)`.

    **`y_train`**: `uint8` array of labels (integers 0-9) with shape `(60000,)`.

    **`x_test`**: `uint8` array with shape `(10000, 28, 28)`.

    **`y_test`**: `uint8` array with shape `(10000,)`.

    Raises:
        FileNotFoundError: the files are missing and cannot be downloaded; the message says
            which files to put where.

    Example:

    ```python
    (x_train, y_train), (x_test, y_test) = gkeras.datasets.fashion_mnist.load_data()
    assert x_train.shape == (60000, 28, 28)
    ```

    License:
        The copyright for Fashion-MNIST is held by Zalando SE. Fashion-MNIST is licensed
        under the MIT license.
    """
    root = _common.dataset_dir()
    hint = (
        f"put the four original gzip IDX files {', '.join(_idx.SPLIT_FILES)} in "
        f"{os.path.join(root, SUBDIR)}."
    )
    paths = [
        _common.fetch(name, SUBDIR, ORIGIN_FOLDER, FILE_SHA256[name], "Fashion-MNIST", hint)
        for name in _idx.SPLIT_FILES
    ]
    return _idx.read_image_split(paths)
