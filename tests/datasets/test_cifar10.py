"""CIFAR-10 against a small archive built here in the original layout (Python-2-style pickles
of `{b"data": uint8 (n, 3072) planes, b"labels": [...]}` in `cifar-10-batches-py/`)."""

import hashlib
import io
import os
import pickle
import tarfile

import numpy as np
import pytest

from gkeras.datasets import cifar10

BATCH_SIZES = [2, 3, 1, 2, 2]  # five training batches, unequal on purpose
TEST_SIZE = 3


def batch_bytes(images_nhwc, labels, label):
    # the original stores each image as its R plane, then G, then B, each row by row
    planes = images_nhwc.transpose(0, 3, 1, 2).reshape(len(images_nhwc), 3072)
    batch = {
        b"batch_label": label.encode(),
        b"labels": [int(v) for v in labels],
        b"data": planes,
        b"filenames": [b"img%d.png" % i for i in range(len(labels))],
    }
    return pickle.dumps(batch, protocol=2)


def add(tar, name, payload):
    info = tarfile.TarInfo(name)
    info.size = len(payload)
    tar.addfile(info, io.BytesIO(payload))


def make_archive(path, rng, test_payload=None):
    """Writes a small cifar-10-python.tar.gz; returns (x_train, y_train, x_test, y_test, sha)."""
    sizes = BATCH_SIZES + [TEST_SIZE]
    images = [rng.integers(0, 256, (n, 32, 32, 3)).astype(np.uint8) for n in sizes]
    labels = [rng.integers(0, 10, n) for n in sizes]
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with tarfile.open(path, "w:gz") as tar:
        for i in range(5):
            add(
                tar,
                f"cifar-10-batches-py/data_batch_{i + 1}",
                batch_bytes(images[i], labels[i], f"training batch {i + 1} of 5"),
            )
        add(
            tar,
            "cifar-10-batches-py/test_batch",
            test_payload or batch_bytes(images[5], labels[5], "testing batch 1 of 1"),
        )
        add(tar, "cifar-10-batches-py/batches.meta", pickle.dumps({b"num_vis": 3072}, 2))
    with open(path, "rb") as f:
        digest = hashlib.sha256(f.read()).hexdigest()
    return (np.concatenate(images[:5]), np.concatenate(labels[:5]), images[5], labels[5], digest)


def check_loaded(loaded, x_train, y_train, x_test, y_test):
    (xa, ya), (xb, yb) = loaded
    assert xa.shape == (sum(BATCH_SIZES), 32, 32, 3) and xa.dtype == np.uint8
    assert ya.shape == (sum(BATCH_SIZES), 1) and ya.dtype == np.uint8
    assert xb.shape == (TEST_SIZE, 32, 32, 3) and yb.shape == (TEST_SIZE, 1)
    np.testing.assert_array_equal(xa, x_train)
    np.testing.assert_array_equal(ya[:, 0], y_train)
    np.testing.assert_array_equal(xb, x_test)
    np.testing.assert_array_equal(yb[:, 0], y_test)


def test_downloads_extracts_and_loads(
    dataset_root, tmp_path, rng, serve, monkeypatch, closed_origin
):
    served = tmp_path / "server" / cifar10.ARCHIVE_NAME
    *expected, digest = make_archive(str(served), rng)
    monkeypatch.setattr(cifar10, "ARCHIVE_SHA256", digest)
    monkeypatch.setenv("GKERAS_DATASETS_ORIGIN", serve(served.parent))

    check_loaded(cifar10.load_data(), *expected)
    assert sorted(os.listdir(dataset_root)) == sorted([cifar10.ARCHIVE_NAME, cifar10.FOLDER])

    # a second load reads the extracted folder and needs no network
    monkeypatch.setenv("GKERAS_DATASETS_ORIGIN", closed_origin)
    check_loaded(cifar10.load_data(), *expected)


def test_local_archive_is_extracted_without_network(dataset_root, rng, monkeypatch, closed_origin):
    *expected, digest = make_archive(str(dataset_root / cifar10.ARCHIVE_NAME), rng)
    monkeypatch.setattr(cifar10, "ARCHIVE_SHA256", digest)
    monkeypatch.setenv("GKERAS_DATASETS_ORIGIN", closed_origin)
    check_loaded(cifar10.load_data(), *expected)
    assert sorted(os.listdir(dataset_root)) == sorted([cifar10.ARCHIVE_NAME, cifar10.FOLDER])


def test_download_with_wrong_checksum_is_rejected(dataset_root, tmp_path, rng, serve, monkeypatch):
    served = tmp_path / "server" / cifar10.ARCHIVE_NAME
    make_archive(str(served), rng)  # not the real archive: its sha256 differs
    monkeypatch.setenv("GKERAS_DATASETS_ORIGIN", serve(served.parent))
    with pytest.raises(ValueError, match=rf"{cifar10.ARCHIVE_SHA256} was expected"):
        cifar10.load_data()
    assert os.listdir(dataset_root) == []


def test_batch_that_would_run_code_is_refused(dataset_root, rng, monkeypatch, closed_origin):
    class Payload:
        def __reduce__(self):
            return (os.system, ("echo should-not-run",))

    archive = str(dataset_root / cifar10.ARCHIVE_NAME)
    *_, digest = make_archive(archive, rng, test_payload=pickle.dumps(Payload(), protocol=2))
    monkeypatch.setattr(cifar10, "ARCHIVE_SHA256", digest)
    monkeypatch.setenv("GKERAS_DATASETS_ORIGIN", closed_origin)
    with pytest.raises(ValueError, match=r"test_batch is not a valid CIFAR batch.*refusing"):
        cifar10.load_data()


def test_archive_without_the_layout_is_rejected(dataset_root, monkeypatch, closed_origin):
    archive = dataset_root / cifar10.ARCHIVE_NAME
    dataset_root.mkdir()
    with tarfile.open(archive, "w:gz") as tar:
        add(tar, "something-else/data_batch_1", b"x")
    monkeypatch.setattr(cifar10, "ARCHIVE_SHA256", hashlib.sha256(archive.read_bytes()).hexdigest())
    monkeypatch.setenv("GKERAS_DATASETS_ORIGIN", closed_origin)
    with pytest.raises(ValueError, match="does not hold the CIFAR-10 layout"):
        cifar10.load_data()
    assert os.listdir(dataset_root) == [cifar10.ARCHIVE_NAME]  # no half-extracted folder


def test_offline_and_absent_says_where_to_put_the_files(dataset_root, closed_origin, monkeypatch):
    monkeypatch.setenv("GKERAS_DATASETS_ORIGIN", closed_origin)
    with pytest.raises(FileNotFoundError) as info:
        cifar10.load_data()
    message = str(info.value)
    assert (
        f"put {cifar10.ARCHIVE_NAME} (sha256 {cifar10.ARCHIVE_SHA256}) in {dataset_root}" in message
    )
    assert "cifar-10-batches-py/" in message and "GKERAS_DATASETS" in message


def test_load_batch_checks_shapes(tmp_path):
    path = tmp_path / "batch"
    path.write_bytes(pickle.dumps({b"data": np.zeros((2, 100), np.uint8), b"labels": [0, 1]}))
    with pytest.raises(ValueError, match=r"'data' is uint8 \(2, 100\), expected uint8"):
        cifar10.load_batch(path)
    path.write_bytes(pickle.dumps({b"data": np.zeros((2, 3072), np.uint8), b"labels": [0]}))
    with pytest.raises(ValueError, match="expected 2 integers"):
        cifar10.load_batch(path)
