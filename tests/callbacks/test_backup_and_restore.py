"""BackupAndRestore: a fit interrupted (exception or SIGKILL) resumes and ends bit-identical."""

import json
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import gkeras as keras
from gkeras import layers

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(keras.__file__)))

# One training run in a fresh process: seeded data, model and shuffling, Adam (whose slots and
# step count must survive), 6 epochs of 4 batches. The interruption is chosen by JSON options.
SCRIPT = textwrap.dedent("""
    import json, os, signal, sys
    import numpy as np
    import gkeras as keras
    from gkeras import layers
    import gkeras.callbacks.backup_and_restore as bar

    options = json.loads(sys.argv[1])
    keras.utils.set_random_seed(7)
    data = np.random.default_rng(0)
    x = data.standard_normal((64, 3)).astype("float32")
    y = (x @ np.array([[1.0], [-2.0], [0.5]], "float32") + 0.3).astype("float32")
    model = keras.Sequential([layers.Dense(8, activation="tanh", input_shape=(3,)),
                              layers.Dense(1)])
    model.compile(optimizer=keras.optimizers.Adam(learning_rate=0.01), loss="mse")

    def die():
        if options["how"] == "kill":
            os.kill(os.getpid(), signal.SIGKILL)
        raise RuntimeError("interrupted on purpose")

    class Interrupt(keras.callbacks.Callback):
        epoch = None

        def on_epoch_begin(self, epoch, logs=None):
            self.epoch = epoch

        def on_train_batch_begin(self, batch, logs=None):
            if [self.epoch, batch] == options.get("at_batch"):
                die()

    if options.get("die_writing_metadata") is not None:
        # Killed after a backup's weights and optimizer files are written, before the
        # metadata that points to them is: the previous backup must be used.
        real_dump = json.dump

        def dump(obj, f, **kwargs):
            if obj["epoch"] == options["die_writing_metadata"]:
                die()
            real_dump(obj, f, **kwargs)

        bar.json = type("json", (), {"dump": staticmethod(dump), "load": json.load})

    callbacks = []
    if options.get("backup_dir"):
        callbacks.append(keras.callbacks.BackupAndRestore(options["backup_dir"]))
    callbacks.append(Interrupt())
    history = model.fit(x, y, epochs=6, batch_size=16, callbacks=callbacks, verbose=0)
    np.savez(options["out"], *model.get_weights(), epochs=np.array(history.epoch),
             iterations=np.array(model.optimizer.iterations))
""")


def run_training(tmp_path, **options):
    script = tmp_path / "train.py"
    script.write_text(SCRIPT)
    env = dict(os.environ, PYTHONPATH=REPO_ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""),
               GKERAS_BACKEND="numpy")
    return subprocess.run([sys.executable, str(script), json.dumps(options)], env=env,
                          capture_output=True, text=True, timeout=240, check=False)


def load_result(path):
    with np.load(path) as data:
        weights = [data[f"arr_{i}"] for i in range(len(data.files) - 2)]
        return weights, [int(e) for e in data["epochs"]], int(data["iterations"])


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    """The weights of an uninterrupted run without any backup."""
    tmp_path = tmp_path_factory.mktemp("reference")
    done = run_training(tmp_path, out=str(tmp_path / "ref.npz"))
    assert done.returncode == 0, done.stderr
    return load_result(tmp_path / "ref.npz")


@pytest.mark.parametrize("how, at_batch, resumed_epochs", [
    ("raise", [3, 1], [3, 4, 5]),
    ("kill", [2, 2], [2, 3, 4, 5]),
    ("kill", [0, 1], [0, 1, 2, 3, 4, 5]),  # before any backup: starts over
])
def test_interrupted_fit_resumes_and_matches_an_uninterrupted_run(tmp_path, reference, how,
                                                                  at_batch, resumed_epochs):
    backup_dir = str(tmp_path / "backup")
    first = run_training(tmp_path, backup_dir=backup_dir, how=how, at_batch=at_batch,
                         out=str(tmp_path / "first.npz"))
    if how == "kill":
        assert first.returncode == -9
    else:
        assert first.returncode != 0 and "interrupted on purpose" in first.stderr
    assert not (tmp_path / "first.npz").exists()
    if resumed_epochs[0] > 0:
        with open(os.path.join(backup_dir, "training_metadata.json")) as f:
            assert json.load(f)["epoch"] == resumed_epochs[0]
    second = run_training(tmp_path, backup_dir=backup_dir, how=how,
                          out=str(tmp_path / "second.npz"))
    assert second.returncode == 0, second.stderr
    weights, epochs, iterations = load_result(tmp_path / "second.npz")
    ref_weights, ref_epochs, ref_iterations = reference
    assert epochs == resumed_epochs and ref_epochs == list(range(6))
    assert iterations == ref_iterations == 24
    for w, ref in zip(weights, ref_weights):
        np.testing.assert_array_equal(w, ref)  # bit-identical
    assert not os.path.exists(backup_dir)  # deleted once training finished


def test_killed_while_writing_a_backup_resumes_from_the_previous_one(tmp_path, reference):
    backup_dir = str(tmp_path / "backup")
    first = run_training(tmp_path, backup_dir=backup_dir, how="kill", die_writing_metadata=4,
                         out=str(tmp_path / "first.npz"))
    assert first.returncode == -9
    with open(os.path.join(backup_dir, "training_metadata.json")) as f:
        assert json.load(f)["epoch"] == 3
    second = run_training(tmp_path, backup_dir=backup_dir, out=str(tmp_path / "second.npz"))
    assert second.returncode == 0, second.stderr
    weights, epochs, _ = load_result(tmp_path / "second.npz")
    assert epochs == [3, 4, 5]
    for w, ref in zip(weights, reference[0]):
        np.testing.assert_array_equal(w, ref)
    assert not os.path.exists(backup_dir)  # the dead run's leftovers are cleaned up too


# ------------------------------------------------------------------- in process
class StopAt(keras.callbacks.Callback):
    def __init__(self, epoch, batch):
        super().__init__()
        self.at, self.epoch = (epoch, batch), None

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch = epoch

    def on_train_batch_begin(self, batch, logs=None):
        if (self.epoch, batch) == self.at:
            raise KeyboardInterrupt


def fresh_model():
    model = keras.Sequential([layers.Dense(4, input_shape=(3,)), layers.Dense(1)])
    model.compile(optimizer="sgd", loss="mse")
    return model


def test_batch_frequency_backups_restart_the_interrupted_epoch(tmp_path, regression_data, bk):
    x, y = regression_data  # 4 batches an epoch
    backup = keras.callbacks.BackupAndRestore(tmp_path / "b", save_freq=3)
    model = fresh_model()
    with pytest.raises(KeyboardInterrupt):
        model.fit(x, y, epochs=5, batch_size=16, verbose=0, callbacks=[backup, StopAt(2, 2)])
    # backups after global batches 3, 6 and 9: the last in epoch 2 (its first batch)
    with open(tmp_path / "b" / "training_metadata.json") as f:
        metadata = json.load(f)
    assert (metadata["epoch"], metadata["batch"]) == (2, 0)
    backed_up = fresh_model()
    backed_up.load_weights(str(tmp_path / "b" / metadata["weights"]))
    # batch 1 of epoch 2 ran after that backup: the interrupted model has moved on
    assert any(not np.array_equal(a, b)
               for a, b in zip(model.get_weights(), backed_up.get_weights()))
    resumed = fresh_model()
    starts = []
    probe = keras.callbacks.LambdaCallback(on_epoch_begin=lambda epoch, logs: starts.append(
        (epoch, [w.copy() for w in resumed.get_weights()])))
    history = resumed.fit(x, y, epochs=5, batch_size=16, verbose=0, callbacks=[backup, probe])
    assert history.epoch == [2, 3, 4] and backup.restored_epoch == 2
    assert starts[0][0] == 2
    for a, b in zip(starts[0][1], backed_up.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_keeps_the_backup_when_asked(tmp_path, regression_data):
    x, y = regression_data
    backup = keras.callbacks.BackupAndRestore(tmp_path / "b", delete_checkpoint=False)
    model = fresh_model()
    model.fit(x, y, epochs=2, batch_size=16, verbose=0, callbacks=[backup])
    with open(tmp_path / "b" / "training_metadata.json") as f:
        metadata = json.load(f)
    assert metadata["epoch"] == 2
    assert sorted(os.listdir(tmp_path / "b")) == sorted(
        ["training_metadata.json", metadata["weights"]])
    again = fresh_model()
    again.fit(x, y, epochs=2, batch_size=16, verbose=0, callbacks=[backup])
    for a, b in zip(again.get_weights(), model.get_weights()):
        np.testing.assert_array_equal(a, b)  # nothing left to train: the backup's weights


def test_only_its_own_files_are_deleted(tmp_path, regression_data):
    x, y = regression_data
    (tmp_path / "b").mkdir()
    (tmp_path / "b" / "notes.txt").write_text("keep me")
    model = fresh_model()
    model.fit(x, y, epochs=2, batch_size=16, verbose=0,
              callbacks=[keras.callbacks.BackupAndRestore(tmp_path / "b")])
    assert os.listdir(tmp_path / "b") == ["notes.txt"]


def test_unbuilt_model_with_a_backup_is_a_clear_error(tmp_path, regression_data):
    x, y = regression_data
    backup = keras.callbacks.BackupAndRestore(tmp_path / "b", delete_checkpoint=False)
    fresh_model().fit(x, y, epochs=1, batch_size=16, verbose=0, callbacks=[backup])
    unbuilt = keras.Sequential([layers.Dense(4), layers.Dense(1)])
    unbuilt.compile(optimizer="sgd", loss="mse")
    with pytest.raises(ValueError, match="must be built before you call `fit\\(\\)`"):
        unbuilt.fit(x, y, epochs=2, verbose=0, callbacks=[backup])


def test_unreadable_metadata_is_a_clear_error(tmp_path, regression_data):
    x, y = regression_data
    (tmp_path / "b").mkdir()
    (tmp_path / "b" / "training_metadata.json").write_text("{not json")
    with pytest.raises(ValueError, match="backup metadata .* is unreadable"):
        fresh_model().fit(x, y, epochs=1, verbose=0,
                          callbacks=[keras.callbacks.BackupAndRestore(tmp_path / "b")])


@pytest.mark.parametrize("save_freq", ["batch", 0, 2.5, False])
def test_bad_arguments(save_freq, tmp_path):
    with pytest.raises(ValueError, match="Invalid value for argument `save_freq`"):
        keras.callbacks.BackupAndRestore(tmp_path, save_freq=save_freq)
    with pytest.raises(ValueError, match="Empty `backup_dir`"):
        keras.callbacks.BackupAndRestore("")
