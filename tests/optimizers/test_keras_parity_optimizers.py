"""Keras parity: one epoch of a linear model trained with gkeras's loss, autodiff and
optimizers, against weights recorded by `benchmarks/keras_parity/make_reference.py` (float64
NumPy formulas, and real Keras 3 where the file has them)."""

import importlib.util
import json
import os

import numpy as np
import pytest
from helpers import to_host

from gkeras import losses, ops, optimizers
from gkeras.autodiff import Variable

ROOT = os.path.join(os.path.dirname(__file__), "..", "..")
REFERENCE = os.path.join(ROOT, "tests", "data", "keras_parity_optimizers.json")
SCRIPT = os.path.join(ROOT, "benchmarks", "keras_parity", "make_reference.py")

with open(REFERENCE) as _f:
    DATA = json.load(_f)


def _train(bk, class_name, config):
    problem = DATA["problem"]
    x, y = np.array(problem["x"]), np.array(problem["y"])
    w = Variable(bk.asarray(np.array(problem["w0"])))
    b = Variable(bk.asarray(np.array(problem["b0"])))
    opt = getattr(optimizers, class_name)(**config)
    loss = losses.as_loss(problem["loss"])
    batch, history = problem["batch_size"], []
    for start in range(0, len(x), batch):
        xb, yb = bk.asarray(x[start:start + batch]), bk.asarray(y[start:start + batch])
        value = loss(yb, ops.dense(xb, w, b))
        w.grad = b.grad = None
        value.backward()
        opt.apply([w.grad, b.grad], [w, b])
        history.append([to_host(w.data).copy(), to_host(b.data).copy()])
    return history


@pytest.mark.parametrize("name", sorted(DATA["configs"]))
def test_one_epoch_matches_the_reference(bk, name):
    entry = DATA["configs"][name]
    history = _train(bk, entry["class_name"], entry["config"])
    sources = ["formula"] + (["keras"] if "keras" in entry else [])
    for source in sources:
        for step, (mine, theirs) in enumerate(zip(history, entry[source])):
            for got, want in zip(mine, theirs):
                np.testing.assert_allclose(got, np.array(want), rtol=1e-6, atol=1e-12,
                                           err_msg=f"{name}, batch {step}, vs {source}")


def test_the_reference_covers_sgd_momentum_and_adam_and_keras():
    assert {"sgd_momentum", "adam"} <= set(DATA["configs"])
    assert DATA["keras_version"], "the reference was recorded without real Keras values"


@pytest.mark.skipif(not os.path.exists(SCRIPT), reason="the benchmarks folder is not here")
def test_the_stored_formulas_are_what_the_script_computes():
    spec = importlib.util.spec_from_file_location("make_reference", SCRIPT)
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    x, y, w0, b0 = script.make_problem()
    assert np.array_equal(x, np.array(DATA["problem"]["x"]))
    for name, (class_name, config) in script.CONFIGS.items():
        fresh = script.train_with_formulas(class_name, config, x, y, w0, b0)
        assert fresh == DATA["configs"][name]["formula"]
