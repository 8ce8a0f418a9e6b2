"""Checks by hand that `.keras` archives written by gkeras load in real Keras 3.

    python tests/data/keras_archive/check_gkeras_archives_in_keras.py write /tmp/gk_archives
    KERAS_BACKEND=jax /tmp/peers/bin/python \
        tests/data/keras_archive/check_gkeras_archives_in_keras.py check /tmp/gk_archives

`write` builds the fixture architectures of make_keras_archive_fixtures.py in gkeras,
trains them, saves `<model>.keras`, then takes one more `train_on_batch` step and stores
the predictions before (`y`) and after (`y_next`) it. `check` loads each archive with
`keras.models.load_model`, compares its predictions with `y`, takes the same step and
compares with `y_next` (which needs the optimizer state restored by Keras).
"""

import os
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import make_keras_archive_fixtures as fixtures  # noqa: E402


def _one(x):
    return x if len(x) > 1 else x[0]


def write(out_dir):
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.dirname(HERE))))
    import gkeras

    os.makedirs(out_dir, exist_ok=True)
    gkeras.utils.set_random_seed(0)
    for name, make in fixtures.MODELS.items():
        model, x, y = make(gkeras)
        model.fit(_one(x), y, epochs=2, batch_size=8, shuffle=False, verbose=0)
        model.save(os.path.join(out_dir, f"{name}.keras"))
        pred = model.predict(_one(x), verbose=0)
        xt, yt = [xi[:8] for xi in x], y[8:16]
        model.train_on_batch(_one(xt), yt)
        np.savez(os.path.join(out_dir, f"{name}_io.npz"), y=pred, yt=yt,
                 y_next=model.predict(_one(x), verbose=0),
                 **{f"x{i}": xi for i, xi in enumerate(x)},
                 **{f"xt{i}": xi for i, xi in enumerate(xt)})
        print("wrote", name)


def check(out_dir):
    os.environ.setdefault("KERAS_BACKEND", "jax")
    import keras

    fixtures.blocks_class(keras)  # registers archive_tests>Blocks in Keras
    worst = 0.0
    for name in fixtures.MODELS:
        io = np.load(os.path.join(out_dir, f"{name}_io.npz"))
        x = [io[k] for k in sorted(io.files) if k.startswith("x") and not k.startswith("xt")]
        xt = [io[k] for k in sorted(io.files) if k.startswith("xt")]
        model = keras.models.load_model(os.path.join(out_dir, f"{name}.keras"))
        diff = float(np.abs(model.predict(_one(x), verbose=0) - io["y"]).max())
        iterations = int(model.optimizer.iterations.numpy())
        model.train_on_batch(_one(xt), io["yt"])
        step = float(np.abs(model.predict(_one(x), verbose=0) - io["y_next"]).max())
        worst = max(worst, diff, step)
        print(f"{name:12s} {type(model).__name__:11s} load_model: max |diff| = {diff:.2e}   "
              f"iterations = {iterations}   after one more step: max |diff| = {step:.2e}")
    print(f"Keras {keras.__version__}: worst difference {worst:.2e}")


if __name__ == "__main__":
    {"write": write, "check": check}[sys.argv[1]](sys.argv[2])
