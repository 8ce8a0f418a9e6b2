"""A data-parallel job in which one rank raises mid-training (run by test_distribute_launch.py).

Usage: failing_job.py FAIL_RANK STAMP_FILE. Rank FAIL_RANK raises at the end of epoch 2 after
writing the time to STAMP_FILE; the other ranks go on into the next epoch's all-reduce, where
they would wait forever if the job were not aborted.
"""

import sys
import time

import numpy as np

import gkeras as keras
from gkeras import layers
from gkeras.distribute import DataParallel

fail_rank, stamp = int(sys.argv[1]), sys.argv[2]
strategy = DataParallel()


class Boom(keras.callbacks.Callback):
    def on_epoch_end(self, epoch, logs=None):
        if epoch == 1 and strategy.rank == fail_rank:
            with open(stamp, "w") as f:
                f.write(repr(time.time()))
            raise RuntimeError(f"boom on rank {strategy.rank}")


rng = np.random.default_rng(0)
x = rng.standard_normal((64, 4)).astype("float32")
y = rng.standard_normal((64, 1)).astype("float32")
with strategy.scope():
    model = keras.Sequential([layers.Dense(1, input_shape=(4,))])
    model.compile(optimizer="sgd", loss="mse")
model.fit(x, y, batch_size=4, epochs=10_000, verbose=0, callbacks=[Boom()])
