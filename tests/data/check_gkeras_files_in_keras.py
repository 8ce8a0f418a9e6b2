"""Checks by hand that files gkeras writes load in real Keras (not run by the test suite).

Two steps, two interpreters:

    python tests/data/check_gkeras_files_in_keras.py write OUT_DIR        # with gkeras
    KERAS_BACKEND=jax /tmp/kenv/bin/python \
        tests/data/check_gkeras_files_in_keras.py check OUT_DIR           # with Keras 3

`write` builds the fixture architectures of `make_keras_fixtures.py` in gkeras (plus a
functional model with a nested Sequential), trains them briefly, and writes `model.save`
(.h5, not for the subclassed model), `save_weights` (.weights.h5 and legacy .h5) and the
predictions.
`check` loads every file in Keras (`keras.models.load_model` for model files, the same
architecture built in Keras + `load_weights` for weight files) and prints the largest
prediction difference; it exits non-zero if any exceeds 1e-5.
"""

import os
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)


def _nested(keras):
    layers = keras.layers
    inner = keras.Sequential([layers.Dense(5, activation="relu", name="inner_dense"),
                              layers.BatchNormalization(name="inner_bn")], name="inner")
    inputs = keras.Input((4,), name="features")
    out = layers.Dense(2, name="head")(inner(inputs))
    model = keras.Model(inputs, out, name="nested")
    model.compile(optimizer="adam", loss="mse")
    rng = np.random.default_rng(5)
    return model, [rng.random((16, 4), dtype=np.float32)], rng.random((16, 2))


def _models(keras):
    from make_keras_fixtures import MODELS, WEIGHTS_ONLY

    return {**MODELS, "nested": _nested, **WEIGHTS_ONLY}


def _weights_only(name):
    from make_keras_fixtures import WEIGHTS_ONLY

    return name in WEIGHTS_ONLY


def write(out_dir):
    import gkeras

    os.makedirs(out_dir, exist_ok=True)
    gkeras.utils.set_random_seed(0)
    for name, make in _models(gkeras).items():
        model, x, y = make(gkeras)
        data = x if len(x) > 1 else x[0]
        model.fit(data, y, epochs=2, batch_size=8, verbose=0)
        base = os.path.join(out_dir, f"gkeras_{name}")
        if not _weights_only(name):
            gkeras.saving.save_model(model, base + ".h5")
        gkeras.saving.save_weights(model, base + ".weights.h5")
        gkeras.saving.save_weights(model, base + "_legacy.h5")
        np.savez(base + "_io.npz", y=model.predict(data, verbose=0),
                 **{f"x{i}": xi for i, xi in enumerate(x)})
        print("wrote", base + "*")


def check(out_dir):
    os.environ.setdefault("KERAS_BACKEND", "jax")
    import keras

    worst = 0.0
    for name, make in _models(keras).items():
        base = os.path.join(out_dir, f"gkeras_{name}")
        io = np.load(base + "_io.npz")
        x = [io[k] for k in sorted(io.files) if k.startswith("x")]
        data = x if len(x) > 1 else x[0]
        results = {}
        if not _weights_only(name):
            loaded = keras.models.load_model(base + ".h5")
            results["load_model(.h5)"] = loaded.predict(data, verbose=0)
        for suffix in (".weights.h5", "_legacy.h5"):
            fresh, _, _ = make(keras)
            fresh(data[:1] if not isinstance(data, list) else [d[:1] for d in data])
            fresh.load_weights(base + suffix)
            results[f"load_weights({suffix})"] = fresh.predict(data, verbose=0)
        for what, pred in results.items():
            diff = float(np.abs(pred - io["y"]).max())
            worst = max(worst, diff)
            print(f"{name:18s} {what:26s} max |diff| = {diff:.3g}")
    print(f"Keras {keras.__version__}: worst difference {worst:.3g}")
    return 0 if worst <= 1e-5 else 1


if __name__ == "__main__":
    if len(sys.argv) != 3 or sys.argv[1] not in ("write", "check"):
        sys.exit(__doc__)
    sys.exit(write(sys.argv[2]) if sys.argv[1] == "write" else check(sys.argv[2]))
