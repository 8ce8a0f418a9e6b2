"""Every example runs end to end with its small-data switch (the programs users start from)."""

import os
import subprocess
import sys

import pytest

import gkeras

EXAMPLES = os.path.join(os.path.dirname(__file__), "..", "..", "examples")


def run_example(name, *args, cwd=None):
    path = os.path.abspath(os.path.join(EXAMPLES, name))
    # the examples import the same gkeras as the tests (installed or source tree)
    package_root = os.path.dirname(os.path.dirname(gkeras.__file__))
    env = dict(os.environ, GKERAS_BACKEND=os.environ.get("GKERAS_BACKEND", "numpy"),
               PYTHONPATH=os.pathsep.join([package_root, os.environ.get("PYTHONPATH", "")]))
    result = subprocess.run([sys.executable, path, "--quick", *args], capture_output=True,
                            text=True, timeout=600, cwd=cwd, env=env)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return result.stdout


def test_six_steps_iris():
    out = run_example("six_steps_iris.py")
    assert 'Model: "sequential' in out and "Epoch 5/5" in out
    accuracy = float(out.strip().splitlines()[-1].split("test accuracy: ")[1])
    assert accuracy >= 0.7


def test_multi_output_functional():
    out = run_example("multi_output_functional.py")
    assert "history keys: ['loss', 'output_1_accuracy', 'output_1_loss', 'output_2_accuracy', " \
           "'output_2_loss', 'val_loss', 'val_output_1_accuracy', 'val_output_1_loss', " \
           "'val_output_2_accuracy', 'val_output_2_loss']" in out
    results = dict(line.split(": ") for line in out.strip().splitlines()[-5:])
    assert float(results["output_1_accuracy"]) > 0.75
    assert float(results["output_2_accuracy"]) > 0.75


def test_binary_classifier():
    out = run_example("binary_classifier.py")
    assert "Test loss:" in out and "precision" in out


def test_mnist_convnet_subclassed(tmp_path):
    if not os.path.isdir(os.path.join(os.environ.get("GKERAS_DATASETS", ""), "mnist")):
        pytest.skip("MNIST files not available (GKERAS_DATASETS)")
    out = run_example("mnist_convnet_subclassed.py", "--out", str(tmp_path))
    assert "val_loss improved from inf to" in out
    assert (tmp_path / "best_model.h5").exists()
    assert "best checkpoint test accuracy:" in out


def test_model_api_tour():
    out = run_example("model_api_tour.py")
    assert "predict_generator shape: (64, 1)" in out
