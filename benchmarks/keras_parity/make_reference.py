"""Reference weights for the Keras-parity test of the optimizers.

Writes `tests/data/keras_parity_optimizers.json` (kept beside the tests, which read it).

The problem: a linear model `y = x W + b` trained with mean squared error on 16 fixed samples,
for one epoch of 4 batches of 4 (no shuffling), from fixed initial weights. For each
optimizer configuration the script records the weights after every batch, computed

* from the published update formulas, in plain float64 NumPy (always; this file does not
  import gkeras, so the reference is independent of the implementation under test), and
* with real Keras 3 (`keras.optimizers.<Name>.apply` fed the same float64 gradients), when
  `keras` is importable (run it with `KERAS_BACKEND=jax JAX_ENABLE_X64=1`). The two must
  agree to 1e-9; the stored file says which Keras version produced its values.

Usage (without Keras, the Keras values already in the file are kept when the problem and
the configurations are unchanged):

    python benchmarks/keras_parity/make_reference.py
    KERAS_BACKEND=jax JAX_ENABLE_X64=1 python benchmarks/keras_parity/make_reference.py

`tests/optimizers/test_keras_parity_optimizers.py` trains the same problem with gkeras (forward
pass, loss and gradients through gkeras's autodiff) and compares with the file at rtol 1e-6.
"""

import json
import math
import os
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
OUTPUT = os.path.join(HERE, "..", "..", "tests", "data", "keras_parity_optimizers.json")
BATCH = 4

# name -> (Keras class, constructor arguments)
CONFIGS = {
    "sgd_momentum": ("SGD", {"learning_rate": 0.1, "momentum": 0.9}),
    "sgd_nesterov": ("SGD", {"learning_rate": 0.05, "momentum": 0.8, "nesterov": True}),
    "adam": ("Adam", {"learning_rate": 0.05}),
    "adam_amsgrad": ("Adam", {"learning_rate": 0.05, "beta_1": 0.8, "amsgrad": True}),
    "rmsprop": ("RMSprop", {"learning_rate": 0.01, "momentum": 0.5}),
}


def make_problem():
    """Fixed data and initial weights (drawn once from a seeded generator)."""
    rng = np.random.default_rng(20240611)
    x = rng.standard_normal((16, 3))
    y = x @ np.array([[1.5], [-2.0], [0.5]]) + 0.3 + 0.1 * rng.standard_normal((16, 1))
    w0 = rng.standard_normal((3, 1)) * 0.1
    b0 = np.zeros(1)
    return x, y, w0, b0


def mse_gradients(x, y, w, b):
    """d/dW, d/db of mean((x W + b - y)^2) over the batch."""
    r = x @ w + b - y
    n = x.shape[0]
    return 2.0 / n * x.T @ r, 2.0 / n * r.sum(axis=0)


# ------------------------------------------------------- update formulas (float64)
def sgd(params, grads, state, lr, momentum=0.0, nesterov=False, **_):
    out = []
    for i, (p, g) in enumerate(zip(params, grads)):
        m = state.setdefault(i, np.zeros_like(p))
        m = momentum * m - lr * g
        state[i] = m
        out.append(p + (momentum * m - lr * g if nesterov else m))
    return out


def adam(params, grads, state, lr, beta_1=0.9, beta_2=0.999, epsilon=1e-7, amsgrad=False,
         **_):
    t = state["t"] = state.get("t", 0) + 1
    out = []
    for i, (p, g) in enumerate(zip(params, grads)):
        m, v, vmax = state.get(i, (np.zeros_like(p),) * 3)
        m = beta_1 * m + (1 - beta_1) * g
        v = beta_2 * v + (1 - beta_2) * g ** 2
        vmax = np.maximum(vmax, v)
        state[i] = (m, v, vmax)
        rate = lr * math.sqrt(1 - beta_2 ** t) / (1 - beta_1 ** t)
        out.append(p - rate * m / (np.sqrt(vmax if amsgrad else v) + epsilon))
    return out


def rmsprop(params, grads, state, lr, rho=0.9, momentum=0.0, epsilon=1e-7, **_):
    out = []
    for i, (p, g) in enumerate(zip(params, grads)):
        v, mo = state.get(i, (np.zeros_like(p),) * 2)
        v = rho * v + (1 - rho) * g ** 2
        step = lr * g / np.sqrt(v + epsilon)
        mo = momentum * mo + step
        state[i] = (v, mo)
        out.append(p - (mo if momentum > 0 else step))
    return out


FORMULAS = {"SGD": sgd, "Adam": adam, "RMSprop": rmsprop}


def train_with_formulas(class_name, kwargs, x, y, w0, b0):
    """Weights after each batch of one epoch, from the formulas above."""
    kwargs = dict(kwargs)
    lr = kwargs.pop("learning_rate")
    params, state, history = [w0.copy(), b0.copy()], {}, []
    for start in range(0, len(x), BATCH):
        grads = mse_gradients(x[start:start + BATCH], y[start:start + BATCH], *params)
        params = FORMULAS[class_name](params, grads, state, lr, **kwargs)
        history.append([p.tolist() for p in params])
    return history


def train_with_keras(class_name, kwargs, x, y, w0, b0):
    """The same training with Keras's own optimizer (gradients from `mse_gradients`)."""
    import keras

    keras.config.set_floatx("float64")
    opt = getattr(keras.optimizers, class_name)(**kwargs)
    variables = [keras.Variable(w0.copy(), dtype="float64"),
                 keras.Variable(b0.copy(), dtype="float64")]
    history = []
    for start in range(0, len(x), BATCH):
        w, b = (np.asarray(v.numpy()) for v in variables)
        grads = mse_gradients(x[start:start + BATCH], y[start:start + BATCH], w, b)
        opt.apply(list(grads), variables)
        history.append([np.asarray(v.numpy()).tolist() for v in variables])
    return history, keras.__version__


def _previous_keras_values(problem):
    """The Keras values of an existing reference file for the same problem (or none)."""
    empty = {"configs": {}, "keras_version": None}
    if not os.path.exists(OUTPUT):
        return empty
    with open(OUTPUT) as f:
        old = json.load(f)
    if old.get("problem") != problem or not old.get("keras_version"):
        return empty
    old["configs"] = {k: v for k, v in old["configs"].items() if "keras" in v}
    return old


def main():
    x, y, w0, b0 = make_problem()
    reference = {
        "problem": {"x": x.tolist(), "y": y.tolist(), "w0": w0.tolist(), "b0": b0.tolist(),
                    "batch_size": BATCH, "loss": "mean_squared_error"},
        "configs": {},
        "keras_version": None,
    }
    try:
        import keras  # noqa: F401
        have_keras = True
    except ImportError:
        have_keras = False
        print("keras is not importable: keeping the Keras values already recorded",
              file=sys.stderr)
    previous = _previous_keras_values(reference["problem"])
    for name, (class_name, kwargs) in CONFIGS.items():
        entry = {"class_name": class_name, "config": kwargs,
                 "formula": train_with_formulas(class_name, kwargs, x, y, w0, b0)}
        if have_keras:
            entry["keras"], version = train_with_keras(class_name, kwargs, x, y, w0, b0)
            reference["keras_version"] = version
        elif name in previous["configs"] and previous["configs"][name]["config"] == kwargs:
            entry["keras"] = previous["configs"][name]["keras"]
            reference["keras_version"] = previous["keras_version"]
        if "keras" in entry:
            for mine, theirs in zip(entry["formula"], entry["keras"]):
                for a, b in zip(mine, theirs):
                    if not np.allclose(a, b, rtol=1e-9, atol=1e-12):
                        raise SystemExit(f"{name}: the formulas disagree with Keras: {a} vs {b}")
        reference["configs"][name] = entry
    os.makedirs(os.path.dirname(OUTPUT), exist_ok=True)
    with open(OUTPUT, "w") as f:
        json.dump(reference, f, indent=1)
    print(f"wrote {os.path.normpath(OUTPUT)}")


if __name__ == "__main__":
    main()
