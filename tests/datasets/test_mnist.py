"""MNIST: the real files, Keras's npz, checksums, downloading over loopback, offline errors."""

import gzip
import hashlib
import os

import numpy as np
import pytest

from gkeras.datasets import mnist
from gkeras.utils import file_utils

IDX_FILES = [
    "train-images-idx3-ubyte.gz",
    "train-labels-idx1-ubyte.gz",
    "t10k-images-idx3-ubyte.gz",
    "t10k-labels-idx1-ubyte.gz",
]
TRAIN_COUNTS = [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]
TEST_COUNTS = [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]


def sha256(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def small_npz(path, rng, n_train=6, n_test=4):
    arrays = {
        "x_train": rng.integers(0, 256, (n_train, 28, 28)).astype(np.uint8),
        "y_train": rng.integers(0, 10, n_train).astype(np.uint8),
        "x_test": rng.integers(0, 256, (n_test, 28, 28)).astype(np.uint8),
        "y_test": rng.integers(0, 10, n_test).astype(np.uint8),
    }
    os.makedirs(os.path.dirname(path), exist_ok=True)
    np.savez(path, **arrays)
    return arrays


def assert_split_equal(loaded, arrays):
    (x_train, y_train), (x_test, y_test) = loaded
    for name, value in [
        ("x_train", x_train),
        ("y_train", y_train),
        ("x_test", x_test),
        ("y_test", y_test),
    ]:
        assert value.dtype == arrays[name].dtype
        np.testing.assert_array_equal(value, arrays[name])


def test_real_mnist(shared_folder, fresh_hash_cache):
    folder = shared_folder("mnist", IDX_FILES)
    (x_train, y_train), (x_test, y_test) = mnist.load_data()

    assert x_train.shape == (60000, 28, 28) and x_train.dtype == np.uint8
    assert y_train.shape == (60000,) and y_train.dtype == np.uint8
    assert x_test.shape == (10000, 28, 28) and x_test.dtype == np.uint8
    assert y_test.shape == (10000,) and y_test.dtype == np.uint8
    assert np.bincount(y_train, minlength=10).tolist() == TRAIN_COUNTS
    assert np.bincount(y_test, minlength=10).tolist() == TEST_COUNTS
    assert x_train.max() == 255 and x_train.min() == 0
    # the IDX layout read the simple way: 8-byte header for labels, 16 for images
    with gzip.open(os.path.join(folder, "t10k-labels-idx1-ubyte.gz")) as f:
        np.testing.assert_array_equal(y_test, np.frombuffer(f.read(), np.uint8, offset=8))
    with gzip.open(os.path.join(folder, "t10k-images-idx3-ubyte.gz")) as f:
        reference = np.frombuffer(f.read(), np.uint8, offset=16).reshape(10000, 28, 28)
    np.testing.assert_array_equal(x_test, reference)


def test_checksums_are_verified_once_per_file_version(shared_folder, fresh_hash_cache, monkeypatch):
    shared_folder("mnist", IDX_FILES)
    hashed = []
    real_hash_file = file_utils.hash_file

    def counting_hash_file(path, algorithm="sha256", **kwargs):
        hashed.append(os.path.basename(path))
        return real_hash_file(path, algorithm, **kwargs)

    monkeypatch.setattr(file_utils, "hash_file", counting_hash_file)
    mnist.load_data()
    assert sorted(hashed) == sorted(IDX_FILES)
    hashed.clear()
    mnist.load_data()
    assert hashed == []


def test_corrupted_local_idx_file_is_rejected(shared_folder, dataset_root, fresh_hash_cache):
    folder = shared_folder("mnist", IDX_FILES)
    (dataset_root / "mnist").mkdir(parents=True)
    for name in IDX_FILES[:3]:
        os.symlink(os.path.join(folder, name), dataset_root / "mnist" / name)
    # a valid IDX file with the right shape, but not the original bytes
    labels = dataset_root / "mnist" / IDX_FILES[3]
    with gzip.open(labels, "wb") as f:
        f.write(b"\x00\x00\x08\x01" + (10000).to_bytes(4, "big") + bytes(10000))
    with pytest.raises(ValueError, match=rf"{IDX_FILES[3]} is corrupted.*sha256"):
        mnist.load_data()


def test_corrupted_npz_does_not_hide_good_idx_files(
    shared_folder, dataset_root, closed_origin, monkeypatch
):
    folder = shared_folder("mnist", IDX_FILES)
    (dataset_root / "mnist").mkdir(parents=True)
    for name in IDX_FILES:
        os.symlink(os.path.join(folder, name), dataset_root / "mnist" / name)
    (dataset_root / "mnist.npz").write_bytes(b"truncated download")
    monkeypatch.setenv("GKERAS_DATASETS_ORIGIN", closed_origin)
    (_, y_train), _ = mnist.load_data()
    assert np.bincount(y_train).tolist() == TRAIN_COUNTS


def test_reads_keras_npz_from_the_dataset_folder(dataset_root, rng, monkeypatch, closed_origin):
    arrays = small_npz(str(dataset_root / "mnist.npz"), rng)
    monkeypatch.setattr(mnist, "NPZ_SHA256", sha256(dataset_root / "mnist.npz"))
    monkeypatch.setenv("GKERAS_DATASETS_ORIGIN", closed_origin)
    assert_split_equal(mnist.load_data(), arrays)


def test_npz_with_wrong_content_names_the_file(dataset_root, rng, monkeypatch):
    path = dataset_root / "mnist.npz"
    dataset_root.mkdir()
    np.savez(
        path,
        x_train=np.zeros((2, 28, 28), np.uint8),
        y_train=np.zeros(3, np.uint8),
        x_test=np.zeros((1, 28, 28), np.uint8),
        y_test=np.zeros(1, np.uint8),
    )
    monkeypatch.setattr(mnist, "NPZ_SHA256", sha256(path))
    with pytest.raises(ValueError, match=r"mnist\.npz holds x_train of shape \(2, 28, 28\)"):
        mnist.load_data()


def test_downloads_npz_when_absent(dataset_root, tmp_path, rng, serve, monkeypatch, capfd):
    served = tmp_path / "server"
    arrays = small_npz(str(served / "mnist.npz"), rng)
    monkeypatch.setattr(mnist, "NPZ_SHA256", sha256(served / "mnist.npz"))
    monkeypatch.setenv("GKERAS_DATASETS_ORIGIN", serve(served))

    assert_split_equal(mnist.load_data(), arrays)

    assert os.listdir(dataset_root) == ["mnist.npz"]  # no temporary file left
    assert sha256(dataset_root / "mnist.npz") == sha256(served / "mnist.npz")
    err = capfd.readouterr().err
    assert "Downloading data from http://127.0.0.1" in err and "━" in err


def test_download_with_wrong_checksum_is_rejected(dataset_root, tmp_path, rng, serve, monkeypatch):
    served = tmp_path / "server"
    small_npz(str(served / "mnist.npz"), rng)  # not Keras's file: its sha256 differs
    monkeypatch.setenv("GKERAS_DATASETS_ORIGIN", serve(served))
    with pytest.raises(ValueError, match=rf"hash .* but {mnist.NPZ_SHA256} was expected"):
        mnist.load_data()
    assert os.listdir(dataset_root) == []


def test_offline_and_absent_says_where_to_put_the_files(dataset_root, closed_origin, monkeypatch):
    monkeypatch.setenv("GKERAS_DATASETS_ORIGIN", closed_origin)
    with pytest.raises(FileNotFoundError) as info:
        mnist.load_data()
    message = str(info.value)
    assert "URL fetch failure" in message
    assert f"mnist.npz (sha256 {mnist.NPZ_SHA256}) in {dataset_root}" in message
    assert f"{', '.join(IDX_FILES)} in {dataset_root / 'mnist'}" in message
    assert "GKERAS_DATASETS" in message


def test_fname_must_not_be_a_path(dataset_root):
    with pytest.raises(ValueError, match=r"`path` must be a file name .* path='sub/mnist.npz'"):
        mnist.load_data(path=os.path.join("sub", "mnist.npz"))
