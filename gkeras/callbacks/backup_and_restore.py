"""`BackupAndRestore`: resumes an interrupted `fit` where its last backup left off."""

import contextlib
import json
import os

import numpy as np

from gkeras.callbacks._save_freq import SaveFreqCallback, is_valid_save_freq

METADATA_FILE = "training_metadata.json"


class BackupAndRestore(SaveFreqCallback):
    """Backs up the training state so that an interrupted `fit` can resume.

    At the end of every epoch (or every `save_freq` batches) the callback writes the model's
    weights, the optimizer's state (slots and iteration count), gkeras's global random state
    (the source of shuffling and dropout) and the epoch reached into `backup_dir`. When a
    later `fit` with a `BackupAndRestore` on the same `backup_dir` starts, it restores that
    state and training continues from the first epoch not completed. With epoch backups on
    the NumPy backend, a run interrupted and resumed ends with the same weights as an
    uninterrupted run.

    Each backup is complete or absent: its weights file gets a fresh name and the small
    metadata file that points to it is replaced atomically last, so a run killed in the
    middle of a backup resumes from the previous one.

    When `fit` finishes (also when stopped by `EarlyStopping`), the backup is deleted unless
    `delete_checkpoint=False`. A `fit` that raises keeps it.

    The model to restore must be the same (architecture and compile arguments) as the one
    backed up, and built before `fit` when there is a backup to restore.

    Args:
        backup_dir: a folder for the backup files, used by nothing else.
        save_freq: `"epoch"` backs up at the end of each epoch; an integer backs up every
            that many training batches (a resumed run then restarts the interrupted epoch
            from the weights of the last backup).
        delete_checkpoint: delete the backup once training has finished.

    Example:

    ```python
    callback = gkeras.callbacks.BackupAndRestore(backup_dir="/tmp/backup")
    model.fit(x, y, epochs=10, callbacks=[callback])  # interrupted at epoch 4
    model.fit(x, y, epochs=10, callbacks=[callback])  # runs epochs 5 to 10 only
    ```
    """

    def __init__(self, backup_dir, save_freq="epoch", delete_checkpoint=True):
        super().__init__()
        if isinstance(backup_dir, os.PathLike):
            backup_dir = os.fspath(backup_dir)
        if not backup_dir or not isinstance(backup_dir, str):
            raise ValueError(f"Empty `backup_dir` argument passed (got {backup_dir!r}).")
        if not is_valid_save_freq(save_freq):
            raise ValueError(
                f"Invalid value for argument `save_freq`. Received: save_freq={save_freq!r}. "
                "Expected either 'epoch' or a positive integer value."
            )
        self.backup_dir = backup_dir
        self.save_freq = save_freq
        self.delete_checkpoint = delete_checkpoint
        self._current_epoch = 0
        self._batches_since_save = 0
        self._counter = 0
        self.restored_epoch = None

    @property
    def _metadata_path(self):
        return os.path.join(self.backup_dir, METADATA_FILE)

    # ------------------------------------------------------------------ hooks
    def on_train_begin(self, logs=None):
        self._batches_since_save = 0
        self.restored_epoch = None
        metadata = self._read_metadata()
        if metadata is None:
            self._current_epoch = 0
            return
        self._restore(metadata)
        self._current_epoch = self.restored_epoch = int(metadata["epoch"])
        # Read by fit right after on_train_begin: the first epoch to run.
        self.model._initial_epoch = self.restored_epoch
        self._counter = int(metadata.get("counter", 0))

    def _save_after_batch(self, batch, logs):
        # A mid-epoch backup restarts this epoch when restored.
        self._save(epoch=self._current_epoch, batch=batch)

    def on_epoch_end(self, epoch, logs=None):
        self._current_epoch = epoch + 1
        if self.save_freq == "epoch":
            self._save(epoch=epoch + 1, batch=-1)

    def on_train_end(self, logs=None):
        if self.delete_checkpoint and self._is_chief():
            self._delete_all()

    def _wants_batch_logs(self, mode, batch):
        return False  # backups never read the metric values

    # ---------------------------------------------------------------- backup
    def _save(self, epoch, batch):
        if not self._is_chief():
            return  # every rank restores from the backup; rank 0 alone writes it
        from gkeras import random as grandom
        from gkeras.saving.atomic import atomic_write

        os.makedirs(self.backup_dir, exist_ok=True)
        self._counter += 1
        stem = f"backup-{self._counter:06d}"
        weights_file = f"{stem}.weights.h5"
        # The `.weights.h5` layout holds the optimizer state too (slots, iteration count).
        self.model.save_weights(os.path.join(self.backup_dir, weights_file), overwrite=True)
        metadata = {
            "epoch": epoch,
            "batch": batch,
            "counter": self._counter,
            "weights": weights_file,
            "random_state": _jsonable_random_state(grandom.global_rng()),
        }
        with atomic_write(self._metadata_path) as tmp:
            with open(tmp, "w", encoding="utf-8") as f:
                json.dump(metadata, f)
        self._remove_files(keep={weights_file, METADATA_FILE})

    # --------------------------------------------------------------- restore
    def _read_metadata(self):
        path = self._metadata_path
        if not os.path.exists(path):
            return None
        try:
            with open(path, encoding="utf-8") as f:
                metadata = json.load(f)
            int(metadata["epoch"])
            weights = metadata["weights"]
        except (OSError, ValueError, KeyError, TypeError) as error:
            raise ValueError(
                f"BackupAndRestore: the backup metadata {path} is unreadable ({error}). Delete "
                f"the folder {self.backup_dir} to start training afresh."
            ) from error
        if not os.path.exists(os.path.join(self.backup_dir, weights)):
            raise ValueError(
                f"BackupAndRestore: the backup in {self.backup_dir} names weights file "
                f"{weights!r}, which is missing. Delete the folder to start afresh."
            )
        return metadata

    def _restore(self, metadata):
        from gkeras import random as grandom

        model = self.model
        if not model.built:
            raise ValueError(
                "To use the BackupAndRestore callback, your model must be built before you "
                f"call `fit()`. Model '{model.name}' is unbuilt and there is a backup to "
                f"restore in {self.backup_dir}. You can build it beforehand by calling it on a "
                "batch of data (or giving its first layer an input shape)."
            )
        # Restores the optimizer state as well (its slots are built first if need be).
        model.load_weights(os.path.join(self.backup_dir, metadata["weights"]))
        state = metadata.get("random_state")
        if state is not None:
            rng = grandom.global_rng()
            if state.get("bit_generator") == rng.bit_generator.state.get("bit_generator"):
                rng.bit_generator.state = state

    def _remove_files(self, keep):
        """Deletes older backups (files this callback named) except those in `keep`.

        Also removes the temporaries a killed run left while writing one of our files.
        """
        from gkeras.saving.atomic import TEMP_MARKER

        with contextlib.suppress(FileNotFoundError):
            for name in os.listdir(self.backup_dir):
                ours = name.startswith("backup-") or (
                    TEMP_MARKER in name
                    and name.startswith((".backup-", f".{METADATA_FILE}")))
                if ours and name not in keep:
                    with contextlib.suppress(FileNotFoundError):
                        os.remove(os.path.join(self.backup_dir, name))

    def _delete_all(self):
        if not os.path.isdir(self.backup_dir):
            return
        with contextlib.suppress(FileNotFoundError):
            os.remove(self._metadata_path)
        self._remove_files(keep=set())
        with contextlib.suppress(OSError):
            os.rmdir(self.backup_dir)  # only when nothing else lives there


def _jsonable_random_state(rng):
    state = rng.bit_generator.state

    def convert(value):
        if isinstance(value, dict):
            return {k: convert(v) for k, v in value.items()}
        if isinstance(value, np.ndarray):
            return value.tolist()
        if isinstance(value, np.integer):
            return int(value)
        return value

    return convert(state)
