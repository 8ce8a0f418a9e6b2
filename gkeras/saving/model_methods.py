"""`SavingMixin`: the `save` / `save_weights` / `load_weights` and compile-config methods of
`Model`.

Kept apart from `gkeras.models.model` so the model class stays small; the work is done by
`gkeras.saving.model_io` (imported on first use, which keeps `import gkeras` light).
"""


class SavingMixin:
    """Adds Keras's saving methods to a model class."""

    def save(self, filepath, overwrite=True, include_optimizer=True, **kwargs):
        """Saves the model (architecture, weights, compile config, optimizer state).

        A `.keras` path gets Keras 3's zip format (its default); `.h5` / `.hdf5` gets Keras's
        legacy HDF5 layout. Keras 3 reads both. The write is atomic: a crash or kill during
        `save` leaves the previous file intact.

        Args:
            filepath: a path ending in `.keras`, `.h5` or `.hdf5`.
            overwrite: whether to replace an existing file (when `False`, an interactive
                session is asked; otherwise an existing file is an error).
            include_optimizer: whether to store the optimizer's config and state.

        Example:

        ```python
        model.save("best_model.h5")
        model = gkeras.models.load_model("best_model.h5")
        ```
        """
        from gkeras.saving.model_io import save_model

        save_model(self, filepath, overwrite=overwrite, include_optimizer=include_optimizer,
                   **kwargs)

    def save_weights(self, filepath, overwrite=True, **kwargs):
        """Saves the model's weights to HDF5, atomically.

        A path ending in `.weights.h5` gets Keras 3's layout (`layers/<name>/vars/0, 1, ...`);
        any other `.h5` / `.hdf5` path gets the legacy layout (`layer_names`, one group per
        layer with `weight_names`).

        Args:
            filepath: where to write.
            overwrite: whether to replace an existing file.
        """
        from gkeras.saving.model_io import save_weights

        save_weights(self, filepath, overwrite=overwrite, **kwargs)

    def get_compile_config(self):
        """The arguments `compile` was called with, serialized as Keras 3 gives them
        (`optimizer`, `loss`, `metrics`, ...), or `None` when the model is not compiled.

        `compile_from_config` takes the result, on this model or a fresh copy of it.
        """
        from gkeras.saving.keras_archive import compile_config

        return compile_config(self)

    def compile_from_config(self, config):
        """Compiles the model with the arguments of `get_compile_config()` (also read from
        Keras 3's `.keras` files): a fresh optimizer of the saved configuration.

        Args:
            config: the dict `get_compile_config()` returned.
        """
        from gkeras.saving import keras_archive, training_config

        training = keras_archive._training_config(config, "compile_from_config")
        training_config.compile_from_config(self, training)

    def load_weights(self, filepath, skip_mismatch=False, by_name=False, **kwargs):
        """Loads weights saved by `save_weights` or `save` (gkeras or Keras).

        Everything is read and checked (layer count, weight count, shapes) before any weight
        is assigned, so on error the model keeps its weights.

        Args:
            filepath: a `.weights.h5` file (Keras 3 layout) or a legacy `.h5` file.
            skip_mismatch: skip layers whose weight count or shapes do not match (with a
                warning) instead of raising.
            by_name: legacy `.h5` only: match layers by name instead of by order.

        Raises:
            ValueError: when the file does not match the model, naming the layer (index and
                name) and both shapes, or when the file is not a readable HDF5 file.
        """
        from gkeras.saving.model_io import load_weights

        load_weights(self, filepath, skip_mismatch=skip_mismatch, by_name=by_name, **kwargs)
