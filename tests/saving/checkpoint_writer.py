"""A crash-test subject: saves a model over and over until it is killed.

Usage: python checkpoint_writer.py FOLDER FIRST_VERSION DELAY_SECONDS

Each round sets the weights to `version_weights(model, version)`, writes `FOLDER/ckpt.h5`
with `save_model` and `FOLDER/ckpt.weights.h5` with `save_weights`, printing
`model <version>` / `weights <version>` after each completed save. Every dataset write
sleeps DELAY_SECONDS, so a kill at a random moment usually lands inside a write.
"""

import os
import sys
import time

import h5py
import numpy as np
from saving_models import dense_model, version_weights

import gkeras


def main(folder, version, delay):
    create_dataset = h5py.Group.create_dataset

    def slow_create_dataset(self, *args, **kwargs):
        dataset = create_dataset(self, *args, **kwargs)
        time.sleep(delay)
        return dataset

    h5py.Group.create_dataset = slow_create_dataset
    model = dense_model((32, 16, 8))
    model.train_on_batch(np.zeros((4, 6), "float32"), np.zeros(4, "int64"))  # optimizer state
    while True:
        model.set_weights(version_weights(model, version))
        gkeras.saving.save_model(model, os.path.join(folder, "ckpt.h5"))
        print(f"model {version}", flush=True)
        gkeras.saving.save_weights(model, os.path.join(folder, "ckpt.weights.h5"))
        print(f"weights {version}", flush=True)
        version += 1


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]), float(sys.argv[3]))
