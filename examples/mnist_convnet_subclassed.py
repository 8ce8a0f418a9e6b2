"""A subclassed convnet on MNIST, saving the best model during training.

Conv2D(32, 3x3, relu) → Flatten → Dense(128, relu) → Dense(10) logits, trained with
SparseCategoricalCrossentropy(from_logits=True). `ModelCheckpoint(save_best_only=True)`
keeps `best_model.h5` up to date, so an interrupted run loses nothing.

Run: python examples/mnist_convnet_subclassed.py [--quick] [--out DIR]
(MNIST is read from $GKERAS_DATASETS or ~/.gkeras/datasets; see gkeras.datasets.mnist.)
"""

import argparse
import os

import gkeras as keras
from gkeras import layers


class ConvNet(keras.Model):
    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.conv = layers.Conv2D(32, (3, 3), activation="relu")
        self.flatten = layers.Flatten()
        self.hidden = layers.Dense(128, activation="relu")
        self.logits = layers.Dense(10)

    def call(self, inputs, training=None):
        return self.logits(self.hidden(self.flatten(self.conv(inputs))))


def main(quick=False, out_dir="."):
    keras.utils.set_random_seed(0)
    (x_train, y_train), (x_test, y_test) = keras.datasets.mnist.load_data()
    if quick:
        x_train, y_train, x_test, y_test = x_train[:2000], y_train[:2000], x_test[:500], \
            y_test[:500]
    x_train = x_train[..., None].astype("float32") / 255.0
    x_test = x_test[..., None].astype("float32") / 255.0

    model = ConvNet()
    model.compile(optimizer="adam",
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                  metrics=["accuracy"])
    best_path = os.path.join(out_dir, "best_model.h5")
    checkpoint = keras.callbacks.ModelCheckpoint(best_path, save_best_only=True,
                                                 monitor="val_loss", mode="min", verbose=1)
    model.fit(x_train, y_train, epochs=1 if quick else 3, batch_size=32,
              validation_split=0.2, callbacks=[checkpoint])
    loss, accuracy = model.evaluate(x_test, y_test, verbose=0)
    print(f"test accuracy: {accuracy:.4f}")
    best = keras.models.load_model(best_path, custom_objects={"ConvNet": ConvNet})
    _, best_accuracy = best.evaluate(x_test, y_test, verbose=0)
    print(f"best checkpoint test accuracy: {best_accuracy:.4f}")
    return accuracy


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="train briefly on a subset (CI)")
    parser.add_argument("--out", default=".", help="where best_model.h5 goes")
    args = parser.parse_args()
    main(args.quick, args.out)
