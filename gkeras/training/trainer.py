"""`Trainer`: compile / fit / evaluate / predict and the Keras 2 batch methods of `Model`."""

import math
import sys
import warnings

import numpy as np

from gkeras import backend as backend_module
from gkeras.autodiff import Tensor, no_grad
from gkeras.callbacks.callback import CallbackList
from gkeras.layers.node import flatten, rank_adjusted_shape
from gkeras.training import data_adapter as da
from gkeras.training.compile_utils import CompiledLoss, CompiledMetrics
from gkeras.training.traced_step import TracedSteps, detached


class Trainer:
    """The training half of `Model` (mixed in; the other half is `Layer`)."""

    def __init__(self):
        self.compiled = False
        self.optimizer = None
        self.loss = None
        self.stop_training = False
        self.history = None
        self._compile_config = None
        self._compiled_loss = None
        self._compiled_metrics = None
        self._loss_tracker = None
        self._output_loss_trackers = []
        self._distribution = None  # a gkeras.distribute strategy, set by compile in its scope
        self._step_cache = None
        self._traced_steps = None  # a TracedSteps when compile allows replayed steps
        self._nonfinite_reported = False

    # ------------------------------------------------------------------ compile
    def compile(self, optimizer="rmsprop", loss=None, metrics=None, loss_weights=None,
                weighted_metrics=None, run_eagerly=None, steps_per_execution=1,
                jit_compile="auto", auto_scale_loss=True, **kwargs):
        """Configures the model for training.

        Args:
            optimizer: name (e.g. `"adam"`) or optimizer instance.
            loss: name, function, `Loss` instance, or a list / dict with one per output.
            metrics: list of metrics (applied to every output, as Keras 2 does) or a dict
                from output name to metrics. `"accuracy"` picks binary, categorical or sparse
                categorical accuracy from the loss and the output shape.
            loss_weights: list or dict of per-output loss weights.
            weighted_metrics: metrics that use `sample_weight`.
            run_eagerly: `True` trains every step eagerly (no replayed steps).
            jit_compile: `"auto"` / `True` let `fit` and `train_on_batch` replay a recorded
                training step where that gives the same result (plain models of built-in
                layers and losses, see `gkeras.training.traced_step`); `False` never does.
            steps_per_execution: accepted for compatibility.
        """
        from gkeras import optimizers

        for key in ("sample_weight_mode", "target_tensors", "distribute"):
            kwargs.pop(key, None)
        if kwargs:
            raise TypeError(f"compile() got unexpected keyword argument(s) {sorted(kwargs)}.")
        self.optimizer = optimizers.get(optimizer)
        self._distribution = _active_strategy()
        self.loss = loss
        self._compile_config = {"optimizer": optimizer, "loss": loss, "metrics": metrics,
                                "loss_weights": loss_weights,
                                "weighted_metrics": weighted_metrics, "jit_compile": jit_compile}
        self._compiled_loss = None
        self._compiled_metrics = None
        self._step_cache = None
        self._traced_steps = None if jit_compile is False else TracedSteps()
        self.compiled = True
        self.stop_training = False
        if run_eagerly is not None:
            self.run_eagerly = run_eagerly
        if self._output_names_known():
            self._build_compiled()

    def _output_names_known(self):
        return bool(getattr(self, "outputs", None)) and self.built

    def _model_output_names(self, y_pred=None):
        names = list(getattr(self, "output_names", []) or [])
        if names:
            return names
        # a subclassed model: Keras names the outputs output_1, output_2, ...
        count = len(flatten(y_pred)) if y_pred is not None else 1
        return [f"output_{i + 1}" for i in range(count)]

    def _build_compiled(self, y_pred=None):
        cfg = self._compile_config
        names = self._model_output_names(y_pred)
        if y_pred is not None:
            shapes = [tuple(t.shape) for t in flatten(y_pred)]
        else:
            shapes = [tuple(t.shape) for t in self.outputs]
        self._compiled_loss = CompiledLoss(cfg["loss"], cfg["loss_weights"], names)
        self._compiled_metrics = CompiledMetrics(cfg["metrics"], cfg["weighted_metrics"], names,
                                                 self._compiled_loss, shapes)
        from gkeras import metrics

        self._loss_tracker = metrics.Mean(name="loss")
        self._output_loss_trackers = [metrics.Mean(name=n) for n in self._compiled_loss.names]

    def _assert_compiled(self, method):
        if not self.compiled:
            raise NotCompiledError(
                f"You must compile your model before {method}: call "
                "model.compile(optimizer, loss) first."
            )

    # ------------------------------------------------------------------ metrics
    @property
    def metrics_names(self):
        """Keras 2 order: `loss`, the per-output losses, then each output's metrics."""
        if self._compiled_loss is None:
            return ["loss"] if self.compiled else []
        return ["loss"] + self._compiled_loss.names + self._compiled_metrics.names

    @property
    def metrics(self):
        """The metric objects: the loss trackers, then the compiled metrics."""
        if self._compiled_loss is None:
            return []
        return [self._loss_tracker] + self._output_loss_trackers + self._compiled_metrics.metrics

    def reset_metrics(self):
        """Resets every metric's state."""
        for metric in self.metrics:
            metric.reset_state()

    def _metric_values(self):
        """`{name: float}` for every metric: the moment device values go to the host."""
        if self._distribution is not None:
            # every rank reports the metrics of the global batch (states reduced across ranks)
            return self._distribution.metric_values(self.metrics_names, self.metrics)
        return {name: _to_float(metric.result())
                for name, metric in zip(self.metrics_names, self.metrics)}

    def _logs(self):
        return dict(sorted(self._metric_values().items()))

    # --------------------------------------------------------------- data flow
    def _to_device(self, structure):
        """Moves a NumPy batch (array / list / dict) onto the placement backend as Tensors."""
        bk = backend_module.get_backend()
        if type(structure) is np.ndarray:  # the usual batch: no structure to rebuild
            return Tensor(bk.asarray(structure))
        flat = flatten(structure)
        return da.pack_like(structure, [None if a is None else Tensor(bk.asarray(a))
                                        for a in flat])

    def _targets_per_output(self, y, y_pred):
        """Aligns `y` (array, list or dict by output name) with the model's outputs."""
        names = self._model_output_names(y_pred)
        if isinstance(y, dict):
            unknown = [k for k in y if k not in names]
            if unknown:
                raise ValueError(
                    f"Target keys {unknown} match no output of model '{self.name}'. Valid output "
                    f"names: {names}."
                )
            return [y.get(n) for n in names]
        flat = flatten(y) if isinstance(y, (list, tuple)) else [y]
        if len(flat) != len(names):
            raise ValueError(
                f"Model '{self.name}' has {len(names)} output(s) {names}, but {len(flat)} "
                "target array(s) were given."
            )
        return flat

    def _weights_per_output(self, sample_weight, count):
        if sample_weight is None:
            return [None] * count
        if isinstance(sample_weight, dict):
            names = self._model_output_names()
            return [sample_weight.get(n) for n in names]
        if isinstance(sample_weight, (list, tuple)):
            return list(sample_weight)
        return [sample_weight] * count

    def _step_state(self):
        """What every step needs from the layer tree, gathered once per fit / evaluate.

        Returns `(trainable variables, regularised variables, all layers)`. Keras likewise
        fixes the trainable set when training starts (change `trainable`, then fit again).
        """
        if self._step_cache is None:
            weights = self.weights
            self._step_cache = (
                [w for w in weights if w.trainable],
                [w for w in weights if w.trainable and w.regularizer is not None],
                self._all_layers(),
            )
        return self._step_cache

    def _loss_and_outputs(self, x, y, sample_weight, training):
        """The forward and loss pass: `(total, per_output, targets, preds, weights, y_pred)`."""
        y_pred = self(x, training=training)
        if self._compiled_loss is None:
            self._build_compiled(y_pred)
        preds = flatten(y_pred)
        targets = self._targets_per_output(y, y_pred)
        weights = self._weights_per_output(sample_weight, len(preds))
        total, per_output = self._compiled_loss(targets, preds, weights)
        _, regularized, layers = self._step_state()
        for variable in regularized:
            total = total + variable.regularizer(variable)
        for layer in layers:
            if layer._added_losses:  # activity regularisers and add_loss terms of this pass
                for term in layer._added_losses:
                    total = total + term
                layer._added_losses = []
        return total, per_output, targets, preds, weights, y_pred

    def _update_loss_trackers(self, total, per_output, batch_size):
        self._loss_tracker.update_state(total.data, sample_weight=batch_size)
        for tracker, value in zip(self._output_loss_trackers, per_output):
            tracker.update_state(value.data, sample_weight=batch_size)

    def train_step(self, x, y, sample_weight=None):
        """One optimisation step on a device batch; returns nothing (metrics hold the results)."""
        if self._traced_steps is not None and not self.run_eagerly:  # replay where it is safe
            result, retain = self._traced_steps.loss_and_outputs(self, x, y, sample_weight)
        else:
            result, retain = self._loss_and_outputs(x, y, sample_weight, training=True), False
        total, per_output, targets, preds, weights, _ = result
        variables = self._step_state()[0]
        for v in variables:
            v.grad = None
        total.backward(retain_graph=retain)
        if retain:  # the kept graph's tensors are overwritten by the next replay
            total, per_output = detached(total), [detached(t) for t in per_output]
            preds = [detached(t) for t in preds]
        pairs = [(v.grad, v) for v in variables if v.grad is not None]
        for v in variables:
            v.grad = None
        if pairs:
            grads = [g for g, _ in pairs]
            if self._distribution is not None:
                grads = self._distribution.reduce_gradients(grads)  # averaged over ranks
            self.optimizer.apply(grads, [v for _, v in pairs])
        batch_size = _batch_size(x)
        self._update_loss_trackers(total, per_output, batch_size)
        self._compiled_metrics.update(targets, preds, weights)
        return total

    def test_step(self, x, y, sample_weight=None):
        """One evaluation step on a device batch (no gradients)."""
        with no_grad():
            total, per_output, targets, preds, weights, _ = self._loss_and_outputs(
                x, y, sample_weight, training=False)
        self._update_loss_trackers(total, per_output, _batch_size(x))
        self._compiled_metrics.update(targets, preds, weights)
        return total

    def predict_step(self, x):
        """Forward pass on a device batch without a gradient tape."""
        with no_grad():
            out = self(x, training=False)
        self._clear_added_losses()  # activity penalties of an inference pass are not kept
        return out

    # --------------------------------------------------------------------- fit
    def fit(self, x=None, y=None, batch_size=None, epochs=1, verbose="auto", callbacks=None,
            validation_split=0.0, validation_data=None, shuffle=True, class_weight=None,
            sample_weight=None, initial_epoch=0, steps_per_epoch=None, validation_steps=None,
            validation_batch_size=None, validation_freq=1, max_queue_size=10, workers=1,
            use_multiprocessing=False, **kwargs):
        """Trains the model for a fixed number of epochs.

        Args:
            x: inputs: an array, a list of arrays (several inputs), a dict from input name to
                array, or a generator / `Sequence` yielding `(x, y[, sample_weight])`.
            y: targets, in the same forms (by output name for dicts).
            batch_size: samples per step (32 by default).
            epochs: the epoch index to stop at.
            verbose: 0 silent, 1 progress bar, 2 one line per epoch, "auto" (1 on a terminal,
                2 otherwise).
            callbacks: list of `gkeras.callbacks.Callback`.
            validation_split: fraction of the data (the last samples, before shuffling) held
                out for validation.
            validation_data: `(x_val, y_val)` or `(x_val, y_val, sample_weight)`.
            shuffle: shuffle the training data every epoch.
            class_weight: `{class: weight}` for a single-output model.
            sample_weight: per-sample weights (array, or list / dict per output).
            initial_epoch: the epoch to start from (to resume a run).
            steps_per_epoch: batches per epoch (one pass over the data by default).
            validation_steps, validation_batch_size, validation_freq: validation control.

        Returns:
            A `History` whose `history` maps each log key (`loss`, `val_loss`, ...) to its
            per-epoch values.
        """
        if kwargs:
            raise TypeError(f"fit() got unexpected keyword argument(s) {sorted(kwargs)}.")
        self._assert_compiled("training it (fit)")
        pipeline = {"max_queue_size": max_queue_size, "workers": workers,
                    "use_multiprocessing": use_multiprocessing}
        verbose = _resolve_verbose(verbose)
        strategy = self._distribution
        if strategy is not None:
            # batch_size is per rank: the adapters slice global batches of batch_size x ranks
            batch_size = strategy.global_batch_size(batch_size or 32)
            validation_batch_size = strategy.global_batch_size(
                validation_batch_size or batch_size // strategy.num_replicas)
            verbose = verbose if strategy.is_chief else 0
        if validation_split and validation_data is None:
            if _is_stream(x):
                raise ValueError("validation_split is only supported for array inputs, not for "
                                 "generators or Sequences.")
            (x, y, sample_weight), validation_data = da.split_validation(
                x, y, sample_weight, validation_split)
        train_data = da.get_data_adapter(
            x, y, sample_weight, batch_size=batch_size, steps=steps_per_epoch, shuffle=shuffle,
            class_weight=class_weight, **pipeline)
        val_data = None
        if validation_data is not None:
            if _is_stream(validation_data):
                val_data = da.get_data_adapter(validation_data, steps=validation_steps,
                                               **pipeline)
            else:
                vx, vy, vsw = da.unpack_validation_data(validation_data)
                val_data = da.get_data_adapter(
                    vx, vy, vsw, batch_size=validation_batch_size or batch_size,
                    steps=validation_steps)
        if strategy is not None:
            train_data = strategy.shard(train_data)
            val_data = strategy.shard(val_data) if val_data is not None else None
            strategy.prepare_model(self, train_data)  # build, then broadcast rank 0's weights
        cb = CallbackList(callbacks, add_history=True, add_progbar=verbose != 0, model=self,
                          verbose=verbose, epochs=epochs, steps=train_data.num_batches)
        self.stop_training = False
        self._step_cache = None
        self._nonfinite_reported = False
        self._check_fit_inputs(train_data)
        if self._traced_steps is not None:
            self._traced_steps.reset()  # record afresh: settings may have changed since
        logs = {}
        try:
            cb.on_train_begin()
            # BackupAndRestore (or any callback) may resume an interrupted run at a later epoch
            resume_epoch = self.__dict__.pop("_initial_epoch", None)
            if resume_epoch is not None:
                initial_epoch = max(initial_epoch, int(resume_epoch))
            for epoch in range(initial_epoch, epochs):
                if self._compiled_loss is not None:
                    self.reset_metrics()
                cb.on_epoch_begin(epoch)
                epoch_logs = self._run_epoch(train_data, cb, epoch, first=epoch == initial_epoch)
                if epoch_logs is None:  # a generator without steps_per_epoch has ended
                    break
                logs = epoch_logs
                if val_data is not None and (epoch + 1) % validation_freq == 0:
                    val_logs = self._evaluate_adapter(val_data, cb)
                    logs.update({f"val_{k}": v for k, v in val_logs.items()})
                    logs = dict(sorted(logs.items()))
                cb.on_epoch_end(epoch, logs)
                train_data.on_epoch_end()
                if self.stop_training:
                    break
            cb.on_train_end(logs)
        finally:
            train_data.close()
            if val_data is not None:
                val_data.close()
            if self._traced_steps is not None:
                self._traced_steps.reset()  # frees the graphs kept for replay
        return cb.history

    def _check_fit_inputs(self, adapter):
        inputs = getattr(self, "inputs", None) or []
        x = getattr(adapter, "x", None)
        if not inputs or x is None:
            return
        names = self.input_names
        if isinstance(x, dict):
            unknown = [k for k in x if k not in names]
            if unknown:
                raise ValueError(
                    f"Input keys {unknown} match no input of model '{self.name}'. Valid input "
                    f"names: {names}."
                )
            arrays = [x.get(n) for n in names]
        else:
            arrays = flatten(x)
        if len(arrays) != len(inputs):
            raise ValueError(
                f"Model '{self.name}' expects {len(inputs)} input(s) {names}, but received "
                f"{len(arrays)} input array(s)."
            )
        for name, tensor, array in zip(names, inputs, arrays):
            if array is None:
                continue
            expected = tensor.shape[1:]
            got = rank_adjusted_shape(array.shape[1:], expected)  # as the model will take it
            if len(expected) != len(got) or any(e is not None and e != g
                                                for e, g in zip(expected, got)):
                raise ValueError(
                    f"Input '{name}' of model '{self.name}' is incompatible: expected shape "
                    f"{tensor.shape}, but received input with shape {(None,) + tuple(got)}."
                )

    def _run_epoch(self, data, cb, epoch, first=True):
        """Trains one epoch; returns its logs, or `None` when a generator read without
        `steps_per_epoch` gave nothing more after an earlier epoch (training then stops)."""
        from gkeras.callbacks.terminate_on_nan import TerminateOnNaN

        numpy_backend = backend_module.get_backend().name == "numpy"
        # TerminateOnNaN reports a non-finite loss itself; otherwise warn once per fit. On the
        # CPU the check is free; on a GPU it waits for the epoch's logs (no sync per step).
        self._watch_nonfinite = not self._nonfinite_reported and not any(
            isinstance(c, TerminateOnNaN) for c in cb.callbacks)
        seen = 0
        for step, batch in enumerate(data):
            x, y, sw = batch
            if y is None:
                raise ValueError("fit needs targets: the data gave no y for the batch.")
            cb.on_train_batch_begin(step)
            total = self.train_step(self._to_device(x), self._to_device(y),
                                    None if sw is None else self._to_device(sw))
            seen += 1
            if numpy_backend and self._watch_nonfinite:
                self._check_finite(total, epoch, step)
            logs = self._logs() if cb.wants_batch_logs("train", step) else None
            cb.on_train_batch_end(step, logs)
            if self.stop_training:
                break
        if seen == 0:
            if not first and data.steps is None:
                warnings.warn(
                    "Your input ran out of data; interrupting training. Make sure that your "
                    "generator can generate at least `steps_per_epoch * epochs` batches (pass "
                    "steps_per_epoch=, or use a generator that loops).", stacklevel=3)
                self.stop_training = True
                return None
            raise ValueError("The training data produced no batches: nothing to train on.")
        if data.steps is not None and seen < data.steps and not self.stop_training:
            warnings.warn(
                f"Your input ran out of data; interrupting training. Expected "
                f"{data.steps} steps, got {seen}.", stacklevel=3)
            self.stop_training = True
        logs = self._logs()
        if self._watch_nonfinite and not math.isfinite(logs.get("loss", 0.0)):
            self._warn_nonfinite(epoch, seen - 1)
        return logs

    def _check_finite(self, total, epoch, step):
        value = float(total.data)
        if not math.isfinite(value):
            self._warn_nonfinite(epoch, step, value)

    def _warn_nonfinite(self, epoch, step, value=float("nan")):
        self._watch_nonfinite = False
        self._nonfinite_reported = True
        warnings.warn(
            f"Non-finite loss ({value}) at epoch {epoch + 1}, batch {step}: training is "
            "diverging (lower the learning rate, check the inputs for NaN, or use "
            "TerminateOnNaN).", RuntimeWarning, stacklevel=4)

    # ----------------------------------------------------------------- evaluate
    def evaluate(self, x=None, y=None, batch_size=None, verbose="auto", sample_weight=None,
                 steps=None, callbacks=None, return_dict=False, max_queue_size=10, workers=1,
                 use_multiprocessing=False, **kwargs):
        """Returns the loss and metrics of the model on the given data.

        Returns:
            A scalar (loss only), a list in `model.metrics_names` order, or, with
            `return_dict=True`, a dict.
        """
        if kwargs:
            raise TypeError(f"evaluate() got unexpected keyword argument(s) {sorted(kwargs)}.")
        self._assert_compiled("evaluating it")
        verbose = _resolve_verbose(verbose)
        strategy = self._distribution
        if strategy is not None:
            batch_size = strategy.global_batch_size(batch_size or 32)
            verbose = verbose if strategy.is_chief else 0
        data = da.get_data_adapter(x, y, sample_weight, batch_size=batch_size, steps=steps,
                                   max_queue_size=max_queue_size, workers=workers,
                                   use_multiprocessing=use_multiprocessing)
        if strategy is not None:
            data = strategy.shard(data)
        cb = CallbackList(callbacks, add_progbar=verbose != 0, model=self, verbose=verbose,
                          epochs=1, steps=data.num_batches)
        try:
            logs = self._evaluate_adapter(data, cb)
        finally:
            data.close()
        return self._format_results(logs, return_dict)

    def _evaluate_adapter(self, data, cb):
        """Runs the test loop (inside `fit`, after the epoch's training logs were read)."""
        if self._compiled_loss is not None:
            self.reset_metrics()
        self._step_cache = None
        cb.on_test_begin()
        seen = 0
        for step, (x, y, sw) in enumerate(data):
            cb.on_test_batch_begin(step)
            self.test_step(self._to_device(x), self._to_device(y),
                           None if sw is None else self._to_device(sw))
            seen += 1
            cb.on_test_batch_end(step, self._logs() if cb.wants_batch_logs("test", step)
                                 else None)
        if seen == 0:
            raise ValueError("The evaluation data produced no batches.")
        logs = self._logs()
        cb.on_test_end(logs)
        return logs

    def _format_results(self, logs, return_dict):
        if return_dict:
            return logs
        values = [logs[name] for name in self.metrics_names]
        return values[0] if len(values) == 1 else values

    # ------------------------------------------------------------------ predict
    def predict(self, x, batch_size=None, verbose="auto", steps=None, callbacks=None,
                max_queue_size=10, workers=1, use_multiprocessing=False):
        """Generates output predictions for the input samples, batch by batch.

        Returns:
            NumPy array(s): one array, or a list / dict for several outputs.
        """
        verbose = _resolve_verbose(verbose)
        data = da.get_data_adapter(x, batch_size=batch_size, steps=steps,
                                   max_queue_size=max_queue_size, workers=workers,
                                   use_multiprocessing=use_multiprocessing)
        cb = CallbackList(callbacks, add_progbar=verbose != 0, model=self, verbose=verbose,
                          epochs=1, steps=data.num_batches)
        chunks, structure = [], None
        try:
            cb.on_predict_begin()
            for step, (bx, _, _) in enumerate(data):
                cb.on_predict_batch_begin(step)
                out = self.predict_step(self._to_device(bx))
                structure = out
                chunks.append([t.numpy() for t in flatten(out)])
                cb.on_predict_batch_end(step, None)
            cb.on_predict_end()
        finally:
            data.close()
        if not chunks:
            raise ValueError("The prediction data produced no batches.")
        joined = [np.concatenate(parts, axis=0) for parts in zip(*chunks)]
        return da.pack_like(structure, joined)

    # ------------------------------------------------------- Keras 2 batch API
    def train_on_batch(self, x, y=None, sample_weight=None, class_weight=None,
                       reset_metrics=True, return_dict=False):
        """Runs one gradient update on a single batch.

        Returns:
            The loss (and metrics) for this batch, in `metrics_names` order, or a dict.
        """
        self._assert_compiled("training it (train_on_batch)")
        adapter = da.ArrayDataAdapter(x, y, sample_weight, batch_size=_num_samples(x),
                                      class_weight=class_weight)
        self._check_fit_inputs(adapter)
        bx, by, bsw = next(iter(adapter))
        if reset_metrics and self._compiled_loss is not None:
            self.reset_metrics()
        self._step_cache = None
        self.train_step(self._to_device(bx), self._to_device(by),
                        None if bsw is None else self._to_device(bsw))
        return self._format_results(self._logs(), return_dict)

    def test_on_batch(self, x, y=None, sample_weight=None, reset_metrics=True,
                      return_dict=False):
        """Evaluates the model on a single batch; returns values like `evaluate`."""
        self._assert_compiled("evaluating it (test_on_batch)")
        adapter = da.ArrayDataAdapter(x, y, sample_weight, batch_size=_num_samples(x))
        bx, by, bsw = next(iter(adapter))
        if reset_metrics and self._compiled_loss is not None:
            self.reset_metrics()
        self.test_step(self._to_device(bx), self._to_device(by),
                       None if bsw is None else self._to_device(bsw))
        return self._format_results(self._logs(), return_dict)

    def predict_on_batch(self, x):
        """Returns predictions (NumPy) for a single batch."""
        adapter = da.ArrayDataAdapter(x, batch_size=_num_samples(x))
        bx = next(iter(adapter))[0]
        out = self.predict_step(self._to_device(bx))
        return da.pack_like(out, [t.numpy() for t in flatten(out)])


# ---------------------------------------------------------------------- helpers
def _to_float(value):
    """A metric result for the logs: a float, or a NumPy array for per-class results
    (`F1Score(average=None)`), as Keras logs them."""
    if isinstance(value, Tensor):
        value = value.data
    if isinstance(value, (float, int)):
        return float(value)
    array = np.asarray(backend_module.backend_of(value).to_numpy(value))
    return float(array) if array.ndim == 0 else array.astype(np.float64)


def _batch_size(x):
    return int(flatten(x)[0].shape[0])


def _num_samples(x):
    first = flatten(da._normalize(x, "x"))[0]
    return len(first)


def _is_stream(x):
    try:
        from gkeras.training import generator_adapter
    except ImportError:
        return False
    return generator_adapter.handles(x)


def _active_strategy():
    """The distribution strategy whose scope is open, if gkeras.distribute was ever imported."""
    module = sys.modules.get("gkeras.distribute")
    return module.get_strategy() if module is not None else None


class NotCompiledError(RuntimeError, ValueError):
    """Training or evaluating a model that was never compiled.

    Keras 2 raised a `RuntimeError` here and Keras 3 a `ValueError`; this is both, so code
    written against either catches it.
    """


def _resolve_verbose(verbose):
    if verbose == "auto":  # the bar where it redraws in place, else a line per epoch
        from gkeras.utils.progbar import redraws_in_place

        return 1 if redraws_in_place(sys.stdout) else 2
    return int(verbose)
