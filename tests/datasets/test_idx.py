"""The IDX reader: values, byte order, and clear errors on corrupted files."""

import gzip
import struct

import numpy as np
import pytest

from gkeras.datasets import _idx


def idx_bytes(array, type_code):
    """An IDX file's bytes, written independently of the reader: header, then big-endian data."""
    big_endian = {0x08: "u1", 0x09: "i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}
    header = bytes([0, 0, type_code, array.ndim]) + b"".join(
        struct.pack(">I", n) for n in array.shape
    )
    return header + array.astype(big_endian[type_code]).tobytes()


def write(path, payload, compress):
    if compress:
        with gzip.open(path, "wb") as f:
            f.write(payload)
    else:
        path.write_bytes(payload)
    return path


@pytest.mark.parametrize("compress", [True, False])
def test_reads_uint8_images_and_labels(tmp_path, rng, compress):
    images = rng.integers(0, 256, size=(7, 28, 28)).astype(np.uint8)
    labels = rng.integers(0, 10, size=7).astype(np.uint8)
    suffix = ".gz" if compress else ""
    x_path = write(tmp_path / f"x{suffix}", idx_bytes(images, 0x08), compress)
    y_path = write(tmp_path / f"y{suffix}", idx_bytes(labels, 0x08), compress)

    x = _idx.read_idx(x_path, _idx.IDX_IMAGES, (None, 28, 28))
    y = _idx.read_idx(y_path, _idx.IDX_LABELS, (None,))

    assert x.dtype == np.uint8 and x.shape == (7, 28, 28)
    np.testing.assert_array_equal(x, images)
    np.testing.assert_array_equal(y, labels)
    assert x.flags.writeable


@pytest.mark.parametrize(
    "type_code,dtype", [(0x0B, np.int16), (0x0C, np.int32), (0x0D, np.float32), (0x0E, np.float64)]
)
def test_multibyte_values_come_back_in_native_order(tmp_path, rng, type_code, dtype):
    values = (rng.standard_normal((3, 5)) * 1000).astype(dtype)
    path = write(tmp_path / "v.gz", idx_bytes(values, type_code), True)
    out = _idx.read_idx(path)
    assert out.dtype == np.dtype(dtype) and out.dtype.isnative
    np.testing.assert_array_equal(out, values)


def test_bad_magic_names_the_file(tmp_path):
    path = write(tmp_path / "bad.gz", b"\x01\x02\x08\x01" + b"\x00" * 8, True)
    with pytest.raises(ValueError, match=r"bad\.gz.*magic number 0x01020801"):
        _idx.read_idx(path)


def test_unexpected_magic_is_rejected(tmp_path):
    labels = np.arange(4, dtype=np.uint8)
    path = write(tmp_path / "labels.gz", idx_bytes(labels, 0x08), True)
    with pytest.raises(ValueError, match=r"labels\.gz.*0x00000801, expected 0x00000803"):
        _idx.read_idx(path, _idx.IDX_IMAGES)


def test_unexpected_dimensions_are_rejected(tmp_path):
    images = np.zeros((2, 27, 28), np.uint8)
    path = write(tmp_path / "x.gz", idx_bytes(images, 0x08), True)
    with pytest.raises(ValueError, match=r"dimensions \(2, 27, 28\), expected \('\*', 28, 28\)"):
        _idx.read_idx(path, _idx.IDX_IMAGES, (None, 28, 28))


@pytest.mark.parametrize("cut,extra", [(5, b""), (0, b"\x00")])
def test_size_must_match_the_header(tmp_path, cut, extra):
    payload = idx_bytes(np.zeros((3, 4, 4), np.uint8), 0x08)
    payload = payload[: len(payload) - cut] + extra
    path = write(tmp_path / "x.gz", payload, True)
    with pytest.raises(ValueError, match=r"x\.gz.*bytes, but the header \(3, 4, 4\) implies 64"):
        _idx.read_idx(path)


def test_truncated_header(tmp_path):
    path = write(tmp_path / "x", b"\x00\x00\x08\x03\x00\x00", False)
    with pytest.raises(ValueError, match="truncated header"):
        _idx.read_idx(path)


def test_corrupted_gzip_names_the_file(tmp_path, rng):
    good = tmp_path / "good.gz"
    write(good, idx_bytes(rng.integers(0, 256, (50, 28, 28)).astype(np.uint8), 0x08), True)
    data = bytearray(good.read_bytes())
    truncated = tmp_path / "truncated.gz"
    truncated.write_bytes(bytes(data[: len(data) // 2]))
    data[len(data) // 2] ^= 0xFF
    flipped = tmp_path / "flipped.gz"
    flipped.write_bytes(bytes(data))
    for path in (truncated, flipped):
        with pytest.raises(ValueError, match=rf"{path.name}.*cannot decompress"):
            _idx.read_idx(path)


def test_missing_file_is_file_not_found(tmp_path):
    with pytest.raises(FileNotFoundError):
        _idx.read_idx(tmp_path / "absent.gz")


def test_split_needs_as_many_labels_as_images(tmp_path):
    names = ["xtr.gz", "ytr.gz", "xte.gz", "yte.gz"]
    arrays = [
        np.zeros((3, 28, 28), np.uint8),
        np.zeros(3, np.uint8),
        np.zeros((2, 28, 28), np.uint8),
        np.zeros(4, np.uint8),
    ]
    paths = [write(tmp_path / n, idx_bytes(a, 0x08), True) for n, a in zip(names, arrays)]
    with pytest.raises(ValueError, match=r"xte\.gz holds 2 images but .*yte\.gz holds 4 labels"):
        _idx.read_image_split(paths)
