"""Reading IDX files, the format of MNIST and Fashion-MNIST.

An IDX file is a big-endian header followed by the raw values in C order:
two zero bytes, one byte naming the value type, one byte with the number of dimensions,
then one unsigned 32-bit size per dimension. `0x00000803` is a 3-d uint8 array (images),
`0x00000801` a 1-d uint8 array (labels).
"""

import gzip
import struct
import zlib

import numpy as np

IDX_IMAGES = 0x0803
IDX_LABELS = 0x0801

# type byte -> big-endian NumPy dtype
_IDX_TYPES = {
    0x08: np.dtype("u1"),
    0x09: np.dtype("i1"),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}


def _corrupt(path, why):
    return ValueError(f"{path} is not a valid IDX file: {why}.")


def _parse(path, raw, expected_magic, expected_shape):
    if len(raw) < 4:
        raise _corrupt(path, f"only {len(raw)} bytes, shorter than the 4-byte magic number")
    magic = int.from_bytes(raw[:4], "big")
    zeros, type_code, ndim = magic >> 16, (magic >> 8) & 0xFF, magic & 0xFF
    if zeros != 0 or type_code not in _IDX_TYPES or ndim == 0:
        raise _corrupt(path, f"bad magic number 0x{magic:08x}")
    if expected_magic is not None and magic != expected_magic:
        raise _corrupt(path, f"magic number 0x{magic:08x}, expected 0x{expected_magic:08x}")
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise _corrupt(path, f"truncated header ({len(raw)} bytes, {ndim} dimensions)")
    dims = struct.unpack(f">{ndim}I", raw[4:header])
    if expected_shape is not None and (
        len(dims) != len(expected_shape)
        or any(e is not None and d != e for d, e in zip(dims, expected_shape))
    ):
        shown = tuple("*" if e is None else e for e in expected_shape)
        raise _corrupt(path, f"dimensions {dims}, expected {shown}")
    dtype = _IDX_TYPES[type_code]
    count = int(np.prod(dims, dtype=np.int64))
    expected_bytes = header + count * dtype.itemsize
    if len(raw) != expected_bytes:
        raise _corrupt(path, f"{len(raw)} bytes, but the header {dims} implies {expected_bytes}")
    values = np.frombuffer(raw, dtype=dtype, count=count, offset=header)
    # a writable array in native byte order, like the arrays np.load returns
    return values.astype(dtype.newbyteorder("="), copy=True).reshape(dims)


def read_idx(path, expected_magic=None, expected_shape=None):
    """Reads an IDX file (gzip-compressed when its name ends in `.gz`) into a NumPy array.

    Args:
        path: the file.
        expected_magic: the magic number the file must have (e.g. `IDX_IMAGES`), or `None`.
        expected_shape: the dimensions it must have, `None` for any size along an axis,
            e.g. `(None, 28, 28)`; or `None` to accept any.

    Returns:
        The array, in native byte order.

    Raises:
        ValueError: the file is not valid gzip or IDX, or not of the expected type and shape;
            the message names the file.
    """
    path = str(path)
    try:
        if path.endswith(".gz"):
            with gzip.open(path, "rb") as f:
                # reading to the end also checks the gzip CRC
                raw = f.read()
        else:
            with open(path, "rb") as f:
                raw = f.read()
    except FileNotFoundError:
        raise
    except (gzip.BadGzipFile, EOFError, zlib.error) as exc:
        raise _corrupt(path, f"cannot decompress it ({exc})") from exc
    return _parse(path, raw, expected_magic, expected_shape)


# The four files of MNIST and Fashion-MNIST, in the order load_data returns them.
SPLIT_FILES = (
    "train-images-idx3-ubyte.gz",
    "train-labels-idx1-ubyte.gz",
    "t10k-images-idx3-ubyte.gz",
    "t10k-labels-idx1-ubyte.gz",
)


def read_image_split(paths, image_shape=(28, 28)):
    """Reads `(x_train, y_train), (x_test, y_test)` from four IDX paths in `SPLIT_FILES` order.

    Images must be uint8 `(n,) + image_shape` and labels uint8 `(n,)` with matching `n`.
    """
    x_train_path, y_train_path, x_test_path, y_test_path = paths
    split = []
    for images_path, labels_path in ((x_train_path, y_train_path), (x_test_path, y_test_path)):
        x = read_idx(images_path, IDX_IMAGES, (None,) + tuple(image_shape))
        y = read_idx(labels_path, IDX_LABELS, (None,))
        if len(x) != len(y):
            raise ValueError(
                f"{images_path} holds {len(x)} images but {labels_path} holds {len(y)} labels; "
                "the two files must belong to the same split."
            )
        split.append((x, y))
    return tuple(split)
