"""Fashion-MNIST: the real files, downloading them over loopback, checksums, offline errors."""

import gzip
import os
import shutil

import numpy as np
import pytest

from gkeras.datasets import fashion_mnist

IDX_FILES = [
    "train-images-idx3-ubyte.gz",
    "train-labels-idx1-ubyte.gz",
    "t10k-images-idx3-ubyte.gz",
    "t10k-labels-idx1-ubyte.gz",
]


def test_real_fashion_mnist(shared_folder):
    folder = shared_folder("fashion_mnist", IDX_FILES)
    (x_train, y_train), (x_test, y_test) = fashion_mnist.load_data()

    assert x_train.shape == (60000, 28, 28) and x_train.dtype == np.uint8
    assert y_train.shape == (60000,) and y_train.dtype == np.uint8
    assert x_test.shape == (10000, 28, 28) and x_test.dtype == np.uint8
    assert y_test.shape == (10000,) and y_test.dtype == np.uint8
    assert np.bincount(y_train, minlength=10).tolist() == [6000] * 10
    assert np.bincount(y_test, minlength=10).tolist() == [1000] * 10
    with gzip.open(os.path.join(folder, "train-labels-idx1-ubyte.gz")) as f:
        np.testing.assert_array_equal(y_train, np.frombuffer(f.read(), np.uint8, offset=8))
    with gzip.open(os.path.join(folder, "t10k-images-idx3-ubyte.gz")) as f:
        reference = np.frombuffer(f.read(), np.uint8, offset=16).reshape(10000, 28, 28)
    np.testing.assert_array_equal(x_test, reference)
    assert len(fashion_mnist.CLASS_NAMES) == 10


def test_downloads_the_real_files_over_loopback(
    shared_folder, dataset_root, serve, monkeypatch, fresh_hash_cache
):
    folder = shared_folder("fashion_mnist", IDX_FILES)
    monkeypatch.setenv("GKERAS_DATASETS_ORIGIN", serve(folder))

    (x_train, y_train), (x_test, y_test) = fashion_mnist.load_data()

    assert sorted(os.listdir(dataset_root / "fashion_mnist")) == sorted(IDX_FILES)
    for name in IDX_FILES:
        with open(os.path.join(folder, name), "rb") as a:
            assert (dataset_root / "fashion_mnist" / name).read_bytes() == a.read()
    assert x_train.shape == (60000, 28, 28) and x_test.shape == (10000, 28, 28)
    assert np.bincount(y_train).tolist() == [6000] * 10
    assert np.bincount(y_test).tolist() == [1000] * 10


def test_corrupted_local_file_is_downloaded_again(
    shared_folder, dataset_root, serve, monkeypatch, capfd
):
    folder = shared_folder("fashion_mnist", IDX_FILES)
    target = dataset_root / "fashion_mnist"
    target.mkdir(parents=True)
    for name in IDX_FILES:
        shutil.copyfile(os.path.join(folder, name), target / name)
    (target / "t10k-labels-idx1-ubyte.gz").write_bytes(b"not the labels")
    monkeypatch.setenv("GKERAS_DATASETS_ORIGIN", serve(folder))

    _, (_, y_test) = fashion_mnist.load_data()

    assert np.bincount(y_test).tolist() == [1000] * 10
    with open(os.path.join(folder, "t10k-labels-idx1-ubyte.gz"), "rb") as f:
        assert (target / "t10k-labels-idx1-ubyte.gz").read_bytes() == f.read()
    assert "hash does not match" in capfd.readouterr().err


def test_download_with_wrong_checksum_is_rejected(dataset_root, tmp_path, serve, monkeypatch):
    served = tmp_path / "server"
    served.mkdir()
    for name in IDX_FILES:
        (served / name).write_bytes(b"impostor " + name.encode())
    monkeypatch.setenv("GKERAS_DATASETS_ORIGIN", serve(served))
    expected = fashion_mnist.FILE_SHA256[IDX_FILES[0]]
    with pytest.raises(ValueError, match=rf"Incomplete or corrupted.*{expected} was expected"):
        fashion_mnist.load_data()
    assert os.listdir(dataset_root / "fashion_mnist") == []


def test_offline_and_absent_says_where_to_put_the_files(dataset_root, closed_origin, monkeypatch):
    monkeypatch.setenv("GKERAS_DATASETS_ORIGIN", closed_origin)
    with pytest.raises(FileNotFoundError) as info:
        fashion_mnist.load_data()
    message = str(info.value)
    assert f"{dataset_root / 'fashion_mnist' / IDX_FILES[0]} does not exist" in message
    assert f"{', '.join(IDX_FILES)} in {dataset_root / 'fashion_mnist'}" in message
    assert "GKERAS_DATASETS" in message and "GKERAS_DATASETS_ORIGIN" in message
