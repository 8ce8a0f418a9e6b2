"""The Keras 2 generator methods of `Model`: `fit_generator`, `evaluate_generator`,
`predict_generator`.

They are thin layers over `fit` / `evaluate` / `predict` (which take generators and Sequences
directly, as in Keras 2.4+) that keep Keras 2's argument names, defaults and checks.
"""

from gkeras.training import generator_adapter


def _check_source(generator, method):
    if not generator_adapter.handles(generator):
        raise ValueError(
            f"{method} expects a generator, an iterator or a gkeras.utils.Sequence as "
            f"`generator`; got {type(generator).__name__}. For arrays use "
            f"{method.replace('_generator', '')}(x, y)."
        )


def _check_steps(source, steps, arg):
    if steps is None and not generator_adapter.is_sequence(source):
        raise ValueError(
            f"`{arg}=None` is only valid for a generator based on the "
            f"`gkeras.utils.Sequence` class; {generator_adapter.describe_source(source)} is a "
            f"plain generator. Please specify `{arg}` or use the `gkeras.utils.Sequence` class."
        )


class GeneratorMethods:
    """Mixin for `Model`: the Keras 2 generator API, delegating to fit / evaluate / predict."""

    def fit_generator(self, generator, steps_per_epoch=None, epochs=1, verbose=1,
                      callbacks=None, validation_data=None, validation_steps=None,
                      validation_freq=1, class_weight=None, max_queue_size=10, workers=1,
                      use_multiprocessing=False, shuffle=True, initial_epoch=0):
        """Trains the model on batches produced by a generator or a `Sequence`.

        The source runs ahead of the model in `workers` threads (or processes for a
        `Sequence` with `use_multiprocessing=True`), keeping up to `max_queue_size` batches
        ready.

        Args:
            generator: a generator / iterator yielding `(x, y)` or `(x, y, sample_weight)`
                batches forever, or a `gkeras.utils.Sequence`.
            steps_per_epoch: batches per epoch; optional for a `Sequence` (its length).
            epochs: the epoch index to stop at.
            verbose: 0 silent, 1 progress bar, 2 one line per epoch.
            callbacks: list of `gkeras.callbacks.Callback`.
            validation_data: a generator, a `Sequence`, or `(x_val, y_val[, sample_weight])`.
            validation_steps: batches of a validation generator per validation run
                (optional for a `Sequence`).
            validation_freq: validate every this many epochs.
            class_weight: `{class: weight}` applied to the targets of each batch.
            max_queue_size: batches that may wait ahead of the model.
            workers: prefetch workers; 0 runs the source on the main thread.
            use_multiprocessing: worker processes for a `Sequence` (a plain generator warns
                and uses threads).
            shuffle: shuffle a `Sequence`'s batch order every epoch.
            initial_epoch: the epoch to start from.

        Returns:
            A `History` object.
        """
        _check_source(generator, "fit_generator")
        _check_steps(generator, steps_per_epoch, "steps_per_epoch")
        if validation_data is not None and generator_adapter.handles(validation_data):
            _check_steps(validation_data, validation_steps, "validation_steps")
        return self.fit(
            generator, steps_per_epoch=steps_per_epoch, epochs=epochs, verbose=verbose,
            callbacks=callbacks, validation_data=validation_data,
            validation_steps=validation_steps, validation_freq=validation_freq,
            class_weight=class_weight, max_queue_size=max_queue_size, workers=workers,
            use_multiprocessing=use_multiprocessing, shuffle=shuffle,
            initial_epoch=initial_epoch)

    def evaluate_generator(self, generator, steps=None, callbacks=None, max_queue_size=10,
                           workers=1, use_multiprocessing=False, verbose=0):
        """Evaluates the model on batches produced by a generator or a `Sequence`.

        Args:
            generator: a generator / iterator yielding `(x, y)` or `(x, y, sample_weight)`,
                or a `gkeras.utils.Sequence`.
            steps: batches to evaluate; optional for a `Sequence` (its length).
            callbacks: list of callbacks.
            max_queue_size, workers, use_multiprocessing: as in `fit_generator`.
            verbose: 0 silent, 1 progress bar.

        Returns:
            The loss (a scalar) or a list of loss and metrics in `metrics_names` order.
        """
        _check_source(generator, "evaluate_generator")
        _check_steps(generator, steps, "steps")
        return self.evaluate(generator, steps=steps, callbacks=callbacks,
                             max_queue_size=max_queue_size, workers=workers,
                             use_multiprocessing=use_multiprocessing, verbose=verbose)

    def predict_generator(self, generator, steps=None, callbacks=None, max_queue_size=10,
                          workers=1, use_multiprocessing=False, verbose=0):
        """Generates predictions for the batches produced by a generator or a `Sequence`.

        Args:
            generator: a generator / iterator yielding `x` or `(x, y[, sample_weight])`
                (only `x` is used), or a `gkeras.utils.Sequence`.
            steps: batches to predict; optional for a `Sequence` (its length).
            callbacks: list of callbacks.
            max_queue_size, workers, use_multiprocessing: as in `fit_generator`.
            verbose: 0 silent, 1 progress bar.

        Returns:
            NumPy array(s) of predictions, the batches concatenated in order.
        """
        _check_source(generator, "predict_generator")
        _check_steps(generator, steps, "steps")
        return self.predict(generator, steps=steps, callbacks=callbacks,
                            max_queue_size=max_queue_size, workers=workers,
                            use_multiprocessing=use_multiprocessing, verbose=verbose)
