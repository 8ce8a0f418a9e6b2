"""Records real Keras's MNIST-MLP test accuracy after 2 epochs for several seeds.

The quality test `tests/training/test_quality.py` holds gkeras to what Keras itself reaches
on this protocol; this script measured Keras's numbers (stored in
`tests/data/keras_mnist_mlp_accuracy.json`). Run it where Keras 3 is installed:

    KERAS_BACKEND=jax python benchmarks/keras_parity/mnist_mlp_seeds.py \
        --mnist ../shared/datasets/mnist --seeds 6 --out tests/data/keras_mnist_mlp_accuracy.json

Protocol (the same in the test): pixels / 255 as float32, Dense 512 relu, Dense 512 relu,
Dense 10 softmax, Adam (defaults), sparse categorical cross-entropy, batch 128, 2 epochs,
shuffled, accuracy on the 10,000 test images.
"""

import argparse
import gzip
import json
import os

import numpy as np


def read_idx(path, offset):
    with gzip.open(path) as f:
        return np.frombuffer(f.read(), np.uint8, offset=offset)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mnist", required=True, help="folder with the four MNIST .gz files")
    parser.add_argument("--seeds", type=int, default=6)
    parser.add_argument("--out", required=True)
    args = parser.parse_args()

    import keras
    from keras import layers

    def images(name):
        return read_idx(os.path.join(args.mnist, name), 16).reshape(-1, 784).astype("float32") / 255

    x_train, x_test = images("train-images-idx3-ubyte.gz"), images("t10k-images-idx3-ubyte.gz")
    y_train = read_idx(os.path.join(args.mnist, "train-labels-idx1-ubyte.gz"), 8)
    y_test = read_idx(os.path.join(args.mnist, "t10k-labels-idx1-ubyte.gz"), 8)

    accuracy = {}
    for seed in range(args.seeds):
        keras.utils.set_random_seed(seed)
        model = keras.Sequential([
            keras.Input((784,)),
            layers.Dense(512, activation="relu"),
            layers.Dense(512, activation="relu"),
            layers.Dense(10, activation="softmax"),
        ])
        model.compile(optimizer="adam", loss="sparse_categorical_crossentropy",
                      metrics=["accuracy"])
        model.fit(x_train, y_train, batch_size=128, epochs=2, verbose=0)
        accuracy[str(seed)] = round(float(model.evaluate(x_test, y_test, verbose=0)[1]), 4)
        print(seed, accuracy[str(seed)], flush=True)
    record = {"keras": keras.__version__, "backend": keras.backend.backend(),
              "protocol": "MNIST MLP 784-512-512-10, Adam, batch 128, 2 epochs",
              "test_accuracy_by_seed": accuracy}
    with open(args.out, "w") as f:
        json.dump(record, f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main()
