"""What `compile` builds: the per-output losses and metrics, with Keras 2's names and order."""

import copy

from gkeras import ops
from gkeras.autodiff import no_grad


def _per_output(value, output_names, what):
    """Expands a loss / weight / metrics spec into a list aligned with `output_names`.

    A single value applies to every output; a list goes by position; a dict by output name.
    For metrics (Keras 2's rules) a flat list applies to every output, and a list holding
    lists (`[['mae'], ['accuracy', 'mse']]` or `['accuracy', ['mse']]`) goes by position.
    """
    n = len(output_names)
    if what == "metrics" and isinstance(value, (list, tuple)) and any(
            isinstance(v, (list, tuple)) for v in value):
        if len(value) != n:
            raise ValueError(
                f"When passing a list of lists as metrics, it should have one list per model "
                f"output. The model has {n} output(s) {list(output_names)}, but the metrics "
                f"list has {len(value)} entries: {value!r}."
            )
        return list(value)
    if isinstance(value, dict):
        unknown = [k for k in value if k not in output_names]
        if unknown:
            raise ValueError(
                f"Unknown entries in {what} dictionary: {unknown}. Only expected the following "
                f"keys: {list(output_names)}."
            )
        return [value.get(name) for name in output_names]
    if isinstance(value, (list, tuple)) and what != "metrics":
        if len(value) != n:
            raise ValueError(
                f"When passing a list as {what}, it should have one entry per model output. The "
                f"model has {n} output(s) {list(output_names)}, but the {what} list has "
                f"{len(value)} entries."
            )
        return list(value)
    return [value] * n


class CompiledLoss:
    """The weighted sum of one loss per output.

    Outputs whose loss is `None` (left out of a dict) take no part in training.
    """

    def __init__(self, loss, loss_weights, output_names):
        from gkeras import losses

        self.output_names = list(output_names)
        specs = _per_output(loss, self.output_names, "loss")
        self.losses = [losses.as_loss(spec) if spec is not None else None for spec in specs]
        weights = _per_output(loss_weights, self.output_names, "loss_weights") if (
            loss_weights is not None) else [1.0] * len(self.output_names)
        self.weights = [1.0 if w is None else float(w) for w in weights]
        if all(fn is None for fn in self.losses):
            raise ValueError(
                "No loss to train against: compile(loss=...) gave no loss for any of the outputs "
                f"{self.output_names}."
            )
        self.multi = len(self.output_names) > 1

    @property
    def names(self):
        """Keras 2 names of the per-output losses reported beside `loss`."""
        if not self.multi:
            return []
        return [f"{name}_loss" for name, fn in zip(self.output_names, self.losses)
                if fn is not None]

    def __call__(self, y_true, y_pred, sample_weights):
        """Returns `(total, per_output)`; per-output values are unweighted, as Keras 2 reports."""
        total, per_output = None, []
        for fn, weight, yt, yp, sw in zip(self.losses, self.weights, y_true, y_pred,
                                           sample_weights):
            if fn is None:
                continue
            value = fn(yt, yp, sample_weight=sw)
            per_output.append(value)
            term = value if weight == 1.0 else ops.multiply(value, weight)
            total = term if total is None else ops.add(total, term)
        return total, per_output


class CompiledMetrics:
    """The metrics of every output, in Keras 2's order: for each output, its metrics in turn."""

    def __init__(self, metrics, weighted_metrics, output_names, compiled_loss, y_pred_shapes):
        self.output_names = list(output_names)
        self.multi = len(self.output_names) > 1
        self.entries = []  # (output index, metric, uses sample weights)
        for spec_list, weighted in ((metrics, False), (weighted_metrics, True)):
            if spec_list is None:
                continue
            if not isinstance(spec_list, (list, tuple, dict)):
                spec_list = [spec_list]
            per_output = _per_output(spec_list, self.output_names, "metrics")
            for index, specs in enumerate(per_output):
                if specs is None:
                    continue
                if not isinstance(specs, (list, tuple)):
                    specs = [specs]
                for spec in specs:
                    metric = self._make_metric(spec, compiled_loss.losses[index],
                                               y_pred_shapes[index], index)
                    self.entries.append((index, metric, weighted))
        # Keras 2 orders the names output by output
        self.entries.sort(key=lambda e: e[0])
        self._check_names()

    def _check_names(self):
        """Keras 2's naming rules: a weighted metric whose name an unweighted one already
        has becomes `weighted_<name>`; any other repeated name is an error (its values
        would overwrite each other in the logs)."""
        seen = set()
        for index, metric, weighted in self.entries:
            if weighted and metric.display_name in seen:
                prefix = f"{self.output_names[index]}_" if self.multi else ""
                metric.display_name = f"{prefix}weighted_{metric.name}"
            if metric.display_name in seen:
                raise ValueError(
                    f"Found two metrics with the same name: '{metric.display_name}'. Give one "
                    "of them another name (e.g. keras.metrics.MeanAbsoluteError(name='mae_2'))."
                )
            seen.add(metric.display_name)

    def _make_metric(self, spec, loss, y_pred_shape, index):
        from gkeras import metrics

        if isinstance(spec, str) and spec in ("accuracy", "acc"):
            metric = metrics.resolve_accuracy(spec, loss, y_pred_shape)
        elif isinstance(spec, str) and spec in ("crossentropy", "ce"):
            metric = metrics.resolve_crossentropy(spec, loss, y_pred_shape)
        else:
            metric = metrics.get(spec)
            if not hasattr(metric, "update_state"):
                metric = metrics.MeanMetricWrapper(metric, name=getattr(spec, "__name__", None))
            elif any(m is metric for _, m, _ in self.entries):
                # one Metric object listed for several outputs: each output gets its own copy
                metric = copy.deepcopy(metric)
        base = metric.name
        metric.display_name = f"{self.output_names[index]}_{base}" if self.multi else base
        return metric

    @property
    def names(self):
        return [m.display_name for _, m, _ in self.entries]

    @property
    def metrics(self):
        return [m for _, m, _ in self.entries]

    def update(self, y_true, y_pred, sample_weights):
        with no_grad():
            for index, metric, weighted in self.entries:
                metric.update_state(y_true[index], y_pred[index],
                                    sample_weight=sample_weights[index] if weighted else None)

    def reset(self):
        for _, metric, _ in self.entries:
            metric.reset_state()
